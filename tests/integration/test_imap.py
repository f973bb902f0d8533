#!/usr/bin/env python3
"""Integration tests for roost-imapd: the real daemon on loopback ports, driven by Python's imaplib, a raw
socket client (byte-exact transcripts), curl's imap:// and imaps:// URLs, and roost-smtpd for deliveries.

Every test uses an account of its own on one shared installation, except those that need a different
configuration (LOGINDISABLED, APPENDLIMIT), which start their own.

Run: python3 test_imap.py --roost PATH/roost --imapd PATH/roost-imapd --smtpd PATH/roost-smtpd [unittest args]
(or set ROOST_BIN_DIR). ROOST_KEEP_TEST_DIRS=1 keeps the temporary folders (config, logs, roost.db).
"""

import base64
import imaplib
import os
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
PASSWORD = "imap pass 1"
DOMAIN = "example.test"
MAX_MESSAGE_SIZE = 200000  # APPENDLIMIT of the shared installation
MAX_ERRORS = 6

# A multipart message whose every section is known byte for byte.
PART1_BODY = "Grüße aus dem Büro. The zebra word is xylophone.".encode()
PART1_MIME = b"Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n"
PART2_MIME = (b'Content-Type: application/octet-stream; name="data.bin"\r\nContent-Transfer-Encoding: base64\r\n'
              b'Content-Disposition: attachment; filename="data.bin"\r\n\r\n')
REPORT_HEADER = (b"From: Alice Example <alice@example.test>\r\n"
                 b"To: Bob <bob@example.test>, carol@example.test\r\n"
                 b"Cc: dave@example.test\r\n"
                 b"Subject: Quarterly report\r\n"
                 b"Date: Tue, 03 Mar 2020 10:00:00 +0100\r\n"
                 b"Message-ID: <report-1@example.test>\r\n"
                 b"X-Tag: blue-42\r\n"
                 b"MIME-Version: 1.0\r\n"
                 b'Content-Type: multipart/mixed; boundary="XYZ"\r\n'
                 b"\r\n")
REPORT_TEXT = (b"preamble\r\n--XYZ\r\n" + PART1_MIME + PART1_BODY + b"\r\n--XYZ\r\n" + PART2_MIME + b"AAECAwQF\r\n"
               b"--XYZ--\r\n")
REPORT = REPORT_HEADER + REPORT_TEXT


def token():
    return uuid.uuid4().hex[:12]


def simple_message(subject="hello", body="just a test", frm="sender@outside.test", to="user@example.test",
                   date="Mon, 01 Jun 2020 08:00:00 +0000", extra=""):
    text = (f"From: {frm}\r\nTo: {to}\r\nSubject: {subject}\r\nDate: {date}\r\n"
            f"Message-ID: <{token()}@outside.test>\r\n{extra}\r\n{body}\r\n")
    return text.encode()


def literal(data):
    return b"{%d}\r\n" % len(data) + data


class Imap:
    """A raw IMAP client: exact bytes out, whole responses (literals inlined) in."""

    def __init__(self, port, tls=False, timeout=10):
        self.sock = socket.create_connection((HOST, port), timeout=timeout)
        if tls:
            self.sock = TLS.wrap_socket(self.sock)
        self.buf = b""
        self.n = 0
        self.greeting = self.response()

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass

    def send(self, data):
        self.sock.sendall(data.encode() if isinstance(data, str) else data)

    def _fill(self):
        chunk = self.sock.recv(65536)
        if not chunk:
            raise EOFError(f"connection closed; unparsed: {self.buf!r}")
        self.buf += chunk

    def _line(self):
        while b"\r\n" not in self.buf:
            self._fill()
        line, _, self.buf = self.buf.partition(b"\r\n")
        return line

    def response(self):
        """One response with its literals: bytes, CRLFs kept inside, none at the end."""
        out = self._line()
        while True:
            m = re.search(rb"\{(\d+)\}$", out)
            if not m:
                return out
            n = int(m.group(1))
            while len(self.buf) < n:
                self._fill()
            out += b"\r\n" + self.buf[:n]
            self.buf = self.buf[n:]
            out += self._line()

    def tag(self):
        self.n += 1
        return f"t{self.n}"

    def command(self, text, tag=None):
        """Sends `tag text` (text may hold LITERAL+ literals) and reads to the tagged reply.
        Returns (untagged responses as bytes, the tagged line)."""
        tag = tag or self.tag()
        data = text.encode() if isinstance(text, str) else text
        self.send(tag.encode() + b" " + data + b"\r\n")
        return self.until(tag)

    def until(self, tag):
        untagged = []
        while True:
            r = self.response()
            if r.startswith(tag.encode() + b" "):
                return untagged, r
            untagged.append(r)

    def ok(self, text):
        untagged, tagged = self.command(text)
        if not re.match(rb"\S+ OK", tagged):
            raise AssertionError(f"{text!r}: {tagged!r} (untagged {untagged!r})")
        return untagged

    def login(self, user, password=PASSWORD):
        return self.ok(f'LOGIN "{user}" "{password}"')

    def closed_by_server(self, timeout=5):
        self.sock.settimeout(timeout)
        try:
            while True:
                chunk = self.sock.recv(65536)
                if not chunk:
                    return True
                self.buf += chunk
        except (ConnectionResetError, BrokenPipeError):
            return True
        except socket.timeout:
            return False


def status_of(tagged):
    return tagged.split(b" ", 2)[1]


def fetch_items(untagged, seq=None):
    """The FETCH responses' text (literals included), by sequence number."""
    out = {}
    for r in untagged:
        m = re.match(rb"\* (\d+) FETCH \((.*)\)$", r, re.S)
        if m and (seq is None or int(m.group(1)) == seq):
            out[int(m.group(1))] = m.group(2)
    return out


def search_numbers(untagged):
    for r in untagged:
        if r.startswith(b"* SEARCH"):
            return [int(x) for x in r[8:].split() if x.isdigit()]
    raise AssertionError(f"no SEARCH response in {untagged!r}")


SHARED = None


class ImapTestCase(unittest.TestCase):
    roost = None

    def new_user(self, quota=None):
        address = f"u{token()}@{DOMAIN}"
        self.roost.add_user(address, PASSWORD, quota=quota)
        return address

    def raw(self, listener="imap", login=None, **kw):
        c = Imap(self.roost.ports[listener], tls=listener == "imaps", **kw)
        self.addCleanup(c.close)
        if login:
            c.login(login)
        return c

    def imaplib(self, user=None, listener="imap"):
        if listener == "imaps":
            m = imaplib.IMAP4_SSL(HOST, self.roost.ports["imaps"], ssl_context=TLS, timeout=10)
        else:
            m = imaplib.IMAP4(HOST, self.roost.ports[listener], timeout=10)
        self.addCleanup(self._logout, m)
        if user:
            typ, _ = m.login(user, PASSWORD)
            self.assertEqual(typ, "OK")
        return m

    @staticmethod
    def _logout(m):
        try:
            m.logout()
        except (imaplib.IMAP4.error, OSError, EOFError):
            pass

    def append(self, m, message, mailbox="INBOX", flags=None, date=None):
        """APPEND through imaplib; returns the new UID from APPENDUID."""
        typ, data = m.append(mailbox, flags, date, message)
        self.assertEqual(typ, "OK", data)
        mt = re.search(rb"\[APPENDUID (\d+) (\d+)\]", data[0])
        self.assertIsNotNone(mt, data)
        return int(mt.group(2))

    def assertOk(self, result):
        typ, data = result
        self.assertEqual(typ, "OK", data)
        return data


def setUpModule():
    global SHARED
    SHARED = rf.Roost(settings={
        "limits": {"max_message_size": MAX_MESSAGE_SIZE, "max_errors": MAX_ERRORS},
        "imap": {"plaintext_auth": "loopback"},
    })
    SHARED.add_domain(DOMAIN)
    SHARED.start("imapd")
    SHARED.start("smtpd")
    ImapTestCase.roost = SHARED


def tearDownModule():
    if SHARED:
        SHARED.close()  # SIGTERM; fails unless each daemon exits 0


# ---------------------------------------------------------------------------------------------------------------
# Connection, TLS, authentication


