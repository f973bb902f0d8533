#!/usr/bin/env python3
"""Integration tests for outbound delivery (smtpd/outbound) against real peers on loopback addresses:

- Unbound from Debian as the DNS server (MX, A, TXT records of remote.test and friends, and the DKIM keys
  `roost dkim generate` printed), on 127.0.0.1 at a port the test picks; roost-smtpd's `[dns] resolver`
  points at it. No real DNS, no internet.
- Postfix from Debian as remote.test's MX on 127.0.0.2:25 (virtual mailboxes in a temporary folder), and a
  second Postfix on 127.0.0.3:587 as an AUTH-only submission relay (SASL through Dovecot) for smarthost mode.
- Postfix's smtp-sink as a server answering 4xx or 5xx (or accepting into a dump file) on other addresses.

The DKIM signatures are checked with Debian's python3-dkim (run by /usr/bin/python3) against the keys
published in that DNS server. Needs root (ports 25/587 on 127.0.0.x, Postfix); skipped otherwise.

Run: python3 test_outbound.py --roost PATH/roost --smtpd PATH/roost-smtpd [unittest args]
"""

import email
import email.policy
import os
import shutil
import signal
import smtplib
import socket
import subprocess
import sys
import tempfile
import threading
import time
import unittest
import uuid

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import roost_fixture as rf  # noqa: E402

PASSWORD = "correct horse 1"
SENDER = "alice@example.test"
DEBIAN_PYTHON = "/usr/bin/python3"

# Fake remote hosts, one loopback address each.
MX_POSTFIX = "127.0.0.2"    # remote.test's MX (Postfix)
RELAY_POSTFIX = "127.0.0.3"  # smarthost (Postfix submission relay with AUTH)
SINK_TEMP = "127.0.0.4"     # retry.test: 4xx, later accepting
SINK_PERM = "127.0.0.5"     # bounce.test: 5xx
DEAD_HOST = "127.0.0.6"     # expire.test: nothing listens
SINK_HANG = "127.0.0.7"     # restart.test: accepts, then says nothing; later accepting

RELAY_USER, RELAY_PASS = "roost-relay", "relay secret 9"


def need(*programs):
    missing = [p for p in programs if not shutil.which(p) and not os.path.exists(p)]
    return missing


def read_bytes(path):
    with open(path, "rb") as f:
        return f.read()


