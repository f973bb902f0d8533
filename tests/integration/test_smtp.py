#!/usr/bin/env python3
"""Integration tests for roost-smtpd: the real daemon on loopback ports, driven by smtplib, raw sockets,
swaks and curl, with what was stored read back from data_dir/roost.db byte for byte.

Run: python3 test_smtp.py --roost PATH/roost --smtpd PATH/roost-smtpd [unittest args]
(or set ROOST_BIN_DIR). ROOST_KEEP_TEST_DIRS=1 keeps the temporary folders (config, logs, roost.db).
"""

import base64
import email.utils
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
from datetime import datetime, timedelta, timezone

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import roost_fixture as rf  # noqa: E402

HOST = rf.HOST
TLS = rf.insecure_tls_context()
PASSWORD = "correct horse 1"

# Limits of the shared installation; each has a test.
MAX_MESSAGE_SIZE = 65536
MAX_RECIPIENTS = 3
MAX_ERRORS = 8
MAX_LINE_LENGTH = 2000
LOCKOUT_AFTER = 4


def token():
    return "tok-" + uuid.uuid4().hex[:16]


def b64(s):
    return base64.b64encode(s.encode() if isinstance(s, str) else s).decode()


class Reply:
    def __init__(self, lines):
        self.lines = lines
        self.code = int(lines[-1][:3])
        rest = lines[-1][4:].split(" ", 1)
        self.enhanced = rest[0] if re.fullmatch(r"[245]\.\d{1,3}\.\d{1,3}", rest[0]) else ""
        self.text = "\n".join(lines)

    def __repr__(self):
        return f"Reply({self.text!r})"


class Client:
    """A raw SMTP client: exact bytes out, whole (multi-line) replies in."""

    def __init__(self, port, implicit_tls=False, timeout=10, greeting=True):
        self.sock = socket.create_connection((HOST, port), timeout=timeout)
        if implicit_tls:
            self.sock = TLS.wrap_socket(self.sock)
        self.buf = b""
        if greeting:
            r = self.reply()
            assert r.code == 220, r

    def send(self, data):
        self.sock.sendall(data.encode() if isinstance(data, str) else data)

    def _line(self):
        while b"\n" not in self.buf:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise EOFError(f"connection closed; unparsed: {self.buf!r}")
            self.buf += chunk
        line, _, self.buf = self.buf.partition(b"\n")
        if not line.endswith(b"\r"):
            raise AssertionError(f"reply line without CRLF: {line!r}")
        return line[:-1].decode("utf-8", "replace")

    def reply(self):
        lines = []
        while True:
            line = self._line()
            if not re.match(r"\d{3}[ -]", line + " "):
                raise AssertionError(f"malformed reply line {line!r}")
            lines.append(line)
            if len(line) < 4 or line[3] == " ":
                return Reply(lines)

    def cmd(self, line):
        self.send(line.encode() + b"\r\n" if isinstance(line, str) else line + b"\r\n")
        return self.reply()

    def ehlo(self, name="client.test"):
        r = self.cmd("EHLO " + name)
        assert r.code == 250, r
        return r

    def starttls(self):
        r = self.cmd("STARTTLS")
        assert r.code == 220, r
        assert not self.buf, f"bytes after 220 before the handshake: {self.buf!r}"
        self.sock = TLS.wrap_socket(self.sock)

    def closed_by_server(self, timeout=5):
        """True if the server closes the connection (after any pending bytes) within the timeout."""
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

    def nothing_pending(self, wait=0.3):
        """No reply bytes arrive within `wait` seconds (there is no unanswered/extra reply)."""
        if self.buf:
            return False
        self.sock.settimeout(wait)
        try:
            chunk = self.sock.recv(65536)
            self.buf += chunk
            return False
        except (socket.timeout, TimeoutError):
            return True
        finally:
            self.sock.settimeout(10)

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass


class SmtpTestCase(unittest.TestCase):
    roost = None  # set by subclasses / setUpModule

    def client(self, listener="smtp", **kw):
        c = Client(self.roost.ports[listener], implicit_tls=listener in ("smtps", "submissions"), **kw)
        self.addCleanup(c.close)
        return c

    def assertReply(self, reply, code, enhanced=None):
        self.assertIsInstance(reply, Reply)
        self.assertEqual(reply.code, code, reply.text)
        if enhanced is not None:
            self.assertEqual(reply.enhanced, enhanced, reply.text)

    def assertRefused(self, reply):
        self.assertTrue(500 <= reply.code <= 599, f"expected 5xx, got {reply.text}")

    def stored_with(self, needle, address=None):
        """Stored messages containing `needle` (of one account, or all as (address, mailbox, bytes))."""
        needle = needle.encode() if isinstance(needle, str) else needle
        if address:
            return [m for m in self.roost.messages(address) if needle in m]
        return [m for m in self.roost.all_messages() if needle in m[2]]

    def transaction(self, c, rcpts=("demo@example.test",), body=None, sender="sender@outside.test"):
        """MAIL, RCPTs (all must be accepted), DATA; returns the final reply and the token in the body."""
        t = token()
        self.assertReply(c.cmd(f"MAIL FROM:<{sender}>"), 250)
        for r in rcpts:
            self.assertReply(c.cmd(f"RCPT TO:<{r}>"), 250)
        self.assertReply(c.cmd("DATA"), 354)
        c.send(body if body is not None else f"Subject: {t}\r\n\r\nbody {t}\r\n.\r\n".encode())
        return c.reply(), t