class GreetingAndAuthTest(ImapTestCase):
    def test_greeting_capabilities_and_login(self):
        c = self.raw()
        self.assertTrue(c.greeting.startswith(b"* OK [CAPABILITY IMAP4rev1"), c.greeting)
        caps = c.greeting.split(b"]")[0].split()
        for cap in (b"STARTTLS", b"AUTH=PLAIN", b"IDLE", b"UIDPLUS", b"MOVE", b"CONDSTORE", b"QRESYNC",
                    b"ESEARCH", b"LIST-EXTENDED", b"LIST-STATUS", b"SPECIAL-USE", b"UTF8=ACCEPT",
                    b"APPENDLIMIT=%d" % MAX_MESSAGE_SIZE):
            self.assertIn(cap, caps)
        self.assertNotIn(b"LOGINDISABLED", caps)  # loopback may log in without TLS here
        user = self.new_user()
        _, tagged = c.command(f'LOGIN "{user}" "wrong"')
        self.assertTrue(tagged.endswith(b"NO [AUTHENTICATIONFAILED] Invalid credentials"), tagged)
        _, tagged = c.command(f'LOGIN "{user}" "{PASSWORD}"')
        self.assertIn(b"OK [CAPABILITY IMAP4rev1", tagged)
        self.assertNotIn(b"STARTTLS", tagged)  # RFC 9051 §6.2.1: not after authentication
        untagged, tagged = c.command("LOGOUT")
        self.assertEqual(untagged[0][:5], b"* BYE")
        self.assertEqual(status_of(tagged), b"OK")

    def test_authenticate_login_cancel_and_literal_password(self):
        user = self.new_user()
        c = self.raw()
        # AUTHENTICATE cancelled with "*" (RFC 9051 §6.2.2): BAD, and the session goes on.
        c.send("c1 AUTHENTICATE PLAIN\r\n")
        self.assertEqual(c.response(), b"+ ")
        c.send("*\r\n")
        self.assertTrue(c.response().startswith(b"c1 BAD"))
        # AUTHENTICATE LOGIN: two challenges.
        c.send("c2 AUTHENTICATE LOGIN\r\n")
        self.assertEqual(c.response(), b"+ VXNlcm5hbWU6")
        c.send(base64.b64encode(user.encode()) + b"\r\n")
        self.assertEqual(c.response(), b"+ UGFzc3dvcmQ6")
        c.send(base64.b64encode(b"wrong") + b"\r\n")
        self.assertIn(b"c2 NO [AUTHENTICATIONFAILED]", c.response())
        # LOGIN with the password as a synchronizing literal.
        c.send(f'c3 LOGIN "{user}" {{{len(PASSWORD)}}}\r\n')
        self.assertTrue(c.response().startswith(b"+"))
        c.send(PASSWORD + "\r\n")
        self.assertIn(b"c3 OK", c.response())
        _, tagged = c.command(f'LOGIN "{user}" "{PASSWORD}"')
        self.assertEqual(status_of(tagged), b"BAD")  # already authenticated

    def test_imaplib_starttls_then_authenticate_plain(self):
        user = self.new_user()
        m = self.imaplib()
        self.assertIn("STARTTLS", m.capabilities)
        self.assertOk(m.starttls(ssl_context=TLS))
        self.assertNotIn("STARTTLS", m.capabilities)  # re-read after TLS (RFC 9051 §6.2.1)
        typ, _ = m.authenticate("PLAIN", lambda _: f"\0{user}\0{PASSWORD}".encode())
        self.assertEqual(typ, "OK")
        typ, data = m.select("INBOX")
        self.assertEqual((typ, data), ("OK", [b"0"]))

    def test_implicit_tls_port(self):
        user = self.new_user()
        m = self.imaplib(user, listener="imaps")
        self.assertIn("TLS", m.sock.version())
        self.assertNotIn("STARTTLS", m.capabilities)
        self.assertOk(m.select("INBOX"))
        uid = self.append(m, simple_message("over tls"))
        typ, data = m.uid("FETCH", str(uid), "(BODY.PEEK[HEADER.FIELDS (SUBJECT)])")
        self.assertEqual(data[0][1], b"Subject: over tls\r\n\r\n")

    def test_starttls_discards_pipelined_plaintext(self):
        # RFC 9051 §6.2.1 / STYLE 7: a command injected behind STARTTLS must not run inside TLS.
        c = self.raw()
        c.send(b"s1 STARTTLS\r\ns2 CAPABILITY\r\n")
        self.assertEqual(c.response(), b"s1 OK Begin TLS negotiation now")
        self.assertEqual(c.buf, b"")
        c.sock = TLS.wrap_socket(c.sock)
        untagged, tagged = c.command("CAPABILITY", tag="s3")
        self.assertEqual(tagged, b"s3 OK CAPABILITY completed")
        self.assertEqual(len(untagged), 1, untagged)  # nothing for s2
        self.assertNotIn(b"STARTTLS", untagged[0])

    def test_logindisabled_before_tls_when_plaintext_forbidden(self):
        roost = rf.Roost(settings={"imap": {"plaintext_auth": "never"}})
        self.addCleanup(roost.close)
        roost.add_domain(DOMAIN)
        roost.add_user(f"x@{DOMAIN}", PASSWORD)
        roost.start("imapd")
        c = Imap(roost.ports["imap"])
        self.addCleanup(c.close)
        caps = c.greeting.split(b"]")[0].split()
        self.assertIn(b"LOGINDISABLED", caps)  # RFC 9051 §6.2.3
        self.assertIn(b"STARTTLS", caps)
        self.assertNotIn(b"AUTH=PLAIN", caps)
        _, tagged = c.command(f'LOGIN "x@{DOMAIN}" "{PASSWORD}"')
        self.assertEqual(status_of(tagged), b"NO", tagged)
        self.assertIn(b"PRIVACYREQUIRED", tagged)
        _, tagged = c.command("AUTHENTICATE PLAIN AHhAZXhhbXBsZS50ZXN0AGltYXAgcGFzcyAx")
        self.assertEqual(status_of(tagged), b"NO", tagged)
        _, tagged = c.command("STARTTLS")
        self.assertEqual(status_of(tagged), b"OK")
        c.sock = TLS.wrap_socket(c.sock)
        untagged, _ = c.command("CAPABILITY")
        self.assertNotIn(b"LOGINDISABLED", untagged[0])
        self.assertIn(b"AUTH=PLAIN", untagged[0])
        c.login(f"x@{DOMAIN}")
        # Implicit TLS: no STARTTLS step needed.
        m = imaplib.IMAP4_SSL(HOST, roost.ports["imaps"], ssl_context=TLS, timeout=10)
        self.addCleanup(self._logout, m)
        self.assertNotIn("LOGINDISABLED", m.capabilities)
        self.assertEqual(m.login(f"x@{DOMAIN}", PASSWORD)[0], "OK")


# ---------------------------------------------------------------------------------------------------------------
# Syntax errors and limits


class ErrorsAndLimitsTest(ImapTestCase):
    def test_bad_commands_answer_with_their_tag_and_session_continues(self):
        user = self.new_user()
        c = self.raw(login=user)
        for text, tag in ((b"x1 FROBNICATE", b"x1"), (b"x2 SELECT", b"x2"), (b"x3 FETCH 1 (FLAGS", b"x3"),
                          (b"x4 SEARCH FOO", b"x4")):
            c.send(text + b"\r\n")
            r = c.response()
            self.assertTrue(r.startswith(tag + b" BAD "), r)
        _, tagged = c.command("FETCH 1 FLAGS")  # not selected
        self.assertEqual(status_of(tagged), b"BAD", tagged)
        untagged, tagged = c.command("NOOP")
        self.assertEqual(status_of(tagged), b"OK")
        c.ok("SELECT INBOX")
        msg = simple_message("only one")
        c.ok(b"APPEND INBOX {%d+}\r\n" % len(msg) + msg)
        for cmd in ("FETCH 2 FLAGS", "FETCH 1:3 FLAGS", "STORE 2 +FLAGS (\\Seen)", "COPY 2 Trash", "MOVE 1,2 Trash"):
            _, tagged = c.command(cmd)
            self.assertTrue(tagged.endswith(b" BAD Invalid message sequence number"), (cmd, tagged))
        self.assertEqual(fetch_items(c.ok("FETCH 1:* UID")), {1: b"UID 1"})
        self.assertEqual(c.ok("UID FETCH 2:5 UID"), [])  # UIDs that do not exist are no error
        self.assertEqual(self.roost.messages(user, "Trash"), [])
        c.ok("NOOP")

    def test_pipelined_commands(self):
        user = self.new_user()
        c = self.raw()
        msg = simple_message("pipelined")
        c.send(f'p1 LOGIN "{user}" "{PASSWORD}"\r\np2 SELECT INBOX\r\n'.encode() +
               b"p3 APPEND INBOX {%d+}\r\n" % len(msg) + msg + b"\r\np4 FETCH 1 (BODY.PEEK[HEADER.FIELDS (SUBJECT)])\r\n"
               b"p5 LOGOUT\r\n")
        responses = []
        while not responses or not responses[-1].startswith(b"p5 "):
            responses.append(c.response())
        tagged = [r for r in responses if not r.startswith(b"* ")]
        self.assertEqual([t.split(b" ")[:2] for t in tagged],
                         [[b"p1", b"OK"], [b"p2", b"OK"], [b"p3", b"OK"], [b"p4", b"OK"], [b"p5", b"OK"]])
        self.assertLess(responses.index(b"* 1 EXISTS"), responses.index(tagged[2]))  # EXISTS before p3 OK
        self.assertIn(b"* 1 FETCH (BODY[HEADER.FIELDS (SUBJECT)] {22}\r\nSubject: pipelined\r\n\r\n)", responses)

    def test_too_many_errors_ends_session(self):
        c = self.raw()
        for i in range(MAX_ERRORS - 1):
            c.send(f"e{i} WHAT\r\n")
            self.assertTrue(c.response().startswith(f"e{i} BAD".encode()))
        c.send("last WHAT\r\n")
        self.assertTrue(c.response().startswith(b"last BAD"))
        self.assertTrue(c.response().startswith(b"* BYE"))
        self.assertTrue(c.closed_by_server())

    def test_literal_above_appendlimit_refused_before_it_is_sent(self):
        user = self.new_user()
        c = self.raw(login=user)
        # Synchronizing literal: the server must answer instead of "+" (RFC 7889 §4 / RFC 9051 §7.5).
        c.send(f"big APPEND INBOX {{{MAX_MESSAGE_SIZE + 1}}}\r\n")
        r = c.response()
        self.assertTrue(r.startswith(b"big NO [TOOBIG]") or r.startswith(b"big BAD [TOOBIG]"), r)
        c.ok("NOOP")  # nothing of the literal was expected, the session goes on
        # At the limit it is accepted.
        msg = simple_message("at the limit")
        msg = msg + b"x" * (MAX_MESSAGE_SIZE - len(msg) - 2) + b"\r\n"
        self.assertEqual(len(msg), MAX_MESSAGE_SIZE)
        c.send(f"fit APPEND INBOX {{{len(msg)}}}\r\n")
        self.assertTrue(c.response().startswith(b"+"))
        c.send(msg + b"\r\n")
        _, tagged = c.until("fit")
        self.assertIn(b"OK [APPENDUID", tagged)
        self.assertEqual(self.roost.messages(user)[-1], msg)
        # A non-synchronizing literal above the limit cannot be refused before it arrives: the session ends
        # rather than read the literal's bytes as commands (RFC 7888 §4).
        c.send(f"plus APPEND INBOX {{{MAX_MESSAGE_SIZE + 1}+}}\r\n")
        r = c.response()
        self.assertTrue(re.match(rb"plus (NO|BAD) \[TOOBIG\]", r), r)
        self.assertTrue(c.closed_by_server())

    def test_rejected_command_with_literal_plus_data_runs_none_of_it(self):
        # The literal of a command that failed its syntax check is skipped, not read as commands.
        user = self.new_user()
        c = self.raw(login=user)
        payload = b"x1 DELETE Trash\r\nx2 CREATE Injected\r\n"
        c.send(b"a1 APPEND INBOX (\\Bogus) {%d+}\r\n" % len(payload) + payload + b"\r\n")
        r = c.response()
        self.assertTrue(r.startswith(b"a1 BAD"), r)
        untagged = c.ok('LIST "" "*"')
        self.assertIn(b'* LIST (\\HasNoChildren \\Trash) "/" Trash', untagged)
        self.assertFalse([u for u in untagged if b"Injected" in u], untagged)

    def test_command_line_too_long_ends_session(self):
        c = self.raw()
        c.send(b"a1 NOOP " + b"x" * 70000 + b"\r\n")
        # Its tag and a LITERAL+ announcement at its end are lost with it: the session ends (as Dovecot's).
        self.assertEqual(c.response(), b"* BYE Command line too long")
        self.assertTrue(c.closed_by_server())

    def test_autologout(self):
        roost = rf.Roost(settings={"imap": {"idle_timeout": "2s"}})
        self.addCleanup(roost.close)
        roost.add_domain(DOMAIN)
        roost.add_user(f"x@{DOMAIN}", PASSWORD)
        roost.start("imapd")
        waiting = Imap(roost.ports["imap"])
        idling = Imap(roost.ports["imap"])
        for c in (waiting, idling):
            self.addCleanup(c.close)
        idling.login(f"x@{DOMAIN}")
        idling.ok("SELECT INBOX")
        idling.send("i IDLE\r\n")
        self.assertTrue(idling.response().startswith(b"+ "))
        started = time.monotonic()
        for c in (waiting, idling):
            c.sock.settimeout(8)
            self.assertEqual(c.response(), b"* BYE Autologout; idle for too long")
            self.assertTrue(c.closed_by_server())
        self.assertLess(time.monotonic() - started, 6)

    def test_imaplib_append_too_big(self):
        user = self.new_user()
        m = self.imaplib(user)
        typ, data = m.append("INBOX", None, None, b"Subject: big\r\n\r\n" + b"y" * MAX_MESSAGE_SIZE)
        self.assertEqual(typ, "NO")
        self.assertIn(b"[TOOBIG]", data[0])
        self.assertOk(m.noop())