def wait_tcp(host, port, timeout=15.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with socket.create_connection((host, port), timeout=0.5):
                return True
        except OSError:
            time.sleep(0.05)
    return False


def free_udp_tcp_port():
    for _ in range(50):
        t = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        try:
            t.bind(("127.0.0.1", 0))
            port = t.getsockname()[1]
            u.bind(("127.0.0.1", port))
            return port
        except OSError:
            continue
        finally:
            t.close()
            u.close()
    raise RuntimeError("no free port for DNS")


class DnsServer:
    """Unbound serving local data only, on 127.0.0.1:<port>."""

    def __init__(self, root, records):
        self.dir = os.path.join(root, "unbound")
        os.makedirs(self.dir)
        self.port = free_udp_tcp_port()
        lines = [
            "server:",
            f"  interface: 127.0.0.1@{self.port}",
            f"  port: {self.port}",
            "  do-daemonize: no",
            '  username: ""',
            '  chroot: ""',
            f'  directory: "{self.dir}"',
            '  pidfile: ""',
            "  use-syslog: no",
            f'  logfile: "{self.dir}/unbound.log"',
            "  do-ip6: no",
            "  access-control: 127.0.0.0/8 allow",
            '  module-config: "iterator"',
            "  local-zone: \"test.\" static",
        ]
        for r in records:
            lines.append("  local-data: '" + r.replace("'", "") + "'")
        lines += ["remote-control:", "  control-enable: no", ""]
        self.conf = os.path.join(self.dir, "unbound.conf")
        with open(self.conf, "w") as f:
            f.write("\n".join(lines))
        with open(os.path.join(self.dir, "stderr"), "wb") as err:
            self.proc = subprocess.Popen(["unbound", "-d", "-c", self.conf], stdout=subprocess.DEVNULL, stderr=err)
        if not wait_tcp("127.0.0.1", self.port):
            self.stop()
            raise RuntimeError("unbound did not start: " + open(os.path.join(self.dir, "stderr")).read()
                               + open(self.conf).read())

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


MASTER_CF_COMMON = """\
pickup    unix  n       -       n       60      1       pickup
cleanup   unix  n       -       n       -       0       cleanup
qmgr      unix  n       -       n       300     1       qmgr
tlsmgr    unix  -       -       n       1000?   1       tlsmgr
rewrite   unix  -       -       n       -       -       trivial-rewrite
bounce    unix  -       -       n       -       0       bounce
defer     unix  -       -       n       -       0       bounce
trace     unix  -       -       n       -       0       bounce
verify    unix  -       -       n       -       1       verify
flush     unix  n       -       n       1000?   0       flush
proxymap  unix  -       -       n       -       -       proxymap
smtp      unix  -       -       n       -       -       smtp
relay     unix  -       -       n       -       -       smtp
showq     unix  n       -       n       -       -       showq
error     unix  -       -       n       -       -       error
retry     unix  -       -       n       -       -       error
discard   unix  -       -       n       -       -       discard
virtual   unix  -       n       n       -       -       virtual
anvil     unix  -       -       n       -       1       anvil
scache    unix  -       -       n       -       1       scache
postlog   unix-dgram n  -       n       -       1       postlogd
"""


class Postfix:
    """A throw-away Postfix instance (config, queue and mail under `root`) delivering `domains` into
    Maildirs; `submission` makes it an AUTH-only relay on port 587 (SASL via a Dovecot auth process)."""

    def __init__(self, root, name, address, hostname, domains, users, submission=False):
        self.dir = os.path.join(root, name)
        self.etc = os.path.join(self.dir, "etc")
        self.mail = os.path.join(self.dir, "mail")
        self.spool = os.path.join(self.dir, "spool")
        self.address = address
        for d in (self.etc, self.spool):
            os.makedirs(d)
        os.makedirs(self.mail)
        shutil.chown(self.mail, "nobody", "nogroup")
        data = os.path.join(self.dir, "data")
        os.makedirs(data)
        shutil.chown(data, "postfix", "postfix")
        cert, key = os.path.join(self.etc, "cert.pem"), os.path.join(self.etc, "key.pem")
        subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj",
                        f"/CN={hostname}", "-keyout", key, "-out", cert], check=True, capture_output=True)
        with open(os.path.join(self.etc, "vmailbox"), "w") as f:
            for u in users:
                f.write(f"{u} {u.split('@')[1]}/{u.split('@')[0]}/\n")
        self.sasl = None
        sasl_cf = ""
        master = f"{address}:25 inet n - n - - smtpd\n"
        if submission:
            self.sasl = Dovecot(self.dir, RELAY_USER, RELAY_PASS)
            sasl_cf = (f"smtpd_sasl_type = dovecot\nsmtpd_sasl_path = {self.sasl.socket}\n"
                       "smtpd_sasl_authenticated_header = yes\n")
            master = (f"{address}:587 inet n - n - - smtpd\n"
                      "  -o smtpd_tls_security_level=encrypt\n"
                      "  -o smtpd_sasl_auth_enable=yes\n"
                      "  -o smtpd_tls_auth_only=yes\n"
                      "  -o smtpd_client_restrictions=permit_sasl_authenticated,reject\n"
                      "  -o smtpd_relay_restrictions=permit_sasl_authenticated,reject\n")
        with open(os.path.join(self.etc, "main.cf"), "w") as f:
            f.write(f"""compatibility_level = 3.6
config_directory = {self.etc}
queue_directory = {self.spool}
data_directory = {data}
command_directory = /usr/sbin
daemon_directory = /usr/lib/postfix/sbin
meta_directory = /etc/postfix
shlib_directory = /usr/lib/postfix
mail_owner = postfix
setgid_group = postdrop
maillog_file_prefixes = /tmp, /var
maillog_file = {self.dir}/maillog
myhostname = {hostname}
mydomain = {domains[0]}
myorigin = $myhostname
mydestination =
inet_interfaces = all
inet_protocols = ipv4
proxy_interfaces = {address}
mynetworks = 127.0.0.0/8
smtpd_banner = $myhostname ESMTP
biff = no
smtp_dns_support_level = disabled
smtpd_peername_lookup = no
virtual_mailbox_domains = {", ".join(domains)}
virtual_mailbox_base = {self.mail}
virtual_mailbox_maps = texthash:{self.etc}/vmailbox
virtual_uid_maps = static:65534
virtual_gid_maps = static:65534
virtual_minimum_uid = 100
smtpd_reject_unlisted_recipient = yes
default_transport = error:no outbound delivery in tests
relay_transport = error:no outbound delivery in tests
local_transport = error:no local delivery in tests
smtpd_tls_cert_file = {cert}
smtpd_tls_key_file = {key}
smtpd_tls_security_level = may
smtpd_relay_restrictions = reject_unauth_destination
{sasl_cf}""")
        with open(os.path.join(self.etc, "master.cf"), "w") as f:
            f.write(master + MASTER_CF_COMMON)
        r = subprocess.run(["postfix", "-c", self.etc, "start"], capture_output=True, text=True)
        if r.returncode != 0:
            raise RuntimeError(f"postfix {name} did not start: {r.stdout}{r.stderr}")
        port = 587 if submission else 25
        if not wait_tcp(address, port):
            raise RuntimeError(f"postfix {name} does not listen on {address}:{port}\n{self.log()}")

    def log(self):
        try:
            return read_bytes(os.path.join(self.dir, "maillog")).decode(errors="replace")
        except OSError:
            return ""

    def delivered(self, address):
        """Bytes of every message in the Maildir of `address` (new/), oldest first."""
        local, domain = address.split("@")
        d = os.path.join(self.mail, domain, local, "new")
        if not os.path.isdir(d):
            return []
        files = sorted(os.listdir(d), key=lambda n: os.stat(os.path.join(d, n)).st_mtime)
        return [read_bytes(os.path.join(d, n)) for n in files]

    def stop(self):
        subprocess.run(["postfix", "-c", self.etc, "stop"], capture_output=True)
        if self.sasl:
            self.sasl.stop()


