#!/usr/bin/env python3
"""End-to-end test of the roost-admin panel in headless Chromium, around real mail: an admin creates a domain,
a user and a DKIM key in the panel (admin_browser/browser_test.js, phase "admin"), that user receives a message
over SMTP and reads it over IMAP (here, with smtplib and imaplib), a stranger's recipient is refused and the
user submits a message for a remote address, which waits in the queue; the dashboard's chart, services table
and delivery log show all of it (phase "dashboard"); the queued message is inspected, retried and deleted in
the panel (phase "queue"); then the user logs in to self-service, sees the message and changes the password
(phase "user"); IMAP then accepts only the new password. Screenshots of every page go to docs/screenshots/.

playwright-core (admin_browser/package.json) is installed into --npm-dir when missing; Chromium is Debian's
/usr/bin/chromium (scripts/install-deps.sh test). The test is skipped when either is unavailable.

Run: python3 test_admin_browser.py --roost PATH/roost --admin PATH/roost-admin --smtpd PATH/roost-smtpd
     --imapd PATH/roost-imapd [--npm-dir DIR] [unittest args]
"""

import argparse
import imaplib
import json
import os
import shutil
import smtplib
import subprocess
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import roost_fixture as rf  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
BROWSER_DIR = os.path.join(HERE, "admin_browser")
SCREENSHOTS = os.path.abspath(os.path.join(HERE, "..", "..", "docs", "screenshots"))
CHROMIUM = "/usr/bin/chromium"
NPM_DIR = os.path.join(BROWSER_DIR, "node_modules", ".roost")  # default; git-ignored

ADMIN, ADMIN_PW = "admin@example.test", "admin password 1"
DOMAIN = "panel.test"
USER, USER_PW, USER_PW2 = "alice@panel.test", "alice password 1", "alice password 2"


def npm_install(npm_dir):
    with open(os.path.join(BROWSER_DIR, "package.json")) as f:
        wanted = json.load(f)["dependencies"]
    os.makedirs(npm_dir, exist_ok=True)
    if all(os.path.exists(os.path.join(npm_dir, "node_modules", n, "package.json")) for n in wanted):
        return
    shutil.copy(os.path.join(BROWSER_DIR, "package.json"), os.path.join(npm_dir, "package.json"))
    r = subprocess.run(["npm", "install", "--prefix", npm_dir, "--no-audit", "--no-fund", "--no-package-lock"],
                       capture_output=True, text=True, timeout=300)
    if r.returncode != 0:
        raise AssertionError(f"npm install failed ({r.returncode}):\n{r.stdout}\n{r.stderr}")


class AdminBrowserTest(unittest.TestCase):
    npm_dir = NPM_DIR

    def run_phase(self, roost, phase, **extra):
        env = dict(os.environ, NODE_PATH=os.path.join(self.npm_dir, "node_modules"),
                   ADMIN_URL=f"http://{rf.HOST}:{roost.ports['admin']}", ADMIN_USER=ADMIN, ADMIN_PW=ADMIN_PW,
                   NEW_DOMAIN=DOMAIN, NEW_USER=USER, NEW_USER_PW=USER_PW, NEW_USER_PW2=USER_PW2,
                   SCREENSHOT_DIR=SCREENSHOTS, **extra)
        r = subprocess.run(["node", os.path.join(BROWSER_DIR, "browser_test.js"), phase], env=env,
                           capture_output=True, text=True, timeout=240)
        self.assertEqual(r.returncode, 0, f"browser phase {phase} failed:\n{r.stdout}\n{r.stderr}")

    def test_panel_end_to_end(self):
        if not os.access(CHROMIUM, os.X_OK) or not shutil.which("node"):
            self.skipTest("needs /usr/bin/chromium and node (scripts/install-deps.sh test)")
        npm_install(self.npm_dir)
        os.makedirs(SCREENSHOTS, exist_ok=True)
        with rf.Roost(settings={"submission": {"plaintext_auth": "loopback"}}) as roost:
            roost.add_domain("example.test")
            roost.cli("admin", "add", ADMIN, "--password-stdin", input=ADMIN_PW + "\n")
            roost.start("admin")
            roost.start("smtpd")
            roost.start("imapd")

            self.run_phase(roost, "admin")
            self.assertEqual(roost.query("SELECT quota_bytes FROM accounts WHERE address = ?", (USER,)),
                             [(50 << 20,)])

            # The user made in the panel receives a message over SMTP (through the alias made there too)...
            with smtplib.SMTP(rf.HOST, roost.ports["smtp"], timeout=30) as s:
                s.sendmail("bob@remote.test", ["sales@" + DOMAIN],
                           b"From: bob@remote.test\r\nTo: sales@panel.test\r\nSubject: hello from the panel test\r\n"
                           b"\r\nIt works.\r\n")
            self.assertTrue(roost.wait_until(lambda: len(roost.messages(USER)) == 1))
            # ... and reads it over IMAP.
            imap = imaplib.IMAP4(rf.HOST, roost.ports["imap"], timeout=30)
            imap.login(USER, USER_PW)
            imap.select("INBOX", readonly=True)
            _, data = imap.fetch("1", "(BODY.PEEK[HEADER.FIELDS (SUBJECT)])")
            self.assertIn(b"hello from the panel test", data[0][1])
            imap.logout()
            # A stranger's recipient is refused (the delivery log's "rejected")...
            with smtplib.SMTP(rf.HOST, roost.ports["smtp"], timeout=30) as s:
                s.ehlo("client.bad.test")
                s.mail("spammer@bad.test")
                self.assertEqual(s.rcpt("nobody@" + DOMAIN)[0], 550)
            # ... and the user sends to a remote address: queued, and (no DNS in this test) deferred.
            with smtplib.SMTP(rf.HOST, roost.ports["submission"], timeout=30) as s:
                s.login(USER, USER_PW)
                s.sendmail(USER, ["bob@remote.test"],
                           b"From: alice@panel.test\r\nTo: bob@remote.test\r\nSubject: report <draft>\r\n\r\nSee.\r\n")
            self.assertTrue(roost.wait_until(
                lambda: roost.query("SELECT attempts FROM queue") == [(1,)], 30), roost.query("SELECT * FROM queue"))
            queue_id = roost.query("SELECT id FROM queue")[0][0]

            self.run_phase(roost, "dashboard")
            self.run_phase(roost, "queue", QUEUE_ID=str(queue_id))
            self.assertEqual(roost.count("queue"), 0)
            self.run_phase(roost, "user")
            # The self-service password is the mail password.
            imap = imaplib.IMAP4(rf.HOST, roost.ports["imap"], timeout=30)
            with self.assertRaises(imaplib.IMAP4.error):
                imap.login(USER, USER_PW)
            imap.logout()
            imap = imaplib.IMAP4(rf.HOST, roost.ports["imap"], timeout=30)
            imap.login(USER, USER_PW2)
            imap.logout()
        for name in ("login", "dashboard", "domains", "users", "aliases", "tokens", "queue", "dns", "log",
                     "users-phone", "account"):
            self.assertTrue(os.path.exists(os.path.join(SCREENSHOTS, name + ".png")), name)


if __name__ == "__main__":
    argv = rf.parse_args()
    p = argparse.ArgumentParser(add_help=False)
    p.add_argument("--npm-dir")
    known, rest = p.parse_known_args(argv[1:])
    if known.npm_dir:
        AdminBrowserTest.npm_dir = os.path.abspath(known.npm_dir)
    unittest.main(argv=argv[:1] + rest)
