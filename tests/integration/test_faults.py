#!/usr/bin/env python3
"""Fault tests (issue #10): what Roost keeps and answers when a daemon is killed, the disk is full or the
database is locked by someone else.

- Crash safety: roost-smtpd takes 2,000 messages from several client threads while it is SIGKILLed at
  random moments and restarted; roost-imapd is killed likewise during APPEND / STORE / UID EXPUNGE and
  roost-pop3d at moments spread over its QUIT transaction. Every reply the client got is checked against what roost.db holds: a `250`
  or an `OK` is there exactly once (an expunge that got OK is gone, flags that got OK stayed), an attempt
  that got an error or whose data never reached the server is not there at all, an attempt whose reply was
  lost is there at most once, a POP3 QUIT removed every marked message or none, and the store is
  consistent (integrity_check, foreign keys, blob reference counts, full-text rows, mailbox and quota
  counters; see check_consistent()).
- Disk full (root only: a small tmpfs mounted on data_dir, filled with a filler file): SMTP answers
  `452 4.3.1` after the data, IMAP APPEND and STORE answer NO [UNAVAILABLE], POP3 QUIT removes nothing and
  says -ERR [SYS/TEMP]; nothing already stored changes; once the filler is gone every daemon (still the same
  process, the same sessions) works.
- Database locked: another process holds a write transaction (`BEGIN IMMEDIATE`) shorter, then longer
  than [store] busy_timeout, or a long read transaction and an online backup run during a load. Clients
  wait, or get temporary errors (451 4.3.0, NO [UNAVAILABLE], -ERR [SYS/TEMP]); logging in does not wait;
  reads go on; nothing is lost, no daemon crashes, and everything works once the lock is gone.

Run: python3 test_faults.py --roost PATH/roost --smtpd PATH/roost-smtpd --imapd PATH/roost-imapd
     --pop3d PATH/roost-pop3d [unittest args]
(or set ROOST_BIN_DIR). ROOST_FAULTS_SEED=N repeats a run's random choices (the seed is printed).
"""

import collections
import imaplib
import os
import random
import re
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import threading
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import roost_fixture as rf  # noqa: E402

HOST = rf.HOST
DOMAIN = "example.test"
PASSWORD = "correct horse 1"
SEED = int(os.environ.get("ROOST_FAULTS_SEED", str(int(time.time()))))
FAULT_ID = re.compile(rb"^X-Fault-Id: (\S+)\r$", re.M)
FLAG_FLAGGED = 4  # messages.flags bit 2 (storage/sqlite/schema.cpp)

# Network errors of a client whose server was just killed.
DROPPED = (OSError, EOFError, imaplib.IMAP4.abort)


def settings(**extra):
    s = {"imap": {"plaintext_auth": "loopback"}, "pop3": {"plaintext_auth": "loopback"},
         "limits": {"max_errors": 1000}, "log": {"level": "warn"}}
    for section, values in extra.items():
        s.setdefault(section, {}).update(values)
    return s