# ---------------------------------------------------------------------------------------------------------------
# FETCH


class FetchTest(ImapTestCase):
    def setUp(self):
        self.user = self.new_user()
        self.c = self.raw(login=self.user)
        self.c.ok(b'APPEND INBOX (\\Flagged $Report) "05-Jan-2021 13:14:15 +0100" {%d+}\r\n' % len(REPORT) + REPORT)
        self.c.ok("SELECT INBOX")

    def fetch(self, items, seq=1):
        untagged, tagged = self.c.command(f"FETCH {seq} {items}")
        self.assertEqual(status_of(tagged), b"OK", tagged)
        return fetch_items(untagged)[seq]

    def test_simple_items(self):
        r = self.fetch("(FLAGS UID INTERNALDATE RFC822.SIZE)")
        self.assertEqual(r, b'FLAGS (\\Flagged \\Recent $Report) UID 1 INTERNALDATE "05-Jan-2021 12:14:15 +0000" '
                            b"RFC822.SIZE %d" % len(REPORT))

    def test_envelope(self):
        r = self.fetch("ENVELOPE")
        self.assertEqual(r, b'ENVELOPE ("Tue, 03 Mar 2020 10:00:00 +0100" "Quarterly report" '
                            b'(("Alice Example" NIL "alice" "example.test")) '
                            b'(("Alice Example" NIL "alice" "example.test")) '
                            b'(("Alice Example" NIL "alice" "example.test")) '
                            b'(("Bob" NIL "bob" "example.test")(NIL NIL "carol" "example.test")) '
                            b'((NIL NIL "dave" "example.test")) NIL NIL "<report-1@example.test>")')

    def test_bodystructure_and_body(self):
        # Strings in BODYSTRUCTURE are case-insensitive (RFC 9051 §7.5.2): compare in lower case.
        r = self.fetch("BODYSTRUCTURE").lower()
        self.assertTrue(r.startswith(b'bodystructure (("text" "plain" ("charset" "utf-8") nil nil "8bit" %d 1 '
                                     % len(PART1_BODY)), r)
        self.assertIn(b'("application" "octet-stream" ("name" "data.bin") nil nil "base64" 8 ', r)
        self.assertIn(b'("attachment" ("filename" "data.bin"))', r)
        self.assertIn(b'"mixed" ("boundary" "xyz")', r)
        r = self.fetch("BODY").lower()
        self.assertTrue(r.startswith(b'body (("text" "plain" ("charset" "utf-8") nil nil "8bit" %d 1)'
                                     % len(PART1_BODY)), r)
        self.assertTrue(r.endswith(b' "mixed")'), r)  # no extension data in BODY

    def test_sections(self):
        r = self.fetch("(BODY.PEEK[] BODY.PEEK[HEADER] BODY.PEEK[TEXT])")
        self.assertEqual(r, b"BODY[] " + literal(REPORT) + b" BODY[HEADER] " + literal(REPORT_HEADER) +
                         b" BODY[TEXT] " + literal(REPORT_TEXT))
        r = self.fetch("(BODY.PEEK[1] BODY.PEEK[1.MIME] BODY.PEEK[2] BODY.PEEK[2.MIME])")
        self.assertEqual(r, b"BODY[1] " + literal(PART1_BODY) + b" BODY[1.MIME] " + literal(PART1_MIME) +
                         b" BODY[2] " + literal(b"AAECAwQF") + b" BODY[2.MIME] " + literal(PART2_MIME))
        r = self.fetch("BODY.PEEK[HEADER.FIELDS (subject X-TAG from)]")
        self.assertEqual(r, b"BODY[HEADER.FIELDS (SUBJECT X-TAG FROM)] " +
                         literal(b"From: Alice Example <alice@example.test>\r\nSubject: Quarterly report\r\n"
                                 b"X-Tag: blue-42\r\n\r\n"))
        r = self.fetch("BODY.PEEK[HEADER.FIELDS.NOT (Content-Type MIME-Version Message-ID Date Cc To X-Tag)]")
        self.assertEqual(r, b"BODY[HEADER.FIELDS.NOT (CONTENT-TYPE MIME-VERSION MESSAGE-ID DATE CC TO X-TAG)] " +
                         literal(b"From: Alice Example <alice@example.test>\r\nSubject: Quarterly report\r\n\r\n"))
        r = self.fetch("(BODY.PEEK[]<0.12> BODY.PEEK[1]<6.3> BODY.PEEK[TEXT]<100000.5>)")
        self.assertEqual(r, b"BODY[]<0> " + literal(REPORT[:12]) + b" BODY[1]<6> " + literal(PART1_BODY[6:9]) +
                         b" BODY[TEXT]<100000> " + literal(b""))
        r = self.fetch("BODY.PEEK[3]")
        self.assertIn(r, (b"BODY[3] NIL", b'BODY[3] ""', b"BODY[3] {0}\r\n"))

    def test_rfc822_items(self):
        r = self.fetch("(RFC822.HEADER RFC822.SIZE)")
        self.assertEqual(r, b"RFC822.HEADER " + literal(REPORT_HEADER) + b" RFC822.SIZE %d" % len(REPORT))
        self.assertNotIn(b"\\Seen", self.fetch("FLAGS"))  # RFC822.HEADER is a peek
        r = self.fetch("RFC822.TEXT")
        self.assertTrue(r.startswith(b"RFC822.TEXT " + literal(REPORT_TEXT)), r)
        self.assertIn(b"FLAGS (\\Seen", r)  # \Seen set, and the client is told (RFC 9051 §6.4.5)
        r = self.fetch("RFC822")
        self.assertEqual(r, b"RFC822 " + literal(REPORT))

    def test_binary(self):
        # RFC 9051 §6.4.5: BINARY undoes the part's Content-Transfer-Encoding; decoded data with NUL goes
        # in a literal8 (§4.3); BINARY.SIZE is the decoded size; BINARY.PEEK does not set \Seen.
        r = self.fetch("(BINARY.PEEK[1] BINARY.PEEK[2] BINARY.SIZE[2] BINARY.SIZE[1])")
        self.assertEqual(r, b"BINARY[1] " + literal(PART1_BODY) + b" BINARY[2] ~" + literal(bytes(range(6))) +
                         b" BINARY.SIZE[2] 6 BINARY.SIZE[1] %d" % len(PART1_BODY))
        r = self.fetch("BINARY.PEEK[2]<2.3>")
        self.assertEqual(r, b"BINARY[2]<2> " + literal(b"\x02\x03\x04"))  # no NUL in this range: a plain literal
        r = self.fetch("BINARY.PEEK[]")
        self.assertEqual(r, b"BINARY[] " + literal(REPORT))
        self.assertNotIn(b"\\Seen", self.fetch("FLAGS"))
        r = self.fetch("BINARY[1]")
        self.assertIn(b"FLAGS (\\Seen", r)
        # An encoding the server cannot undo: NO [UNKNOWN-CTE], and the session goes on.
        odd = (b"Subject: odd\r\nContent-Type: application/x-thing\r\nContent-Transfer-Encoding: x-uuencode\r\n\r\n"
               b"begin 644 x\r\n")
        self.c.ok(b"APPEND INBOX {%d+}\r\n" % len(odd) + odd)
        self.c.ok("NOOP")
        untagged, tagged = self.c.command("FETCH 2 BINARY.PEEK[1]")
        self.assertRegex(tagged, rb"^\S+ NO \[UNKNOWN-CTE\]")
        self.assertEqual(self.fetch("BINARY.PEEK[1]", seq=1)[:10], b"BINARY[1] ")

    def test_seen_set_by_body_not_by_peek(self):
        self.fetch("BODY.PEEK[]")
        self.fetch("BODY.PEEK[1]")
        self.assertEqual(self.fetch("FLAGS"), b"FLAGS (\\Flagged \\Recent $Report)")
        r = self.fetch("BODY[1]")
        self.assertEqual(r.split(b" FLAGS ")[1], b"(\\Seen \\Flagged \\Recent $Report)")
        self.assertEqual(self.fetch("FLAGS"), b"FLAGS (\\Seen \\Flagged \\Recent $Report)")
        # A second session sees the change at its next NOOP.
        d = self.raw(login=self.user)
        d.ok("EXAMINE INBOX")
        self.c.ok("STORE 1 -FLAGS.SILENT (\\Seen)")
        untagged = d.ok("NOOP")
        self.assertIn(b"* 1 FETCH (FLAGS (\\Flagged $Report) UID 1)", untagged)
        # EXAMINE is read-only: BODY[] does not set \Seen there.
        r = fetch_items(d.ok("FETCH 1 BODY[TEXT]"))[1]
        self.assertNotIn(b"\\Seen", r)
        self.assertEqual(self.roost.query("SELECT flags & 1 FROM messages m JOIN mailboxes mb ON mb.id = m.mailbox_id"
                                          " JOIN accounts a ON a.id = mb.account_id WHERE a.address = ?",
                                          (self.user,)), [(0,)])

    def test_modseq(self):
        r1 = self.fetch("(MODSEQ)")
        m1 = int(re.search(rb"MODSEQ \((\d+)\)", r1).group(1))
        untagged = self.c.ok("STORE 1 +FLAGS (\\Answered)")
        m2 = int(re.search(rb"MODSEQ \((\d+)\)", untagged[0]).group(1))  # CONDSTORE is on since FETCH MODSEQ
        self.assertGreater(m2, m1)
        untagged = self.c.ok(f"FETCH 1:* (FLAGS) (CHANGEDSINCE {m2})")
        self.assertEqual(fetch_items(untagged), {})
        untagged = self.c.ok(f"FETCH 1:* (FLAGS) (CHANGEDSINCE {m1})")
        self.assertIn(b"MODSEQ (%d)" % m2, fetch_items(untagged)[1])
        untagged, tagged = self.c.command(f"STORE 1 (UNCHANGEDSINCE {m1}) +FLAGS (\\Draft)")
        self.assertIn(b"[MODIFIED 1]", tagged)

    def test_imaplib_fetch(self):
        m = self.imaplib(self.user)
        self.assertOk(m.select("INBOX", readonly=True))
        typ, data = m.fetch("1", "(UID RFC822.SIZE BODY.PEEK[HEADER.FIELDS (SUBJECT)] BODY.PEEK[1])")
        self.assertEqual(typ, "OK")
        self.assertEqual(data[0][1], b"Subject: Quarterly report\r\n\r\n")
        self.assertEqual(data[1][1], PART1_BODY)
        typ, data = m.uid("FETCH", "1", "(RFC822)")
        self.assertEqual(data[0][1], REPORT)