class Dovecot:
    """Dovecot as an authentication service only (Postfix SASL), one passwd-file user."""

    def __init__(self, root, user, password):
        self.dir = os.path.join(root, "dovecot")
        self.run = os.path.join(self.dir, "run")
        os.makedirs(self.run)
        users = os.path.join(self.dir, "users")
        with open(users, "w") as f:
            f.write(f"{user}:{{PLAIN}}{password}\n")
        self.socket = os.path.join(self.run, "auth-postfix")
        self.conf = os.path.join(self.dir, "dovecot.conf")
        with open(self.conf, "w") as f:
            f.write(f"""instance_name = roost-test-{uuid.uuid4().hex[:8]}
base_dir = {self.run}
state_dir = {self.dir}
protocols =
listen = 127.0.0.1
log_path = {self.dir}/dovecot.log
ssl = no
default_login_user = dovenull
default_internal_user = dovecot
auth_mechanisms = plain login
passdb {{
  driver = passwd-file
  args = scheme=PLAIN username_format=%u {users}
}}
userdb {{
  driver = static
  args = uid=65534 gid=65534 home=/nonexistent
}}
service auth {{
  unix_listener auth-postfix {{
    mode = 0666
  }}
}}
""")
        # Not captured: the daemon keeps the descriptors it was given, and a pipe would never reach EOF.
        err = os.path.join(self.dir, "start.err")
        with open(err, "wb") as f:
            rc = subprocess.run(["dovecot", "-c", self.conf], stdout=f, stderr=f).returncode
        if rc != 0:
            raise RuntimeError("dovecot did not start: " + read_bytes(err).decode(errors="replace"))
        deadline = time.monotonic() + 10
        while not os.path.exists(self.socket) and time.monotonic() < deadline:
            time.sleep(0.05)

    def stop(self):
        subprocess.run(["dovecot", "-c", self.conf, "stop"], capture_output=True)


class Sink:
    """smtp-sink on address:25: `-r rcpt` answers RCPT with 4xx, `-f rcpt` with 5xx; no option accepts and
    dumps every message into dump_dir."""

    def __init__(self, root, address, reject_soft=False, reject_hard=False):
        self.dir = os.path.join(root, f"sink-{address}-{uuid.uuid4().hex[:6]}")
        os.makedirs(self.dir)
        shutil.chown(self.dir, "nobody", "nogroup")
        args = ["smtp-sink", "-u", "nobody", "-h", f"sink-{address}.test"]
        if reject_soft:
            args += ["-r", "rcpt"]
        elif reject_hard:
            args += ["-f", "rcpt"]
        else:
            args += ["-d", os.path.join(self.dir, "%Y%m%d%H%M%S.")]
        args += [f"{address}:25", "10"]
        self.proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        if not wait_tcp(address, 25):
            raise RuntimeError(f"smtp-sink did not listen on {address}:25")

    def dumps(self):
        return [read_bytes(os.path.join(self.dir, n)) for n in sorted(os.listdir(self.dir))]

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(10)


class Mute:
    """Accepts connections on address:25 and never says anything (a host that hangs mid-session)."""

    def __init__(self, address):
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind((address, 25))
        self.sock.listen(10)
        self.conns = []
        self.accepted = threading.Event()
        self.stopped = False
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self):
        while not self.stopped:
            try:
                c, _ = self.sock.accept()
            except OSError:
                return
            self.conns.append(c)
            self.accepted.set()

    def stop(self):
        self.stopped = True
        for c in self.conns:
            c.close()
        try:
            self.sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        self.sock.close()
        self.thread.join(5)


