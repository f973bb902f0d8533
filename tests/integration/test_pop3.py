#!/usr/bin/env python3
"""Integration tests for roost-pop3d: the real daemon on loopback ports, driven by poplib, raw sockets, curl,
fetchmail and getmail6, with mail delivered over SMTP by roost-smtpd and the stored bytes read back from
data_dir/roost.db; plus a cross-protocol run (SMTP -> IMAP -> POP3 download-and-delete -> IMAP EXPUNGE).

Run: python3 test_pop3.py --roost PATH/roost --smtpd PATH/roost-smtpd --pop3d PATH/roost-pop3d
     [--imapd PATH/roost-imapd] [unittest args]
(or set ROOST_BIN_DIR). ROOST_KEEP_TEST_DIRS=1 keeps the temporary folders (config, logs, roost.db).
"""

import base64
import glob
import os
import poplib
import re
import shutil
import smtplib
import socket
import subprocess
import sys
import tempfile
import time
import unittest
import uuid

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import roost_fixture as rf  # noqa: E402

HOST = rf.HOST
TLS = rf.insecure_tls_context()
DOMAIN = "example.test"
PASSWORD = "correct horse 1"

# Limits of the shared installation; each has a test.
MAX_ERRORS = 8
MAX_LINE_LENGTH = 2000
LOCKOUT_AFTER = 4


def b64(data):
    return base64.b64encode(data.encode() if isinstance(data, str) else data).decode()


def stuffed(message):
    """RFC 1939 §3: the wire form of a stored message in a multi-line response, terminator included."""
    out = b"".join((b"." + line if line.startswith(b".") else line) for line in message.splitlines(keepends=True))
    if out and not out.endswith(b"\n"):
        out += b"\r\n"
    return out + b".\r\n"


def unstuff(wire):
    """A client's view of a multi-line response body (what RFC 1939 §11 counts in sizes)."""
    assert wire.endswith(b"\r\n.\r\n") or wire == b".\r\n", wire[-20:]
    body = wire[:-3]
    return b"".join((line[1:] if line.startswith(b".") else line) for line in body.splitlines(keepends=True))


class Pop3:
    """A raw POP3 client: exact bytes out, exact status lines and multi-line bodies in."""

    def __init__(self, port, implicit_tls=False, timeout=10):
        self.sock = socket.create_connection((HOST, port), timeout=timeout)
        if implicit_tls:
            self.sock = TLS.wrap_socket(self.sock)
        self.buf = b""
        self.greeting = self.line()

    def send(self, data):
        self.sock.sendall(data.encode() if isinstance(data, str) else data)

    def _fill(self):
        chunk = self.sock.recv(65536)
        if not chunk:
            raise EOFError(f"connection closed; unparsed: {self.buf!r}")
        self.buf += chunk

    def line(self):
        """One line, without CRLF (str)."""
        while b"\r\n" not in self.buf:
            self._fill()
        line, _, self.buf = self.buf.partition(b"\r\n")
        return line.decode("utf-8", "replace")

    def multiline(self):
        """The raw bytes of a multi-line body up to and including ".\\r\\n"."""
        while True:
            if self.buf.startswith(b".\r\n"):
                end = 3
                break
            i = self.buf.find(b"\r\n.\r\n")
            if i >= 0:
                end = i + 5
                break
            self._fill()
        body, self.buf = self.buf[:end], self.buf[end:]
        return body

    def cmd(self, text):
        self.send(text + "\r\n")
        return self.line()

    def ok(self, text):
        r = self.cmd(text)
        assert r.startswith("+OK"), f"{text!r} -> {r!r}"
        return r

    def login(self, user, password=PASSWORD):
        self.ok("USER " + user)
        return self.ok("PASS " + password)

    def starttls(self):
        r = self.cmd("STLS")
        assert r.startswith("+OK"), r
        assert self.buf == b"", self.buf
        self.sock = TLS.wrap_socket(self.sock)

    def capa(self):
        r = self.cmd("CAPA")
        assert r.startswith("+OK"), r
        return [line for line in self.multiline().decode().split("\r\n") if line and line != "."]

    def closed(self, timeout=5):
        """True if the server closes the connection (after any buffered bytes) within `timeout`."""
        self.sock.settimeout(timeout)
        try:
            while True:
                chunk = self.sock.recv(65536)
                if not chunk:
                    return True
                self.buf += chunk
        except (socket.timeout, TimeoutError):
            return False
        except (ConnectionResetError, OSError):
            return True

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass


class Installation:
    """Shared set-up for a test class: one Roost with smtpd + pop3d and helpers to create users and mail."""

    settings = {}
    daemons = ("smtpd", "pop3d")

    @classmethod
    def setUpClass(cls):
        base = {"limits": {"max_errors": MAX_ERRORS, "max_line_length": MAX_LINE_LENGTH},
                "auth": {"free_failures": 2, "lockout_after": LOCKOUT_AFTER, "lockout": "10m"}}
        for section, values in cls.settings.items():
            base.setdefault(section, {}).update(values)
        cls.roost = rf.Roost(settings=base)
        try:
            cls.roost.add_domain(DOMAIN)
            cls.started = {name: cls.roost.start(name) for name in cls.daemons}
        except Exception:
            cls.roost.close()
            raise

    @classmethod
    def tearDownClass(cls):
        cls.roost.close()

    def port(self, name):
        return self.roost.ports[name]

    def new_user(self, password=PASSWORD):
        address = "u" + uuid.uuid4().hex[:10] + "@" + DOMAIN
        self.roost.add_user(address, password)
        return address

    def deliver(self, address, *messages):
        """Delivers each raw message over SMTP; returns the stored bytes of the whole INBOX afterwards."""
        before = len(self.roost.messages(address))
        with smtplib.SMTP(HOST, self.port("smtp"), timeout=10) as s:
            for m in messages:
                s.sendmail("sender@remote.test", [address], m, mail_options=["BODY=8BITMIME"])
        self.assertTrue(self.roost.wait_until(lambda: len(self.roost.messages(address)) == before + len(messages)))
        return self.roost.messages(address)

    def pop3(self, address=None, port="pop3", implicit_tls=False):
        c = Pop3(self.port(port), implicit_tls=implicit_tls)
        self.addCleanup(c.close)
        if address:
            c.login(address)
        return c

    def pop3d_log(self):
        return self.started["pop3d"].log()


SIMPLE = b"Subject: simple\r\nFrom: a@remote.test\r\n\r\nHello.\r\n"
DOTS = (b"Subject: dots\r\n\r\n.leading\r\n..two\r\n.\r\n...\r\nmiddle . dot\r\n"
        b"line with trailing space \r\n\r\n.\r\nend\r\n")
UTF8 = "Subject: =?utf-8?q?gr=C3=BC=C3=9Fe?=\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nGrüße, ☃.\r\n".encode()
LONG_LINES = b"Subject: long\r\n\r\n" + b"x" * 998 + b"\r\n" + b"." + b"y" * 997 + b"\r\n"


def big_message(size):
    """Lines starting with "." throughout, so dot-stuffing happens across every read chunk boundary."""
    lines = [b"Subject: big\r\n", b"\r\n"]
    total = sum(map(len, lines))
    i = 0
    while total < size:
        line = (b"." if i % 2 == 0 else b"") + b"line %08d " % i + b"z" * 50 + b"\r\n"
        lines.append(line)
        total += len(line)
        i += 1
    return b"".join(lines)


