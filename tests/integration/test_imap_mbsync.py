#!/usr/bin/env python3
"""roost-imapd against isync's mbsync: a two-way sync between the server and a local Maildir over STARTTLS,
checking that flags, new messages, new folders, deletions and folder removals round-trip both ways, and that
a repeated sync changes nothing.

Run: python3 test_imap_mbsync.py --roost PATH/roost --imapd PATH/roost-imapd [unittest args]
(or set ROOST_BIN_DIR). Needs mbsync (Debian package isync; scripts/install-deps.sh installs it).
"""

import imaplib
import os
import re
import shutil
import subprocess
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import roost_fixture as rf  # noqa: E402

HOST = rf.HOST
USER = "sync@example.test"
PASSWORD = "mbsync pass 1"


def message(subject, body="body\r\n"):
    return (f"From: peer@outside.test\r\nTo: {USER}\r\nSubject: {subject}\r\n"
            f"Message-ID: <{subject.replace(' ', '-')}@outside.test>\r\n\r\n{body}").encode()


class Maildir:
    """The local side as mbsync leaves it: {folder: {subject: maildir flags}}."""

    def __init__(self, root):
        self.root = root

    def path(self, folder):
        return os.path.join(self.root, folder)

    def folders(self):
        out = set()
        for dirpath, dirnames, _ in os.walk(self.root):
            if "cur" in dirnames and "new" in dirnames:
                out.add(os.path.relpath(dirpath, self.root))
        return out

    def files(self, folder):
        """[(path, subject, flags)] of every message in a folder."""
        out = []
        for sub in ("cur", "new"):
            d = os.path.join(self.path(folder), sub)
            for name in sorted(os.listdir(d)):
                with open(os.path.join(d, name), "rb") as f:
                    m = re.search(rb"^Subject: (.*?)\r?$", f.read(), re.M)
                flags = name.split(":2,")[1] if ":2," in name else ""
                out.append((os.path.join(d, name), m.group(1).decode() if m else None, flags))
        return out

    def state(self, folder):
        return {subject: "".join(sorted(flags)) for _, subject, flags in self.files(folder)}

    def set_flags(self, folder, subject, flags):
        for path, subj, _ in self.files(folder):
            if subj == subject:
                base = os.path.basename(path).split(":2,")[0]
                os.rename(path, os.path.join(self.path(folder), "cur", base + ":2," + flags))
                return
        raise KeyError(subject)

    def remove(self, folder, subject):
        for path, subj, _ in self.files(folder):
            if subj == subject:
                os.unlink(path)
                return
        raise KeyError(subject)

    def add(self, folder, name, data):
        for sub in ("cur", "new", "tmp"):
            os.makedirs(os.path.join(self.path(folder), sub), exist_ok=True)
        with open(os.path.join(self.path(folder), "new", name), "wb") as f:
            f.write(data)