def dns_records(dkim_txt):
    recs = [
        "remote.test. IN MX 10 mx.remote.test.",
        f"mx.remote.test. IN A {MX_POSTFIX}",
        # implicit MX (RFC 5321 §5.1): no MX, an A record
        f"implicit.test. IN A {MX_POSTFIX}",
        "retry.test. IN MX 10 mx.retry.test.",
        f"mx.retry.test. IN A {SINK_TEMP}",
        "bounce.test. IN MX 10 mx.bounce.test.",
        f"mx.bounce.test. IN A {SINK_PERM}",
        "expire.test. IN MX 10 mx.expire.test.",
        f"mx.expire.test. IN A {DEAD_HOST}",
        "restart.test. IN MX 10 mx.restart.test.",
        f"mx.restart.test. IN A {SINK_HANG}",
        # RFC 7505 null MX
        "nullmx.test. IN MX 0 .",
        # two MX hosts: the preferred one is dead, the second is Postfix
        "backup.test. IN MX 5 dead.backup.test.",
        "backup.test. IN MX 20 mx.remote.test.",
        f"dead.backup.test. IN A {DEAD_HOST}",
    ]
    for line in dkim_txt:
        recs.append(line.replace("( ", "").replace(" )", ""))
    return recs


def dkim_verify(message, dns_port):
    """Verifies every DKIM-Signature of `message` with Debian's python3-dkim, fetching keys from our DNS
    server. Returns (ok, output)."""
    script = r'''
import sys, dkim, dns.resolver
port = int(sys.argv[1])
r = dns.resolver.Resolver(configure=False)
r.nameservers = ["127.0.0.1"]
r.port = port
def dnsfunc(name, timeout=5):
    name = name.decode() if isinstance(name, bytes) else name
    ans = r.resolve(name, "TXT")
    return b"".join(b"".join(rr.strings) for rr in ans)
msg = sys.stdin.buffer.read()
d = dkim.DKIM(msg)
sigs = [h for h in d.headers if h[0].lower() == b"dkim-signature"]
results = []
for i in range(len(sigs)):
    ok = d.verify(idx=i, dnsfunc=dnsfunc)
    results.append(ok)
    print("signature", i, sigs[i][1].split(b";")[1].strip().decode(), "ok" if ok else "FAILED")
sys.exit(0 if results and all(results) else 1)
'''
    r = subprocess.run([DEBIAN_PYTHON, "-c", script, str(dns_port)], input=message, capture_output=True)
    return r.returncode == 0, (r.stdout + r.stderr).decode(errors="replace")


def make_message(to, subject, body="Hello from Roost.\r\n"):
    mid = f"<{uuid.uuid4().hex}@example.test>"
    text = (f"From: Alice <{SENDER}>\r\nTo: <{to}>\r\nSubject: {subject}\r\nDate: Mon, 01 Jan 2024 10:00:00 +0000\r\n"
            f"Message-ID: {mid}\r\nMIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n{body}")
    return text.encode()


@unittest.skipIf(os.geteuid() != 0, "needs root (Postfix, port 25 on 127.0.0.x)")
@unittest.skipIf(need("unbound", "postfix", "smtp-sink", "dovecot", DEBIAN_PYTHON),
                 f"missing: {need('unbound', 'postfix', 'smtp-sink', 'dovecot', DEBIAN_PYTHON)}")