class Pop3Test(Installation, unittest.TestCase):
    # ----- greeting and capabilities -----

    def test_greeting_and_capabilities(self):
        c = self.pop3()
        # RFC 1939 §4 / RFC 2449 §6: no "<timestamp>" in the greeting: APOP is not offered.
        self.assertTrue(c.greeting.startswith("+OK"), c.greeting)
        self.assertNotIn("<", c.greeting)
        caps = c.capa()
        for cap in ("TOP", "USER", "UIDL", "RESP-CODES", "AUTH-RESP-CODE", "PIPELINING", "SASL PLAIN LOGIN", "STLS"):
            self.assertIn(cap, caps)
        self.assertTrue(any(cap.startswith("IMPLEMENTATION ") for cap in caps), caps)
        self.assertFalse(any(cap.startswith("APOP") or cap.startswith("LOGIN-DELAY") for cap in caps), caps)
        self.assertTrue(c.cmd("APOP user 0123456789abcdef0123456789abcdef").startswith("-ERR"))
        # RFC 2449 §5: the AUTHORIZATION capabilities are announced after login too; STLS is not (RFC 2595 §4).
        user = self.new_user()
        c.login(user)
        after = c.capa()
        self.assertIn("USER", after)
        self.assertIn("SASL PLAIN LOGIN", after)
        self.assertNotIn("STLS", after)
        c.ok("QUIT")

    # ----- sizes, RETR and TOP, byte for byte -----

    def test_poplib_sizes_equal_retrieved_octets(self):
        user = self.new_user()
        stored = self.deliver(user, SIMPLE, DOTS, UTF8, LONG_LINES, big_message(300_000))
        m = poplib.POP3(HOST, self.port("pop3"), timeout=10)
        try:
            m.user(user)
            m.pass_(PASSWORD)
            count, total = m.stat()
            self.assertEqual(count, len(stored))
            self.assertEqual(total, sum(len(s) for s in stored))  # RFC 1939 §5 STAT
            _, listing, _ = m.list()
            self.assertEqual([int(x.split()[1]) for x in listing], [len(s) for s in stored])
            for i, s in enumerate(stored, 1):
                _, lines, octets = m.retr(i)
                # poplib un-stuffs; the message it rebuilds is the stored one, and LIST's size its length.
                self.assertEqual(b"\r\n".join(lines) + b"\r\n", s)
                self.assertEqual(int(m.list(i).split()[2]), len(s))
            m.quit()
        finally:
            m.close()
        self.assertEqual(len(self.roost.messages(user)), len(stored))  # nothing deleted

    def test_retr_wire_bytes_are_exactly_dot_stuffed(self):
        user = self.new_user()
        stored = self.deliver(user, DOTS, big_message(200_000))
        c = self.pop3(user)
        for i, s in enumerate(stored, 1):
            r = c.cmd(f"RETR {i}")
            self.assertEqual(r, f"+OK {len(s)} octets")
            wire = c.multiline()
            self.assertEqual(wire, stuffed(s))
            self.assertEqual(unstuff(wire), s)
        c.ok("QUIT")

    def test_top(self):
        user = self.new_user()
        (s,) = self.deliver(user, DOTS)
        header, _, body = s.partition(b"\r\n\r\n")
        body_lines = body.splitlines(keepends=True)
        c = self.pop3(user)
        for n in (0, 1, 3, 100):
            self.assertTrue(c.cmd(f"TOP 1 {n}").startswith("+OK"))
            # RFC 1939 §7: the header, the blank line, then n lines of the body (all of it if fewer).
            self.assertEqual(c.multiline(), stuffed(header + b"\r\n\r\n" + b"".join(body_lines[:n])))
        self.assertTrue(c.cmd("TOP 1").startswith("-ERR"))
        self.assertTrue(c.cmd("TOP 2 1").startswith("-ERR"))
        self.assertTrue(c.cmd("TOP 1 -1").startswith("-ERR"))
        c.ok("QUIT")

    # ----- unique-ids -----

    def test_uidl_is_stable_and_derived_from_uidvalidity_and_uid(self):
        user = self.new_user()
        self.deliver(user, SIMPLE, DOTS, UTF8)
        rows = self.roost.query(
            "SELECT mb.uidvalidity, m.uid FROM messages m JOIN mailboxes mb ON mb.id = m.mailbox_id"
            " JOIN accounts a ON a.id = mb.account_id WHERE a.address = ? AND mb.name = 'INBOX' ORDER BY m.uid",
            (user,))
        expected = [f"{v}.{u}" for v, u in rows]

        def uidl():
            c = self.pop3(user)
            self.assertTrue(c.cmd("UIDL").startswith("+OK"))
            ids = [line.split(" ", 1) for line in c.multiline().decode().split("\r\n") if line not in ("", ".")]
            single = c.ok("UIDL 2")
            c.ok("QUIT")
            return ids, single

        first, single = uidl()
        self.assertEqual([i for _, i in first], expected)
        self.assertEqual([n for n, _ in first], ["1", "2", "3"])
        self.assertEqual(single, f"+OK 2 {expected[1]}")
        for _, uid in first:
            self.assertTrue(1 <= len(uid) <= 70 and all(0x21 <= ord(ch) <= 0x7E for ch in uid))  # RFC 1939 §7
        again, _ = uidl()
        self.assertEqual(again, first)
        # After message 1 is removed, the others keep their ids under new numbers.
        c = self.pop3(user)
        c.ok("DELE 1")
        c.ok("QUIT")
        third, _ = uidl()
        self.assertEqual([i for _, i in third], expected[1:])
        self.assertEqual([n for n, _ in third], ["1", "2"])

    # ----- DELE, RSET, QUIT, UPDATE -----

    def test_dele_marks_and_hides_then_quit_removes(self):
        user = self.new_user()
        stored = self.deliver(user, SIMPLE, DOTS, UTF8)
        c = self.pop3(user)
        self.assertEqual(c.ok("DELE 2"), "+OK Message 2 deleted")
        self.assertTrue(c.cmd("DELE 2").startswith("-ERR"))  # already deleted
        # RFC 1939 §5: a deleted message is not counted and may not be referred to.
        self.assertEqual(c.ok("STAT"), f"+OK 2 {len(stored[0]) + len(stored[2])}")
        for cmd in ("LIST 2", "RETR 2", "TOP 2 0", "UIDL 2", "DELE 2"):
            self.assertTrue(c.cmd(cmd).startswith("-ERR"), cmd)
        c.ok("LIST")
        self.assertEqual(c.multiline(), f"1 {len(stored[0])}\r\n3 {len(stored[2])}\r\n.\r\n".encode())
        c.ok("UIDL")
        self.assertEqual(c.multiline().count(b"\r\n"), 3)
        self.assertEqual(len(self.roost.messages(user)), 3)  # marks only
        self.assertEqual(c.ok("QUIT"), "+OK Roost POP3 server signing off (2 messages left)")
        self.assertEqual(self.roost.messages(user), [stored[0], stored[2]])

    def test_rset_unmarks(self):
        user = self.new_user()
        stored = self.deliver(user, SIMPLE, DOTS)
        c = self.pop3(user)
        c.ok("DELE 1")
        c.ok("DELE 2")
        self.assertEqual(c.ok("STAT"), "+OK 0 0")
        self.assertEqual(c.ok("RSET"), f"+OK Maildrop has 2 messages ({sum(map(len, stored))} octets)")
        c.ok("RETR 1")
        c.multiline()
        c.ok("QUIT")
        self.assertEqual(self.roost.messages(user), stored)

    def test_connection_drop_without_quit_removes_nothing(self):
        user = self.new_user()
        stored = self.deliver(user, SIMPLE, DOTS)
        c = self.pop3(user)
        c.ok("DELE 1")
        c.ok("DELE 2")
        c.close()
        # The lock is released when the session ends; a new session sees everything.
        d = None
        for _ in range(50):
            d = self.pop3()
            d.ok("USER " + user)
            if d.cmd("PASS " + PASSWORD).startswith("+OK"):
                break
            time.sleep(0.1)
        self.assertEqual(d.ok("STAT"), f"+OK 2 {sum(map(len, stored))}")
        d.ok("QUIT")
        self.assertEqual(self.roost.messages(user), stored)

    def test_quit_in_authorization_state(self):
        c = self.pop3()
        self.assertTrue(c.ok("QUIT").startswith("+OK"))
        self.assertTrue(c.closed())

    def test_snapshot_at_login(self):
        user = self.new_user()
        self.deliver(user, SIMPLE)
        c = self.pop3(user)
        self.assertTrue(c.ok("STAT").startswith("+OK 1 "))
        self.deliver(user, DOTS)
        # RFC 1939 §4: the maildrop is what it was at login; new mail waits for the next session.
        self.assertTrue(c.ok("STAT").startswith("+OK 1 "))
        self.assertTrue(c.cmd("RETR 2").startswith("-ERR"))
        c.ok("QUIT")
        d = self.pop3(user)
        self.assertTrue(d.ok("STAT").startswith("+OK 2 "))
        d.ok("QUIT")

    def test_second_session_gets_in_use(self):
        user = self.new_user()
        self.deliver(user, SIMPLE)
        first = self.pop3(user)
        second = self.pop3()
        second.ok("USER " + user)
        # RFC 2449 §8.1.2: authenticated, but the maildrop is locked.
        r = second.cmd("PASS " + PASSWORD)
        self.assertTrue(r.startswith("-ERR [IN-USE]"), r)
        # The refused session stays usable (RFC 1939 §4) and the first one is unaffected.
        self.assertTrue(second.cmd("STAT").startswith("-ERR"))
        r = second.cmd("AUTH PLAIN " + b64(f"\0{user}\0{PASSWORD}"))
        self.assertTrue(r.startswith("-ERR [IN-USE]"), r)
        self.assertTrue(first.ok("STAT").startswith("+OK 1 "))
        first.ok("QUIT")
        self.assertTrue(first.closed())
        second.login(user)
        second.ok("QUIT")

    # ----- authentication -----

    def test_wrong_password_then_right(self):
        user = self.new_user()
        c = self.pop3()
        c.ok("USER " + user)
        r = c.cmd("PASS wrong")
        # RFC 3206 §5 with AUTH-RESP-CODE: a credentials problem.
        self.assertEqual(r, "-ERR [AUTH] Authentication failed")
        # RFC 1939 §7: the client starts again with USER; PASS alone is refused.
        self.assertTrue(c.cmd("PASS " + PASSWORD).startswith("-ERR"))
        c.login(user)
        c.ok("QUIT")
        c2 = self.pop3()
        c2.ok("USER nobody-here@" + DOMAIN)  # USER never reveals whether an account exists
        self.assertEqual(c2.cmd("PASS " + PASSWORD), "-ERR [AUTH] Authentication failed")

    def test_lockout_answers_login_delay(self):
        user = self.new_user()
        c = self.pop3()
        for _ in range(LOCKOUT_AFTER):
            c.ok("USER " + user)
            self.assertTrue(c.cmd("PASS wrong").startswith("-ERR [AUTH]"))
        # Shared throttle: locked out even with the right password; RFC 2449 §8.1.1 [LOGIN-DELAY].
        d = self.pop3()
        d.ok("USER " + user)
        r = d.cmd("PASS " + PASSWORD)
        self.assertTrue(r.startswith("-ERR [LOGIN-DELAY]"), r)
        r = d.cmd("AUTH PLAIN " + b64(f"\0{user}\0{PASSWORD}"))
        self.assertTrue(r.startswith("-ERR [LOGIN-DELAY]"), r)

    def test_auth_plain_with_and_without_initial_response(self):
        user = self.new_user()
        c = self.pop3()
        self.assertTrue(c.cmd("AUTH PLAIN " + b64(f"\0{user}\0{PASSWORD}")).startswith("+OK"))
        c.ok("QUIT")
        c = self.pop3()
        self.assertEqual(c.cmd("AUTH PLAIN"), "+ ")  # RFC 5034 §4: empty challenge
        self.assertTrue(c.cmd(b64(f"{user}\0{user}\0{PASSWORD}")).startswith("+OK"))  # authzid = authcid
        # RFC 5034 §4: no second AUTH after success.
        self.assertTrue(c.cmd("AUTH PLAIN " + b64(f"\0{user}\0{PASSWORD}")).startswith("-ERR"))
        c.ok("QUIT")

    def test_auth_login(self):
        user = self.new_user()
        c = self.pop3()
        self.assertEqual(c.cmd("AUTH LOGIN"), "+ " + b64("Username:"))
        self.assertEqual(c.cmd(b64(user)), "+ " + b64("Password:"))
        self.assertTrue(c.cmd(b64(PASSWORD)).startswith("+OK"))
        c.ok("QUIT")
        c = self.pop3()
        self.assertEqual(c.cmd("AUTH LOGIN " + b64(user)), "+ " + b64("Password:"))
        self.assertEqual(c.cmd(b64("bad")), "-ERR [AUTH] Authentication failed")

    def test_auth_errors_keep_the_session(self):
        user = self.new_user()
        c = self.pop3()
        self.assertEqual(c.cmd("AUTH PLAIN"), "+ ")
        self.assertEqual(c.cmd("*"), "-ERR Authentication cancelled")  # RFC 5034 §4
        self.assertEqual(c.cmd("AUTH PLAIN"), "+ ")
        self.assertEqual(c.cmd("not base64!"), "-ERR Malformed authentication data")
        self.assertEqual(c.cmd("AUTH PLAIN " + b64("no-nuls")), "-ERR Malformed authentication data")
        self.assertEqual(c.cmd("AUTH CRAM-MD5"), "-ERR Unsupported authentication mechanism")
        # Bare AUTH lists mechanisms (pre-RFC 5034 probe; documented deviation).
        c.ok("AUTH")
        self.assertEqual(c.multiline(), b"PLAIN\r\nLOGIN\r\n.\r\n")
        self.assertTrue(c.cmd("AUTH PLAIN " + b64(f"\0{user}\0{PASSWORD}")).startswith("+OK"))
        c.ok("QUIT")

    # ----- bad input -----

    def test_state_errors(self):
        # RFC 1939 §3: a command in the wrong state gets -ERR (each counts towards limits.max_errors, so the
        # commands are spread over connections).
        for batch in (("STAT", "LIST", "RETR 1", "DELE 1"), ("NOOP", "RSET", "TOP 1 1", "UIDL")):
            c = self.pop3()
            for cmd in batch:
                self.assertTrue(c.cmd(cmd).startswith("-ERR"), cmd)
            self.assertTrue(c.cmd("PASS " + PASSWORD).startswith("-ERR"))  # no USER yet
            c.ok("QUIT")
        user = self.new_user()
        c = self.pop3(user)
        for cmd in ("USER " + user, "PASS x", "AUTH PLAIN", "STLS", "APOP a b"):
            self.assertTrue(c.cmd(cmd).startswith("-ERR"), cmd)
        c.ok("NOOP")
        c.ok("QUIT")

    def test_bad_input_gets_err_and_session_continues(self):
        user = self.new_user()
        self.deliver(user, SIMPLE)
        c = self.pop3(user)
        # Fewer syntax errors than limits.max_errors (test_too_many_errors_closes covers the limit); answers
        # about message numbers ("no such message") are not counted.
        for bad in (b"BOGUS", b"", b"LIST x", b"RETR 99999999999999", b"NO\x00OP", b"\xff\xfe", b"RETR 0",
                    b"RETR 99", b"DELE 5", b"UIDL 2", b"TOP 9 1", b"LIST 0"):
            c.send(bad + b"\r\n")
            r = c.line()
            self.assertTrue(r.startswith("-ERR "), (bad, r))
            self.assertGreater(len(r), 5, "-ERR carries a reason")
        c.ok("NOOP")
        c.ok("QUIT")

    def test_over_long_line(self):
        c = self.pop3()
        c.send("USER " + "a" * (MAX_LINE_LENGTH + 100) + "\r\n")
        self.assertEqual(c.line(), "-ERR Line too long")
        c.send("USER " + "a" * 300_000 + "\r\nCAPA\r\n")  # bounded: read and dropped, not buffered
        self.assertEqual(c.line(), "-ERR Line too long")
        self.assertTrue(c.line().startswith("+OK"))
        c.multiline()
        c.ok("QUIT")

    def test_too_many_errors_closes(self):
        c = self.pop3()
        for _ in range(MAX_ERRORS - 1):
            self.assertTrue(c.cmd("BOGUS").startswith("-ERR"))
        self.assertEqual(c.cmd("BOGUS"), "-ERR Too many bad commands, closing connection")
        self.assertTrue(c.closed())

    def test_pipelined_batch(self):
        user = self.new_user()
        stored = self.deliver(user, SIMPLE, DOTS)
        c = self.pop3()
        # RFC 2449 §6.6: everything in one write; answers in order.
        c.send(f"CAPA\r\nUSER {user}\r\nPASS {PASSWORD}\r\nSTAT\r\nLIST\r\nUIDL\r\nRETR 2\r\nBOGUS\r\nDELE 1\r\n"
               f"TOP 2 0\r\nNOOP\r\nQUIT\r\n")
        self.assertTrue(c.line().startswith("+OK"))
        c.multiline()
        self.assertTrue(c.line().startswith("+OK"))
        self.assertTrue(c.line().startswith("+OK Maildrop locked"))
        self.assertEqual(c.line(), f"+OK 2 {sum(map(len, stored))}")
        self.assertTrue(c.line().startswith("+OK"))
        self.assertEqual(c.multiline(), f"1 {len(stored[0])}\r\n2 {len(stored[1])}\r\n.\r\n".encode())
        self.assertTrue(c.line().startswith("+OK"))
        c.multiline()
        self.assertEqual(c.line(), f"+OK {len(stored[1])} octets")
        self.assertEqual(c.multiline(), stuffed(stored[1]))
        self.assertTrue(c.line().startswith("-ERR"))
        self.assertTrue(c.line().startswith("+OK"))
        self.assertTrue(c.line().startswith("+OK"))
        c.multiline()
        self.assertEqual(c.line(), "+OK")
        self.assertTrue(c.line().startswith("+OK Roost POP3 server signing off"))
        self.assertTrue(c.closed())
        self.assertEqual(self.roost.messages(user), [stored[1]])

    # ----- TLS -----

    def test_stls_then_login(self):
        user = self.new_user()
        c = self.pop3()
        c.starttls()
        caps = c.capa()
        self.assertNotIn("STLS", caps)  # RFC 2595 §4: listed only when permitted
        self.assertTrue(c.cmd("STLS").startswith("-ERR"))  # TLS already active
        c.login(user)
        c.ok("QUIT")

    def test_stls_discards_pipelined_plaintext(self):
        user = self.new_user()
        self.deliver(user, SIMPLE)
        c = self.pop3()
        c.ok("USER " + user)
        # CVE-2011-0411 class: commands sent with STLS in one packet must not run after the handshake,
        # and the USER given before TLS is forgotten (RFC 2595 §4).
        c.send(f"STLS\r\nPASS {PASSWORD}\r\nSTAT\r\n")
        self.assertTrue(c.line().startswith("+OK"))
        c.buf = b""
        c.sock = TLS.wrap_socket(c.sock)
        self.assertTrue(c.cmd("PASS " + PASSWORD).startswith("-ERR"))  # no USER since TLS started
        self.assertTrue(c.cmd("STAT").startswith("-ERR"))  # not logged in: the pipelined PASS never ran
        c.login(user)
        c.ok("QUIT")

    def test_pop3s_with_poplib(self):
        user = self.new_user()
        (s,) = self.deliver(user, DOTS)
        m = poplib.POP3_SSL(HOST, self.port("pop3s"), context=TLS, timeout=10)
        try:
            m.user(user)
            m.pass_(PASSWORD)
            _, lines, octets = m.retr(1)
            self.assertEqual(b"\r\n".join(lines) + b"\r\n", s)
            m.dele(1)
            m.quit()
        finally:
            m.close()
        self.assertEqual(self.roost.messages(user), [])

    def test_poplib_stls(self):
        user = self.new_user()
        self.deliver(user, SIMPLE)
        m = poplib.POP3(HOST, self.port("pop3"), timeout=10)
        try:
            m.stls(context=TLS)
            m.user(user)
            m.pass_(PASSWORD)
            self.assertEqual(m.stat()[0], 1)
            m.quit()
        finally:
            m.close()

    # ----- third-party clients -----

    def curl(self, *args):
        if not shutil.which("curl"):
            self.skipTest("curl not installed")
        return subprocess.run(["curl", "-sS", "--max-time", "20", *args], capture_output=True, timeout=60)

    def test_curl_pop3_list_retr_dele(self):
        user = self.new_user()
        stored = self.deliver(user, SIMPLE, DOTS)
        base = f"pop3://{user.replace('@', '%40')}:{PASSWORD.replace(' ', '%20')}@{HOST}:{self.port('pop3')}"
        r = self.curl(base + "/")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(r.stdout, f"1 {len(stored[0])}\r\n2 {len(stored[1])}\r\n".encode())
        r = self.curl(base + "/2")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(r.stdout, stored[1])  # curl un-stuffs: the stored bytes exactly
        r = self.curl("-X", "DELE", "-I", base + "/1")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(self.roost.messages(user), [stored[1]])

    def test_curl_pop3s_and_stls(self):
        user = self.new_user()
        (s,) = self.deliver(user, DOTS)
        cred = f"{user.replace('@', '%40')}:{PASSWORD.replace(' ', '%20')}"
        r = self.curl("-k", f"pop3s://{cred}@{HOST}:{self.port('pop3s')}/1")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(r.stdout, s)
        r = self.curl("-k", "--ssl-reqd", f"pop3://{cred}@{HOST}:{self.port('pop3')}/1")  # STLS
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(r.stdout, s)
        r = self.curl("-k", "--sasl-ir", "--login-options", "AUTH=PLAIN", f"pop3s://{cred}@{HOST}:{self.port('pop3s')}/1")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(r.stdout, s)

    def _retrieved(self, folder):
        files = sorted(glob.glob(os.path.join(folder, "*")), key=os.path.getmtime)
        out = []
        for f in files:
            with open(f, "rb") as fh:
                out.append(fh.read())
        return out

    def test_fetchmail_retrieves_and_deletes(self):
        if not shutil.which("fetchmail"):
            self.skipTest("fetchmail not installed (apt-get install fetchmail)")
        user = self.new_user()
        stored = self.deliver(user, SIMPLE, DOTS, UTF8, big_message(150_000))
        home = tempfile.mkdtemp(prefix="roost-fetchmail-")
        self.addCleanup(shutil.rmtree, home, True)
        out = os.path.join(home, "out")
        os.mkdir(out)
        rc = os.path.join(home, "fetchmailrc")
        with open(rc, "w") as f:
            # STLS (fetchmail's default when offered) with a self-signed certificate: no certificate check; the MDA writes each
            # message to its own file; "no keep" deletes after retrieval.
            f.write(f'set no syslog\n'
                    f'poll {HOST} with proto POP3 port {self.port("pop3")}\n'
                    f'  user "{user}" there with password "{PASSWORD}" is "nobody" here\n'
                    f'  options no keep fetchall no rewrite no sslcertck\n'
                    f'  mda "/bin/sh -c \'cat > {out}/$(date +%s%N).eml\'"\n')
        os.chmod(rc, 0o600)
        env = dict(os.environ, HOME=home, FETCHMAILHOME=home)
        r = subprocess.run(["fetchmail", "-f", rc, "-v", "--nodetach", "--invisible"], capture_output=True, text=True,
                           env=env, timeout=120)
        self.assertEqual(r.returncode, 0, r.stdout[-3000:] + r.stderr[-2000:])
        self.assertIn("STLS", r.stdout)
        got = self._retrieved(out)
        # fetchmail hands the MDA LF line ends; otherwise the messages are the stored ones.
        self.assertEqual(got, [s.replace(b"\r\n", b"\n") for s in stored])
        self.assertEqual(self.roost.messages(user), [])

    def test_getmail6_retrieves_and_deletes(self):
        if not shutil.which("getmail"):
            self.skipTest("getmail6 not installed (apt-get install getmail6)")
        for retriever, port in (("SimplePOP3Retriever", "pop3"), ("SimplePOP3SSLRetriever", "pop3s")):
            with self.subTest(retriever=retriever):
                user = self.new_user()
                stored = self.deliver(user, SIMPLE, DOTS, UTF8, big_message(150_000))
                home = tempfile.mkdtemp(prefix="roost-getmail-")
                self.addCleanup(shutil.rmtree, home, True)
                out = os.path.join(home, "out")
                os.mkdir(out)
                with open(os.path.join(home, "getmailrc"), "w") as f:
                    # An external MDA (getmail refuses Maildir delivery as root); no headers added.
                    f.write(f"[retriever]\ntype = {retriever}\nserver = {HOST}\nport = {self.port(port)}\n"
                            f"username = {user}\npassword = {PASSWORD}\n\n"
                            f"[destination]\ntype = MDA_external\npath = /bin/sh\n"
                            f"arguments = (\"-c\", \"cat > {out}/$(date +%s%N).eml\")\n"
                            f"allow_root_commands = true\nunixfrom = false\n\n"
                            f"[options]\ndelete = true\nread_all = true\ndelivered_to = false\nreceived = false\n")
                r = subprocess.run(["getmail", "--getmaildir", home, "--rcfile", "getmailrc"], capture_output=True,
                                   text=True, env=dict(os.environ, HOME=home), timeout=120)
                self.assertEqual(r.returncode, 0, r.stdout[-3000:] + r.stderr[-2000:])
                self.assertEqual(self._retrieved(out), [s.replace(b"\r\n", b"\n") for s in stored])
                self.assertEqual(self.roost.messages(user), [])