# ---------------------------------------------------------------------------------------------------------------
# The shared installation: one smtpd for most tests.

SHARED = None


def make_shared():
    r = rf.Roost(settings={
        "smtp": {"postmaster": "pm@example.test"},
        "limits": {"max_message_size": MAX_MESSAGE_SIZE, "max_recipients": MAX_RECIPIENTS, "max_errors": MAX_ERRORS,
                   "max_line_length": MAX_LINE_LENGTH},
        "auth": {"lockout_after": LOCKOUT_AFTER},
    })
    try:
        r.add_domain("example.test")
        r.add_domain("other.test")
        # demo is the oldest account: postmaster must go to the configured pm@, not to the oldest.
        for user in ("demo", "bob", "carol", "pm", "off", "full", "victim"):
            r.add_user(f"{user}@example.test", PASSWORD)
        r.add_user("catcher@other.test", PASSWORD)
        r.cli("user", "disable", "off@example.test")
        r.cli("user", "quota", "full@example.test", "1K")
        r.add_alias("sales@example.test", "demo@example.test", "bob@example.test")
        r.add_alias("@other.test", "catcher@other.test")
        r.start("smtpd")
    except BaseException:
        r.close()
        raise
    return r


def setUpModule():
    global SHARED
    SHARED = make_shared()
    SmtpTestCase.roost = SHARED


def tearDownModule():
    if SHARED:
        SHARED.close()  # SIGTERM; fails unless the daemon exits 0


# ---------------------------------------------------------------------------------------------------------------

class DeliveryTest(SmtpTestCase):
    def test_smtplib_delivery_stores_trace_headers_and_exact_bytes(self):
        t = token()
        body = (f"From: <sender@outside.test>\r\nTo: <demo@example.test>\r\nSubject: {t}\r\n\r\n"
                "first line\r\n.leading dot\r\n..two dots\r\n.\r\n...\r\nlast line\r\n").encode()
        before = datetime.now(timezone.utc)
        with smtplib.SMTP(HOST, self.roost.ports["smtp"], local_hostname="client.example", timeout=10) as s:
            s.ehlo()
            self.assertEqual(s.mail("sender@outside.test")[0], 250)
            self.assertEqual(s.rcpt("demo@example.test")[0], 250)
            code, resp = s.data(body)  # smtplib dot-stuffs: "..leading dot", "....", ...
        self.assertEqual(code, 250, resp)
        queued_id = resp.decode().rsplit(" ", 1)[-1]
        (stored,) = self.stored_with(t, "demo@example.test")
        return_path = b"Return-Path: <sender@outside.test>\r\n"
        self.assertTrue(stored.startswith(return_path + b"Received: "), stored[:200])
        self.assertTrue(stored.endswith(body), "message bytes changed (dot-unstuffing?)")
        received = stored[len(return_path):len(stored) - len(body)].decode()
        # One header: every line after the first is a folded continuation.
        lines = received.split("\r\n")
        self.assertEqual(lines[-1], "")
        for cont in lines[1:-1]:
            self.assertRegex(cont, r"^[ \t]\S")
        unfolded = re.sub(r"\r\n[ \t]+", " ", received).strip()
        self.assertRegex(unfolded, r"^Received: from client\.example[ (]")
        self.assertIn("by mx.example.test", unfolded)
        self.assertRegex(unfolded, r" with ESMTP ")
        self.assertIn(f" id {queued_id}", unfolded)
        self.assertIn(" for <demo@example.test>;", unfolded)
        date = email.utils.parsedate_to_datetime(unfolded.rsplit(";", 1)[1].strip())
        self.assertLess(abs(date - before), timedelta(minutes=2))

    def test_three_recipients_share_one_blob(self):
        blobs = self.roost.count("blobs")
        msgs = self.roost.count("messages")
        t = token()
        body = f"Subject: {t}\r\n\r\nhello three\r\n".encode()
        with smtplib.SMTP(HOST, self.roost.ports["smtp"], local_hostname="client.example", timeout=10) as s:
            refused = s.sendmail("sender@outside.test", ["demo@example.test", "bob@example.test", "carol@example.test"],
                                 body)
        self.assertEqual(refused, {})
        self.assertEqual(self.roost.count("blobs"), blobs + 1)
        self.assertEqual(self.roost.count("messages"), msgs + 3)
        rows = self.roost.query("SELECT DISTINCT m.blob_id FROM messages m JOIN blobs b ON b.id = m.blob_id"
                                " WHERE instr(b.data, ?) > 0", (t.encode(),))
        self.assertEqual(len(rows), 1)
        for user in ("demo", "bob", "carol"):
            (m,) = self.stored_with(t, f"{user}@example.test")
            self.assertTrue(m.endswith(body))
            self.assertNotIn(b"\tfor <", m[:m.index(body)], "'for' names one recipient only")

    def _swaks(self, *extra):
        self.assertTrue(shutil.which("swaks"), "swaks is not installed (scripts/install-deps.sh test)")
        t = token()
        r = subprocess.run(["swaks", "--server", HOST, "--port", str(self.roost.ports["smtp"]), "--helo", "swaks.test",
                            "--from", "sender@swaks.test", "--to", "demo@example.test", "--header", f"Subject: {t}",
                            "--body", f"swaks body {t}", "--timeout", "10", *extra],
                           capture_output=True, text=True, timeout=60)
        self.assertEqual(r.returncode, 0, r.stdout[-3000:] + r.stderr[-2000:])
        (m,) = self.stored_with(t, "demo@example.test")
        self.assertIn(f"swaks body {t}".encode(), m)
        self.assertIn(b"Received: from swaks.test ", m)
        return m

    def test_swaks_plain(self):
        m = self._swaks()
        self.assertIn(b" with ESMTP id ", m)

    def test_swaks_starttls(self):
        m = self._swaks("-tls")
        self.assertIn(b" with ESMTPS id ", m)

    def _curl(self, *extra):
        self.assertTrue(shutil.which("curl"), "curl is not installed (scripts/install-deps.sh test)")
        t = token()
        with tempfile.NamedTemporaryFile("wb", suffix=".eml", delete=False) as f:
            body = f"From: <sender@curl.test>\r\nSubject: {t}\r\n\r\ncurl body\r\n.dotted\r\n".encode()
            f.write(body)
        self.addCleanup(os.unlink, f.name)
        r = subprocess.run(["curl", "-sS", "--max-time", "20", f"smtp://{HOST}:{self.roost.ports['smtp']}/curl.test",
                            "--mail-from", "sender@curl.test", "--mail-rcpt", "demo@example.test",
                            "--upload-file", f.name, *extra], capture_output=True, text=True, timeout=60)
        self.assertEqual(r.returncode, 0, r.stderr)
        (m,) = self.stored_with(t, "demo@example.test")
        self.assertTrue(m.endswith(body), m)
        self.assertIn(b"Received: from curl.test ", m)
        return m

    def test_curl_plain(self):
        self.assertIn(b" with ESMTP id ", self._curl())

    def test_curl_starttls(self):
        self.assertIn(b" with ESMTPS id ", self._curl("--ssl-reqd", "--insecure"))