@unittest.skipUnless(shutil.which("mbsync"), "mbsync (isync) not installed")
class MbsyncTest(unittest.TestCase):
    def setUp(self):
        self.roost = rf.Roost()
        self.addCleanup(self.roost.close)
        self.roost.add_domain("example.test")
        self.roost.add_user(USER, PASSWORD)
        self.roost.start("imapd")
        self.local = Maildir(os.path.join(self.roost.dir, "mail"))
        os.makedirs(self.local.root)
        self.config = os.path.join(self.roost.dir, "mbsyncrc")
        cert = os.path.join(self.roost.data_dir, "tls", "cert.pem")  # generated self-signed on first start
        with open(self.config, "w") as f:
            f.write(f"""IMAPAccount roost
Host {HOST}
Port {self.roost.ports["imap"]}
User {USER}
Pass "{PASSWORD}"
SSLType STARTTLS
CertificateFile {cert}

IMAPStore remote
Account roost

MaildirStore local
Path {self.local.root}/
Inbox {self.local.root}/INBOX
SubFolders Verbatim

Channel roost
Far :remote:
Near :local:
Patterns *
Create Both
Remove Both
Expunge Both
SyncState *
""")

    def sync(self):
        r = subprocess.run(["mbsync", "-c", self.config, "-a"], capture_output=True, text=True, timeout=60,
                           env=dict(os.environ, HOME=self.roost.dir))
        self.assertEqual(r.returncode, 0, f"mbsync failed:\n{r.stdout}\n{r.stderr}")
        return r

    def imap(self):
        m = imaplib.IMAP4(HOST, self.roost.ports["imap"], timeout=10)
        self.addCleanup(self.logout, m)
        self.assertEqual(m.login(USER, PASSWORD)[0], "OK")
        return m

    @staticmethod
    def logout(m):
        try:
            m.logout()
        except (imaplib.IMAP4.error, OSError):
            pass

    def server_state(self, m, mailbox):
        """{subject: maildir-style flags} of a server mailbox."""
        typ, data = m.select(f'"{mailbox}"', readonly=True)
        self.assertEqual(typ, "OK", data)
        out = {}
        if data == [b"0"]:
            return out
        typ, data = m.fetch("1:*", "(FLAGS BODY.PEEK[HEADER.FIELDS (SUBJECT)])")
        self.assertEqual(typ, "OK")
        for item in data:
            if not isinstance(item, tuple):
                continue
            flags = re.search(rb"FLAGS \(([^)]*)\)", item[0]).group(1).decode().split()
            subject = item[1].decode().split(":", 1)[1].strip()
            letters = {"\\Draft": "D", "\\Flagged": "F", "\\Answered": "R", "\\Seen": "S", "\\Deleted": "T"}
            out[subject] = "".join(sorted(letters[f] for f in flags if f in letters))
        return out

    def server_mailboxes(self, m):
        typ, data = m.list('""', "*")
        return {re.search(rb'"/" "?([^"]*)"?$', d).group(1).decode() for d in data}

    def test_two_way_sync(self):
        m = self.imap()
        for subject, flags in (("one", "(\\Seen)"), ("two", "(\\Flagged)"), ("three", None)):
            self.assertEqual(m.append("INBOX", flags, None, message(subject))[0], "OK")
        self.assertEqual(m.create("Work/Reports")[0], "OK")
        self.assertEqual(m.append("Work/Reports", "(\\Answered \\Seen)", None, message("report"))[0], "OK")

        # 1. Server -> Maildir: messages, flags, folders (special-use ones included).
        self.sync()
        self.assertTrue({"INBOX", "Work", "Work/Reports", "Sent", "Drafts", "Trash", "Junk", "Archive"}
                        <= self.local.folders(), self.local.folders())
        self.assertEqual(self.local.state("INBOX"), {"one": "S", "two": "F", "three": ""})
        self.assertEqual(self.local.state("Work/Reports"), {"report": "RS"})
        with open(next(p for p, s, _ in self.local.files("INBOX") if s == "one"), "rb") as f:
            # Byte for byte, but for mbsync's LF line ends and its X-TUID tracking header.
            local = re.sub(rb"^X-TUID: .*\n", b"", f.read(), flags=re.M)
            self.assertEqual(local, message("one").replace(b"\r\n", b"\n"))

        # 2. Maildir -> server: flag changes, a deletion, a new message, a new folder.
        self.local.set_flags("INBOX", "three", "FS")
        self.local.set_flags("INBOX", "two", "")
        self.local.remove("INBOX", "one")
        self.local.add("INBOX", "1700000000.local1.host", message("written locally"))
        self.local.add("Projects/Plans", "1700000001.local2.host", message("plan"))
        self.sync()
        self.assertEqual(self.server_state(m, "INBOX"), {"two": "", "three": "FS", "written locally": ""})
        self.assertIn("Projects/Plans", self.server_mailboxes(m))
        self.assertEqual(self.server_state(m, "Projects/Plans"), {"plan": ""})
        stored = [re.sub(rb"^X-TUID: .*\r\n", b"", m, flags=re.M) for m in self.roost.messages(USER, "Projects/Plans")]
        self.assertEqual(stored, [message("plan")])  # stored with CRLF line ends

        # 3. Server -> Maildir again: flags, expunges, a new message, a new folder.
        m.select("INBOX")
        typ, data = m.search(None, "SUBJECT", "two")
        self.assertEqual(m.store(data[0], "+FLAGS", "(\\Answered)")[0], "OK")
        typ, data = m.search(None, "SUBJECT", '"written locally"')
        m.store(data[0], "+FLAGS", "(\\Deleted)")
        m.expunge()
        m.close()
        self.assertEqual(m.append("INBOX", "(\\Draft)", None, message("from server"))[0], "OK")
        self.assertEqual(m.create("Remote")[0], "OK")
        self.assertEqual(m.append("Remote", None, None, message("remote one"))[0], "OK")
        m.select("Work/Reports")
        m.store("1", "+FLAGS", "(\\Deleted)")
        m.close()
        self.sync()
        self.assertEqual(self.local.state("INBOX"), {"two": "R", "three": "FS", "from server": "D"})
        self.assertEqual(self.local.state("Remote"), {"remote one": ""})
        self.assertEqual(self.local.state("Work/Reports"), {})

        # 4. Folder removals, both ways (mbsync only removes empty folders).
        self.assertEqual(m.delete("Work/Reports")[0], "OK")
        self.local.remove("Projects/Plans", "plan")
        self.sync()
        self.assertEqual(self.server_state(m, "Projects/Plans"), {})
        shutil.rmtree(os.path.join(self.local.path("Projects/Plans"), "cur"))  # mbsync's way to mark it deleted
        self.sync()
        self.assertNotIn("Work/Reports", self.local.folders())
        self.assertNotIn("Projects/Plans", self.server_mailboxes(m))

        # 5. Nothing left to do: a second sync changes neither side.
        before_local = {f: self.local.state(f) for f in self.local.folders()}
        before_server = {mb: self.server_state(m, mb) for mb in self.server_mailboxes(m) if mb != "Work"}
        self.sync()
        self.assertEqual({f: self.local.state(f) for f in self.local.folders()}, before_local)
        self.assertEqual({mb: self.server_state(m, mb) for mb in self.server_mailboxes(m) if mb != "Work"},
                         before_server)


if __name__ == "__main__":
    argv = rf.parse_args()
    unittest.main(argv=argv, verbosity=2)
