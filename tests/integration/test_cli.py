#!/usr/bin/env python3
"""Integration tests for the `roost` operator command: domains, users, aliases, mailboxes, config
checks, $ROOST_CONFIG, and `roost up` supervising the daemons (restart on crash, clean SIGTERM).

Runs the built binary against a throw-away config and data_dir. The binary comes from `--roost PATH`
(CTest passes $<TARGET_FILE:roost>), else $ROOST_BIN. Standard library only.

    python3 tests/integration/test_cli.py --roost build/cli/roost [-v] [CliTest.test_alias...]
"""

import os
import re
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
import unittest

ROOST = os.environ.get("ROOST_BIN", "")
HOST = "127.0.0.1"


def free_ports(n):
    """n distinct loopback ports that were free a moment ago."""
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


def accepts(port, timeout=0.5):
    try:
        with socket.create_connection((HOST, port), timeout=timeout):
            return True
    except OSError:
        return False


def wait_until(predicate, timeout, interval=0.05):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(interval)
    return predicate()


def pid_alive(pid):
    """True if `pid` exists and is not a zombie."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


class RoostDir:
    """A temporary installation: config file + data_dir."""

    def __init__(self):
        self.dir = tempfile.mkdtemp(prefix="roost-cli-")
        self.data_dir = os.path.join(self.dir, "data")
        self.config = os.path.join(self.dir, "roost.toml")
        self.write_config()

    def write_config(self, extra=""):
        with open(self.config, "w") as f:
            f.write(
                'hostname = "mx.example.test"\n'
                f'data_dir = "{self.data_dir}"\n'
                "\n[auth]\n"
                "argon2_memory_kib = 64\n"  # fast hashing: the CLI hashes every password it sets
                "argon2_iterations = 1\n" + extra
            )

    def db(self):
        return sqlite3.connect(f"file:{os.path.join(self.data_dir, 'roost.db')}?mode=ro", uri=True)

    def close(self):
        if os.environ.get("ROOST_KEEP_TEST_DIRS"):
            print(f"kept {self.dir}", file=sys.stderr)
        else:
            shutil.rmtree(self.dir, ignore_errors=True)


class CliTest(unittest.TestCase):
    def setUp(self):
        self.r = RoostDir()
        self.addCleanup(self.r.close)

    def roost(self, *args, stdin=None, env=None, config=True):
        """Runs `roost [--config PATH] args...`; returns CompletedProcess with text output."""
        cmd = [ROOST] + (["--config", self.r.config] if config else []) + list(args)
        full_env = dict(os.environ)
        full_env.pop("ROOST_CONFIG", None)
        full_env.update(env or {})
        return subprocess.run(cmd, input=stdin, capture_output=True, text=True, env=full_env, timeout=60)

    def ok(self, *args, **kw):
        p = self.roost(*args, **kw)
        self.assertEqual(p.returncode, 0, f"roost {' '.join(args)} failed:\n{p.stdout}{p.stderr}")
        return p.stdout

    def fails(self, *args, code=1, **kw):
        p = self.roost(*args, **kw)
        self.assertEqual(p.returncode, code, f"roost {' '.join(args)}: expected exit {code}:\n{p.stdout}{p.stderr}")
        return p.stderr

    def account_row(self, address):
        with self.r.db() as db:
            return db.execute(
                "SELECT password_hash, quota_bytes, enabled FROM accounts WHERE address = ?", (address,)
            ).fetchone()

    def user_rows(self, domain=None):
        """`roost user list` as {address: (used, quota, status)}, after checking the header."""
        out = self.ok("user", "list", *([domain] if domain else []))
        lines = out.splitlines()
        self.assertEqual(lines[0].split(), ["ADDRESS", "USED", "QUOTA", "STATUS"])
        rows = {}
        for line in lines[1:]:
            f = line.split()
            rows[f[0]] = tuple(f[1:])
        return rows

    # ----- domains -----

    def test_domain_add_list_remove(self):
        self.assertEqual(self.ok("domain", "list"), "")
        self.assertEqual(self.ok("domain", "add", "example.test"), "added domain example.test\n")
        self.assertEqual(self.ok("domain", "add", "Another.TEST"), "added domain another.test\n")
        self.assertEqual(self.ok("domain", "list"), "another.test\nexample.test\n")
        self.assertEqual(self.ok("domain", "remove", "another.test"), "removed domain another.test\n")
        self.assertEqual(self.ok("domain", "list"), "example.test\n")
        err = self.fails("domain", "remove", "another.test")
        self.assertIn("unknown domain 'another.test'", err)

    def test_duplicate_domain_fails_with_message(self):
        self.ok("domain", "add", "example.test")
        p = self.roost("domain", "add", "example.test")
        self.assertEqual(p.returncode, 1)
        self.assertIn("domain 'example.test' already exists", p.stderr)
        self.assertEqual(p.stdout, "")
        self.assertEqual(self.ok("domain", "list"), "example.test\n")

    def test_invalid_domain(self):
        self.assertIn("invalid domain 'not_a_domain'", self.fails("domain", "add", "not_a_domain"))
        self.assertEqual(self.ok("domain", "list"), "")

    def test_domain_remove_refused_while_users_exist(self):
        self.ok("domain", "add", "example.test")
        self.ok("user", "add", "demo@example.test")
        err = self.fails("domain", "remove", "example.test")
        self.assertIn("example.test", err)
        self.assertIn("1 account(s)", err)
        self.assertEqual(self.ok("domain", "list"), "example.test\n")
        self.ok("user", "remove", "demo@example.test")
        self.ok("domain", "remove", "example.test")
        self.assertEqual(self.ok("domain", "list"), "")

    def test_unknown_domain_error_text(self):
        self.ok("domain", "add", "example.test")
        err = self.fails("user", "add", "demo@exmaple.test")
        self.assertIn("unknown domain 'exmaple.test'", err)
        self.assertIn("unknown domain 'exmaple.test'", self.fails("user", "list", "exmaple.test"))
        self.assertIn("unknown domain 'exmaple.test'", self.fails("alias", "add", "team@exmaple.test", "demo@example.test"))

    # ----- users -----

    def test_user_add_prints_a_generated_password(self):
        self.ok("domain", "add", "example.test")
        out = self.ok("user", "add", "Demo@Example.test")
        m = re.fullmatch(r"added user demo@example\.test\npassword: ([A-Za-z0-9]{20})\n", out)
        self.assertIsNotNone(m, out)
        out2 = self.ok("user", "add", "other@example.test")
        self.assertNotEqual(m.group(1), out2.splitlines()[1].split()[1], "passwords must be random")
        pw_hash, quota, enabled = self.account_row("demo@example.test")
        # Hashed (never stored in clear), with the configured Argon2id cost.
        self.assertTrue(pw_hash.startswith("$argon2id$v=19$m=64,t=1,p=1$"), pw_hash)
        self.assertNotIn(m.group(1), pw_hash)
        self.assertEqual((quota, enabled), (0, 1))
        self.assertIn("account 'demo@example.test' already exists", self.fails("user", "add", "demo@example.test"))

    def test_user_add_password_stdin(self):
        self.ok("domain", "add", "example.test")
        out = self.ok("user", "add", "demo@example.test", "--password-stdin", stdin="correct horse\n")
        self.assertEqual(out, "added user demo@example.test\n", "no password is printed when one is given")
        self.assertTrue(self.account_row("demo@example.test")[0].startswith("$argon2id$"))
        self.assertIn("empty password", self.fails("user", "add", "e@example.test", "--password-stdin", stdin="\n"))
        self.assertIn("no password", self.fails("user", "add", "n@example.test", "--password-stdin", stdin=""))
        self.assertIsNone(self.account_row("e@example.test"))
        self.assertIsNone(self.account_row("n@example.test"))

    def test_user_add_with_quota_and_list(self):
        self.ok("domain", "add", "example.test")
        self.ok("domain", "add", "other.test")
        self.ok("user", "add", "demo@example.test", "--quota", "10M")
        self.ok("user", "add", "free@example.test")
        self.ok("user", "add", "bob@other.test", "--quota", "512K")
        self.assertEqual(self.account_row("demo@example.test")[1], 10 * 1024 * 1024)
        rows = self.user_rows()
        self.assertEqual(rows["demo@example.test"], ("0", "10.0M", "enabled"))
        self.assertEqual(rows["free@example.test"], ("0", "-", "enabled"))
        self.assertEqual(rows["bob@other.test"], ("0", "512.0K", "enabled"))
        self.assertEqual(list(rows), ["bob@other.test", "demo@example.test", "free@example.test"])
        self.assertEqual(set(self.user_rows("example.test")), {"demo@example.test", "free@example.test"})
        self.assertIn("invalid quota '10X'", self.fails("user", "add", "q@example.test", "--quota", "10X"))
        self.assertIsNone(self.account_row("q@example.test"))

    def test_user_quota(self):
        self.ok("domain", "add", "example.test")
        self.ok("user", "add", "demo@example.test")
        self.assertIn("2.0G", self.ok("user", "quota", "demo@example.test", "2G"))
        self.assertEqual(self.account_row("demo@example.test")[1], 2 << 30)
        self.assertEqual(self.user_rows()["demo@example.test"][1], "2.0G")
        self.assertIn("unlimited", self.ok("user", "quota", "demo@example.test", "0"))
        self.assertEqual(self.account_row("demo@example.test")[1], 0)
        self.assertIn("invalid quota", self.fails("user", "quota", "demo@example.test", "lots"))
        self.assertIn("unknown account", self.fails("user", "quota", "nobody@example.test", "1M"))

    def test_user_passwd(self):
        self.ok("domain", "add", "example.test")
        self.ok("user", "add", "demo@example.test", "--password-stdin", stdin="first\n")
        before = self.account_row("demo@example.test")[0]
        out = self.ok("user", "passwd", "demo@example.test", "--password-stdin", stdin="second\n")
        self.assertEqual(out, "password changed for demo@example.test\n")
        after = self.account_row("demo@example.test")[0]
        self.assertNotEqual(before, after)
        self.assertTrue(after.startswith("$argon2id$"))
        out = self.ok("user", "passwd", "demo@example.test")
        self.assertRegex(out, r"\npassword: [A-Za-z0-9]{20}\n$")
        self.assertNotEqual(self.account_row("demo@example.test")[0], after)
        self.assertIn("unknown account", self.fails("user", "passwd", "nobody@example.test", "--password-stdin", stdin="x\n"))

    def test_user_disable_enable_remove(self):
        self.ok("domain", "add", "example.test")
        self.ok("user", "add", "demo@example.test")
        self.assertEqual(self.ok("user", "disable", "demo@example.test"), "disabled demo@example.test\n")
        self.assertEqual(self.account_row("demo@example.test")[2], 0)
        self.assertEqual(self.user_rows()["demo@example.test"][2], "disabled")
        self.assertEqual(self.ok("user", "enable", "demo@example.test"), "enabled demo@example.test\n")
        self.assertEqual(self.account_row("demo@example.test")[2], 1)
        self.assertEqual(self.user_rows()["demo@example.test"][2], "enabled")
        self.assertIn("removed user demo@example.test", self.ok("user", "remove", "demo@example.test"))
        self.assertIsNone(self.account_row("demo@example.test"))
        self.assertEqual(self.user_rows(), {})
        self.assertIn("unknown account 'nobody@example.test'", self.fails("user", "disable", "nobody@example.test"))
        self.assertIn("unknown account", self.fails("user", "remove", "demo@example.test"))

    # ----- aliases -----

    def test_alias_add_list_remove_and_catch_all(self):
        self.ok("domain", "add", "example.test")
        self.ok("user", "add", "demo@example.test")
        self.ok("alias", "add", "team@example.test", "demo@example.test", "friend@remote.test")
        self.ok("alias", "add", "@example.test", "demo@example.test")
        self.assertEqual(
            self.ok("alias", "list"),
            "@example.test -> demo@example.test\nteam@example.test -> demo@example.test friend@remote.test\n",
        )
        self.assertEqual(self.ok("alias", "list", "example.test").count("\n"), 2)
        self.ok("alias", "remove", "team@example.test", "friend@remote.test")
        self.assertIn("team@example.test -> demo@example.test\n", self.ok("alias", "list"))
        self.assertNotIn("friend@remote.test", self.ok("alias", "list"))
        self.ok("alias", "remove", "@example.test")
        self.assertEqual(self.ok("alias", "list"), "team@example.test -> demo@example.test\n")
        self.ok("alias", "remove", "team@example.test")
        self.assertEqual(self.ok("alias", "list"), "")
        self.assertIn("unknown alias", self.fails("alias", "remove", "team@example.test"))

    def test_alias_errors(self):
        self.ok("domain", "add", "example.test")
        self.ok("user", "add", "demo@example.test")
        self.assertIn("cannot point to itself", self.fails("alias", "add", "loop@example.test", "loop@example.test"))
        self.assertIn("is an account", self.fails("alias", "add", "demo@example.test", "x@remote.test"))
        self.assertIn("invalid alias target", self.fails("alias", "add", "team@example.test", "nonsense"))
        self.ok("alias", "add", "team@example.test", "demo@example.test")
        self.assertIn("already exists", self.fails("alias", "add", "team@example.test", "demo@example.test"))
        self.assertIn("missing", self.fails("alias", "add", "team@example.test", code=2))
        self.assertEqual(self.ok("alias", "list"), "team@example.test -> demo@example.test\n")

    # ----- mailboxes and queue -----

    def test_mailbox_list_shows_six_folders(self):
        self.ok("domain", "add", "example.test")
        self.ok("user", "add", "demo@example.test")
        lines = self.ok("mailbox", "list", "demo@example.test").splitlines()
        self.assertEqual(lines[0].split(), ["MAILBOX", "SPECIAL-USE", "MESSAGES", "UNSEEN", "SIZE"])
        rows = {f[0]: f[1:] for f in (line.split() for line in lines[1:])}
        self.assertEqual(
            rows,
            {
                "INBOX": ["-", "0", "0", "0"],
                "Drafts": ["\\Drafts", "0", "0", "0"],
                "Sent": ["\\Sent", "0", "0", "0"],
                "Trash": ["\\Trash", "0", "0", "0"],
                "Junk": ["\\Junk", "0", "0", "0"],
                "Archive": ["\\Archive", "0", "0", "0"],
            },
        )
        self.assertEqual(lines[1].split()[0], "INBOX", "INBOX comes first")
        self.assertIn("unknown account", self.fails("mailbox", "list", "nobody@example.test"))

    def test_queue_list_empty(self):
        self.assertEqual(self.ok("queue", "list"), "queue is empty\n")

    def test_queue_ids_are_checked(self):
        self.assertIn("invalid queue id 'abc'", self.fails("queue", "show", "abc"))
        self.assertIn("invalid queue id '-3'", self.fails("queue", "retry", "-3"))
        self.assertIn("no queue entry 42", self.fails("queue", "delete", "42"))
        self.assertIn("missing ID", self.fails("queue", "show", code=2))

    # ----- DKIM keys -----

    def test_dkim_generate_rotates_to_a_new_selector_and_remove(self):
        self.ok("domain", "add", "example.test")
        first = self.ok("dkim", "generate", "example.test")
        self.assertIn("selector roost)", first)
        self.assertIn("roost._domainkey.example.test. IN TXT (", first)
        # A second key for the domain is a rotation: a new, dated selector, and both keys stay.
        second = self.ok("dkim", "generate", "example.test")
        selector = re.search(r"selector (roost-\d{8})\)", second)
        self.assertTrue(selector, second)
        listed = self.ok("dkim", "list", "example.test")
        self.assertIn("selector roost (rsa-sha256)", listed)
        self.assertIn(f"selector {selector.group(1)} (rsa-sha256)", listed)
        # `dkim list` prints the published value of the stored key: the same as when it was made.
        record = [l for l in first.splitlines() if "IN TXT" in l][0]
        self.assertIn(record, listed)
        self.assertIn("unknown domain", self.fails("dkim", "generate", "unknown.test"))
        self.assertIn("unknown DKIM algorithm 'dsa'", self.fails("dkim", "generate", "example.test", "--algorithm", "dsa"))
        self.assertIn("invalid DKIM selector", self.fails("dkim", "generate", "example.test", "--selector", "a_b"))
        self.assertIn("already exists", self.fails("dkim", "generate", "example.test", "--selector", "roost"))
        self.ok("dkim", "remove", "example.test", "roost")
        self.assertNotIn("selector roost (", self.ok("dkim", "list", "example.test"))
        with self.r.db() as db:
            self.assertEqual(db.execute("SELECT selector FROM dkim_keys").fetchall(), [(selector.group(1),)])

    # ----- panel administrators -----

    def test_admin_add_list_remove(self):
        self.assertEqual(self.ok("admin", "list").splitlines(), ["ADDRESS                             CREATED"])
        self.ok("admin", "add", "Boss@Example.test", "--password-stdin", stdin="boss password 1\n")
        self.ok("admin", "add", "deputy@example.test", "--password-stdin", stdin="deputy password 1\n")
        rows = self.ok("admin", "list").splitlines()[1:]
        self.assertEqual([r.split()[0] for r in rows], ["boss@example.test", "deputy@example.test"])
        for r in rows:
            self.assertRegex(r, r" \d{4}-\d\d-\d\d \d\d:\d\d UTC$")
        self.assertEqual(self.ok("admin", "remove", "BOSS@example.test"), "removed admin BOSS@example.test\n")
        self.assertEqual([r.split()[0] for r in self.ok("admin", "list").splitlines()[1:]], ["deputy@example.test"])
        self.assertIn("unknown admin 'boss@example.test'", self.fails("admin", "remove", "boss@example.test"))
        self.assertIn("missing ADDRESS", self.fails("admin", "remove", code=2))
        # The last administrator goes only on purpose: refused without --force, nothing removed.
        self.assertIn("last administrator", self.fails("admin", "remove", "Deputy@example.test"))
        with self.r.db() as db:
            self.assertEqual(db.execute("SELECT address FROM admins").fetchall(), [("deputy@example.test",)])
        self.ok("admin", "remove", "deputy@example.test", "--force")
        self.assertEqual(self.ok("admin", "list").splitlines()[1:], [])

    # ----- configuration -----

    def test_config_check_ok(self):
        out = self.ok("config", "check")
        self.assertEqual(out, f"{self.r.config}: ok (hostname mx.example.test, data_dir {self.r.data_dir})\n")
        self.assertFalse(os.path.exists(self.r.data_dir), "config check must not create anything")

    def test_config_check_broken_names_key_and_line(self):
        self.r.write_config("\n[smtp]\nlisen = [\"127.0.0.1:2525\"]\n")
        with open(self.r.config) as f:
            line_no = 1 + f.read().split("lisen")[0].count("\n")
        p = self.roost("config", "check")
        self.assertEqual(p.returncode, 1, p.stdout + p.stderr)
        self.assertEqual(line_no, 9)
        self.assertIn(f"{self.r.config}:{line_no}: unknown key 'smtp.lisen'", p.stderr)
        self.assertIn("lisen", p.stderr)
        # Every other command refuses to run on a broken config too.
        self.assertIn("lisen", self.fails("domain", "list"))

    def test_config_check_bad_value(self):
        self.r.write_config("\n[limits]\nmax_message_size = \"huge\"\n")
        err = self.fails("config", "check")
        self.assertIn("limits.max_message_size", err)
        self.assertIn("huge", err)

    def test_config_environment_override_is_checked(self):
        err = self.fails("config", "check", env={"ROOST_IMAP_PLAINTEXT_AUTH": "sometimes"})
        self.assertIn("ROOST_IMAP_PLAINTEXT_AUTH", err)

    def test_missing_config_file(self):
        missing = os.path.join(self.r.dir, "nope.toml")
        self.assertIn(missing, self.fails("--config", missing, "domain", "list", config=False))

    def test_roost_config_env_used_without_flag(self):
        env = {"ROOST_CONFIG": self.r.config}
        out = self.ok("config", "check", env=env, config=False)
        self.assertTrue(out.startswith(self.r.config + ": ok"), out)
        self.ok("domain", "add", "example.test", env=env, config=False)
        # Same data_dir whichever way the config was found.
        self.assertEqual(self.ok("domain", "list"), "example.test\n")
        # --config wins over $ROOST_CONFIG.
        other = RoostDir()
        self.addCleanup(other.close)
        self.assertEqual(self.ok("--config", other.config, "domain", "list", env=env, config=False), "")

    def test_config_docs(self):
        out = self.ok("config", "docs")
        self.assertIn("### [smtp]", out)
        self.assertIn("`ROOST_SMTP_LISTEN`", out)

    def test_config_get_prints_the_value_in_effect(self):
        # The container health check and entrypoint read listeners and data_dir this way (docker/).
        self.r.write_config('\n[smtp]\nlisten = ["127.0.0.1:2525", "[::1]:2525"]\n')
        self.assertEqual(self.ok("config", "get", "smtp.listen"), "127.0.0.1:2525,[::1]:2525\n")
        self.assertEqual(self.ok("config", "get", "data_dir"), self.r.data_dir + "\n")
        self.assertEqual(self.ok("config", "get", "imap.listen"), "0.0.0.0:143\n")  # a default
        self.assertEqual(self.ok("config", "get", "smtp.listen_tls"), "\n")  # an empty list
        self.assertEqual(self.ok("config", "get", "auth.argon2_iterations"), "1\n")
        self.assertEqual(self.ok("config", "get", "limits.max_message_size"), "50M\n")
        self.assertEqual(self.ok("config", "get", "imap.plaintext_auth"), "loopback\n")
        # The environment wins over the file, as for the daemons.
        env = {"ROOST_SMTP_LISTEN": "0.0.0.0:25, [::]:25", "ROOST_HOSTNAME": "mail.example.org"}
        self.assertEqual(self.ok("config", "get", "smtp.listen", env=env), "0.0.0.0:25,[::]:25\n")
        self.assertEqual(self.ok("config", "get", "hostname", env=env), "mail.example.org\n")
        self.assertIn("unknown configuration key 'smtp.lisen'", self.fails("config", "get", "smtp.lisen"))
        self.assertIn("unknown configuration key 'nosuch'", self.fails("config", "get", "nosuch"))
        self.assertIn("usage: roost config get KEY", self.fails("config", "get", code=2))

    def test_usage_errors_exit_2(self):
        self.assertIn("usage:", self.fails(code=2))
        self.assertIn("unknown command 'frobnicate'", self.fails("frobnicate", "x", code=2))
        self.assertIn("unknown command 'domain frob'", self.fails("domain", "frob", code=2))
        self.assertIn("unknown option '--frob'", self.fails("--frob", "domain", "list", code=2))
        self.assertIn("missing DOMAIN", self.fails("domain", "add", code=2))
        self.assertIn("usage:", self.ok("--help", config=False))


class UpTest(unittest.TestCase):
    """`roost up`: starts every daemon, restarts one that dies, stops all on SIGTERM."""

    DAEMONS = {  # name -> (build-tree folder, listeners it serves)
        "smtpd": ("smtpd", ["smtp", "smtp_tls", "submission", "submission_tls"]),
        "imapd": ("imapd", ["imap", "imap_tls"]),
        "pop3d": ("pop3d", ["pop3", "pop3_tls"]),
        "admin": ("admin-ui", ["admin"]),
    }

    def daemon_path(self, name):
        # The same places `roost up` looks: next to roost, or in the build tree's layout.
        here = os.path.dirname(os.path.realpath(ROOST))
        folder = self.DAEMONS[name][0]
        for p in (os.path.join(here, f"roost-{name}"), os.path.join(here, "..", folder, f"roost-{name}")):
            if os.access(p, os.X_OK):
                return p
        return None

    def test_up_restarts_a_killed_daemon_and_stops_cleanly(self):
        if not self.daemon_path("smtpd"):
            self.skipTest("roost-smtpd is not built in this tree yet; `roost up` cannot be tested")
        present = [n for n in self.DAEMONS if self.daemon_path(n)]
        r = RoostDir()
        self.addCleanup(r.close)
        names = ["smtp", "smtp_tls", "submission", "submission_tls", "imap", "imap_tls", "pop3", "pop3_tls", "admin"]
        ports = dict(zip(names, free_ports(len(names))))
        ep = lambda n: f'["{HOST}:{ports[n]}"]'
        r.write_config(
            f"\n[smtp]\nlisten = {ep('smtp')}\nlisten_tls = {ep('smtp_tls')}\n"
            f"\n[submission]\nlisten = {ep('submission')}\nlisten_tls = {ep('submission_tls')}\n"
            f"\n[imap]\nlisten = {ep('imap')}\nlisten_tls = {ep('imap_tls')}\n"
            f"\n[pop3]\nlisten = {ep('pop3')}\nlisten_tls = {ep('pop3_tls')}\n"
            f"\n[admin]\nlisten = {ep('admin')}\n"
        )
        log_path = os.path.join(r.dir, "up.log")
        log = open(log_path, "w+")
        self.addCleanup(log.close)
        proc = subprocess.Popen([ROOST, "--config", r.config, "up"], stdout=log, stderr=subprocess.STDOUT)

        def cleanup():
            if proc.poll() is None:
                proc.kill()
                proc.wait()
            for pid in self.child_pids(log_path).values():
                if pid_alive(pid):
                    os.kill(pid, signal.SIGKILL)

        self.addCleanup(cleanup)
        def logtext():
            with open(log_path, errors="replace") as f:
                return f.read()

        watched = [p for n in present for p in self.DAEMONS[n][1]]
        for listener in watched:
            self.assertTrue(
                wait_until(lambda: accepts(ports[listener]), 20),
                f"{listener} (port {ports[listener]}) never accepted\n--- roost up log ---\n{logtext()}",
            )
        pids = self.child_pids(log_path)
        self.assertEqual(set(pids), set(present), logtext())
        # Every daemon came up on the first try (e.g. no race over the self-signed certificate they all
        # generate on a fresh data_dir).
        self.assertNotIn("exited", logtext())
        self.assertNotIn("restarted", logtext())

        # Kill one daemon hard: `roost up` must notice and start it again.
        victim = "imapd" if "imapd" in present else present[0]
        port = ports[self.DAEMONS[victim][1][0]]
        old_pid = pids[victim]
        os.kill(old_pid, signal.SIGKILL)
        self.assertTrue(wait_until(lambda: not pid_alive(old_pid), 5), "killed daemon was not reaped")
        self.assertTrue(
            wait_until(lambda: self.child_pids(log_path).get(victim, old_pid) != old_pid, 10),
            f"roost-{victim} was not restarted\n{logtext()}",
        )
        self.assertTrue(wait_until(lambda: accepts(port), 10), f"restarted roost-{victim} never accepted\n{logtext()}")
        self.assertIn(f"roost-{victim} exited (signal 9)", logtext())
        pids = self.child_pids(log_path)
        for name, pid in pids.items():
            self.assertTrue(pid_alive(pid), f"roost-{name} (pid {pid}) is not running\n{logtext()}")

        # SIGTERM: everything stops, `roost up` exits 0 within 10 s.
        proc.send_signal(signal.SIGTERM)
        try:
            rc = proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.fail(f"roost up did not exit within 10 s of SIGTERM\n{logtext()}")
        self.assertEqual(rc, 0, logtext())
        self.assertIn("all daemons stopped", logtext())
        for name, pid in pids.items():
            self.assertFalse(pid_alive(pid), f"roost-{name} (pid {pid}) still running after roost up exited")
        for listener in watched:
            self.assertFalse(accepts(ports[listener]), f"{listener} still accepts after shutdown")

    @staticmethod
    def child_pids(log_path):
        """Latest pid of each daemon from the `roost up` log ("started/restarted roost-X (pid N)")."""
        pids = {}
        try:
            with open(log_path, errors="replace") as f:
                text = f.read()
        except OSError:
            return pids
        for name, pid in re.findall(r"(?:started|restarted) roost-(\w+) \(pid (\d+)\)", text):
            pids[name] = int(pid)
        return pids


if __name__ == "__main__":
    args = sys.argv[1:]
    if "--roost" in args:
        i = args.index("--roost")
        ROOST = os.path.abspath(args[i + 1])
        del args[i : i + 2]
    if not ROOST or not os.access(ROOST, os.X_OK):
        sys.exit("test_cli.py: pass --roost PATH (or set ROOST_BIN) to the built roost binary")
    unittest.main(argv=[sys.argv[0]] + args, verbosity=2)
