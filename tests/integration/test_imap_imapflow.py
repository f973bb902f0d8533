#!/usr/bin/env python3
"""Runs test_imap_imapflow.js (node's test runner, the imapflow and nodemailer npm packages) against a real
roost-imapd and roost-smtpd.

The npm packages of package.json are installed into --npm-dir (CTest passes a folder in the build tree) when
missing, so a clean clone needs only node, npm and the npm registry.

Run: python3 test_imap_imapflow.py --roost PATH/roost --imapd PATH/roost-imapd --smtpd PATH/roost-smtpd
     [--npm-dir DIR] [unittest args]
"""

import argparse
import json
import os
import shutil
import subprocess
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import roost_fixture as rf  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
PASSWORD = "imapflow pass 1"
NPM_DIR = os.path.join(HERE, "node_modules", ".roost")  # default; git-ignored


def npm_install(npm_dir):
    """Installs package.json's dependencies into npm_dir unless they are there already."""
    with open(os.path.join(HERE, "package.json")) as f:
        wanted = json.load(f)["dependencies"]
    os.makedirs(npm_dir, exist_ok=True)
    if all(os.path.exists(os.path.join(npm_dir, "node_modules", name, "package.json")) for name in wanted):
        return
    shutil.copy(os.path.join(HERE, "package.json"), os.path.join(npm_dir, "package.json"))
    r = subprocess.run(["npm", "install", "--prefix", npm_dir, "--no-audit", "--no-fund", "--no-package-lock"],
                       capture_output=True, text=True, timeout=300)
    if r.returncode != 0:
        raise AssertionError(f"npm install failed ({r.returncode}):\n{r.stdout}\n{r.stderr}")


@unittest.skipUnless(shutil.which("node") and shutil.which("npm"), "node/npm not installed")
class ImapflowTest(unittest.TestCase):
    def test_imapflow(self):
        npm_install(NPM_DIR)
        roost = rf.Roost()
        self.addCleanup(roost.close)
        roost.add_domain("example.test")
        users = [f"flow{i}@example.test" for i in range(12)]
        for u in users:
            roost.add_user(u, PASSWORD)
        roost.add_user("quota@example.test", PASSWORD, quota=1024 * 1024)
        roost.start("imapd")
        roost.start("smtpd")
        env = dict(roost.child_env(),
                   NODE_PATH=os.path.join(NPM_DIR, "node_modules"),
                   ROOST_IMAP_PORT=str(roost.ports["imap"]), ROOST_IMAPS_PORT=str(roost.ports["imaps"]),
                   ROOST_SMTP_PORT=str(roost.ports["smtp"]), ROOST_PASSWORD=PASSWORD,
                   ROOST_USERS=",".join(users), ROOST_QUOTA_USER="quota@example.test")
        r = subprocess.run(["node", "--test", "--test-reporter=spec", os.path.join(HERE, "test_imap_imapflow.js")],
                           capture_output=True, text=True, timeout=150, env=env)
        sys.stdout.write(r.stdout)
        sys.stdout.write(r.stderr)
        self.assertEqual(r.returncode, 0, "imapflow tests failed (output above)")


if __name__ == "__main__":
    p = argparse.ArgumentParser(add_help=False)
    p.add_argument("--npm-dir")
    known, rest = p.parse_known_args()
    if known.npm_dir:
        NPM_DIR = os.path.abspath(known.npm_dir)
    argv = rf.parse_args([sys.argv[0]] + rest)
    unittest.main(argv=argv, verbosity=2)
