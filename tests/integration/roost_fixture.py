"""Shared harness for Roost's integration tests: real binaries, real sockets, a throw-away data_dir.

One `Roost` is one installation: a temporary folder with a config file (every listener on a free
loopback port), the `roost` CLI to set up domains/users/aliases, daemons started by name
("smtpd", "imapd", "pop3d", "admin") and stopped with SIGTERM (which must exit 0), and read-only
access to data_dir/roost.db for byte-exact checks of what was stored.

Binary paths come from the command line (CTest passes `--roost $<TARGET_FILE:roost> --smtpd ...`),
else from $ROOST_BIN_DIR (a folder holding the binaries, flat or in the build tree's layout), else
from ../../build relative to this file. Standard library only.
"""

import argparse
import os
import shutil
import signal
import socket
import sqlite3
import ssl
import subprocess
import sys
import tempfile
import time

# Daemon name -> executable name and the listeners (config section, key) it serves, in Roost's config.
DAEMONS = {
    "smtpd": ("roost-smtpd", ["smtp", "smtps", "submission", "submissions"]),
    "imapd": ("roost-imapd", ["imap", "imaps"]),
    "pop3d": ("roost-pop3d", ["pop3", "pop3s"]),
    "admin": ("roost-admin", ["admin"]),
}
# Listener name -> (config section, key).
LISTENERS = {
    "smtp": ("smtp", "listen"),
    "smtps": ("smtp", "listen_tls"),
    "submission": ("submission", "listen"),
    "submissions": ("submission", "listen_tls"),
    "imap": ("imap", "listen"),
    "imaps": ("imap", "listen_tls"),
    "pop3": ("pop3", "listen"),
    "pop3s": ("pop3", "listen_tls"),
    "admin": ("admin", "listen"),
}
HOST = "127.0.0.1"
_HERE = os.path.dirname(os.path.abspath(__file__))

_binaries = {}


def parse_args(argv=None):
    """Takes `--roost PATH`, `--smtpd PATH`, `--imapd PATH`, ... out of argv; returns the rest (for
    unittest.main(argv=...))."""
    argv = list(sys.argv if argv is None else argv)
    p = argparse.ArgumentParser(add_help=False, allow_abbrev=False)
    p.add_argument("--roost")
    for name in DAEMONS:
        p.add_argument("--" + name)
    known, rest = p.parse_known_args(argv[1:])
    for name, path in vars(known).items():
        if path:
            _binaries[name] = os.path.abspath(path)
    return argv[:1] + rest


def binary(name):
    """Path of "roost" or of a daemon by name ("smtpd" -> roost-smtpd)."""
    if name in _binaries:
        return _binaries[name]
    exe = "roost" if name == "roost" else DAEMONS[name][0]
    sub = "cli" if name == "roost" else name.replace("admin", "admin-ui")
    dirs = []
    if os.environ.get("ROOST_BIN_DIR"):
        dirs.append(os.environ["ROOST_BIN_DIR"])
    dirs.append(os.path.join(_HERE, "..", "..", "build"))
    for d in dirs:
        for candidate in (os.path.join(d, exe), os.path.join(d, sub, exe)):
            if os.access(candidate, os.X_OK):
                return os.path.abspath(candidate)
    raise RuntimeError(f"cannot find {exe}: pass --{name} PATH or set ROOST_BIN_DIR")


_sanitized = {}


def sanitized(name="smtpd"):
    """True when the binary was built with AddressSanitizer (the CI's sanitizer stage): memory limits in
    tests then allow for ASan's shadow memory, redzones and free-quarantine."""
    path = binary(name)
    if path not in _sanitized:
        with open(path, "rb") as f:
            _sanitized[path] = b"__asan_init" in f.read()
    return _sanitized[path]


def free_ports(n):
    """n distinct loopback ports that were free a moment ago (all held open together, so no duplicates)."""
    socks = []
    try:
        for _ in range(n):
            s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            s.bind((HOST, 0))
            socks.append(s)
        return [s.getsockname()[1] for s in socks]
    finally:
        for s in socks:
            s.close()


def insecure_tls_context():
    """Client context for the self-signed certificate Roost generates on first start."""
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    return ctx


def _toml_value(v):
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int):
        return str(v)
    if isinstance(v, (list, tuple)):
        return "[" + ", ".join(_toml_value(x) for x in v) + "]"
    s = str(v).replace("\\", "\\\\").replace('"', '\\"')
    return f'"{s}"'


def wait_for_port(port, timeout=10.0, proc=None):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            return False
        try:
            with socket.create_connection((HOST, port), timeout=0.5):
                return True
        except OSError:
            time.sleep(0.05)
    return False