def message(fault_id, size=0):
    """A message identified by its X-Fault-Id header, `size` bytes of body filler at least."""
    lines = [f"From: load@{DOMAIN}", f"To: someone@{DOMAIN}", f"Subject: fault test {fault_id}",
             f"Message-ID: <{fault_id}@faults.{DOMAIN}>", f"X-Fault-Id: {fault_id}", "", f"body of {fault_id}"]
    line = "abcdefghijklmnopqrstuvwxyz0123456789" * 2
    lines += [line] * (size // (len(line) + 2))
    return ("\r\n".join(lines) + "\r\n").encode()


class Dropped(Exception):
    """The connection failed before the server could have seen the whole request."""


class Lost(Exception):
    """The whole request was sent but its reply never came: the outcome is unknown."""


class Smtp:
    """A raw SMTP client: the caller knows exactly whether the final "." left this side."""

    def __init__(self, port, timeout=30):
        self.sock = socket.create_connection((HOST, port), timeout=timeout)
        self.file = self.sock.makefile("rb")
        try:
            code, _ = self.reply()
            if code != 220:
                raise Dropped(f"greeting {code}")
            self.ok(f"EHLO client.{DOMAIN}")
        except BaseException:
            self.close()
            raise

    def reply(self):
        """(code, text of the last line); EOFError if the connection ends first."""
        while True:
            line = self.file.readline()
            if not line.endswith(b"\n"):
                raise EOFError("connection closed")
            if line[3:4] != b"-":
                return int(line[:3]), line[4:].decode(errors="replace").strip()

    def cmd(self, text):
        self.sock.sendall(text.encode() + b"\r\n")
        return self.reply()

    def ok(self, text, want=250):
        code, reply = self.cmd(text)
        if code != want:
            raise AssertionError(f"{text!r} -> {code} {reply}")
        return reply

    def send_message(self, rcpt, data):
        """One transaction. Returns (code, text) of the reply to the data; raises Dropped if the message
        cannot have arrived whole, Lost if it was sent and the reply did not come."""
        try:
            for text, want in ((f"MAIL FROM:<load@{DOMAIN}>", 250), (f"RCPT TO:<{rcpt}>", 250), ("DATA", 354)):
                code, reply = self.cmd(text)
                if code != want:
                    self.cmd("RSET")
                    return code, f"{text}: {reply}"
            self.sock.sendall(data + b".\r\n")
        except DROPPED as e:
            raise Dropped(str(e))
        try:
            return self.reply()
        except DROPPED as e:
            raise Lost(str(e))

    def close(self):
        self.file.close()
        self.sock.close()


class Pop3:
    def __init__(self, port, timeout=30):
        self.sock = socket.create_connection((HOST, port), timeout=timeout)
        self.file = self.sock.makefile("rb")
        try:
            self.line()
        except BaseException:
            self.close()
            raise

    def line(self):
        line = self.file.readline()
        if not line.endswith(b"\n"):
            raise EOFError("connection closed")
        return line.decode(errors="replace").rstrip("\r\n")

    def cmd(self, text):
        self.sock.sendall(text.encode() + b"\r\n")
        return self.line()

    def ok(self, text):
        r = self.cmd(text)
        if not r.startswith("+OK"):
            raise AssertionError(f"{text!r} -> {r}")
        return r

    def multiline(self):
        lines = []
        while True:
            line = self.file.readline()
            if not line.endswith(b"\n"):
                raise EOFError("connection closed")
            if line == b".\r\n":
                return lines
            lines.append(line[1:] if line.startswith(b".") else line)

    def login(self, user):
        self.ok("USER " + user)
        return self.ok("PASS " + PASSWORD)

    def maildrop(self):
        """{fault id: message number} of the maildrop, read with TOP n 0."""
        count = int(self.ok("STAT").split()[1])
        out = {}
        for n in range(1, count + 1):
            self.ok(f"TOP {n} 0")
            m = FAULT_ID.search(b"".join(self.multiline()))
            out[m.group(1).decode()] = n
        return out

    def close(self):
        self.file.close()
        self.sock.close()


def drop(imap):
    """Closes an IMAP client whose server went away; returns None."""
    if imap is not None:
        try:
            imap.shutdown()
        except OSError:
            pass


def imap_login(roost, user, timeout=30):
    c = imaplib.IMAP4(HOST, roost.ports["imap"], timeout=timeout)
    c.login(user, PASSWORD)
    return c


def stored(roost, mailbox=None, address=None):
    """{fault id: [(address, mailbox, uid, flags, bytes)]} of every stored message carrying an X-Fault-Id (in
    `mailbox` of `address` if given)."""
    sql = ("SELECT a.address, mb.name, m.uid, m.flags, b.data FROM messages m JOIN mailboxes mb ON mb.id = m.mailbox_id"
           " JOIN accounts a ON a.id = mb.account_id JOIN blobs b ON b.id = m.blob_id")
    out = collections.defaultdict(list)
    for a, mb, uid, flags, data in roost.query(sql):
        if (mailbox is not None and mb != mailbox) or (address is not None and a != address):
            continue
        m = FAULT_ID.search(bytes(data))
        if m:
            out[m.group(1).decode()].append((a, mb, uid, flags, bytes(data)))
    return out


def check_consistent(test, roost):
    """Nothing half-stored: the database is intact and every derived value matches what it is derived from."""
    test.assertEqual(roost.query("PRAGMA integrity_check"), [("ok",)])
    test.assertEqual(roost.query("PRAGMA foreign_key_check"), [])
    # A blob lives exactly as long as a message or queue entry refers to it, and refcount counts them.
    test.assertEqual(roost.query(
        "SELECT id, refcount, refs FROM (SELECT b.id, b.refcount, (SELECT COUNT(*) FROM messages WHERE blob_id = b.id)"
        " + (SELECT COUNT(*) FROM queue WHERE blob_id = b.id) AS refs FROM blobs b) WHERE refs != refcount OR refs = 0"),
        [], "blobs with a wrong reference count, or referenced by nothing")
    test.assertEqual(roost.query("SELECT id FROM blobs WHERE size != length(data)"), [], "truncated blobs")
    test.assertEqual(roost.query("SELECT rowid FROM message_text WHERE rowid NOT IN (SELECT id FROM blobs)"), [],
                     "full-text rows of blobs that are gone")
    test.assertEqual(roost.query(
        "SELECT m.id FROM messages m JOIN blobs b ON b.id = m.blob_id WHERE m.size != b.size"), [])
    # Mailbox counters, UIDs and modseqs agree with the messages (RFC 9051 §2.3.1.1: UIDs never reused).
    test.assertEqual(roost.query(
        "SELECT mb.id FROM mailboxes mb LEFT JOIN messages m ON m.mailbox_id = mb.id GROUP BY mb.id HAVING"
        " mb.messages != COUNT(m.id) OR mb.unseen != TOTAL(m.id IS NOT NULL AND m.flags & 1 = 0)"
        " OR mb.size != TOTAL(m.size) OR mb.uidnext <= COALESCE(MAX(m.uid), 0)"
        " OR mb.highest_modseq < COALESCE(MAX(m.modseq), 0)"), [], "mailbox counters out of step")
    test.assertEqual(roost.query(
        "SELECT e.mailbox_id, e.uid FROM expunged e JOIN messages m ON m.mailbox_id = e.mailbox_id AND m.uid = e.uid"),
        [], "messages both present and expunged")
    test.assertEqual(roost.query(
        "SELECT mb.id FROM mailboxes mb JOIN expunged e ON e.mailbox_id = mb.id GROUP BY mb.id"
        " HAVING MAX(e.uid) >= mb.uidnext OR MAX(e.modseq) > mb.highest_modseq"), [])
    test.assertEqual(roost.query(
        "SELECT a.address FROM accounts a LEFT JOIN mailboxes mb ON mb.account_id = a.id GROUP BY a.id"
        " HAVING a.used_bytes != TOTAL(mb.size)"), [], "quota usage out of step")


class Killer(threading.Thread):
    """SIGKILLs a daemon at random moments and starts it again, until stopped."""

    def __init__(self, roost, name, rng, low, high):
        super().__init__(daemon=True)
        self.roost, self.name, self.rng, self.low, self.high = roost, name, rng, low, high
        self.daemon_proc = next(d for d in roost.daemons if d.name == name)
        self.stop_event = threading.Event()
        self.kills = 0
        self.error = None

    def run(self):
        try:
            while not self.stop_event.wait(self.rng.uniform(self.low, self.high)):
                kill(self.roost, self.daemon_proc)
                self.kills += 1
                self.daemon_proc = self.roost.start(self.name)
        except Exception as e:  # reported by stop()
            self.error = e

    def stop(self):
        self.stop_event.set()
        self.join()
        if self.error:
            raise self.error


def kill(roost, daemon):
    daemon.signal(signal.SIGKILL)
    daemon.proc.wait()
    roost.daemons.remove(daemon)


def running(roost, name):
    return next(d for d in roost.daemons if d.name == name)


class FaultTest(unittest.TestCase):
    def setUp(self):
        self.rng = random.Random(f"{SEED}/{self.id()}")

    def installation(self, users, **extra):
        roost = rf.Roost(settings=settings(**extra))
        self.addCleanup(roost.close)
        roost.add_domain(DOMAIN)
        for u in users:
            roost.add_user(u, PASSWORD)
        return roost


# ---------------------------------------------------------------------------------------------------------------
# Crash safety


class SmtpCrashTest(FaultTest):
    MESSAGES = 2000
    CLIENTS = 8
    USERS = [f"user{i}@{DOMAIN}" for i in range(4)]

    def test_kill_smtpd_during_load(self):
        roost = self.installation(self.USERS)
        roost.start("smtpd")
        attempts = {}  # attempt id -> (recipient, bytes, outcome)
        lock = threading.Lock()
        todo = collections.deque(range(self.MESSAGES))
        failures = []

        def client():
            conn = None
            while True:
                with lock:
                    if not todo:
                        break
                    n = todo.popleft()
                rcpt = self.USERS[n % len(self.USERS)]
                for attempt in range(1000):
                    aid = f"m{n}.{attempt}"
                    data = message(aid, size=(n * 37) % 3000)
                    try:
                        if conn is None:
                            conn = Smtp(roost.ports["smtp"])
                        code, text = conn.send_message(rcpt, data)
                        outcome = str(code)
                    except (Dropped, *DROPPED):
                        outcome = "dropped"
                    except Lost:
                        outcome = "lost"
                    with lock:
                        attempts[aid] = (rcpt, data, outcome)
                    if outcome in ("dropped", "lost") and conn is not None:
                        conn.close()
                        conn = None
                    if outcome == "dropped" or outcome.startswith("4"):
                        time.sleep(0.02)
                        continue  # certainly not accepted: the client tries again (a new attempt id)
                    if outcome not in ("250", "lost"):
                        failures.append(f"{aid}: unexpected reply {code} {text}")
                    break
                else:
                    failures.append(f"m{n}: no attempt got through")
            if conn is not None:
                conn.close()

        started = time.monotonic()
        killer = Killer(roost, "smtpd", self.rng, 0.05, 0.3)
        killer.start()
        threads = [threading.Thread(target=client) for _ in range(self.CLIENTS)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        killer.stop()
        elapsed = time.monotonic() - started
        self.assertEqual(failures, [])

        outcomes = collections.Counter(o for _, _, o in attempts.values())
        print(f"\nsmtp: {self.MESSAGES} messages in {elapsed:.1f}s, {killer.kills} kills, attempts {dict(outcomes)}",
              file=sys.stderr)
        self.assertGreaterEqual(killer.kills, 3)
        self.assertGreaterEqual(outcomes["250"], self.MESSAGES - outcomes["lost"])

        have = stored(roost)
        self.assertLessEqual(set(have), set(attempts), "stored messages nobody sent")
        for aid, (rcpt, data, outcome) in sorted(attempts.items()):
            copies = have.get(aid, [])
            if outcome == "250":
                self.assertEqual(len(copies), 1, f"{aid} got 250 and is stored {len(copies)} times")
            elif outcome == "lost":
                self.assertLessEqual(len(copies), 1, f"{aid} is stored {len(copies)} times")
            else:
                self.assertEqual(copies, [], f"{aid} ({outcome}) was stored")
            for address, mailbox, _, _, raw in copies:
                self.assertEqual((address, mailbox), (rcpt, "INBOX"))
                self.assertTrue(raw.endswith(data), f"{aid} is stored incomplete")
        check_consistent(self, roost)
        # The last daemon is still a healthy one: SIGTERM ends it with status 0.
        running(roost, "smtpd").stop()


class ImapCrashTest(FaultTest):
    CLIENTS = 4
    OPERATIONS = 120
    USER = f"imap@{DOMAIN}"

    def test_kill_imapd_during_append_store_expunge(self):
        roost = self.installation([self.USER])
        roost.start("imapd")
        c = imap_login(roost, self.USER)
        for i in range(self.CLIENTS):
            self.assertEqual(c.create(f"T{i}")[0], "OK")
        c.logout()
        results = [None] * self.CLIENTS
        errors = []

        def client(index):
            mbox = f"T{index}"
            rng = random.Random(f"{SEED}/imap/{index}")
            r = {"appended": {}, "append_lost": set(), "append_failed": set(), "flagged": set(),
                 "expunged": set(), "expunge_unsure": set(), "live": []}
            conn = None
            try:
                for op in range(self.OPERATIONS):
                    if conn is None:
                        try:
                            conn = imaplib.IMAP4(HOST, roost.ports["imap"], timeout=30)
                            conn.login(self.USER, PASSWORD)
                            if conn.select(mbox)[0] != "OK":
                                raise EOFError("SELECT failed")
                        except DROPPED:
                            conn = drop(conn)
                            time.sleep(0.05)
                            continue
                    kind = rng.random()
                    try:
                        if len(r["live"]) < 3 or kind < 0.5:
                            aid = f"{mbox}.{op}"
                            try:
                                typ, data = conn.append(mbox, None, None, message(aid, size=rng.randrange(4000)))
                            except DROPPED:
                                r["append_lost"].add(aid)
                                raise
                            if typ != "OK":
                                r["append_failed"].add(aid)
                                continue
                            uid = int(re.search(rb"\[APPENDUID \d+ (\d+)\]", data[0]).group(1))
                            r["appended"][aid] = uid
                            r["live"].append(uid)
                        elif kind < 0.75:
                            uid = rng.choice(r["live"])
                            typ, _ = conn.uid("STORE", str(uid), "+FLAGS.SILENT", r"(\Flagged)")
                            if typ == "OK":
                                r["flagged"].add(uid)
                        else:
                            uid = rng.choice(r["live"])
                            typ, _ = conn.uid("STORE", str(uid), "+FLAGS.SILENT", r"(\Deleted)")
                            if typ != "OK":
                                continue
                            r["live"].remove(uid)  # never touched again: its fate may be unknown
                            r["expunge_unsure"].add(uid)
                            typ, _ = conn.uid("EXPUNGE", str(uid))  # RFC 4315 §2.1: only this UID
                            if typ == "OK":
                                r["expunge_unsure"].discard(uid)
                                r["expunged"].add(uid)
                    except DROPPED:
                        conn = drop(conn)
                if conn is not None:
                    conn.logout()
            except Exception as e:
                errors.append(f"{mbox}: {e!r}")
            results[index] = r

        started = time.monotonic()
        killer = Killer(roost, "imapd", self.rng, 0.15, 0.5)
        killer.start()
        threads = [threading.Thread(target=client, args=(i,)) for i in range(self.CLIENTS)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        killer.stop()
        self.assertEqual(errors, [])
        counts = collections.Counter()
        for r in results:
            for key in ("appended", "append_lost", "append_failed", "flagged", "expunged", "expunge_unsure"):
                counts[key] += len(r[key])
        print(f"\nimap: {self.CLIENTS * self.OPERATIONS} operations in {time.monotonic() - started:.1f}s,"
              f" {killer.kills} kills, {dict(counts)}", file=sys.stderr)
        self.assertGreaterEqual(killer.kills, 3)

        for index, r in enumerate(results):
            mbox = f"T{index}"
            have = stored(roost, mbox)
            by_uid = {copy[2]: (aid, copy) for aid, copies in have.items() for copy in copies}
            for aid, copies in have.items():
                self.assertEqual(len(copies), 1, f"{aid} is stored {len(copies)} times")
                self.assertTrue(aid in r["appended"] or aid in r["append_lost"], f"{aid} stored without OK")
            for aid, uid in r["appended"].items():
                if uid in r["expunged"]:
                    self.assertNotIn(uid, by_uid, f"{aid} (UID {uid}) survived an expunge that got OK")
                    continue
                if uid in r["expunge_unsure"]:
                    continue
                self.assertIn(aid, have, f"{aid} got OK for APPEND and is gone")
                _, _, stored_uid, flags, raw = have[aid][0]
                self.assertEqual(stored_uid, uid)
                if uid in r["flagged"]:
                    self.assertTrue(flags & FLAG_FLAGGED, f"{aid}: \\Flagged got OK and was lost")
            for aid in r["append_failed"]:
                self.assertNotIn(aid, have)
        check_consistent(self, roost)
        running(roost, "imapd").stop()


class Pop3CrashTest(FaultTest):
    ROUNDS = 12
    PER_ROUND = 40

    def test_kill_pop3d_during_quit(self):
        # One account per round, so that every QUIT removes as many messages as the first one, which is not
        # killed and measures how long that takes.
        users = [f"pop{rnd}@{DOMAIN}" for rnd in range(self.ROUNDS)]
        roost = self.installation(users)
        roost.start("smtpd")
        pop3d = roost.start("pop3d")
        outcomes = collections.Counter()
        for rnd, user in enumerate(users):
            smtp = Smtp(roost.ports["smtp"])
            for k in range(self.PER_ROUND):
                self.assertEqual(smtp.send_message(user, message(f"r{rnd}.{k}"))[0], 250)
            smtp.close()
            before = set(stored(roost, "INBOX", user))
            c = Pop3(roost.ports["pop3"])
            c.login(user)
            drop = c.maildrop()
            self.assertEqual(set(drop), before)
            marked = set(self.rng.sample(sorted(drop), k=len(drop) * 2 // 3))
            for aid in marked:
                c.ok(f"DELE {drop[aid]}")
            c.sock.sendall(b"QUIT\r\n")
            if rnd == 0:
                quit_started = time.monotonic()
                self.assertTrue(c.line().startswith("+OK"))
                quit_time = time.monotonic() - quit_started
                c.close()
                self.assertEqual(set(stored(roost, "INBOX", user)), before - marked)
                continue
            # Kill anywhere from before the expunge transaction starts to after it ends.
            time.sleep(self.rng.uniform(0, 2 * quit_time))
            kill(roost, pop3d)
            try:
                reply = c.line()
            except DROPPED:
                reply = None
            c.close()
            after = set(stored(roost, "INBOX", user))
            if after == before:
                outcomes["none removed"] += 1
            elif after == before - marked:
                outcomes["all removed"] += 1
            else:
                self.fail(f"round {rnd}: QUIT removed {len(before - after)} of {len(marked)} marked messages"
                          f" (and {len(after - before)} appeared)")
            if reply is not None and reply.startswith("+OK"):
                self.assertEqual(after, before - marked, "QUIT said +OK, yet messages remain")
            if reply is not None and reply.startswith("-ERR"):
                self.assertEqual(after, before, "QUIT said -ERR, yet messages were removed")
            check_consistent(self, roost)
            pop3d = roost.start("pop3d")
        print(f"\npop3: {self.ROUNDS - 1} QUITs killed ({quit_time * 1000:.1f} ms for one not killed):"
              f" {dict(outcomes)}", file=sys.stderr)
        pop3d.stop()



# ---------------------------------------------------------------------------------------------------------------
# Disk full


def fill_disk(roost):
    """Empties the WAL into the database file, then fills the file system with a filler file; returns its path."""
    con = sqlite3.connect(os.path.join(roost.data_dir, "roost.db"), timeout=10)
    try:
        for _ in range(100):
            busy, _, _ = con.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()
            if not busy:
                break
            time.sleep(0.05)
        else:
            raise AssertionError("could not checkpoint the WAL")
    finally:
        con.close()
    path = os.path.join(roost.data_dir, "filler")
    with open(path, "wb", buffering=0) as f:
        for chunk in (1 << 20, 4096, 1):
            try:
                while True:
                    f.write(b"\0" * chunk)
            except OSError:
                pass
    return path


@unittest.skipIf(os.geteuid() != 0, "needs root (mounts a small tmpfs on data_dir)")
class DiskFullTest(FaultTest):
    USER = f"full@{DOMAIN}"

    def test_disk_full(self):
        roost = rf.Roost(settings=settings())
        os.makedirs(roost.data_dir)
        mount = ["mount", "-t", "tmpfs", "-o", "size=16m", "roost-faults", roost.data_dir]
        if subprocess.run(mount, capture_output=True).returncode:
            shutil.rmtree(roost.dir, ignore_errors=True)
            self.skipTest("cannot mount a tmpfs")

        def unmount():
            subprocess.run(["umount", roost.data_dir], check=True)
            if not roost.keep:
                shutil.rmtree(roost.dir, ignore_errors=True)
        self.addCleanup(unmount)
        self.addCleanup(roost.close)  # runs first: stops the daemons
        roost.add_domain(DOMAIN)
        roost.add_user(self.USER, PASSWORD)
        daemons = [roost.start(name) for name in ("smtpd", "imapd", "pop3d")]

        smtp = Smtp(roost.ports["smtp"])
        for k in range(5):
            self.assertEqual(smtp.send_message(self.USER, message(f"before.{k}", 2000))[0], 250)
        imap = imap_login(roost, self.USER)
        self.assertEqual(imap.append("INBOX", r"(\Seen)", None, message("before.append"))[0], "OK")
        self.assertEqual(imap.select("INBOX")[0], "OK")
        everything = "SELECT m.id, m.uid, m.flags, m.modseq, b.data FROM messages m JOIN blobs b ON b.id = m.blob_id"
        before = roost.query(everything)
        self.assertEqual(len(before), 6)

        filler = fill_disk(roost)
        self.assertLess(shutil.disk_usage(roost.data_dir).free, 4096)
        # SMTP: a temporary "mail system full" after the data (RFC 3463 X.3.1, RFC 5321 §4.2.5), and the
        # session goes on; so does a new one.
        code, text = smtp.send_message(self.USER, message("full.smtp.0", 100_000))
        self.assertEqual((code, text[:5]), (452, "4.3.1"), text)
        self.assertEqual(smtp.send_message(self.USER, message("full.smtp.1", 100))[:1], (452,))
        smtp2 = Smtp(roost.ports["smtp"])
        self.assertEqual(smtp2.send_message(self.USER, message("full.smtp.2", 100_000))[0], 452)
        # IMAP: APPEND and STORE answer NO (a new session can still log in and read).
        imap2 = imap_login(roost, self.USER)
        typ, data = imap2.append("INBOX", None, None, message("full.imap.0", 100_000))
        self.assertEqual((typ, data[0][:13]), ("NO", b"[UNAVAILABLE]"), data)
        typ, data = imap.append("INBOX", None, None, message("full.imap.1", 100_000))
        self.assertEqual(typ, "NO", data)
        typ, data = imap.uid("STORE", str(before[0][1]), "+FLAGS", r"(\Flagged)")
        self.assertEqual(typ, "NO", data)
        typ, data = imap.uid("FETCH", "1:*", "(FLAGS)")
        self.assertEqual((typ, len(data)), ("OK", 6))
        # POP3: QUIT cannot remove what was marked and says so (RFC 1939 §6, RFC 3206 SYS/TEMP).
        pop = Pop3(roost.ports["pop3"])
        pop.login(self.USER)
        pop.ok("DELE 1")
        self.assertTrue(pop.cmd("QUIT").startswith("-ERR [SYS/TEMP]"))
        pop.close()

        self.assertEqual(roost.query(everything), before, "stored messages changed while the disk was full")
        check_consistent(self, roost)
        self.assertTrue(all(d.running() for d in daemons))

        # Space returns: the same processes and sessions carry on.
        os.remove(filler)
        self.assertEqual(smtp.send_message(self.USER, message("after.smtp", 100_000))[0], 250)
        self.assertEqual(imap.append("INBOX", None, None, message("after.imap", 100_000))[0], "OK")
        self.assertEqual(imap.uid("STORE", str(before[0][1]), "+FLAGS", r"(\Flagged)")[0], "OK")
        pop = Pop3(roost.ports["pop3"])
        pop.login(self.USER)
        pop.ok("DELE 1")
        self.assertTrue(pop.cmd("QUIT").startswith("+OK"))
        pop.close()
        have = stored(roost)
        self.assertEqual(sorted(k for k in have if not k.startswith("before.")), ["after.imap", "after.smtp"])
        self.assertEqual(len(have), 7)  # six before, two after, one removed by POP3
        check_consistent(self, roost)
        for c in (smtp, smtp2):
            c.close()
        for c in (imap, imap2):
            c.logout()
        for d in daemons:
            d.stop()


# ---------------------------------------------------------------------------------------------------------------
# Database busy or locked


class Holder(threading.Thread):
    """Another process's transaction on roost.db: BEGIN IMMEDIATE (a writer) or BEGIN + SELECT (a reader),
    held for `seconds` or until the `with` block ends, whichever comes first."""

    def __init__(self, roost, seconds, write=True):
        super().__init__(daemon=True)
        self.path, self.seconds, self.write = os.path.join(roost.data_dir, "roost.db"), seconds, write
        self.holding = threading.Event()
        self.release = threading.Event()

    def run(self):
        con = sqlite3.connect(self.path, timeout=30, isolation_level=None)
        try:
            con.execute("BEGIN IMMEDIATE" if self.write else "BEGIN")
            con.execute("SELECT COUNT(*) FROM blobs").fetchone()
            self.holding.set()
            self.release.wait(self.seconds)
            self.holding.clear()
            con.execute("ROLLBACK")
        finally:
            con.close()

    def __enter__(self):
        self.start()
        if not self.holding.wait(30):
            raise AssertionError("could not take the lock")
        return self

    def __exit__(self, *exc):
        self.release.set()
        self.join()


def timed(fn, *args):
    start = time.monotonic()
    result = fn(*args)
    return result, time.monotonic() - start


class LockedDatabaseTest(FaultTest):
    USER = f"busy@{DOMAIN}"

    def start_all(self, busy_timeout):
        roost = self.installation([self.USER], store={"busy_timeout": busy_timeout})
        daemons = [roost.start(name) for name in ("smtpd", "imapd", "pop3d")]
        smtp = Smtp(roost.ports["smtp"])
        for k in range(3):
            self.assertEqual(smtp.send_message(self.USER, message(f"before.{k}"))[0], 250)
        imap = imap_login(roost, self.USER)
        self.assertEqual(imap.select("INBOX")[0], "OK")
        return roost, daemons, smtp, imap

    def test_short_lock_is_waited_out(self):
        roost, daemons, smtp, imap = self.start_all("5s")
        with Holder(roost, 1.5):
            (code, text), waited = timed(smtp.send_message, self.USER, message("during.smtp"))
            self.assertEqual(code, 250, text)
            typ, data = imap.append("INBOX", None, None, message("during.imap"))
            self.assertEqual(typ, "OK", data)
        self.assertGreater(waited, 0.5)  # it did wait for the lock
        self.assertEqual(sorted(stored(roost)), ["before.0", "before.1", "before.2", "during.imap", "during.smtp"])
        check_consistent(self, roost)
        smtp.close()
        imap.logout()
        for d in daemons:
            d.stop()

    def test_long_lock_gives_temporary_errors(self):
        roost, daemons, smtp, imap = self.start_all("2s")
        pop = Pop3(roost.ports["pop3"])
        pop.login(self.USER)
        pop.ok("DELE 1")
        with Holder(roost, 30) as holder:
            (code, text), waited = timed(smtp.send_message, self.USER, message("during.smtp"))
            # RFC 3463 X.3.0: a temporary failure of the mail system (not X.3.1: the disk is not full).
            self.assertEqual((code, text[:5]), (451, "4.3.0"), text)
            self.assertLess(waited, 5, "the client waited for the whole lock, not for busy_timeout")
            # Logging in needs no write (nothing to clear in the failure log), so it does not wait.
            imap2, took = timed(imap_login, roost, self.USER)
            self.assertLess(took, 1.5)
            imap2.logout()
            typ, data = imap.append("INBOX", None, None, message("during.imap"))
            self.assertEqual(typ, "NO", data)
            self.assertIn(b"[UNAVAILABLE]", data[0])
            # Reads go on: the lock holder blocks writers only (WAL).
            (typ, data), took = timed(imap.uid, "FETCH", "1:*", "(FLAGS)")
            self.assertEqual((typ, len(data)), ("OK", 3))
            self.assertLess(took, 1.5)
            self.assertTrue(pop.cmd("QUIT").startswith("-ERR [SYS/TEMP]"))
            pop.close()
            # A new SMTP client is served meanwhile (the daemon is not stuck behind the lock).
            (greeted, took) = timed(Smtp, roost.ports["smtp"])
            self.assertLess(took, 1.5)
            greeted.close()
            self.assertTrue(holder.holding.is_set(), "the lock ended before the checks did")
        self.assertEqual(sorted(stored(roost)), ["before.0", "before.1", "before.2"])
        # The lock is gone: everything works again, in the same processes and sessions.
        self.assertEqual(smtp.send_message(self.USER, message("after.smtp"))[0], 250)
        self.assertEqual(imap.append("INBOX", None, None, message("after.imap"))[0], "OK")
        pop = Pop3(roost.ports["pop3"])
        pop.login(self.USER)
        pop.ok("DELE 1")
        self.assertTrue(pop.cmd("QUIT").startswith("+OK"))
        pop.close()
        self.assertEqual(sorted(stored(roost)), ["after.imap", "after.smtp", "before.1", "before.2"])
        check_consistent(self, roost)
        smtp.close()
        imap.logout()
        for d in daemons:
            d.stop()

    def test_long_reader_and_backup_do_not_block(self):
        roost, daemons, smtp, imap = self.start_all("2s")
        backup_path = os.path.join(roost.dir, "backup.db")
        outcomes = []

        def load(index):
            c = Smtp(roost.ports["smtp"])
            for k in range(50):
                outcomes.append(c.send_message(self.USER, message(f"load.{index}.{k}", 20_000))[0])
            c.close()

        def backup():
            src = sqlite3.connect(f"file:{os.path.join(roost.data_dir, 'roost.db')}?mode=ro", uri=True, timeout=10)
            dst = sqlite3.connect(backup_path)
            src.backup(dst)
            dst.close()
            src.close()

        with Holder(roost, 60, write=False) as holder:
            threads = [threading.Thread(target=load, args=(i,)) for i in range(4)]
            threads.append(threading.Thread(target=backup))
            for t in threads:
                t.start()
            for t in threads:
                t.join()
            typ, data = imap.append("INBOX", None, None, message("during.imap"))
            self.assertEqual(typ, "OK", data)
            self.assertTrue(holder.holding.is_set())
        # Had the reader or the backup blocked the writers for longer than busy_timeout, some would be 451.
        self.assertEqual(outcomes, [250] * 200)
        self.assertEqual(len(stored(roost)), 204)
        check_consistent(self, roost)

        class Backup:  # check_consistent() on the copy
            @staticmethod
            def query(sql):
                con = sqlite3.connect(backup_path)
                try:
                    return con.execute(sql).fetchall()
                finally:
                    con.close()
        check_consistent(self, Backup)
        self.assertGreaterEqual(Backup.query("SELECT COUNT(*) FROM messages")[0][0], 3)
        smtp.close()
        imap.logout()
        for d in daemons:
            d.stop()

if __name__ == "__main__":
    print(f"ROOST_FAULTS_SEED={SEED}", file=sys.stderr)
    unittest.main(argv=rf.parse_args())