# ---------------------------------------------------------------------------------------------------------------
# Flags, keywords, \Recent


class FlagsTest(ImapTestCase):
    def test_store_flags_and_keywords(self):
        user = self.new_user()
        m = self.imaplib(user)
        for i in range(3):
            self.append(m, simple_message(f"m{i}"))
        typ, data = m.select("INBOX")
        self.assertEqual(data, [b"3"])
        self.assertIn("\\*", m.untagged_responses["PERMANENTFLAGS"][0].decode())
        data = self.assertOk(m.store("1:2", "+FLAGS", "(\\Flagged $Label1 Work)"))
        self.assertEqual(sorted(data), [b"1 (FLAGS (\\Flagged \\Recent $Label1 Work))",
                                        b"2 (FLAGS (\\Flagged \\Recent $Label1 Work))"])
        data = self.assertOk(m.store("2", "-FLAGS", "(work)"))  # keywords compare case-insensitively
        self.assertEqual(data, [b"2 (FLAGS (\\Flagged \\Recent $Label1))"])
        data = self.assertOk(m.store("3", "FLAGS.SILENT", "(\\Answered \\Draft)"))
        self.assertEqual(data, [None])
        typ, data = m.fetch("1:3", "(FLAGS)")
        self.assertEqual(data, [b"1 (FLAGS (\\Flagged \\Recent $Label1 Work))", b"2 (FLAGS (\\Flagged \\Recent $Label1))",
                                b"3 (FLAGS (\\Answered \\Draft \\Recent))"])
        with self.assertRaises(imaplib.IMAP4.error):
            m.store("1", "+FLAGS", "(\\Bogus)")
        # New keywords appear in FLAGS / PERMANENTFLAGS at the next SELECT.
        typ, data = m.select("INBOX")
        self.assertIn(b"$Label1", m.untagged_responses["FLAGS"][0])
        self.assertIn(b"Work", m.untagged_responses["FLAGS"][0])

    def test_recent_per_rfc3501(self):
        user = self.new_user()
        a = self.raw(login=user)
        a.ok(b"APPEND INBOX {%d+}\r\n" % len(simple_message("r1")) + simple_message("r1"))
        # EXAMINE does not claim \Recent (RFC 3501 §6.3.2: read-only), so a later SELECT still sees it.
        untagged = a.ok("EXAMINE INBOX")
        self.assertIn(b"* 1 RECENT", untagged)
        b = self.raw(login=user)
        untagged = b.ok("SELECT INBOX")
        self.assertIn(b"* 1 RECENT", untagged)
        self.assertIn(b"\\Recent", fetch_items(b.ok("FETCH 1 FLAGS"))[1])
        # Only one session is told a message is recent.
        c = self.raw(login=user)
        untagged = c.ok("SELECT INBOX")
        self.assertIn(b"* 0 RECENT", untagged)
        self.assertNotIn(b"\\Recent", fetch_items(c.ok("FETCH 1 FLAGS"))[1])
        self.assertEqual(search_numbers(c.ok("SEARCH RECENT")), [])
        self.assertEqual(search_numbers(b.ok("SEARCH RECENT")), [1])
        self.assertEqual(search_numbers(b.ok("SEARCH NEW")), [1])
        # A new message seen first by c (its NOOP comes first) is recent for c only.
        a.ok(b"APPEND INBOX {%d+}\r\n" % len(simple_message("r2")) + simple_message("r2"))
        untagged = c.ok("NOOP")
        self.assertIn(b"* 2 EXISTS", untagged)
        self.assertIn(b"* 1 RECENT", untagged)
        untagged = b.ok("NOOP")
        self.assertIn(b"* 2 EXISTS", untagged)
        self.assertIn(b"* 1 RECENT", untagged)  # still only message 1 for b
        self.assertEqual(search_numbers(c.ok("SEARCH RECENT")), [2])
        # \Recent cannot be stored by a client (RFC 3501 §2.3.2): b still has it, c does not get it.
        c.command("STORE 1 +FLAGS (\\Recent)")
        self.assertNotIn(b"\\Recent", fetch_items(c.ok("FETCH 1 FLAGS"))[1])
        # STATUS RECENT counts unclaimed messages; after the sessions end a new one sees none.
        for s in (b, c):
            s.ok("LOGOUT")
        d = self.raw(login=user)
        self.assertIn(b"* 0 RECENT", d.ok("SELECT INBOX"))

    def test_no_recent_after_enable_imap4rev2(self):
        user = self.new_user()
        a = self.raw(login=user)
        a.ok(b"APPEND INBOX {%d+}\r\n" % len(simple_message("r1")) + simple_message("r1"))
        self.assertIn(b"* ENABLED IMAP4REV2", a.ok("ENABLE IMAP4rev2"))
        untagged = a.ok("SELECT INBOX")
        self.assertFalse([r for r in untagged if r.endswith(b"RECENT")], untagged)
        self.assertIn(b'* LIST () "/" INBOX', untagged)  # RFC 9051 §6.3.2
        self.assertNotIn(b"\\Recent", fetch_items(a.ok("FETCH 1 FLAGS"))[1])
        # RFC 9051 answers every SEARCH with ESEARCH.
        self.assertEqual(a.command("SEARCH ALL", tag="s1")[0], [b'* ESEARCH (TAG "s1") ALL 1'])


# ---------------------------------------------------------------------------------------------------------------
# SEARCH, SORT, THREAD