class StrictPop3Test(Installation, unittest.TestCase):
    """`[pop3] plaintext_auth = "never"`: no passwords before TLS, even from loopback. Short idle timeout."""

    settings = {"pop3": {"plaintext_auth": "never", "idle_timeout": "3s"}}
    daemons = ("smtpd", "pop3d")

    def test_capabilities_before_and_after_stls(self):
        c = self.pop3()
        before = c.capa()
        # RFC 2595 §4 (STLS "may enable USER/PASS as a side-effect"): no USER, no SASL before TLS.
        self.assertIn("STLS", before)
        self.assertNotIn("USER", before)
        self.assertFalse(any(cap.startswith("SASL") for cap in before), before)
        c.starttls()
        after = c.capa()
        self.assertIn("USER", after)
        self.assertIn("SASL PLAIN LOGIN", after)
        self.assertNotIn("STLS", after)

    def test_logins_refused_before_tls(self):
        user = self.new_user()
        c = self.pop3()
        for cmd in ("USER " + user, "PASS " + PASSWORD, "AUTH PLAIN " + b64(f"\0{user}\0{PASSWORD}"), "AUTH LOGIN"):
            r = c.cmd(cmd)
            self.assertTrue(r.startswith("-ERR [AUTH]"), (cmd, r))
            self.assertIn("STLS", r)
        c.starttls()
        c.login(user)
        c.ok("QUIT")

    def test_implicit_tls_allows_login(self):
        user = self.new_user()
        c = self.pop3(port="pop3s", implicit_tls=True)
        self.assertNotIn("STLS", c.capa())
        c.login(user)
        c.ok("QUIT")

    def test_idle_timeout_closes_silently_and_removes_nothing(self):
        user = self.new_user()
        stored = self.deliver(user, SIMPLE)
        c = self.pop3(port="pop3s", implicit_tls=True)
        c.login(user)
        c.ok("DELE 1")
        start = time.monotonic()
        # RFC 1939 §3: the autologout closes the connection without a response and without UPDATE.
        self.assertTrue(c.closed(timeout=15))
        self.assertGreaterEqual(time.monotonic() - start, 2.5)
        self.assertEqual(c.buf, b"")
        self.assertEqual(self.roost.messages(user), stored)
        self.assertIn("autologout", self.pop3d_log())