class RecipientTest(SmtpTestCase):
    def deliver_to(self, rcpt):
        c = self.client()
        c.ehlo()
        r, t = self.transaction(c, [rcpt])
        self.assertReply(r, 250, "2.6.0")
        return t

    def test_unknown_local_user(self):
        c = self.client()
        c.ehlo()
        self.assertReply(c.cmd("MAIL FROM:<sender@outside.test>"), 250)
        self.assertReply(c.cmd("RCPT TO:<nobody@example.test>"), 550, "5.1.1")
        self.assertReply(c.cmd("RCPT TO:<demo@example.test>"), 250)  # the transaction goes on

    def test_alias_with_two_targets(self):
        t = self.deliver_to("sales@example.test")
        self.assertEqual(len(self.stored_with(t, "demo@example.test")), 1)
        self.assertEqual(len(self.stored_with(t, "bob@example.test")), 1)
        self.assertEqual(len(self.stored_with(t)), 2)

    def test_catch_all(self):
        t = self.deliver_to("whoever-" + token() + "@other.test")
        self.assertEqual([a for a, _, _ in self.stored_with(t)], ["catcher@other.test"])

    def test_plus_address(self):
        t = self.deliver_to("demo+tag@example.test")
        (m,) = self.stored_with(t, "demo@example.test")
        self.assertIn(b"for <demo+tag@example.test>", m)
        self.assertEqual(len(self.stored_with(t)), 1)

    def test_postmaster_bare_and_with_domain(self):
        for rcpt in ("postmaster", "Postmaster", "postmaster@example.test", "POSTMASTER@example.test"):
            with self.subTest(rcpt=rcpt):
                t = self.deliver_to(rcpt)
                self.assertEqual([a for a, _, _ in self.stored_with(t)], ["pm@example.test"])

    def test_disabled_user(self):
        c = self.client()
        c.ehlo()
        c.cmd("MAIL FROM:<sender@outside.test>")
        r = c.cmd("RCPT TO:<off@example.test>")
        self.assertEqual(r.code, 550, r.text)

    def test_over_quota(self):
        # Quota 1K: the first message (used 0 < 1K) is accepted and fills it; then 452 4.2.2.
        c = self.client()
        c.ehlo()
        body = b"Subject: filler\r\n\r\n" + (b"x" * 70 + b"\r\n") * 20 + b".\r\n"
        r, _ = self.transaction(c, ["full@example.test"], body=body)
        self.assertReply(r, 250)
        self.assertReply(c.cmd("MAIL FROM:<sender@outside.test>"), 250)
        self.assertReply(c.cmd("RCPT TO:<full@example.test>"), 452, "4.2.2")
        self.assertReply(c.cmd("RCPT TO:<demo@example.test>"), 250)

    def test_too_many_recipients(self):
        c = self.client()
        c.ehlo()
        t = token()
        self.assertReply(c.cmd("MAIL FROM:<sender@outside.test>"), 250)
        for user in ("demo", "bob", "carol"):
            self.assertReply(c.cmd(f"RCPT TO:<{user}@example.test>"), 250)
        self.assertReply(c.cmd("RCPT TO:<pm@example.test>"), 452, "4.5.3")
        self.assertReply(c.cmd("DATA"), 354)
        c.send(f"Subject: {t}\r\n\r\nx\r\n.\r\n")
        self.assertReply(c.reply(), 250)
        self.assertEqual(sorted(a for a, _, _ in self.stored_with(t)),
                         ["bob@example.test", "carol@example.test", "demo@example.test"])