class SearchTest(ImapTestCase):
    @classmethod
    def setUpClass(cls):
        cls.user = f"search{token()}@{DOMAIN}"
        cls.roost.add_user(cls.user, PASSWORD)
        m = imaplib.IMAP4(HOST, cls.roost.ports["imap"], timeout=10)
        m.login(cls.user, PASSWORD)
        msgs = [
            # (message, flags, internal date)
            (simple_message("Alpha meeting", "Agenda: budget talks", frm="Carol <carol@corp.test>",
                            to="team@example.test", date="Mon, 01 Jun 2020 08:00:00 +0000",
                            extra="Cc: boss@corp.test\r\nX-Priority: 1\r\n"), "(\\Seen)", '"01-Jun-2020 09:00:00 +0000"'),
            (simple_message("Beta release", "The release notes mention xylophone twice: xylophone.",
                            frm="dev@example.test", date="Wed, 10 Jun 2020 08:00:00 +0000"),
             "(\\Flagged \\Answered $Work)", '"10-Jun-2020 09:00:00 +0000"'),
            (simple_message("Gamma Grüße", "Herzliche Grüße aus Köln " + "z" * 3000, frm="köln@example.test",
                            date="Sat, 20 Jun 2020 08:00:00 +0000").replace(b"Subject: Gamma Gr\xc3\xbc\xc3\x9fe",
                                                                           b"Subject: =?utf-8?q?Gamma_Gr=C3=BC=C3=9Fe?="),
             "(\\Deleted)", '"20-Jun-2020 09:00:00 +0000"'),
            (simple_message("Re: Alpha meeting", "I will attend", frm="dave@corp.test",
                            date="Tue, 02 Jun 2020 08:00:00 +0000", extra="In-Reply-To: <alpha@x>\r\n"),
             "(\\Draft)", '"02-Jun-2020 09:00:00 +0000"'),
        ]
        cls.messages = [msg for msg, _, _ in msgs]
        for msg, flags, date in msgs:
            typ, data = m.append("INBOX", flags, date, msg)
            assert typ == "OK", data
        m.logout()

    def setUp(self):
        self.c = self.raw(login=self.user)
        self.c.ok("EXAMINE INBOX")

    def search(self, criteria, uid=False):
        untagged, tagged = self.c.command(("UID SEARCH " if uid else "SEARCH ") + criteria)
        self.assertEqual(status_of(tagged), b"OK", (criteria, tagged))
        return search_numbers(untagged)

    def test_sets_flags_and_logic(self):
        self.assertEqual(self.search("ALL"), [1, 2, 3, 4])
        self.assertEqual(self.search("2:3"), [2, 3])
        self.assertEqual(self.search("2:*"), [2, 3, 4])
        self.assertEqual(self.search("UID 1,3"), [1, 3])
        self.assertEqual(self.search("1:2", uid=True), [1, 2])
        self.assertEqual(self.search("SEEN"), [1])
        self.assertEqual(self.search("UNSEEN"), [2, 3, 4])
        self.assertEqual(self.search("FLAGGED ANSWERED"), [2])
        self.assertEqual(self.search("DELETED"), [3])
        self.assertEqual(self.search("UNDELETED"), [1, 2, 4])
        self.assertEqual(self.search("DRAFT"), [4])
        self.assertEqual(self.search("KEYWORD $Work"), [2])
        self.assertEqual(self.search("UNKEYWORD $Work"), [1, 3, 4])
        self.assertEqual(self.search("NOT SEEN NOT DELETED"), [2, 4])
        self.assertEqual(self.search("OR SEEN DRAFT"), [1, 4])
        self.assertEqual(self.search("OR (SEEN FLAGGED) (NOT 1:3)"), [4])
        self.assertEqual(self.search("(OR SEEN DELETED) UID 2:*"), [3])

    def test_dates_and_sizes(self):
        self.assertEqual(self.search("BEFORE 10-Jun-2020"), [1, 4])
        self.assertEqual(self.search("ON 10-Jun-2020"), [2])
        self.assertEqual(self.search("SINCE 10-Jun-2020"), [2, 3])
        self.assertEqual(self.search("SENTBEFORE 2-Jun-2020"), [1])
        self.assertEqual(self.search("SENTON 2-Jun-2020"), [4])
        self.assertEqual(self.search("SENTSINCE 10-Jun-2020"), [2, 3])
        self.assertEqual(self.search("LARGER 2000"), [3])
        self.assertEqual(self.search("SMALLER 2000"), [1, 2, 4])
        _, tagged = self.c.command("SEARCH BEFORE 31-Foo-2020")
        self.assertEqual(status_of(tagged), b"BAD")

    def test_headers_and_text(self):
        self.assertEqual(self.search("FROM carol"), [1])
        self.assertEqual(self.search("FROM CORP.TEST"), [1, 4])
        self.assertEqual(self.search("TO team"), [1])
        self.assertEqual(self.search("CC boss"), [1])
        self.assertEqual(self.search("BCC boss"), [])
        self.assertEqual(self.search('SUBJECT "alpha meeting"'), [1, 4])
        self.assertEqual(self.search("HEADER X-Priority 1"), [1])
        self.assertEqual(self.search('HEADER In-Reply-To ""'), [4])
        self.assertEqual(self.search("BODY xylophone"), [2])
        self.assertEqual(self.search("TEXT meeting"), [1, 4])  # only in the subjects
        # The full-text index keeps header and body apart: BODY never matches a header field, TEXT
        # matches any header field (RFC 9051 §6.4.4).
        self.assertEqual(self.search("BODY meeting"), [])
        self.assertEqual(self.search("BODY agenda"), [1])
        self.assertEqual(self.search("TEXT boss"), [1])
        self.assertEqual(self.search("TEXT agenda"), [1])
        self.assertEqual(self.search("NOT BODY xylophone"), [1, 3, 4])
        # CHARSET UTF-8 with a literal search string, in the decoded subject and in the body.
        word = "Grüße".encode()
        for key, want in ((b"SUBJECT", [3]), (b"BODY", [3]), (b"TEXT", [3])):
            untagged, tagged = self.c.command(b"SEARCH CHARSET UTF-8 " + key + b" {%d+}\r\n" % len(word) + word)
            self.assertEqual(status_of(tagged), b"OK", tagged)
            self.assertEqual(search_numbers(untagged), want, key)
        untagged, tagged = self.c.command("SEARCH CHARSET KOI8-R ALL")
        self.assertIn(b"[BADCHARSET", tagged)

    def test_imaplib_search_sort_thread(self):
        m = self.imaplib(self.user)
        self.assertOk(m.select("INBOX", readonly=True))
        self.assertEqual(self.assertOk(m.search(None, "FROM", "corp.test")), [b"1 4"])
        self.assertEqual(self.assertOk(m.uid("SEARCH", "CHARSET", "UTF-8", "TEXT", "attend")), [b"4"])
        self.assertEqual(self.assertOk(m.sort("(SUBJECT)", "UTF-8", "ALL")), [b"1 4 2 3"])
        self.assertEqual(self.assertOk(m.sort("(REVERSE DATE)", "UTF-8", "ALL")), [b"3 2 4 1"])
        by_size = sorted((len(self.messages[i]), i + 1) for i in (0, 1, 3))
        self.assertEqual(self.assertOk(m.sort("(SIZE)", "UTF-8", "UNDELETED")),
                         [" ".join(str(n) for _, n in by_size).encode()])
        data = self.assertOk(m.thread("ORDEREDSUBJECT", "UTF-8", "ALL"))
        self.assertEqual(data, [b"(1 4)(2)(3)"])

    def test_sort_and_thread_references(self):
        user = self.new_user()
        c = self.raw(login=user)
        msgs = [b"From: Zed <a@x.test>\r\nSubject: Topic\r\nMessage-ID: <m1@x>\r\nDate: Mon, 01 Jun 2020 08:00:00 +0000"
                b"\r\n\r\nx\r\n",
                b"From: Amy <b@x.test>\r\nSubject: Re: Topic\r\nMessage-ID: <m2@x>\r\nIn-Reply-To: <m1@x>\r\n"
                b"References: <m1@x>\r\nDate: Tue, 02 Jun 2020 08:00:00 +0000\r\n\r\nx\r\n",
                b"From: Bob <c@x.test>\r\nSubject: Other\r\nMessage-ID: <m3@x>\r\nDate: Wed, 03 Jun 2020 08:00:00 +0000"
                b"\r\n\r\nx\r\n",
                b"From: Cy <d@x.test>\r\nSubject: Re: Re: Topic\r\nMessage-ID: <m4@x>\r\nReferences: <m1@x> <m2@x>\r\n"
                b"Date: Thu, 04 Jun 2020 08:00:00 +0000\r\n\r\nx\r\n"]
        for m in msgs:
            c.ok(b"APPEND INBOX {%d+}\r\n" % len(m) + m)
        c.ok("SELECT INBOX")
        self.assertEqual(c.ok("THREAD REFERENCES UTF-8 ALL"), [b"* THREAD (1 2 4)(3)"])  # RFC 5256 §2.2
        self.assertEqual(c.ok("THREAD ORDEREDSUBJECT UTF-8 ALL"), [b"* THREAD (1 (2)(4))(3)"])
        self.assertEqual(c.ok("UID THREAD REFERENCES UTF-8 NOT FROM amy"), [b"* THREAD (1 4)(3)"])
        self.assertEqual(c.ok("SORT (DISPLAYFROM) UTF-8 ALL"), [b"* SORT 2 3 4 1"])  # RFC 5957
        self.assertEqual(c.ok("SORT (REVERSE DATE) UTF-8 ALL"), [b"* SORT 4 3 2 1"])
        self.assertEqual(c.ok("SORT (SUBJECT FROM) UTF-8 ALL"), [b"* SORT 3 1 2 4"])  # base subjects, then address

    def test_esearch_and_searchres(self):
        untagged, _ = self.c.command("SEARCH RETURN (MIN MAX COUNT) UNSEEN", tag="e1")
        self.assertEqual(untagged, [b'* ESEARCH (TAG "e1") MIN 2 MAX 4 COUNT 3'])
        untagged, _ = self.c.command("UID SEARCH RETURN (ALL) 1:*", tag="e2")
        self.assertEqual(untagged, [b'* ESEARCH (TAG "e2") UID ALL 1:4'])
        untagged, _ = self.c.command("SEARCH RETURN () NOT ALL", tag="e3")
        self.assertEqual(untagged, [b'* ESEARCH (TAG "e3")'])
        # RFC 5182: SAVE alone answers nothing; "$" is then the saved set.
        untagged, tagged = self.c.command("SEARCH RETURN (SAVE) OR SEEN DRAFT", tag="e4")
        self.assertEqual((untagged, status_of(tagged)), ([], b"OK"))
        self.assertEqual(sorted(fetch_items(self.c.ok("FETCH $ UID"))), [1, 4])
        self.assertEqual(self.search("$ DRAFT"), [4])
        # With MIN/MAX only, only those are saved.
        untagged, _ = self.c.command("UID SEARCH RETURN (SAVE MAX) UNSEEN", tag="e5")
        self.assertEqual(untagged, [b'* ESEARCH (TAG "e5") UID MAX 4'])
        self.assertEqual(self.search("$", uid=True), [4])