def served(port, http=False, timeout=10.0):
    """True once a connection to `port` gets any bytes back: the greeting of SMTP, IMAP and POP3, or the
    answer to an HTTP request when `http`."""
    try:
        with socket.create_connection((HOST, port), timeout=timeout) as s:
            if http:
                s.sendall(b"GET / HTTP/1.0\r\nHost: localhost\r\n\r\n")
            return bool(s.recv(1))
    except OSError:
        return False


class DaemonError(AssertionError):
    pass


class Daemon:
    """A running daemon process. `stop()` sends SIGTERM and insists on exit status 0."""

    def __init__(self, roost, name, proc, log_path):
        self.roost, self.name, self.proc, self.log_path = roost, name, proc, log_path

    def log(self):
        try:
            with open(self.log_path, "r", errors="replace") as f:
                return f.read()
        except OSError:
            return ""

    def running(self):
        return self.proc.poll() is None

    def signal(self, sig=signal.SIGTERM):
        self.proc.send_signal(sig)

    def wait(self, timeout=15):
        try:
            return self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            raise DaemonError(f"{self.name} did not exit within {timeout}s of SIGTERM\n"
                              f"--- log ---\n{self.log()[-4000:]}")

    def stop(self, timeout=15, check=True):
        """SIGTERM, wait; returns the exit status (an AssertionError unless 0 when `check`)."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        rc = self.wait(timeout)
        if self in self.roost.daemons:
            self.roost.daemons.remove(self)
        if check and rc != 0:
            raise DaemonError(f"{self.name} exited with {rc} after SIGTERM\n--- log ---\n{self.log()[-4000:]}")
        return rc


class Roost:
    """One temporary Roost installation. Use as a context manager or call close()."""

    def __init__(self, hostname="mx.example.test", settings=None, keep=False):
        self.dir = tempfile.mkdtemp(prefix="roost-it-")
        self.data_dir = os.path.join(self.dir, "data")
        self.config_path = os.path.join(self.dir, "roost.toml")
        self.hostname = hostname
        self.keep = keep or bool(os.environ.get("ROOST_KEEP_TEST_DIRS"))
        self.ports = dict(zip(LISTENERS, free_ports(len(LISTENERS))))
        self.daemons = []
        # Fast password hashing: the CLI hashes every password it sets.
        self.settings = {"log": {"level": "info"}, "auth": {"argon2_memory_kib": 64, "argon2_iterations": 1},
                         # No resolver answers here: outbound delivery of queued test mail fails temporarily
                         # and the queue stays as the test left it (tests of delivery set their own).
                         "dns": {"resolver": "127.0.0.1:9"}}
        for listener, (section, key) in LISTENERS.items():
            self.settings.setdefault(section, {})[key] = [f"{HOST}:{self.ports[listener]}"]
        self.configure(settings or {})

    # ----- configuration -----
    def configure(self, settings):
        """Merges {section: {key: value}} (section "" = top level) and rewrites the config file."""
        for section, values in settings.items():
            self.settings.setdefault(section, {}).update(values)
        self.write_config()

    def write_config(self):
        lines = [f"hostname = {_toml_value(self.hostname)}", f"data_dir = {_toml_value(self.data_dir)}"]
        lines += [f"{k} = {_toml_value(v)}" for k, v in self.settings.get("", {}).items()]
        for section, values in self.settings.items():
            if section and values:
                lines.append(f"\n[{section}]")
                lines += [f"{k} = {_toml_value(v)}" for k, v in values.items()]
        with open(self.config_path, "w") as f:
            f.write("\n".join(lines) + "\n")

    @staticmethod
    def child_env():
        # ROOST_<SECTION>_<KEY> would override the file: a test sees exactly its own config.
        return {k: v for k, v in os.environ.items() if not k.startswith("ROOST_")}

    # ----- the CLI -----
    def cli(self, *args, input=None, check=True):
        """Runs `roost --config <ours> ARGS`; returns the CompletedProcess (text)."""
        r = subprocess.run([binary("roost"), "--config", self.config_path, *args], input=input, text=True,
                           capture_output=True, env=self.child_env(), timeout=60)
        if check and r.returncode != 0:
            raise AssertionError(f"roost {' '.join(args)} failed ({r.returncode}): {r.stderr.strip()}")
        return r

    def add_domain(self, domain):
        self.cli("domain", "add", domain)

    def add_user(self, address, password, quota=None):
        extra = ["--quota", str(quota)] if quota is not None else []
        self.cli("user", "add", address, "--password-stdin", *extra, input=password + "\n")

    def add_alias(self, source, *targets):
        self.cli("alias", "add", source, *targets)

    # ----- daemons -----
    def start(self, name, timeout=15, attempts=3):
        """Starts a daemon by name and waits until every one of its listeners accepts connections.

        A port picked by free_ports() can be taken by another process before the daemon binds it (tests
        run in parallel): then this daemon's listeners get new ports and it is started again."""
        if name not in DAEMONS:
            raise ValueError(f"unknown daemon {name!r}; one of {sorted(DAEMONS)}")
        for attempt in range(attempts):
            log_path = os.path.join(self.dir, f"{name}.{len(self.daemons)}.{attempt}.log")
            with open(log_path, "wb") as log:
                proc = subprocess.Popen([binary(name), "--config", self.config_path], stdout=log,
                                        stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, env=self.child_env())
            d = Daemon(self, name, proc, log_path)
            self.daemons.append(d)
            failed = next((l for l in DAEMONS[name][1] if not wait_for_port(self.ports[l], timeout, proc)), None)
            if failed is None:
                # A port accepts as soon as it is bound, before the event loop (and its SIGTERM handler) runs;
                # an answer on the first listener proves the daemon is serving.
                first = DAEMONS[name][1][0]
                if served(self.ports[first], first == "admin", timeout):
                    return d
                failed = first
            rc = proc.poll()
            if rc is None:
                proc.kill()
                proc.wait()
            self.daemons.remove(d)
            if rc is not None and "in use" in d.log() and attempt + 1 < attempts:
                new_ports = free_ports(len(DAEMONS[name][1]))
                for listener, port in zip(DAEMONS[name][1], new_ports):
                    self.ports[listener] = port
                    section, key = LISTENERS[listener]
                    self.settings[section][key] = [f"{HOST}:{port}"]
                self.write_config()
                continue
            raise DaemonError(f"{name} did not listen on {failed} port {self.ports[failed]} (exit {rc})\n"
                              f"--- log ---\n{d.log()[-4000:]}")

    def close(self):
        errors = []
        for d in list(self.daemons):
            try:
                d.stop()
            except AssertionError as e:
                errors.append(str(e))
        if not self.keep:
            shutil.rmtree(self.dir, ignore_errors=True)
        if errors:
            raise DaemonError("\n".join(errors))

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    # ----- the store, read directly -----
    def db(self):
        """A read-only connection to data_dir/roost.db (close it, or use query())."""
        path = os.path.join(self.data_dir, "roost.db")
        return sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=10)

    def query(self, sql, params=()):
        con = self.db()
        try:
            return con.execute(sql, params).fetchall()
        finally:
            con.close()

    def count(self, table, where="", params=()):
        return self.query(f"SELECT COUNT(*) FROM {table} {where}", params)[0][0]

    def messages(self, address, mailbox="INBOX"):
        """Stored bytes of every message in an account's mailbox, in UID order."""
        rows = self.query(
            "SELECT b.data FROM messages m JOIN mailboxes mb ON mb.id = m.mailbox_id"
            " JOIN accounts a ON a.id = mb.account_id JOIN blobs b ON b.id = m.blob_id"
            " WHERE a.address = ? AND mb.name = ? ORDER BY m.uid", (address.lower(), mailbox))
        return [bytes(r[0]) for r in rows]

    def all_messages(self):
        """(account address, mailbox, bytes) of every stored message."""
        rows = self.query(
            "SELECT a.address, mb.name, b.data FROM messages m JOIN mailboxes mb ON mb.id = m.mailbox_id"
            " JOIN accounts a ON a.id = mb.account_id JOIN blobs b ON b.id = m.blob_id ORDER BY m.id")
        return [(a, mb, bytes(d)) for a, mb, d in rows]

    def queue(self):
        """[(sender, [recipient addresses], bytes)] of the outbound queue, oldest first."""
        out = []
        for qid, sender, data in self.query(
                "SELECT q.id, q.sender, b.data FROM queue q JOIN blobs b ON b.id = q.blob_id ORDER BY q.id"):
            rcpts = [r[0] for r in self.query("SELECT address FROM queue_recipients WHERE queue_id = ? ORDER BY id",
                                              (qid,))]
            out.append((sender, rcpts, bytes(data)))
        return out

    def wait_until(self, predicate, timeout=5.0, interval=0.05):
        """Polls predicate() until true (returns True) or the timeout passes (returns False)."""
        deadline = time.monotonic() + timeout
        while True:
            if predicate():
                return True
            if time.monotonic() >= deadline:
                return False
            time.sleep(interval)