class SequencingTest(SmtpTestCase):
    def test_bad_sequences_and_syntax_keep_the_session(self):
        c = self.client()
        self.assertReply(c.cmd("MAIL FROM:<sender@outside.test>"), 503)  # before EHLO
        c.ehlo()
        self.assertReply(c.cmd("RCPT TO:<demo@example.test>"), 503)  # before MAIL
        self.assertReply(c.cmd("MAIL FROM:<sender@outside.test>"), 250)
        r = c.cmd("DATA")  # no recipients
        self.assertIn(r.code, (503, 554), r.text)
        self.assertReply(c.cmd("FROBNICATE now"), 500)
        self.assertReply(c.cmd("RCPT TO:demo@example.test"), 501)  # no angle brackets
        self.assertReply(c.cmd("MAIL FROM:<sender@outside.test>"), 503)  # nested MAIL
        self.assertReply(c.cmd("NOOP"), 250)
        self.assertReply(c.cmd("RSET"), 250)
        r, t = self.transaction(c)
        self.assertReply(r, 250)
        self.assertEqual(len(self.stored_with(t, "demo@example.test")), 1)
        self.assertReply(c.cmd("QUIT"), 221)
        self.assertTrue(c.closed_by_server())

    def test_too_many_errors_closes_with_421(self):
        c = self.client()
        c.ehlo()
        for _ in range(MAX_ERRORS - 1):
            self.assertReply(c.cmd("BOGUS"), 500)
        self.assertReply(c.cmd("BOGUS"), 500)
        self.assertReply(c.reply(), 421)
        self.assertTrue(c.closed_by_server())

    def test_vrfy_does_not_disclose_accounts(self):
        c = self.client()
        c.ehlo()
        existing = c.cmd("VRFY demo@example.test")
        missing = c.cmd("VRFY nobody-here@example.test")
        short = c.cmd("VRFY demo")
        self.assertReply(existing, 252)
        self.assertEqual(existing.lines, missing.lines)
        self.assertEqual(existing.lines, short.lines)
        self.assertNotIn("demo", existing.text)