# ---------------------------------------------------------------------------------------------------------------
# Mailboxes


class MailboxTest(ImapTestCase):
    def mailbox_names(self, user):
        return sorted(r[0] for r in self.roost.query(
            "SELECT mb.name FROM mailboxes mb JOIN accounts a ON a.id = mb.account_id WHERE a.address = ?", (user,)))

    def test_create_delete_rename_subscribe(self):
        user = self.new_user()
        m = self.imaplib(user)
        typ, data = m.list()
        self.assertEqual(sorted(data), sorted([b'(\\HasNoChildren) "/" INBOX',
                                               b'(\\HasNoChildren \\Archive) "/" Archive',
                                               b'(\\HasNoChildren \\Drafts) "/" Drafts',
                                               b'(\\HasNoChildren \\Junk) "/" Junk',
                                               b'(\\HasNoChildren \\Sent) "/" Sent',
                                               b'(\\HasNoChildren \\Trash) "/" Trash']))
        self.assertOk(m.create("Projects/2024/Q1"))  # superiors are created too
        self.assertEqual(self.assertOk(m.list('""', "Projects/%")), [b'(\\HasChildren) "/" Projects/2024'])
        self.assertEqual(self.assertOk(m.list("Projects/", "*")),
                         [b'(\\HasChildren) "/" Projects/2024', b'(\\HasNoChildren) "/" Projects/2024/Q1'])
        typ, data = m.create("Projects")
        self.assertEqual(typ, "NO")
        self.assertIn(b"ALREADYEXISTS", data[0])
        typ, data = m.create("inbox")
        self.assertEqual(typ, "NO")
        uid = self.append(m, simple_message("keep me"), mailbox="Projects/2024/Q1")
        self.assertOk(m.rename("Projects/2024", "Archive/2024"))
        self.assertEqual(self.assertOk(m.list("Archive/", "*")),
                         [b'(\\HasChildren) "/" Archive/2024', b'(\\HasNoChildren) "/" Archive/2024/Q1'])
        typ, data = m.select("Archive/2024/Q1")
        self.assertEqual(data, [b"1"])
        self.assertEqual(self.assertOk(m.uid("SEARCH", "ALL")), [str(uid).encode()])
        m.close()
        typ, data = m.rename("Nope", "Other")
        self.assertEqual(typ, "NO")
        typ, data = m.delete("Archive/2024")
        self.assertEqual(typ, "NO")  # has inferiors (Deviation documented in the store)
        self.assertOk(m.delete("Archive/2024/Q1"))
        self.assertOk(m.delete("Archive/2024"))
        typ, data = m.delete("INBOX")
        self.assertEqual(typ, "NO")
        self.assertNotIn("Archive/2024", self.mailbox_names(user))
        # SUBSCRIBE / LSUB / LIST (SUBSCRIBED)
        self.assertOk(m.create("Lists"))
        self.assertOk(m.subscribe("Lists"))
        self.assertIn(b'() "/" Lists', self.assertOk(m.lsub()))
        typ, data = m.list('(SUBSCRIBED) ""', "L*")
        self.assertEqual(data, [b'(\\HasNoChildren \\Subscribed) "/" Lists'])
        self.assertOk(m.unsubscribe("Lists"))
        self.assertNotIn(b'() "/" Lists', self.assertOk(m.lsub()))
        typ, data = m.subscribe("Missing")
        self.assertEqual(typ, "NO")

    def test_rename_inbox(self):
        # RFC 9051 §6.3.10: the messages move to the new mailbox; INBOX stays, empty.
        user = self.new_user()
        m = self.imaplib(user)
        uids = [self.append(m, simple_message(f"old {i}")) for i in range(2)]
        self.assertOk(m.rename("INBOX", '"Old Mail"'))
        self.assertEqual(self.assertOk(m.status("INBOX", "(MESSAGES)")), [b"INBOX (MESSAGES 0)"])
        self.assertEqual(self.assertOk(m.status('"Old Mail"', "(MESSAGES UIDNEXT)")),
                         [b'"Old Mail" (MESSAGES 2 UIDNEXT 3)'])
        self.assertEqual(self.roost.messages(user, "Old Mail")[0][-9:], b"just a test\r\n"[-9:])
        # UIDs of INBOX are not reused after the move.
        new_uid = self.append(m, simple_message("new"))
        self.assertGreater(new_uid, max(uids))

    def test_mailbox_names_modified_utf7_and_utf8(self):
        user = self.new_user()
        c = self.raw(login=user)
        c.ok('CREATE "Entw&APw-rfe/&ZeVnLA-"')  # "Entwürfe/日本"
        self.assertIn("Entwürfe/日本", self.mailbox_names(user))
        untagged = [r.replace(b'"', b"") for r in c.ok('LIST "" "Entw*"')]  # atom or quoted: both fine
        self.assertEqual(untagged, [b"* LIST (\\HasChildren) / Entw&APw-rfe",
                                    b"* LIST (\\HasNoChildren) / Entw&APw-rfe/&ZeVnLA-"])
        untagged = c.ok('STATUS "Entw&APw-rfe/&ZeVnLA-" (MESSAGES)')
        self.assertEqual([r.replace(b'"', b"") for r in untagged], [b"* STATUS Entw&APw-rfe/&ZeVnLA- (MESSAGES 0)"])
        _, tagged = c.command('CREATE "Bad&Jjo"')  # unterminated base64: not modified UTF-7
        self.assertIn(status_of(tagged), (b"BAD", b"NO"))
        _, tagged = c.command('CREATE "Raw ü"')  # 8-bit in IMAP4rev1 mode
        self.assertIn(status_of(tagged), (b"BAD", b"NO"))
        # RFC 6855: after ENABLE UTF8=ACCEPT names are UTF-8 both ways.
        self.assertIn(b"* ENABLED UTF8=ACCEPT", c.ok("ENABLE UTF8=ACCEPT"))
        untagged = c.ok('LIST "" "Entw*"')
        self.assertEqual(untagged, ['* LIST (\\HasChildren) "/" "Entwürfe"'.encode(),
                                    '* LIST (\\HasNoChildren) "/" "Entwürfe/日本"'.encode()])
        c.ok('CREATE "Straße"'.encode())
        c.ok('SELECT "Entwürfe/日本"'.encode())
        msg = "Subject: Grüße\r\nFrom: ä@example.test\r\n\r\nkörper\r\n".encode()
        c.ok(b'APPEND "Stra\xc3\x9fe" UTF8 (~{%d+}\r\n' % len(msg) + msg + b")")
        self.assertEqual(self.roost.messages(user, "Straße"), [msg])
        # A session without UTF8=ACCEPT sees the same names in modified UTF-7.
        d = self.raw(login=user)
        self.assertEqual([r.replace(b'"', b"") for r in d.ok('LIST "" "Stra*"')],
                         [b"* LIST (\\HasNoChildren) / Stra&AN8-e"])
        self.assertIn(b"* 1 EXISTS", d.ok('SELECT "Stra&AN8-e"'))

    def test_list_extended_status_special_use(self):
        user = self.new_user()
        c = self.raw(login=user)
        msg = simple_message("sized")
        c.ok(b"APPEND Sent (\\Seen) {%d+}\r\n" % len(msg) + msg)
        untagged = c.ok('LIST "" "Sent" RETURN (STATUS (MESSAGES UNSEEN SIZE UIDNEXT HIGHESTMODSEQ))')
        self.assertEqual(untagged[0], b'* LIST (\\HasNoChildren \\Sent) "/" Sent')
        self.assertRegex(untagged[1], rb'^\* STATUS Sent \(MESSAGES 1 UNSEEN 0 SIZE %d UIDNEXT 2 HIGHESTMODSEQ \d+\)$'
                         % len(msg))
        untagged = c.ok('LIST (SPECIAL-USE) "" "*"')
        self.assertEqual(sorted(untagged), sorted([b'* LIST (\\HasNoChildren \\Archive) "/" Archive',
                                                   b'* LIST (\\HasNoChildren \\Drafts) "/" Drafts',
                                                   b'* LIST (\\HasNoChildren \\Junk) "/" Junk',
                                                   b'* LIST (\\HasNoChildren \\Sent) "/" Sent',
                                                   b'* LIST (\\HasNoChildren \\Trash) "/" Trash']))
        untagged = c.ok('LIST "" ("INBOX" "Dr*") RETURN (SPECIAL-USE SUBSCRIBED CHILDREN)')
        self.assertEqual(len(untagged), 2, untagged)
        c.ok("CREATE Receipts (USE (\\Archive))")  # RFC 6154 CREATE-SPECIAL-USE
        self.assertIn(b'* LIST (\\HasNoChildren \\Archive) "/" Receipts', c.ok('LIST "" Receipts'))
        _, tagged = c.command("CREATE Odd (USE (\\Important))")
        self.assertIn(b"[USEATTR]", tagged)
        self.assertEqual(c.ok('LIST "" ""'), [b'* LIST (\\Noselect) "/" ""'])
        untagged = c.ok("STATUS Sent (MESSAGES UIDNEXT UIDVALIDITY UNSEEN SIZE HIGHESTMODSEQ DELETED)")
        self.assertRegex(untagged[0], rb"^\* STATUS Sent \(MESSAGES 1 UIDNEXT 2 UIDVALIDITY \d+ UNSEEN 0 SIZE %d "
                                      rb"HIGHESTMODSEQ \d+ DELETED 0\)$" % len(msg))
        _, tagged = c.command("STATUS Nowhere (MESSAGES)")
        self.assertIn(b"NO [NONEXISTENT]", tagged)

    def test_namespace_id_enable_getquotaroot(self):
        user = self.new_user(quota=10 * 1024 * 1024)
        m = self.imaplib(user)
        self.assertEqual(self.assertOk(m.namespace()), [b'(("" "/")) NIL NIL'])
        typ, data = m.xatom("ID", '("name" "python-imaplib")')
        self.assertEqual(typ, "OK")
        self.assertIn(b'"name" "Roost"', m.untagged_responses.pop("ID")[0])
        typ, data = m.enable("CONDSTORE")
        self.assertEqual(typ, "OK")
        self.assertEqual(m.untagged_responses.pop("ENABLED"), [b"CONDSTORE"])
        typ, data = m.getquotaroot("INBOX")
        self.assertEqual(typ, "OK")
        self.assertEqual(data[0], [b'INBOX ""'])
        self.assertEqual(data[1], [b'"" (STORAGE 0 10240)'])
        self.assertEqual(self.assertOk(m.getquota('""')), [b'"" (STORAGE 0 10240)'])