class ShutdownTest(Installation, unittest.TestCase):
    """SIGTERM with a session in TRANSACTION: the client is told, nothing is removed, the daemon exits 0."""

    def test_sigterm_removes_nothing(self):
        user = self.new_user()
        stored = self.deliver(user, SIMPLE, DOTS)
        c = self.pop3(user)
        c.ok("DELE 1")
        self.started["pop3d"].stop()  # insists on exit status 0
        self.assertEqual(c.line(), "-ERR [SYS/TEMP] Server shutting down, nothing was deleted")
        self.assertTrue(c.closed())
        self.assertEqual(self.roost.messages(user), stored)


class CrossProtocolTest(Installation, unittest.TestCase):
    """Deliver over SMTP, see it over IMAP, download-and-delete over POP3, see EXPUNGE in an open IMAP session."""

    daemons = ("smtpd", "pop3d")

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.imap_skip = None
        try:
            rf.binary("imapd")
        except RuntimeError as e:
            cls.imap_skip = f"roost-imapd not available: {e}"
            return
        try:
            cls.started["imapd"] = cls.roost.start("imapd")
        except AssertionError as e:
            cls.imap_skip = f"roost-imapd did not start: {str(e)[:300]}"
            return
        with socket.create_connection((HOST, cls.roost.ports["imap"]), timeout=10) as s:
            greeting = s.recv(4096)
        if greeting.startswith(b"* BYE") and b"[UNAVAILABLE]" in greeting:
            cls.imap_skip = "roost-imapd answers * BYE [UNAVAILABLE] (IMAP not implemented in this build)"

    def test_smtp_imap_pop3_expunge(self):
        if self.imap_skip:
            self.skipTest(self.imap_skip)
        user = self.new_user()
        (stored,) = self.deliver(user, DOTS)
        imap = ImapClient(self.port("imap"))
        self.addCleanup(imap.close)
        imap.ok(f'LOGIN "{user}" "{PASSWORD}"')
        untagged = imap.ok("SELECT INBOX")
        self.assertTrue(any(re.match(rb"\* 1 EXISTS", u) for u in untagged), untagged)
        untagged = imap.ok("FETCH 1 (BODY.PEEK[])")
        self.assertIn(stored, b"".join(untagged))
        # POP3 downloads and deletes while the IMAP session stays open on INBOX.
        c = self.pop3(user)
        self.assertEqual(c.cmd("RETR 1"), f"+OK {len(stored)} octets")
        self.assertEqual(unstuff(c.multiline()), stored)
        c.ok("DELE 1")
        c.ok("QUIT")
        self.assertEqual(self.roost.messages(user), [])
        expunged = False
        deadline = time.monotonic() + 5
        while not expunged and time.monotonic() < deadline:
            expunged = any(re.match(rb"\* 1 EXPUNGE", u) for u in imap.ok("NOOP"))
            if not expunged:
                time.sleep(0.1)
        self.assertTrue(expunged, "the open IMAP session never saw * 1 EXPUNGE")
        imap.ok("LOGOUT", expect_bye=True)