class OutboundTest(unittest.TestCase):
    """One Roost installation, DNS server and Postfix MX for the whole class; each test uses its own
    recipient domain so that they do not disturb each other."""

    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp(prefix="roost-outbound-")
        os.chmod(cls.tmp, 0o755)  # Postfix's own user must reach its folders
        cls.peers = []
        cls.roost = rf.Roost(hostname="mx.example.test", settings={
            "submission": {"plaintext_auth": "loopback"},
            "queue": {"retry_initial": "2s", "retry_max": "4s", "lifetime": "1h", "delay_notice": "0"},
        })
        try:
            r = cls.roost
            r.add_domain("example.test")
            r.add_user(SENDER, PASSWORD)
            txt = []
            for args in (["example.test"], ["example.test", "--algorithm", "ed25519"]):
                out = r.cli("dkim", "generate", *args).stdout
                txt += [l for l in out.splitlines() if "IN TXT" in l]
            cls.dkim_txt = txt
            cls.dns = DnsServer(cls.tmp, dns_records(txt))
            cls.peers.append(cls.dns)
            cls.mx = Postfix(cls.tmp, "postfix-mx", MX_POSTFIX, "mx.remote.test", ["remote.test", "implicit.test"],
                             ["bob@remote.test", "carol@remote.test", "dave@implicit.test"])
            cls.peers.append(cls.mx)
            r.configure({"dns": {"resolver": f"127.0.0.1:{cls.dns.port}"}})
            cls.smtpd = r.start("smtpd")
        except BaseException:
            cls.tearDownClass()
            raise

    @classmethod
    def tearDownClass(cls):
        for p in reversed(cls.peers):
            try:
                p.stop()
            except Exception as e:  # noqa: BLE001
                print("stopping a peer:", e, file=sys.stderr)
        try:
            cls.roost.close()
        finally:
            if not os.environ.get("ROOST_KEEP_TEST_DIRS"):
                shutil.rmtree(cls.tmp, ignore_errors=True)

    # ----- helpers -----
    def submit(self, rcpts, message, sender=SENDER, **mail_options):
        with smtplib.SMTP(rf.HOST, self.roost.ports["submission"], timeout=20) as s:
            s.ehlo("client.example.test")
            s.login(SENDER, PASSWORD)
            refused = s.sendmail(sender, rcpts, message, **mail_options)
            self.assertEqual(refused, {})

    def wait(self, predicate, timeout, what):
        if not self.roost.wait_until(predicate, timeout=timeout, interval=0.2):
            self.fail(f"timed out waiting for {what}\n--- smtpd log ---\n{self.log()[-6000:]}")

    def log(self):
        return "".join(d.log() for d in self.roost.daemons)

    def queue_ids_for(self, domain):
        rows = self.roost.query("SELECT DISTINCT queue_id FROM queue_recipients WHERE address LIKE ?", (f"%@{domain}",))
        return [r[0] for r in rows]

    def inbox(self):
        return self.roost.messages(SENDER)

    def dsns(self):
        return [m for m in self.inbox() if b"multipart/report" in m]

    def check_dsn(self, raw, recipient, action, status_prefix):
        """Parses one DSN (RFC 3464) and checks its structure; returns the delivery-status part's text."""
        self.assertTrue(raw.startswith(b"Return-Path: <>\r\n"), raw[:200])
        msg = email.message_from_bytes(raw, policy=email.policy.compat32)
        self.assertEqual(msg.get_content_type(), "multipart/report")
        self.assertEqual(msg.get_param("report-type"), "delivery-status")
        self.assertIn("MAILER-DAEMON@mx.example.test", msg["From"])
        self.assertEqual(msg["To"], f"<{SENDER}>")
        parts = msg.get_payload()
        self.assertEqual([p.get_content_type() for p in parts[:2]], ["text/plain", "message/delivery-status"])
        self.assertIn(parts[2].get_content_type(), ("message/rfc822", "text/rfc822-headers"))
        status = parts[1].get_payload()
        # message/delivery-status: the per-message block, then one block per recipient.
        blocks = [b for b in status]
        self.assertGreaterEqual(len(blocks), 2)
        self.assertEqual(blocks[0]["Reporting-MTA"], "dns; mx.example.test")
        rcpt = [b for b in blocks[1:] if b["Final-Recipient"] == f"rfc822; {recipient}"]
        self.assertEqual(len(rcpt), 1, status)
        self.assertEqual(rcpt[0]["Action"], action)
        self.assertTrue(rcpt[0]["Status"].startswith(status_prefix), rcpt[0]["Status"])
        return rcpt[0]

    # ----- the tests -----
    def test_01_delivery_to_postfix_byte_exact_with_trace_and_dkim(self):
        msg = make_message("bob@remote.test", "byte exact " + uuid.uuid4().hex)
        self.submit(["bob@remote.test"], msg)
        self.wait(lambda: self.mx.delivered("bob@remote.test"), 30, "delivery to Postfix")
        self.wait(lambda: not self.queue_ids_for("remote.test"), 10, "the queue entry to go")
        got = self.mx.delivered("bob@remote.test")[-1].replace(b"\n", b"\r\n")
        # Postfix prepends Return-Path, Delivered-To and its Received; what Roost sent follows, unchanged.
        self.assertTrue(got.endswith(msg), got[-600:])
        prefix = got[: len(got) - len(msg)]
        self.assertEqual(prefix.count(b"Return-Path:"), 1, prefix)  # Postfix's, not a leaked one of ours
        self.assertIn(b"Received: from client.example.test ([127.0.0.1])\r\n\tby mx.example.test (Roost) with ESMTPA",
                      prefix)
        self.assertIn(b"by mx.remote.test (Postfix) with ESMTPS", prefix)  # STARTTLS was used
        self.assertEqual(prefix.count(b"DKIM-Signature:"), 2)
        self.assertIn(b"a=rsa-sha256; c=relaxed/relaxed; d=example.test; s=roost;", prefix)
        self.assertIn(b"a=ed25519-sha256; c=relaxed/relaxed; d=example.test; s=roosted;", prefix)
        ok, out = dkim_verify(got, self.dns.port)
        self.assertTrue(ok, out)
        self.assertEqual(out.count(" ok"), 2, out)
        # A tampered copy fails: the verifier is really checking.
        ok, out = dkim_verify(got.replace(b"Hello from Roost.", b"Hello from Rooster"), self.dns.port)
        self.assertFalse(ok, out)

    def test_02_two_recipients_one_transaction_and_implicit_mx(self):
        msg = make_message("carol@remote.test", "two rcpts " + uuid.uuid4().hex)
        self.submit(["carol@remote.test", "dave@implicit.test"], msg)
        self.wait(lambda: self.mx.delivered("carol@remote.test") and self.mx.delivered("dave@implicit.test"), 30,
                  "delivery to both domains")
        self.assertTrue(self.mx.delivered("dave@implicit.test")[-1].replace(b"\n", b"\r\n").endswith(msg))

    def test_03_backup_mx_when_preferred_is_down(self):
        msg = make_message("bob@remote.test", "backup mx " + uuid.uuid4().hex)
        before = len(self.mx.delivered("bob@remote.test"))
        # backup.test's preferred MX refuses connections; the second (Postfix) accepts bob@remote.test... for a
        # backup.test address Postfix would reject, so route a remote.test address through backup.test's MXes
        # by using a recipient at backup.test that Postfix knows.
        self.submit(["bob@backup.test"], msg)
        self.wait(lambda: not self.queue_ids_for("backup.test"), 30, "the backup.test entry to finish")
        # Postfix does not host backup.test: it refuses the recipient with 5xx, which proves the second MX was
        # reached after the first refused the connection; a DSN says so.
        self.wait(lambda: any(b"bob@backup.test" in m for m in self.dsns()), 20, "the DSN for backup.test")
        dsn = [m for m in self.dsns() if b"bob@backup.test" in m][-1]
        block = self.check_dsn(dsn, "bob@backup.test", "failed", "5.")
        self.assertEqual(block["Remote-MTA"], "dns; mx.remote.test")
        self.assertEqual(len(self.mx.delivered("bob@remote.test")), before)

    def test_04_tempfail_is_retried_then_delivered(self):
        sink = Sink(self.tmp, SINK_TEMP, reject_soft=True)
        try:
            msg = make_message("x@retry.test", "retry " + uuid.uuid4().hex)
            self.submit(["x@retry.test"], msg)
            self.wait(lambda: self.roost.query(
                "SELECT attempts FROM queue q JOIN queue_recipients r ON r.queue_id = q.id WHERE r.address = ?",
                ("x@retry.test",)) and self.roost.query(
                "SELECT attempts FROM queue q JOIN queue_recipients r ON r.queue_id = q.id WHERE r.address = ?",
                ("x@retry.test",))[0][0] >= 2, 30, "two deferred attempts")
            qid = self.queue_ids_for("retry.test")[0]
            show = self.roost.cli("queue", "show", str(qid)).stdout
            self.assertIn("recipient: <x@retry.test> deferred via mx.retry.test: 4", show)
            self.assertIn(f"{qid}  ", self.roost.cli("queue", "list").stdout)
        finally:
            sink.stop()
        sink = Sink(self.tmp, SINK_TEMP)
        try:
            self.roost.cli("queue", "retry", str(qid))
            self.wait(lambda: sink.dumps(), 30, "delivery after the 4xx")
            self.wait(lambda: not self.queue_ids_for("retry.test"), 10, "the entry to leave the queue")
            self.assertIn(msg, sink.dumps()[0].replace(b"\n", b"\r\n"))
            self.assertFalse([m for m in self.dsns() if b"x@retry.test" in m], "no DSN for a delivered message")
        finally:
            sink.stop()

    def test_05_permanent_failure_gives_exactly_one_dsn(self):
        sink = Sink(self.tmp, SINK_PERM, reject_hard=True)
        try:
            msg = make_message("nobody@bounce.test", "bounce " + uuid.uuid4().hex)
            self.submit(["nobody@bounce.test"], msg)
            self.wait(lambda: [m for m in self.dsns() if b"nobody@bounce.test" in m], 30, "the DSN")
            self.wait(lambda: not self.queue_ids_for("bounce.test"), 10, "the entry to leave the queue")
            time.sleep(3)  # a second notice would have come by now (retry_initial is 2s)
            dsns = [m for m in self.dsns() if b"nobody@bounce.test" in m]
            self.assertEqual(len(dsns), 1)
            block = self.check_dsn(dsns[0], "nobody@bounce.test", "failed", "5.")
            self.assertTrue(block["Diagnostic-Code"].startswith("smtp; 5"), block["Diagnostic-Code"])
            self.assertEqual(block["Remote-MTA"], "dns; mx.bounce.test")
            # RET absent: the whole original comes back.
            self.assertIn(msg, dsns[0])
        finally:
            sink.stop()

    def test_06_null_mx_bounces_at_once(self):
        self.submit(["a@nullmx.test"], make_message("a@nullmx.test", "null mx"))
        self.wait(lambda: [m for m in self.dsns() if b"a@nullmx.test" in m], 20, "the null-MX DSN")
        dsn = [m for m in self.dsns() if b"a@nullmx.test" in m][0]
        block = self.check_dsn(dsn, "a@nullmx.test", "failed", "5.1.10")

    def test_07_no_bounce_for_a_bounce(self):
        sink = Sink(self.tmp, SINK_PERM, reject_hard=True)
        try:
            before = len(self.inbox())
            self.submit(["daemon@bounce.test"], make_message("daemon@bounce.test", "null sender"), sender="")
            self.wait(lambda: not self.queue_ids_for("bounce.test"), 30, "the entry to leave the queue")
            time.sleep(2)
            self.assertEqual(len(self.inbox()), before)
            self.assertIn("no notice for a message with an empty reverse-path", self.log())
        finally:
            sink.stop()

    def test_08_expiry_gives_exactly_one_dsn(self):
        self.roost.configure({"queue": {"lifetime": "6s"}})
        self.restart_smtpd()
        try:
            msg = make_message("gone@expire.test", "expire " + uuid.uuid4().hex)
            self.submit(["gone@expire.test"], msg, mail_options=["RET=HDRS", "ENVID=env-1"],
                        rcpt_options=["NOTIFY=FAILURE", "ORCPT=rfc822;gone@expire.test"])
            self.wait(lambda: [m for m in self.dsns() if b"gone@expire.test" in m], 40, "the expiry DSN")
            self.wait(lambda: not self.queue_ids_for("expire.test"), 10, "the entry to leave the queue")
            time.sleep(4)
            dsns = [m for m in self.dsns() if b"gone@expire.test" in m]
            self.assertEqual(len(dsns), 1)
            block = self.check_dsn(dsns[0], "gone@expire.test", "failed", "4.4.7")
            self.assertEqual(block["Original-Recipient"], "rfc822; gone@expire.test")
            parsed = email.message_from_bytes(dsns[0], policy=email.policy.compat32)
            self.assertEqual(parsed.get_payload()[1].get_payload()[0]["Original-Envelope-Id"], "env-1")
            # RET=HDRS: headers only (RFC 3461 §4.3).
            self.assertEqual(parsed.get_payload()[2].get_content_type(), "text/rfc822-headers")
            self.assertNotIn(b"Hello from Roost.", dsns[0])
        finally:
            self.roost.configure({"queue": {"lifetime": "1h"}})
            self.restart_smtpd()

    def test_09_restart_mid_delivery_loses_nothing(self):
        mute = Mute(SINK_HANG)
        try:
            msgs = [make_message(f"r{i}@restart.test", f"restart {i} " + uuid.uuid4().hex) for i in range(3)]
            for i, m in enumerate(msgs):
                self.submit([f"r{i}@restart.test"], m)
            # Wait until delivery is under way (connected, waiting for a greeting that never comes)...
            self.assertTrue(mute.accepted.wait(20), self.log())
            self.wait(lambda: self.roost.count("queue", "WHERE lease_until > 0") >= 1, 10, "a leased entry")
            # ...and kill the daemon there.
            self.smtpd.signal(signal.SIGKILL)
            self.smtpd.wait()
            self.roost.daemons.remove(self.smtpd)
        finally:
            mute.stop()
        self.assertEqual(len(self.queue_ids_for("restart.test")), 3)
        sink = Sink(self.tmp, SINK_HANG)
        try:
            type(self).smtpd = self.roost.start("smtpd")
            self.wait(lambda: len(sink.dumps()) == 3, 40, "all three messages after the restart")
            self.wait(lambda: not self.queue_ids_for("restart.test"), 10, "the queue to empty")
            dumps = b"".join(d.replace(b"\n", b"\r\n") for d in sink.dumps())
            for m in msgs:
                self.assertIn(m, dumps)
        finally:
            sink.stop()

    def test_10_queue_cli_delete_and_flush(self):
        self.submit(["keep@expire.test"], make_message("keep@expire.test", "cli"))
        self.wait(lambda: self.queue_ids_for("expire.test"), 10, "the entry")
        qid = self.queue_ids_for("expire.test")[0]
        self.wait(lambda: self.roost.query("SELECT attempts FROM queue WHERE id = ?", (qid,))[0][0] >= 1, 20,
                  "a first attempt")
        self.assertIn("every queue entry", self.roost.cli("queue", "flush").stdout)
        self.roost.cli("queue", "delete", str(qid))
        self.assertEqual(self.queue_ids_for("expire.test"), [])
        r = self.roost.cli("queue", "show", str(qid), check=False)
        self.assertNotEqual(r.returncode, 0)
        self.assertIn("no queue entry", r.stderr)

    def test_11_one_delay_notice_then_still_retried(self):
        self.roost.configure({"queue": {"delay_notice": "2s"}})
        self.restart_smtpd()
        try:
            self.submit(["late@expire.test"], make_message("late@expire.test", "delayed"))
            self.wait(lambda: [m for m in self.dsns() if b"late@expire.test" in m], 30, "the delay notice")
            time.sleep(5)  # more attempts happen (retry_max 4s); no second notice
            dsns = [m for m in self.dsns() if b"late@expire.test" in m]
            self.assertEqual(len(dsns), 1)
            block = self.check_dsn(dsns[0], "late@expire.test", "delayed", "4.")
            self.assertIn("Will-Retry-Until", block)
            qid = self.queue_ids_for("expire.test")
            self.assertEqual(len(qid), 1)
            self.assertIn("delay notice: sent", self.roost.cli("queue", "show", str(qid[0])).stdout)
            self.roost.cli("queue", "delete", str(qid[0]))
        finally:
            self.roost.configure({"queue": {"delay_notice": "0"}})
            self.restart_smtpd()

    def restart_smtpd(self):
        self.smtpd.stop()
        type(self).smtpd = self.roost.start("smtpd")