# ---------------------------------------------------------------------------------------------------------------
# APPEND, COPY, MOVE, EXPUNGE, quota, UIDs


class MessageCommandsTest(ImapTestCase):
    def test_uidplus_copy_move_expunge(self):
        user = self.new_user()
        m = self.imaplib(user)
        uids = [self.append(m, simple_message(f"n{i}")) for i in range(4)]
        self.assertEqual(uids, [1, 2, 3, 4])
        self.assertOk(m.create("Dest"))
        m.select("INBOX")
        self.assertOk(m.uid("COPY", "3", "Dest"))
        c = self.raw(login=user)
        c.ok("SELECT INBOX")
        _, tagged = c.command("UID COPY 2 Dest")
        self.assertRegex(tagged, rb" OK \[COPYUID \d+ 2 2\] COPY completed$")
        typ, data = m.copy("1", "Nowhere")
        self.assertEqual(typ, "NO")
        self.assertIn(b"[TRYCREATE]", data[0])
        # MOVE (RFC 6851): COPYUID in an untagged OK, then EXPUNGE, then the tagged OK.
        untagged = c.ok("UID MOVE 1,4 Dest")
        self.assertRegex(untagged[0], rb"^\* OK \[COPYUID \d+ 1,4 3:4\]")
        self.assertIn(untagged[1:], ([b"* 4 EXPUNGE", b"* 1 EXPUNGE"], [b"* 1 EXPUNGE", b"* 3 EXPUNGE"]))
        self.assertEqual(search_numbers(c.ok("UID SEARCH ALL")), [2, 3])
        # imaplib's session sees the expunges at its next command that allows them.
        m.noop()
        self.assertEqual(len(m.untagged_responses.get("EXPUNGE", [])), 2)
        m.select("INBOX")
        self.assertEqual(self.assertOk(m.uid("SEARCH", "ALL")), [b"2 3"])
        # EXPUNGE / UID EXPUNGE
        c.ok("STORE 1:2 +FLAGS.SILENT (\\Deleted)")
        self.assertEqual(c.ok("UID EXPUNGE 3"), [b"* 2 EXPUNGE"])
        self.assertEqual(c.ok("EXPUNGE"), [b"* 1 EXPUNGE"])
        self.assertEqual(self.roost.messages(user), [])
        self.assertEqual(len(self.roost.messages(user, "Dest")), 4)
        # UNSELECT leaves \Deleted messages; CLOSE expunges them silently.
        c.ok("SELECT Dest")
        c.ok("STORE 1 +FLAGS.SILENT (\\Deleted)")
        self.assertEqual(c.ok("UNSELECT"), [])
        self.assertEqual(len(self.roost.messages(user, "Dest")), 4)
        c.ok("SELECT Dest")
        self.assertEqual(c.ok("CLOSE"), [])
        self.assertEqual(len(self.roost.messages(user, "Dest")), 3)
        _, tagged = c.command("FETCH 1 FLAGS")
        self.assertEqual(status_of(tagged), b"BAD")  # no longer selected

    def test_uids_never_reused(self):
        user = self.new_user()
        c = self.raw(login=user)
        c.ok("SELECT INBOX")
        for i in range(3):
            msg = simple_message(f"u{i}")
            c.ok(b"APPEND INBOX {%d+}\r\n" % len(msg) + msg)
        c.ok("STORE 2:3 +FLAGS (\\Deleted)")
        c.ok("EXPUNGE")
        msg = simple_message("after")
        _, tagged = c.command(b"APPEND INBOX {%d+}\r\n" % len(msg) + msg)
        self.assertIn(b" 4] APPEND completed", tagged)
        untagged = c.ok("UID FETCH 1:* UID")
        self.assertEqual(sorted(re.findall(rb"UID (\d+)", b" ".join(untagged))), [b"1", b"4"])
        # Also across a restart of the daemon.
        c.ok("LOGOUT")
        self.roost.daemons[0].stop()
        self.roost.start("imapd")
        self.roost.daemons.insert(0, self.roost.daemons.pop())
        d = self.raw(login=user)
        untagged = d.ok("SELECT INBOX")
        self.assertIn(b"* OK [UIDNEXT 5] Predicted next UID", untagged)
        # A deleted and re-created mailbox gets a new UIDVALIDITY.
        d.ok("CREATE Tmp")
        v1 = re.search(rb"UIDVALIDITY (\d+)", b" ".join(d.ok("STATUS Tmp (UIDVALIDITY)"))).group(1)
        d.ok("DELETE Tmp")
        d.ok("CREATE Tmp")
        v2 = re.search(rb"UIDVALIDITY (\d+)", b" ".join(d.ok("STATUS Tmp (UIDVALIDITY)"))).group(1)
        self.assertNotEqual(v1, v2)

    def test_quota_enforced_on_append_and_copy(self):
        user = self.new_user(quota=30000)
        m = self.imaplib(user)
        big = simple_message("big", "q" * 12000)
        self.append(m, big)
        self.append(m, big)
        typ, data = m.append("INBOX", None, None, big)
        self.assertEqual(typ, "NO")
        self.assertIn(b"[OVERQUOTA]", data[0])
        m.select("INBOX")
        typ, data = m.copy("1", "Archive")
        self.assertEqual(typ, "NO")
        self.assertIn(b"[OVERQUOTA]", data[0])
        self.assertEqual(len(self.roost.messages(user, "Archive")), 0)
        # MOVE does not grow usage, so it is allowed.
        typ, data = m.uid("MOVE", "1", "Archive")
        self.assertEqual(typ, "OK", data)
        typ, data = m.getquotaroot("INBOX")
        used = int(re.search(rb"STORAGE (\d+) 29", data[1][0]).group(1))
        self.assertEqual(used, (2 * len(big) + 1023) // 1024)

    def test_append_flags_and_date(self):
        user = self.new_user()
        m = self.imaplib(user)
        msg = simple_message("dated")
        uid = self.append(m, msg, flags="(\\Seen $Custom)", date='"17-Jul-1996 02:44:25 -0700"')
        m.select("INBOX")
        typ, data = m.uid("FETCH", str(uid), "(FLAGS INTERNALDATE RFC822.SIZE)")
        self.assertEqual(data[0], b'1 (UID 1 FLAGS (\\Seen \\Recent $Custom) INTERNALDATE "17-Jul-1996 09:44:25 +0000" '
                                  b"RFC822.SIZE %d)" % len(msg))
        self.assertEqual(self.roost.messages(user), [msg])
        typ, data = m.append("Nowhere", None, None, msg)
        self.assertEqual(typ, "NO")
        self.assertIn(b"[TRYCREATE]", data[0])


# ---------------------------------------------------------------------------------------------------------------
# Several sessions on one mailbox; IDLE; delivery over SMTP


class ConcurrentSessionsTest(ImapTestCase):
    def test_updates_between_sessions(self):
        user = self.new_user()
        a = self.raw(login=user)
        b = self.raw(login=user)
        for i in range(3):
            msg = simple_message(f"c{i}")
            a.ok(b"APPEND INBOX {%d+}\r\n" % len(msg) + msg)
        a.ok("SELECT INBOX")
        b.ok("SELECT INBOX")
        a.ok("STORE 2 +FLAGS (\\Flagged)")
        self.assertEqual(b.ok("NOOP"), [b"* 2 FETCH (FLAGS (\\Flagged) UID 2)"])
        self.assertEqual(b.ok("NOOP"), [])  # reported once
        # An expunge is not reported during FETCH/STORE/SEARCH by sequence number (RFC 9051 §7.5.1) ...
        a.ok("STORE 1 +FLAGS (\\Deleted)")
        a.ok("EXPUNGE")
        untagged = b.ok("FETCH 1:* UID")
        self.assertFalse([r for r in untagged if r.endswith(b"EXPUNGE")], untagged)
        # The expunged message no longer matches anything, but the numbering stays as the client knows it.
        self.assertEqual(search_numbers(b.ok("SEARCH ALL")), [2, 3])
        # ... but at NOOP, with sequence numbers renumbered from then on.
        untagged = b.ok("NOOP")
        self.assertIn(b"* 1 EXPUNGE", untagged)
        self.assertEqual(search_numbers(b.ok("SEARCH ALL")), [1, 2])
        self.assertEqual(fetch_items(b.ok("FETCH 1 UID")), {1: b"UID 2"})
        # New messages: EXISTS (and RECENT) at the next command.
        msg = simple_message("c3")
        a.ok(b"APPEND INBOX {%d+}\r\n" % len(msg) + msg)
        untagged = b.ok("NOOP")
        self.assertIn(b"* 3 EXISTS", untagged)
        self.assertEqual(fetch_items(b.ok("FETCH 3 UID")), {3: b"UID 4"})
        # UID commands may see expunges.
        a.ok("UID STORE 4 +FLAGS (\\Deleted)")
        a.ok("UID EXPUNGE 4")
        untagged = b.ok("UID FETCH 1:* FLAGS")
        self.assertIn(b"* 3 EXPUNGE", untagged)

    def test_idle_push_of_flags_expunge_and_new_mail(self):
        user = self.new_user()
        a = self.raw(login=user)
        b = self.raw(login=user)
        for i in range(2):
            msg = simple_message(f"i{i}")
            a.ok(b"APPEND INBOX {%d+}\r\n" % len(msg) + msg)
        a.ok("SELECT INBOX")
        b.ok("SELECT INBOX")
        b.send("idle1 IDLE\r\n")
        self.assertTrue(b.response().startswith(b"+ "))
        a.ok("STORE 1 +FLAGS (\\Seen)")
        self.assertEqual(b.response(), b"* 1 FETCH (FLAGS (\\Seen) UID 1)")
        a.ok("STORE 2 +FLAGS.SILENT (\\Deleted)")
        self.assertEqual(b.response(), b"* 2 FETCH (FLAGS (\\Deleted) UID 2)")
        a.ok("EXPUNGE")
        self.assertEqual(b.response(), b"* 2 EXPUNGE")
        msg = simple_message("pushed")
        a.ok(b"APPEND INBOX {%d+}\r\n" % len(msg) + msg)
        self.assertEqual(b.response(), b"* 2 EXISTS")
        b_recent = b.response()
        self.assertIn(b_recent, (b"* 0 RECENT", b"* 1 RECENT"))  # the appender and the idler race for it
        b.send("DONE\r\n")
        self.assertEqual(b.response(), b"idle1 OK IDLE terminated")
        self.assertEqual(fetch_items(b.ok("FETCH 2 UID")), {2: b"UID 3"})
        # Exactly one of the two sessions has it as \Recent (RFC 3501 §2.3.2).
        in_a = 3 in search_numbers(a.ok("UID SEARCH RECENT"))
        in_b = 3 in search_numbers(b.ok("UID SEARCH RECENT"))
        self.assertNotEqual(in_a, in_b)
        self.assertEqual(in_b, b_recent == b"* 1 RECENT")

    def test_selected_mailbox_deleted_by_another_session(self):
        user = self.new_user()
        a = self.raw(login=user)
        b = self.raw(login=user)
        idler = self.raw(login=user)
        a.ok("CREATE Doomed")
        for c in (b, idler):
            c.ok("SELECT Doomed")
        idler.send("i IDLE\r\n")
        self.assertTrue(idler.response().startswith(b"+ "))
        a.ok("DELETE Doomed")
        idler.sock.settimeout(5)
        self.assertTrue(idler.response().startswith(b"* BYE"))
        self.assertTrue(idler.closed_by_server())
        b.send("n NOOP\r\n")
        self.assertTrue(b.response().startswith(b"* BYE"))
        self.assertTrue(b.closed_by_server())
        a.ok("NOOP")  # the deleting session goes on

    def test_smtp_delivery_is_pushed_to_idle(self):
        user = self.new_user()
        m = self.imaplib(user)
        m.select("INBOX")
        m.untagged_responses.pop("EXISTS")
        c = self.raw(login=user)
        c.ok("SELECT INBOX")
        c.send("idle IDLE\r\n")
        self.assertTrue(c.response().startswith(b"+ "))
        subject = f"pushed {token()}"
        started = time.monotonic()
        with smtplib.SMTP(HOST, self.roost.ports["smtp"], timeout=10) as s:
            s.sendmail("someone@outside.test", [user], simple_message(subject, to=user))
        c.sock.settimeout(5)
        self.assertEqual(c.response(), b"* 1 EXISTS")
        self.assertLess(time.monotonic() - started, 5)
        self.assertEqual(c.response(), b"* 1 RECENT")
        c.send("DONE\r\n")
        self.assertEqual(c.response(), b"idle OK IDLE terminated")
        r = fetch_items(c.ok("FETCH 1 (FLAGS BODY.PEEK[HEADER.FIELDS (SUBJECT)])"))[1]
        self.assertIn(b"Subject: " + subject.encode(), r)
        self.assertIn(b"\\Recent", r)
        # imaplib's session (not idling) sees it at NOOP, without \Recent.
        m.noop()
        self.assertEqual(m.untagged_responses.get("EXISTS"), [b"1"])
        typ, data = m.search(None, "SUBJECT", f'"{subject}"')
        self.assertEqual(data, [b"1"])
        self.assertEqual(self.assertOk(m.search(None, "RECENT")), [b""])


class ShutdownTest(ImapTestCase):
    def test_sigterm_ends_idle_sessions_promptly(self):
        roost = rf.Roost()
        self.addCleanup(roost.close)
        roost.add_domain(DOMAIN)
        roost.add_user(f"x@{DOMAIN}", PASSWORD)
        daemon = roost.start("imapd")
        fresh = Imap(roost.ports["imap"])
        selected = Imap(roost.ports["imap"])
        idling = Imap(roost.ports["imaps"], tls=True)
        for c in (fresh, selected, idling):
            self.addCleanup(c.close)
        for c in (selected, idling):
            c.login(f"x@{DOMAIN}")
            c.ok("SELECT INBOX")
        idling.send("i IDLE\r\n")
        self.assertTrue(idling.response().startswith(b"+ "))
        started = time.monotonic()
        daemon.stop(timeout=10)  # exit status 0 required
        self.assertLess(time.monotonic() - started, 5)
        for c in (fresh, selected, idling):
            self.assertEqual(c.response(), b"* BYE [UNAVAILABLE] Server shutting down")
            self.assertTrue(c.closed_by_server())


# ---------------------------------------------------------------------------------------------------------------
# curl


@unittest.skipUnless(shutil.which("curl"), "curl not installed")
class CurlTest(ImapTestCase):
    def curl(self, url, *args, check=True):
        r = subprocess.run(["curl", "-sS", "--max-time", "20", *args, url], capture_output=True, timeout=30)
        if check and r.returncode != 0:
            raise AssertionError(f"curl {url} failed ({r.returncode}): {r.stderr.decode(errors='replace')}")
        return r

    def test_curl_list_fetch_search_append(self):
        user = self.new_user()
        auth = ["-u", f"{user}:{PASSWORD}"]
        base = f"imap://{HOST}:{self.roost.ports['imap']}"
        # APPEND via upload.
        msg = simple_message("via curl", "uploaded body")
        with tempfile.NamedTemporaryFile(suffix=".eml") as f:
            f.write(msg)
            f.flush()
            self.curl(base + "/INBOX", *auth, "-T", f.name)
        self.assertEqual(self.roost.messages(user), [msg])
        r = self.curl(base + "/", *auth)
        self.assertIn(b'* LIST (\\HasNoChildren) "/" INBOX', r.stdout)
        self.assertIn(b'\\Sent) "/" Sent', r.stdout)
        r = self.curl(base + "/INBOX;UID=1", *auth)
        self.assertEqual(r.stdout, msg)
        r = self.curl(base + "/INBOX;UID=1/;SECTION=HEADER.FIELDS%20(SUBJECT)", *auth)
        self.assertEqual(r.stdout, b"Subject: via curl\r\n\r\n")
        r = self.curl(base + "/INBOX?SUBJECT%20%22via%20curl%22", *auth)
        self.assertEqual(r.stdout.strip(), b"* SEARCH 1")
        r = self.curl(base + "/INBOX", *auth, "-X", "EXAMINE INBOX")
        self.assertIn(b"* 1 EXISTS", r.stdout)
        r = self.curl(base + "/INBOX;UID=1", "-u", f"{user}:wrong", check=False)
        self.assertEqual(r.returncode, 67)  # CURLE_LOGIN_DENIED

    def test_curl_starttls_and_imaps(self):
        user = self.new_user()
        auth = ["-u", f"{user}:{PASSWORD}", "-k"]
        r = self.curl(f"imap://{HOST}:{self.roost.ports['imap']}/", *auth, "--ssl-reqd")
        self.assertIn(b"INBOX", r.stdout)
        r = self.curl(f"imaps://{HOST}:{self.roost.ports['imaps']}/", *auth)
        self.assertIn(b"INBOX", r.stdout)
        r = self.curl(f"imaps://{HOST}:{self.roost.ports['imaps']}/INBOX", *auth, "-X", "STATUS INBOX (MESSAGES)")
        self.assertIn(b"* STATUS INBOX (MESSAGES 0)", r.stdout)


if __name__ == "__main__":
    argv = rf.parse_args()
    unittest.main(argv=argv, verbosity=2)