class ImapClient:
    """Just enough IMAP to check the cross-protocol behaviour: tagged commands, untagged lines, literals."""

    def __init__(self, port):
        self.sock = socket.create_connection((HOST, port), timeout=10)
        self.buf = b""
        self.n = 0
        self.greeting = self._line()

    def _line(self):
        while b"\r\n" not in self.buf:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise EOFError(self.buf)
            self.buf += chunk
        line, _, self.buf = self.buf.partition(b"\r\n")
        m = re.search(rb"\{(\d+)\}$", line)
        if m:  # a literal follows: read it whole, and the rest of the line
            size = int(m.group(1))
            while len(self.buf) < size:
                self.buf += self.sock.recv(65536)
            line += b"\r\n" + self.buf[:size]
            self.buf = self.buf[size:]
            line += self._line()
        return line

    def ok(self, command, expect_bye=False):
        self.n += 1
        tag = b"t%d" % self.n
        self.sock.sendall(tag + b" " + command.encode() + b"\r\n")
        untagged = []
        while True:
            line = self._line()
            if line.startswith(tag + b" "):
                assert line.startswith(tag + b" OK"), (command, line)
                return untagged
            untagged.append(line)

    def close(self):
        self.sock.close()


if __name__ == "__main__":
    unittest.main(argv=rf.parse_args())