@unittest.skipIf(os.geteuid() != 0, "needs root (Postfix on 127.0.0.x)")
@unittest.skipIf(need("postfix", "dovecot"), "needs postfix and dovecot")
class SmarthostTest(unittest.TestCase):
    """`[relay]` mode: everything goes to one Postfix submission relay with STARTTLS and AUTH; no DNS."""

    def test_relay_with_starttls_and_auth(self):
        tmp = tempfile.mkdtemp(prefix="roost-relay-")
        os.chmod(tmp, 0o755)
        relay = None
        roost = rf.Roost(hostname="mx.example.test", settings={"submission": {"plaintext_auth": "loopback"}})
        try:
            relay = Postfix(tmp, "postfix-relay", RELAY_POSTFIX, "relay.far.test", ["far.test"], ["eve@far.test"],
                            submission=True)
            roost.add_domain("example.test")
            roost.add_user(SENDER, PASSWORD)
            roost.configure({
                "relay": {"host": RELAY_POSTFIX, "port": 587, "tls": "starttls", "username": RELAY_USER,
                          "password": RELAY_PASS},
                # Unreachable resolver: smarthost mode must not need DNS for an IP-literal relay.
                "dns": {"resolver": "127.0.0.1:9"},
            })
            smtpd = roost.start("smtpd")
            msg = make_message("eve@far.test", "via smarthost " + uuid.uuid4().hex)
            with smtplib.SMTP(rf.HOST, roost.ports["submission"], timeout=20) as s:
                s.login(SENDER, PASSWORD)
                s.sendmail(SENDER, ["eve@far.test"], msg)
            ok = roost.wait_until(lambda: relay.delivered("eve@far.test"), timeout=30, interval=0.2)
            self.assertTrue(ok, f"{smtpd.log()[-4000:]}\n--- postfix ---\n{relay.log()[-4000:]}")
            got = relay.delivered("eve@far.test")[0].replace(b"\n", b"\r\n")
            self.assertTrue(got.endswith(msg))
            # Postfix records the authenticated sender and TLS in its Received header.
            self.assertIn(f"(Authenticated sender: {RELAY_USER})".encode(), got)
            self.assertIn(b"with ESMTPSA", got)
            self.assertNotIn(RELAY_PASS, smtpd.log())
            self.assertTrue(roost.wait_until(lambda: roost.count("queue") == 0, timeout=10))
            # A wrong password: the relay refuses AUTH, the message stays queued with the reason.
            smtpd.stop()
            roost.configure({"relay": {"password": "wrong"}})
            smtpd = roost.start("smtpd")
            with smtplib.SMTP(rf.HOST, roost.ports["submission"], timeout=20) as s:
                s.login(SENDER, PASSWORD)
                s.sendmail(SENDER, ["eve@far.test"], make_message("eve@far.test", "bad auth"))
            self.assertTrue(roost.wait_until(
                lambda: roost.query("SELECT attempts, last_error FROM queue") and
                roost.query("SELECT attempts FROM queue")[0][0] >= 1, timeout=20), smtpd.log()[-3000:])
            self.assertIn("AUTH: 535", roost.query("SELECT last_error FROM queue")[0][0])
            self.assertEqual(len(relay.delivered("eve@far.test")), 1)
        finally:
            try:
                roost.close()
            finally:
                if relay:
                    relay.stop()
                if not os.environ.get("ROOST_KEEP_TEST_DIRS"):
                    shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    unittest.main(argv=rf.parse_args())