class SizeTest(SmtpTestCase):
    def test_ehlo_advertises_size(self):
        c = self.client()
        self.assertIn(f"250-SIZE {MAX_MESSAGE_SIZE}", c.ehlo().lines)

    def test_mail_size_parameter(self):
        c = self.client()
        c.ehlo()
        self.assertReply(c.cmd(f"MAIL FROM:<sender@outside.test> SIZE={MAX_MESSAGE_SIZE + 1}"), 552, "5.3.4")
        self.assertReply(c.cmd("MAIL FROM:<sender@outside.test> SIZE=99999999999999999999"), 552, "5.3.4")
        self.assertReply(c.cmd(f"MAIL FROM:<sender@outside.test> SIZE={MAX_MESSAGE_SIZE}"), 250)

    def test_data_over_the_limit_then_next_transaction(self):
        c = self.client()
        c.ehlo()
        t = token()
        header = f"Subject: {t}\r\n\r\n".encode()
        line = b"y" * 98 + b"\r\n"

        def message(size):
            return header + line * ((size - len(header)) // len(line)) + b"z" * ((size - len(header)) % len(line))

        exact = message(MAX_MESSAGE_SIZE - 2) + b"\r\n"  # exactly the limit, CRLF included
        self.assertEqual(len(exact), MAX_MESSAGE_SIZE)
        r, _ = self.transaction(c, body=exact + b".\r\n")
        self.assertReply(r, 250)
        r, _ = self.transaction(c, body=message(MAX_MESSAGE_SIZE - 1) + b"\r\n" + b".\r\n")  # one octet over
        self.assertReply(r, 552, "5.3.4")
        r, _ = self.transaction(c, body=message(3 * MAX_MESSAGE_SIZE) + b"\r\n.\r\n")
        self.assertReply(r, 552, "5.3.4")
        self.assertEqual(len(self.stored_with(t, "demo@example.test")), 1)
        r, t2 = self.transaction(c)  # the session goes on
        self.assertReply(r, 250)
        self.assertEqual(len(self.stored_with(t2, "demo@example.test")), 1)


class ContentTest(SmtpTestCase):
    """SMTP smuggling (only CRLF.CRLF ends DATA) and other content the server must refuse after the end."""

    SMUGGLE = (b"MAIL FROM:<x@y.test>\r\nRCPT TO:<demo@example.test>\r\nDATA\r\n"
               b"Subject: smuggled\r\n\r\nsmuggled\r\n.\r\n")

    def test_smuggling_variants_are_refused(self):
        for ending in (b"\n.\n", b"\r.\r", b"\r\n.\n", b"\n.\r\n"):
            with self.subTest(ending=ending):
                messages = self.roost.count("messages")
                c = self.client()
                c.ehlo()
                t = token()
                self.assertReply(c.cmd("MAIL FROM:<sender@outside.test>"), 250)
                self.assertReply(c.cmd("RCPT TO:<demo@example.test>"), 250)
                self.assertReply(c.cmd("DATA"), 354)
                c.send(f"Subject: {t}\r\n\r\nfirst".encode() + ending + self.SMUGGLE + b"\r\n.\r\n")
                r = c.reply()
                self.assertReply(r, 550, "5.6.0")
                self.assertIn("bare", r.text.lower())
                # Whatever follows is answered as commands (not a 250 for a second message), then QUIT.
                c.send(b"QUIT\r\n")
                replies = []
                while True:
                    r = c.reply()
                    replies.append(r)
                    if r.code == 221:
                        break
                self.assertNotIn(250, [x.code for x in replies], replies)
                self.assertNotIn(354, [x.code for x in replies], replies)
                self.assertEqual(self.stored_with(b"smuggled"), [])
                self.assertEqual(self.stored_with(t), [])
                self.assertEqual(self.roost.count("messages"), messages)

    def test_nul_in_data(self):
        c = self.client()
        c.ehlo()
        r, t = self.transaction(c, body=b"Subject: nul\r\n\r\nbefore\x00after\r\n.\r\n")
        self.assertReply(r, 550, "5.6.0")
        self.assertEqual(self.stored_with(b"before\x00after"), [])
        r, _ = self.transaction(c)
        self.assertReply(r, 250)

    def test_over_long_line(self):
        c = self.client()
        c.ehlo()
        ok = b"a" * (MAX_LINE_LENGTH - 2)  # exactly the limit with its CRLF
        r, _ = self.transaction(c, body=b"Subject: long\r\n\r\n" + ok + b"\r\n.\r\n")
        self.assertReply(r, 250)
        r, _ = self.transaction(c, body=b"Subject: long\r\n\r\n" + b"b" * (MAX_LINE_LENGTH - 1) + b"\r\n.\r\n")
        self.assertRefused(r)
        self.assertEqual(self.stored_with(b"b" * (MAX_LINE_LENGTH - 1)), [])
        self.assertReply(c.cmd("NOOP"), 250)
        # A command line that is far too long: 500, and the session goes on.
        self.assertReply(c.cmd("NOOP " + "x" * 20000), 500)
        self.assertReply(c.cmd("NOOP"), 250)


class PipeliningTest(SmtpTestCase):
    def test_whole_transaction_in_two_sends(self):
        c = self.client()
        t = token()
        c.send(b"EHLO pipe.test\r\nMAIL FROM:<sender@outside.test>\r\nRCPT TO:<demo@example.test>\r\n"
               b"RCPT TO:<nobody@example.test>\r\nDATA\r\n")
        ehlo = c.reply()
        self.assertReply(ehlo, 250)
        self.assertIn("250-PIPELINING", ehlo.lines)
        self.assertReply(c.reply(), 250, "2.1.0")
        self.assertReply(c.reply(), 250, "2.1.5")
        self.assertReply(c.reply(), 550, "5.1.1")
        self.assertReply(c.reply(), 354)
        body = f"Subject: {t}\r\n\r\npipelined\r\n".encode()
        c.send(body + b".\r\nQUIT\r\n")
        self.assertReply(c.reply(), 250, "2.6.0")
        self.assertReply(c.reply(), 221)
        self.assertTrue(c.closed_by_server())
        (m,) = self.stored_with(t, "demo@example.test")
        self.assertTrue(m.endswith(body))
        self.assertEqual(len(self.stored_with(t)), 1)


class ChunkingTest(SmtpTestCase):
    def test_bdat_chunks_are_stored_byte_exact(self):
        c = self.client()
        self.assertIn("250-CHUNKING", c.ehlo().lines)
        t = token()
        chunks = [f"Subject: {t}\r\n\r\n.leading dot stays\r\n".encode(),
                  b"..two dots stay\r\n.\r\nnot the end\r\n",
                  b"last line\r\n"]
        self.assertReply(c.cmd("MAIL FROM:<sender@outside.test> BODY=8BITMIME"), 250)
        self.assertReply(c.cmd("RCPT TO:<demo@example.test>"), 250)
        c.send(b"".join(b"BDAT %d%s\r\n%s" % (len(ch), b" LAST" if i == 2 else b"", ch)
                        for i, ch in enumerate(chunks)))  # all pipelined in one send
        self.assertReply(c.reply(), 250)
        self.assertReply(c.reply(), 250)
        self.assertReply(c.reply(), 250, "2.6.0")
        (m,) = self.stored_with(t, "demo@example.test")
        self.assertTrue(m.startswith(b"Return-Path: <sender@outside.test>\r\nReceived: "))
        self.assertTrue(m.endswith(b"".join(chunks)), m)
        # DATA after BDAT in the next transaction is fine; BDAT 0 LAST ends a message.
        self.assertReply(c.cmd("MAIL FROM:<sender@outside.test>"), 250)
        self.assertReply(c.cmd("RCPT TO:<demo@example.test>"), 250)
        t2 = token()
        part = f"Subject: {t2}\r\n\r\nx\r\n".encode()
        c.send(b"BDAT %d\r\n%s" % (len(part), part))
        self.assertReply(c.reply(), 250)
        self.assertReply(c.cmd("BDAT 0 LAST"), 250, "2.6.0")
        (m,) = self.stored_with(t2, "demo@example.test")
        self.assertTrue(m.endswith(part))

    def test_refused_bdat_still_consumes_its_bytes(self):
        c = self.client()
        c.ehlo()
        # Without MAIL: 503, but the chunk ("QUIT") is data, not a command.
        c.send(b"BDAT 6\r\nQUIT\r\n")
        self.assertReply(c.reply(), 503)
        self.assertReply(c.cmd("NOOP"), 250)
        # With MAIL but no accepted recipient.
        self.assertReply(c.cmd("MAIL FROM:<sender@outside.test>"), 250)
        self.assertReply(c.cmd("RCPT TO:<nobody@example.test>"), 550)
        chunk = b"QUIT\r\nRSET\r\nMAIL FROM:<a@b.test>\r\n"
        c.send(b"BDAT %d LAST\r\n%s" % (len(chunk), chunk))
        r = c.reply()
        self.assertRefused(r)
        self.assertTrue(c.nothing_pending(), c.buf)
        self.assertReply(c.cmd("NOOP"), 250)  # still open: the QUIT inside the chunk was not executed
        self.assertReply(c.cmd("QUIT"), 221)


class StartTlsTest(SmtpTestCase):
    def check_starttls(self, listener):
        with smtplib.SMTP(HOST, self.roost.ports[listener], local_hostname="tls.test", timeout=10) as s:
            s.ehlo()
            self.assertTrue(s.has_extn("starttls"))
            code, _ = s.starttls(context=TLS)
            self.assertEqual(code, 220)
            # RFC 3207 §4.2: the server forgot the EHLO.
            code, msg = s.docmd("MAIL", "FROM:<sender@outside.test>")
            self.assertEqual(code, 503, msg)
            code, _ = s.ehlo()
            self.assertEqual(code, 250)
            self.assertFalse(s.has_extn("starttls"))
            code, msg = s.docmd("STARTTLS")
            self.assertEqual(code, 503, msg)
            return s.has_extn("auth")

    def test_starttls_port_25(self):
        self.assertFalse(self.check_starttls("smtp"), "no AUTH on the MX port")

    def test_starttls_port_587(self):
        self.assertTrue(self.check_starttls("submission"), "AUTH offered after TLS on 587")

    def test_starttls_command_injection(self):
        for listener in ("smtp", "submission"):
            with self.subTest(listener=listener):
                c = self.client(listener)
                c.ehlo()
                c.send(b"STARTTLS\r\nRSET\r\n")
                self.assertReply(c.reply(), 220)
                self.assertEqual(c.buf, b"", "nothing but 220 before the handshake")
                c.sock = TLS.wrap_socket(c.sock)
                r = c.cmd("EHLO after.test")
                self.assertReply(r, 250)
                self.assertEqual(r.lines[0], "250-mx.example.test", "first reply after TLS must answer our EHLO")
                self.assertReply(c.cmd("NOOP"), 250)
                self.assertTrue(c.nothing_pending(), c.buf)

    def test_mx_smtps_listener(self):
        c = self.client("smtps")
        self.assertNotIn("250-STARTTLS", c.ehlo().lines)
        r, t = self.transaction(c)
        self.assertReply(r, 250)
        (m,) = self.stored_with(t, "demo@example.test")
        self.assertIn(b" with ESMTPS id ", m)


class SubmissionTest(SmtpTestCase):
    def tls_session(self, listener="submission"):
        c = self.client(listener)
        if listener == "submission":
            c.ehlo()
            c.starttls()
        ehlo = c.ehlo()
        self.assertTrue(any(ln[4:] == "AUTH PLAIN LOGIN" for ln in ehlo.lines), ehlo.text)
        return c

    def login(self, c, user="demo@example.test", password=PASSWORD):
        r = c.cmd("AUTH PLAIN " + b64(f"\0{user}\0{password}"))
        self.assertReply(r, 235, "2.7.0")

    def test_no_auth_before_tls(self):
        c = self.client("submission")
        ehlo = c.ehlo()
        self.assertFalse(any("AUTH" in ln for ln in ehlo.lines), ehlo.text)
        self.assertIn("250-STARTTLS", ehlo.lines)
        self.assertReply(c.cmd("MAIL FROM:<demo@example.test>"), 530)
        self.assertReply(c.cmd("AUTH PLAIN " + b64(f"\0demo@example.test\0{PASSWORD}")), 538, "5.7.11")
        self.assertReply(c.cmd("AUTH LOGIN"), 538, "5.7.11")
        self.assertReply(c.cmd("NOOP"), 250)

    def test_auth_plain_and_login(self):
        c = self.tls_session()
        self.login(c)
        self.assertReply(c.cmd("AUTH PLAIN " + b64(f"\0demo@example.test\0{PASSWORD}")), 503)  # RFC 4954 §4
        c2 = self.tls_session()
        r = c2.cmd("AUTH LOGIN")
        self.assertReply(r, 334)
        self.assertEqual(base64.b64decode(r.lines[0][4:]).lower(), b"username:")
        r = c2.cmd(b64("bob@example.test"))
        self.assertReply(r, 334)
        self.assertEqual(base64.b64decode(r.lines[0][4:]).lower(), b"password:")
        self.assertReply(c2.cmd(b64(PASSWORD)), 235, "2.7.0")
        r, t = self.transaction(c2, ["carol@example.test"], sender="bob@example.test")
        self.assertReply(r, 250)
        (m,) = self.stored_with(t, "carol@example.test")
        self.assertIn(b" with ESMTPSA id ", m)

    def test_smtplib_login(self):
        with smtplib.SMTP(HOST, self.roost.ports["submission"], timeout=10) as s:
            s.starttls(context=TLS)
            s.login("demo@example.test", PASSWORD)
            t = token()
            self.assertEqual(s.sendmail("demo@example.test", ["bob@example.test"], f"Subject: {t}\r\n\r\nx\r\n"), {})
        self.assertEqual(len(self.stored_with(t, "bob@example.test")), 1)

    def test_wrong_password(self):
        c = self.tls_session()
        self.assertReply(c.cmd("AUTH PLAIN " + b64("\0carol@example.test\0wrong")), 535, "5.7.8")
        self.assertReply(c.cmd("MAIL FROM:<carol@example.test>"), 530)
        self.login(c, "carol@example.test")  # success clears the failure

    def test_sender_must_be_owned(self):
        c = self.tls_session()
        self.login(c)
        self.assertReply(c.cmd("MAIL FROM:<bob@example.test>"), 553, "5.7.1")
        self.assertReply(c.cmd("MAIL FROM:<someone@remote.test>"), 553, "5.7.1")
        self.assertReply(c.cmd("MAIL FROM:<anything@other.test>"), 553, "5.7.1")  # catch-all is not ownership
        for own in ("demo@example.test", "DEMO@Example.Test", "sales@example.test", "demo+lists@example.test"):
            with self.subTest(sender=own):
                self.assertReply(c.cmd(f"MAIL FROM:<{own}>"), 250)
                self.assertReply(c.cmd("RSET"), 250)
        # RFC 4954 §5: the AUTH= parameter stays valid once authenticated.
        self.assertReply(c.cmd("MAIL FROM:<demo@example.test> AUTH=<>"), 250)

    def test_relay_for_authenticated_user_is_queued(self):
        before = self.roost.queue()
        c = self.tls_session()
        self.login(c)
        r, t = self.transaction(c, ["x@remote.test"], sender="demo@example.test")
        self.assertReply(r, 250, "2.6.0")
        after = self.roost.queue()
        self.assertEqual(len(after), len(before) + 1)
        sender, rcpts, data = after[-1]
        self.assertEqual((sender, rcpts), ("demo@example.test", ["x@remote.test"]))
        self.assertIn(t.encode(), data)
        self.assertTrue(data.startswith(b"Received: from client.test "), data[:100])
        self.assertEqual(self.stored_with(t), [], "nothing delivered locally")

    def test_implicit_tls_465(self):
        with smtplib.SMTP_SSL(HOST, self.roost.ports["submissions"], context=TLS, timeout=10) as s:
            s.ehlo()
            self.assertTrue(s.has_extn("auth"))
            self.assertFalse(s.has_extn("starttls"))
            self.assertEqual(s.docmd("MAIL", "FROM:<demo@example.test>")[0], 530)
            s.login("demo@example.test", PASSWORD)
            self.assertEqual(s.mail("bob@example.test")[0], 553)
            s.rset()
            before = len(self.roost.queue())
            t = token()
            self.assertEqual(s.sendmail("demo@example.test", ["carol@example.test", "y@remote.test"],
                                        f"Subject: {t}\r\n\r\nvia 465\r\n"), {})
        self.assertEqual(len(self.stored_with(t, "carol@example.test")), 1)
        q = self.roost.queue()
        self.assertEqual(len(q), before + 1)
        self.assertEqual(q[-1][1], ["y@remote.test"])


class RelayTest(SmtpTestCase):
    """No open relay: own installation so that 'nothing queued' means an empty queue table."""

    NON_LOCAL = [
        ("user@remote.test", False),
        ("user%remote.test@example.test", False),
        ('"user@remote.test"@example.test', False),
        ("@example.test:user@remote.test", False),
        ("@remote.test:user@remote.test", False),
        ("user@remote.test@example.test", False),
        ("user!remote.test@example.test", False),
        ("remote.test!user@example.test", False),
        ("user@[127.0.0.1]", False),
        ("user@[IPv6:::1]", False),
        ("user@example.test.", False),
        ("user@REMOTE.TEST", False),
        ("user@example.test.remote.test", False),
        ("user@bücher.test", True),
        # Variants of the above (issue #10's battery): case, trailing dots, quoting, multi-hop routes,
        # literals of other hosts, IDN in A-label and U-label form.
        ("user@Remote.Test", False),
        ("user@remote.test.", False),
        ("user@EXAMPLE.TEST.", False),
        ("user%remote.test@EXAMPLE.TEST", False),
        ("user%remote.test.@example.test", False),
        ('"user%remote.test"@example.test', False),
        ('"user@remote.test"@EXAMPLE.Test', False),
        ('"@remote.test:user@remote.test"@example.test', False),
        ("@example.test,@remote.test:user@remote.test", False),
        ("@remote.test,@example.test:user@remote.test", False),
        ("user@[192.0.2.1]", False),
        ("user@[IPv6:2001:db8::1]", False),
        ("user%remote.test@[127.0.0.1]", False),
        ("user@xn--bcher-kva.test", False),
        ("user@exämple.test", True),
        ("user@bücher.test.", True),
        ("user%bücher.test@example.test", True),
    ]

    @classmethod
    def setUpClass(cls):
        cls.roost = rf.Roost(settings={"limits": {"max_errors": MAX_ERRORS}})
        try:
            cls.roost.add_domain("example.test")
            cls.roost.add_user("demo@example.test", PASSWORD)
            cls.roost.start("smtpd")
        except BaseException:
            cls.roost.close()
            raise

    @classmethod
    def tearDownClass(cls):
        cls.roost.close()

    def battery(self, listener, starttls=False):
        for rcpt, utf8 in self.NON_LOCAL:
            with self.subTest(listener=listener, tls=starttls, rcpt=rcpt):
                c = self.client(listener)
                c.ehlo()
                if starttls:
                    c.starttls()
                    c.ehlo()
                # A local sender does not make a relay legitimate.
                mail = c.cmd("MAIL FROM:<demo@example.test>" + (" SMTPUTF8" if utf8 else ""))
                r = c.cmd(f"RCPT TO:<{rcpt}>".encode("utf-8"))
                self.assertRefused(r)
                if listener == "smtp":
                    self.assertReply(mail, 250)
                    self.assertIn(r.code, (501, 553, 554), r.text)
                    if r.code == 554:
                        self.assertEqual(r.enhanced, "5.7.1", r.text)
                else:
                    self.assertIn(mail.code, (530,), mail.text)
                c.cmd("DATA")
                c.send(b"Subject: relay\r\n\r\nrelay\r\n.\r\nQUIT\r\n")
                c.closed_by_server()
        self.assertEqual(self.roost.count("queue"), 0)
        self.assertEqual(self.roost.count("queue_recipients"), 0)
        self.assertEqual(self.stored_with(b"relay\r\n"), [])

    def test_mx_port_is_not_an_open_relay(self):
        self.battery("smtp")

    def test_mx_port_with_tls_is_not_an_open_relay(self):
        self.battery("smtp", starttls=True)

    def test_submission_without_auth_is_not_an_open_relay(self):
        self.battery("submission")
        self.battery("submission", starttls=True)

    def test_utf8_address_needs_smtputf8(self):
        c = self.client()
        c.ehlo()
        self.assertReply(c.cmd("MAIL FROM:<demo@example.test>"), 250)
        self.assertReply(c.cmd("RCPT TO:<user@bücher.test>".encode()), 553, "5.6.7")

    def test_mixed_case_local_domain_is_accepted(self):
        c = self.client()
        c.ehlo()
        r, t = self.transaction(c, ["DEMO@EXAMPLE.TEST"])
        self.assertReply(r, 250)
        self.assertEqual([a for a, _, _ in self.stored_with(t)], ["demo@example.test"])
        self.assertEqual(self.roost.count("queue"), 0)


class LockoutTest(SmtpTestCase):
    """[auth] lockout_after failures lock the account, in the store, for every daemon process."""

    @classmethod
    def setUpClass(cls):
        cls.roost = rf.Roost(settings={"auth": {"lockout_after": LOCKOUT_AFTER, "free_failures": 10}})
        try:
            cls.roost.add_domain("example.test")
            cls.roost.add_user("victim@example.test", PASSWORD)
            cls.roost.add_user("demo@example.test", PASSWORD)
            cls.daemon = cls.roost.start("smtpd")
        except BaseException:
            cls.roost.close()
            raise

    @classmethod
    def tearDownClass(cls):
        cls.roost.close()

    def auth(self, user, password, listener="submissions"):
        c = self.client(listener)
        c.ehlo()
        if listener == "submission":
            c.starttls()
            c.ehlo()
        return c.cmd("AUTH PLAIN " + b64(f"\0{user}\0{password}"))

    def test_lockout_is_shared_through_the_store(self):
        for i in range(LOCKOUT_AFTER):
            self.assertReply(self.auth("victim@example.test", f"guess-{i}"), 535, "5.7.8")
        self.assertReply(self.auth("victim@example.test", PASSWORD), 454, "4.7.0")
        rows = self.roost.query("SELECT failures FROM auth_failures WHERE key = ?", ("user:victim@example.test",))
        self.assertEqual(len(rows), 1)
        self.assertGreaterEqual(rows[0][0], LOCKOUT_AFTER)
        self.assertReply(self.auth("demo@example.test", PASSWORD), 235)  # per account, not global
        # A new daemon process (the lock is in roost.db, not in memory).
        self.daemon.stop()
        self.__class__.daemon = self.roost.start("smtpd")
        self.assertReply(self.auth("victim@example.test", PASSWORD), 454, "4.7.0")
        self.assertReply(self.auth("victim@example.test", PASSWORD, listener="submission"), 454, "4.7.0")


class ShutdownTest(SmtpTestCase):
    def test_idle_sessions_get_421_on_sigterm(self):
        roost = rf.Roost()
        self.addCleanup(roost.close)
        daemon = roost.start("smtpd")
        self.roost = roost
        mx = self.client()
        mx.ehlo()
        submission = self.client("submission")
        self.assertReply(submission.cmd("NOOP"), 250)
        daemon.signal()
        for c in (mx, submission):
            self.assertReply(c.reply(), 421, "4.3.2")  # RFC 5321 §3.8
            self.assertTrue(c.closed_by_server())
        self.assertEqual(daemon.stop(), 0)


class TimeoutTest(SmtpTestCase):
    def test_idle_client_is_disconnected(self):
        roost = rf.Roost(settings={"smtp": {"command_timeout": "2s"}})
        self.addCleanup(roost.close)
        roost.start("smtpd")
        self.roost = roost
        c = self.client()
        c.ehlo()
        started = time.monotonic()
        self.assertReply(c.reply(), 421, "4.4.2")
        waited = time.monotonic() - started
        self.assertTrue(1.5 <= waited <= 6, waited)
        self.assertTrue(c.closed_by_server())
        with self.assertRaises((EOFError, OSError)):
            c.cmd("NOOP")


if __name__ == "__main__":
    argv = rf.parse_args()
    unittest.main(argv=argv, verbosity=2)
