#!/usr/bin/env python3
"""roost-admin's JSON API against the running daemon: every route (taken from admin-ui/api.cpp's route
table, which must equal docs/api.md), authentication on every route, CSRF refusal, bad input refused without
side effects, API tokens, self-service, the shared login throttle, security headers, HTTPS cookies and the
mail-client autoconfiguration documents; with roost-smtpd running beside it: the outbound queue (show,
retry, delete, flush, as `roost queue` sees them), DKIM keys (generate/rotate/remove, the DNS helper and
`roost dkim list` showing the same key), the delivery log with SMTP rejections and its search, the hourly
traffic counts, and each daemon's up/down state, uptime and open connections.

Run: python3 test_admin_api.py --roost PATH/roost --admin PATH/roost-admin --smtpd PATH/roost-smtpd
     --imapd PATH/roost-imapd --pop3d PATH/roost-pop3d [unittest args]
"""

import http.client
import json
import os
import re
import signal
import smtplib
import socket
import ssl
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import roost_fixture as rf  # noqa: E402

ROOT = os.path.abspath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))
ADMIN, ADMIN_PW = "admin@example.test", "admin password 1"
USER, USER_PW = "carol@example.test", "carol password 1"


def source_routes():
    with open(os.path.join(ROOT, "admin-ui", "api.cpp")) as f:
        text = f.read()
    table = text[text.index("const Route kRoutes[]"):]
    table = table[:table.index("};")]
    return re.findall(r'\{"(GET|POST|PUT|DELETE)", "([^"]+)"', table)


def documented_routes():
    with open(os.path.join(ROOT, "docs", "api.md")) as f:
        return re.findall(r"^### `(GET|POST|PUT|DELETE) /api/v1(/[^`]*)`", f.read(), re.M)


class Client:
    """One browser-like client: keeps the session cookie and the CSRF token."""

    def __init__(self, port, tls=False):
        self.port, self.tls = port, tls
        self.cookie = None
        self.csrf = None
        self.token = None

    def request(self, method, path, body=None, headers=None, raw=None, csrf=True):
        if self.tls:
            conn = http.client.HTTPSConnection(rf.HOST, self.port, timeout=30, context=rf.insecure_tls_context())
        else:
            conn = http.client.HTTPConnection(rf.HOST, self.port, timeout=30)
        h = {"Host": f"{rf.HOST}:{self.port}"}
        data = raw
        if body is not None:
            data = json.dumps(body).encode()
            h["Content-Type"] = "application/json"
        if self.cookie:
            h["Cookie"] = self.cookie
        if self.csrf and csrf and method not in ("GET", "HEAD"):
            h["X-CSRF-Token"] = self.csrf
        if self.token:
            h["Authorization"] = "Bearer " + self.token
        h.update(headers or {})
        try:
            conn.request(method, path, body=data, headers=h)
            resp = conn.getresponse()
            text = resp.read().decode("utf-8", "replace")
            for k, v in resp.getheaders():
                if k.lower() == "set-cookie":
                    pair = v.split(";", 1)[0]
                    self.cookie = None if pair.endswith("=") else pair
            ctype = resp.getheader("Content-Type", "")
            payload = json.loads(text) if ctype.startswith("application/json") and text else text
            return resp.status, payload, resp
        finally:
            conn.close()

    def api(self, method, path, body=None, **kw):
        return self.request(method, "/api/v1" + path, body, **kw)

    def login(self, user, password):
        status, data, _ = self.api("POST", "/login", {"username": user, "password": password})
        if status == 200:
            self.csrf = data["csrf"]
        return status, data


class AdminApiTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.roost = rf.Roost(settings={"auth": {"lockout_after": 5}, "submission": {"plaintext_auth": "loopback"}})
        cls.roost.add_domain("example.test")
        cls.roost.cli("admin", "add", ADMIN, "--password-stdin", input=ADMIN_PW + "\n")
        cls.roost.add_user(USER, USER_PW, quota="10M")
        cls.daemon = cls.roost.start("admin")
        cls.smtpd = cls.roost.start("smtpd")
        cls.port = cls.roost.ports["admin"]
        cls.admin = Client(cls.port)
        status, _ = cls.admin.login(ADMIN, ADMIN_PW)
        assert status == 200, status

    @classmethod
    def tearDownClass(cls):
        cls.roost.close()

    def expect(self, status, method, path, body=None, client=None, **kw):
        got, data, _ = (client or self.admin).api(method, path, body, **kw)
        self.assertEqual(got, status, f"{method} {path}: {data}")
        if status >= 400:
            self.assertIsInstance(data, dict)
            self.assertTrue(data.get("error"), data)
        return data

    # ----- documentation and authentication -----
    def test_docs_list_every_route(self):
        self.assertEqual(sorted(source_routes()), sorted(documented_routes()))
        self.assertGreaterEqual(len(source_routes()), 32)

    def test_every_route_needs_authentication(self):
        anonymous = Client(self.port)
        for method, pattern in source_routes():
            if pattern == "/login":
                continue
            path = pattern.replace("{name}", "example.test").replace("{address}", USER)
            path = path.replace("{source}", "x@example.test").replace("{id}", "1").replace("{selector}", "roost")
            body = {} if method in ("POST", "PUT") else None
            self.expect(401, method, path, body, client=anonymous)
        bad_token = Client(self.port)
        bad_token.token = "roost_" + "0" * 64
        self.expect(401, "GET", "/domains", client=bad_token)

    def test_mail_user_reaches_only_self_service(self):
        c = Client(self.port)
        self.assertEqual(c.login(USER, USER_PW)[0], 200)
        me = self.expect(200, "GET", "/me", client=c)
        self.assertEqual(me["address"], USER)
        self.assertEqual(me["quota"], 10 << 20)
        self.assertIn("INBOX", [m["name"] for m in me["mailboxes"]])
        for method, path in [("GET", "/domains"), ("GET", "/users"), ("GET", "/status"), ("GET", "/tokens"),
                             ("POST", "/domains")]:
            self.expect(403, method, path, {"name": "evil.test"} if method == "POST" else None, client=c)
        self.assertNotIn("evil.test", [d["name"] for d in self.expect(200, "GET", "/domains")])

    def test_self_service_password_change(self):
        addr, pw = "dave@example.test", "dave password 1"
        self.roost.add_user(addr, pw)
        c = Client(self.port)
        self.assertEqual(c.login(addr, pw)[0], 200)
        self.expect(403, "POST", "/me/password", {"current_password": "wrong one!", "new_password": "newpass123"},
                    client=c)
        self.expect(400, "POST", "/me/password", {"current_password": pw, "new_password": "short"}, client=c)
        self.expect(200, "POST", "/me/password", {"current_password": pw, "new_password": "dave password 2"}, client=c)
        self.assertEqual(Client(self.port).login(addr, pw)[0], 401)
        self.assertEqual(Client(self.port).login(addr, "dave password 2")[0], 200)
        self.expect(200, "POST", "/logout", client=c)
        self.expect(401, "GET", "/session", client=c)

    def test_csrf_refused(self):
        c = Client(self.port)
        c.login(ADMIN, ADMIN_PW)
        self.expect(403, "POST", "/domains", {"name": "csrf1.test"}, client=c, csrf=False)
        self.expect(403, "POST", "/domains", {"name": "csrf2.test"}, client=c, csrf=False,
                    headers={"X-CSRF-Token": "0" * 64})
        self.expect(403, "POST", "/domains", {"name": "csrf3.test"}, client=c,
                    headers={"Origin": "https://evil.example"})
        # A cross-site HTML form can only send form encodings: refused before anything happens.
        got, _, _ = c.api("POST", "/domains", raw=b"name=csrf4.test",
                          headers={"Content-Type": "application/x-www-form-urlencoded"})
        self.assertEqual(got, 415)
        self.expect(403, "DELETE", f"/users/{USER}", client=c, csrf=False)
        names = [d["name"] for d in self.expect(200, "GET", "/domains")]
        for n in ("csrf1.test", "csrf2.test", "csrf3.test", "csrf4.test"):
            self.assertNotIn(n, names)
        self.expect(200, "GET", f"/users/{USER}")

    def test_login_errors_and_shared_throttle(self):
        c = Client(self.port)
        self.assertEqual(c.login(ADMIN, "wrong")[0], 401)
        self.assertEqual(c.login("nobody@example.test", "whatever1")[0], 401)
        self.expect(400, "POST", "/login", {"username": ADMIN}, client=c)
        victim, vpw = "erin@example.test", "erin password 1"
        self.roost.add_user(victim, vpw)
        statuses = [c.login(victim, "bad password")[0] for _ in range(6)]
        self.assertEqual(statuses[:5], [401] * 5)
        self.assertEqual(statuses[5], 429)
        # The throttle is the one every daemon shares: the store holds the per-account record.
        self.assertGreaterEqual(self.roost.query("SELECT failures FROM auth_failures WHERE key = ?",
                                                 ("user:" + victim,))[0][0], 5)
        self.assertEqual(c.login(victim, vpw)[0], 429)

    def test_security_headers_and_cookie(self):
        c = Client(self.port)
        status, _, resp = c.api("POST", "/login", {"username": ADMIN, "password": ADMIN_PW})
        self.assertEqual(status, 200)
        cookie = resp.getheader("Set-Cookie")
        self.assertIn("HttpOnly", cookie)
        self.assertIn("SameSite=Strict", cookie)
        self.assertNotIn("Secure", cookie)  # plain HTTP on loopback
        for path in ("/", "/app.js", "/api/v1/session"):
            _, _, resp = c.request("GET", path)
            csp = resp.getheader("Content-Security-Policy")
            self.assertIn("script-src 'self'", csp)
            self.assertNotIn("unsafe-inline", csp)
            self.assertIn("frame-ancestors 'none'", csp)
            self.assertEqual(resp.getheader("X-Frame-Options"), "DENY")
            self.assertEqual(resp.getheader("X-Content-Type-Options"), "nosniff")
            self.assertEqual(resp.getheader("Referrer-Policy"), "no-referrer")
        status, page, _ = c.request("GET", "/")
        self.assertEqual(status, 200)
        self.assertIn('<script src="/app.js"', page)
        self.assertNotRegex(page, r"<script>|<script [^s]|\son\w+=\"")
        self.assertEqual(c.request("GET", "/../../etc/passwd")[0], 404)
        self.assertEqual(c.request("GET", "/.hidden.js")[0], 404)

    def test_cli_admin_remove_ends_sessions_and_tokens(self):
        self.roost.cli("admin", "add", "gone@example.test", "--password-stdin", input="gone password 1\n")
        c = Client(self.port)
        self.assertEqual(c.login("gone@example.test", "gone password 1")[0], 200)
        token = self.expect(201, "POST", "/tokens", {"name": "gone's script"}, client=c)["token"]
        script = Client(self.port)
        script.token = token
        self.expect(200, "GET", "/domains", client=script)
        self.roost.cli("admin", "remove", "gone@example.test")
        self.expect(401, "GET", "/domains", client=c)
        self.expect(401, "GET", "/domains", client=script)
        self.assertEqual(c.login("gone@example.test", "gone password 1")[0], 401)
        self.assertNotIn("gone@example.test", self.roost.cli("admin", "list").stdout)

    def test_cli_admin_commands(self):
        r = self.roost.cli("admin", "add", ADMIN, "--password-stdin", input="x password 1\n", check=False)
        self.assertNotEqual(r.returncode, 0)
        self.assertIn("already exists", r.stderr)
        self.assertNotEqual(self.roost.cli("admin", "add", "not-an-address", "--password-stdin",
                                           input="x password 1\n", check=False).returncode, 0)
        out = self.roost.cli("admin", "add", "second@example.test").stdout
        self.assertIn("password: ", out)
        generated = out.split("password: ", 1)[1].strip()
        self.assertEqual(Client(self.port).login("second@example.test", generated)[0], 200)
        self.assertIn("second@example.test", self.roost.cli("admin", "list").stdout)
        self.assertEqual(self.roost.count("admins", "WHERE password_hash LIKE '$argon2id$%'"), 2)

    # ----- resources -----
    def test_domains(self):
        self.expect(201, "POST", "/domains", {"name": "Dom1.Test"})
        self.assertIn("dom1.test", [d["name"] for d in self.expect(200, "GET", "/domains")])
        self.expect(409, "POST", "/domains", {"name": "dom1.test"})
        self.expect(400, "POST", "/domains", {"name": "not a domain"})
        self.expect(400, "POST", "/domains", {"name": "<script>alert(1)</script>.test"})
        self.expect(400, "POST", "/domains", {})
        self.expect(400, "POST", "/domains", {"name": 5})
        got, _, _ = self.admin.api("POST", "/domains", raw=b"{not json", headers={"Content-Type": "application/json"})
        self.assertEqual(got, 400)
        self.expect(404, "DELETE", "/domains/unknown.test")
        self.expect(400, "DELETE", "/domains/example.test")  # users still there
        dns = self.expect(200, "GET", "/domains/dom1.test/dns")
        types = {r["purpose"] for r in dns["records"]}
        self.assertTrue({"MX", "SPF", "DMARC", "autoconfig", "autodiscover"} <= types, types)
        self.assertNotIn("DKIM", types)  # no key yet: said in "missing", never an invalid record
        self.assertTrue(dns["missing"] and "DKIM" in dns["missing"][0], dns["missing"])
        self.assertIn("dom1.test. 3600 IN MX 10 mx.example.test.", dns["zone"])
        self.assertIn("v=DMARC1", dns["zone"])
        self.expect(404, "GET", "/domains/unknown.test/dns")
        self.expect(200, "DELETE", "/domains/dom1.test")
        self.assertNotIn("dom1.test", [d["name"] for d in self.expect(200, "GET", "/domains")])
        self.expect(405, "PUT", "/domains", {"name": "x.test"})
        self.expect(404, "GET", "/nothing-here")

    def test_users(self):
        self.expect(201, "POST", "/users", {"address": "Frank@Example.test", "password": "frank pass 1", "quota": "5M"})
        self.expect(409, "POST", "/users", {"address": "frank@example.test", "password": "frank pass 1"})
        self.expect(400, "POST", "/users", {"address": "not-an-address", "password": "frank pass 1"})
        self.expect(400, "POST", "/users", {"address": "<b>x</b>@example.test", "password": "frank pass 1"})
        self.expect(404, "POST", "/users", {"address": "frank@unknown.test", "password": "frank pass 1"})
        self.expect(400, "POST", "/users", {"address": "g@example.test", "password": "short"})
        self.expect(400, "POST", "/users", {"address": "g@example.test", "password": "long enough", "quota": "lots"})
        self.expect(404, "GET", "/users/g@example.test")
        users = {u["address"]: u for u in self.expect(200, "GET", "/users")}
        self.assertEqual(users["frank@example.test"]["quota"], 5 << 20)
        self.assertEqual(users["frank@example.test"]["used"], 0)
        self.assertTrue(users["frank@example.test"]["enabled"])
        self.assertEqual(len(self.expect(200, "GET", "/users?domain=example.test")), len(users))
        self.expect(404, "GET", "/users?domain=unknown.test")
        u = self.expect(200, "GET", "/users/frank@example.test")
        self.assertEqual(len(u["mailboxes"]), 6)
        boxes = self.expect(200, "GET", "/users/frank@example.test/mailboxes")
        self.assertEqual({"INBOX", "Sent", "Drafts", "Trash", "Junk", "Archive"}, {m["name"] for m in boxes})
        self.assertEqual(boxes[0]["messages"], 0)
        self.expect(200, "PUT", "/users/frank@example.test/password", {"password": "frank pass 2"})
        self.expect(400, "PUT", "/users/frank@example.test/password", {"password": "x"})
        self.expect(404, "PUT", "/users/nobody@example.test/password", {"password": "frank pass 2"})
        self.assertEqual(Client(self.port).login("frank@example.test", "frank pass 2")[0], 200)
        self.assertEqual(self.expect(200, "PUT", "/users/frank@example.test/quota", {"quota": "1G"})["quota"], 1 << 30)
        self.assertEqual(self.expect(200, "PUT", "/users/frank@example.test/quota", {"quota": 0})["quota"], 0)
        self.expect(400, "PUT", "/users/frank@example.test/quota", {"quota": -1})
        self.expect(400, "PUT", "/users/frank@example.test/quota", {})
        self.expect(400, "PUT", "/users/frank@example.test/enabled", {"enabled": "no"})
        self.assertFalse(self.expect(200, "PUT", "/users/frank@example.test/enabled", {"enabled": False})["enabled"])
        self.assertEqual(Client(self.port).login("frank@example.test", "frank pass 2")[0], 401)
        self.assertTrue(self.expect(200, "PUT", "/users/frank@example.test/enabled", {"enabled": True})["enabled"])
        self.expect(200, "DELETE", "/users/frank@example.test")
        self.expect(404, "DELETE", "/users/frank@example.test")
        self.assertEqual(self.roost.count("accounts", "WHERE address = 'frank@example.test'"), 0)

    def test_aliases(self):
        self.expect(201, "POST", "/aliases", {"source": "sales@example.test", "targets": [USER, "x@remote.test"]})
        self.expect(201, "POST", "/aliases", {"source": "@example.test", "targets": [USER]})
        self.expect(409, "POST", "/aliases", {"source": "sales@example.test", "targets": [USER]})
        self.expect(409, "POST", "/aliases", {"source": USER, "targets": ["x@remote.test"]})
        self.expect(400, "POST", "/aliases", {"source": "bad", "targets": [USER]})
        self.expect(400, "POST", "/aliases", {"source": "b@example.test", "targets": ["<script>"]})
        self.expect(400, "POST", "/aliases", {"source": "b@example.test", "targets": []})
        self.expect(404, "POST", "/aliases", {"source": "b@unknown.test", "targets": [USER]})
        self.assertEqual(self.roost.count("aliases", "WHERE source = 'b@example.test'"), 0)
        aliases = {a["source"]: a for a in self.expect(200, "GET", "/aliases")}
        self.assertEqual(sorted(aliases["sales@example.test"]["targets"]), sorted([USER, "x@remote.test"]))
        self.assertTrue(aliases["@example.test"]["catch_all"])
        self.expect(404, "DELETE", "/aliases/sales@example.test?target=nobody@example.test")
        self.expect(200, "DELETE", "/aliases/sales@example.test?target=x@remote.test")
        self.expect(200, "DELETE", "/aliases/sales@example.test")
        self.expect(200, "DELETE", "/aliases/@example.test")
        self.expect(404, "DELETE", "/aliases/sales@example.test")
        self.assertEqual(self.expect(200, "GET", "/aliases?domain=example.test"), [])

    def test_status_queue_deliveries(self):
        s = self.expect(200, "GET", "/status")
        for k in ("domains", "users", "aliases", "messages", "queue", "message_bytes", "database_bytes"):
            self.assertIsInstance(s[k], int, k)
        self.assertGreater(s["database_bytes"], 0)
        self.assertGreaterEqual(s["users"], 1)
        self.assertIsInstance(self.expect(200, "GET", "/queue"), list)
        self.assertIsInstance(self.expect(200, "GET", "/deliveries?limit=10"), list)
        self.expect(400, "GET", "/deliveries?limit=0")
        self.expect(400, "GET", "/deliveries?limit=abc")
        self.expect(400, "GET", "/deliveries?limit=5x")
        self.expect(400, "GET", "/deliveries?status=bogus")
        self.expect(400, "GET", "/deliveries?q=" + "x" * 201)

    # ----- outbound queue -----
    def submit(self, to, subject):
        """Sends a message as USER through submission (AUTH on loopback) and returns its queue id."""
        before = {e["id"] for e in self.expect(200, "GET", "/queue")}
        with smtplib.SMTP(rf.HOST, self.roost.ports["submission"], timeout=30) as s:
            s.login(USER, USER_PW)
            s.sendmail(USER, [to], f"From: {USER}\r\nTo: {to}\r\nSubject: {subject}\r\n\r\nHello.\r\n".encode())
        new = [e["id"] for e in self.expect(200, "GET", "/queue") if e["id"] not in before]
        self.assertEqual(len(new), 1)
        return new[0]

    def attempts(self, qid):
        return self.expect(200, "GET", f"/queue/{qid}")["attempts"]

    def test_queue_show_retry_delete(self):
        qid = self.submit("bob@remote.test", "Queue <b>test</b>")
        e = self.expect(200, "GET", f"/queue/{qid}")
        self.assertEqual(e["sender"], USER)
        self.assertEqual(e["subject"], "Queue <b>test</b>")
        self.assertEqual([r["address"] for r in e["recipients"]], ["bob@remote.test"])
        headers = {h["name"]: h["value"] for h in e["headers"]}
        self.assertEqual(headers["Subject"], "Queue <b>test</b>")
        self.assertEqual(headers["To"], "bob@remote.test")
        self.assertIn("Received", headers)
        # The DNS resolver is a dead port: the first attempt fails temporarily and the entry waits.
        self.assertTrue(self.roost.wait_until(lambda: self.attempts(qid) >= 1, 30), self.smtpd.log()[-2000:])
        e = self.expect(200, "GET", f"/queue/{qid}")
        self.assertEqual(e["recipients"][0]["status"], "deferred")
        self.assertGreater(e["next_attempt"], time.time() + 60)
        # The same entry as `roost queue show` prints it (the same code).
        shown = self.roost.cli("queue", "show", str(qid)).stdout
        self.assertIn("recipient: <bob@remote.test> deferred", shown)
        self.assertIn("\nSubject: Queue <b>test</b>\n", shown)

        # Unknown and malformed ids; CSRF like every state-changing route.
        for method, path in (("GET", "/queue/999999"), ("DELETE", "/queue/999999"), ("POST", "/queue/999999/retry")):
            self.expect(404, method, path)
        for method, path in (("GET", "/queue/abc"), ("DELETE", "/queue/0"), ("POST", "/queue/-1/retry")):
            self.expect(400, method, path)
        self.expect(403, "POST", f"/queue/{qid}/retry", csrf=False)
        self.expect(403, "DELETE", f"/queue/{qid}", csrf=False)
        self.expect(403, "POST", "/queue/flush", csrf=False)
        self.assertEqual(self.attempts(qid), 1)

        # Retry: due now, and the running roost-smtpd hears of it and tries again at once.
        self.expect(200, "POST", f"/queue/{qid}/retry")
        self.assertTrue(self.roost.wait_until(lambda: self.attempts(qid) >= 2, 30), self.smtpd.log()[-2000:])
        self.expect(200, "POST", "/queue/flush")
        self.assertTrue(self.roost.wait_until(lambda: self.attempts(qid) >= 3, 30), self.smtpd.log()[-2000:])

        self.expect(200, "DELETE", f"/queue/{qid}")
        self.expect(404, "GET", f"/queue/{qid}")
        self.expect(404, "DELETE", f"/queue/{qid}")
        self.assertNotIn(qid, [e["id"] for e in self.expect(200, "GET", "/queue")])
        self.assertEqual(self.roost.count("queue", "WHERE id = ?", (qid,)), 0)
        # The log kept what happened to it.
        lines = self.expect(200, "GET", "/deliveries?q=bob@remote.test")
        self.assertIn("queued", [l["status"] for l in lines])
        deferred = [l for l in lines if l["status"] == "deferred"]
        self.assertGreaterEqual(len(deferred), 3)
        self.assertEqual(deferred[0]["subject"], "Queue <b>test</b>")

    # ----- DKIM -----
    def test_dkim_generate_rotate_remove(self):
        self.expect(201, "POST", "/domains", {"name": "dkim.test"})
        self.addCleanup(lambda: self.admin.api("DELETE", "/domains/dkim.test"))
        dns = self.expect(200, "GET", "/domains/dkim.test/dns")
        # No key: no DKIM record (never an invalid one), a note in "missing" and a zone comment instead.
        self.assertEqual([r for r in dns["records"] if r["purpose"] == "DKIM"], [])
        self.assertNotIn("_domainkey", dns["zone"])
        self.assertEqual(len(dns["missing"]), 1)
        self.assertIn("no signing key for dkim.test", dns["missing"][0])
        self.assertIn("; DKIM: no signing key", dns["zone"])
        self.assertEqual(dns["dkim_keys"], [])

        self.expect(403, "POST", "/domains/dkim.test/dkim", {}, csrf=False)
        self.expect(404, "POST", "/domains/unknown.test/dkim", {})
        self.expect(400, "POST", "/domains/dkim.test/dkim", {"algorithm": "dsa"})
        self.expect(400, "POST", "/domains/dkim.test/dkim", {"selector": "bad selector"})
        self.expect(400, "POST", "/domains/dkim.test/dkim", {"selector": 5})
        self.assertEqual(self.roost.count("dkim_keys", "WHERE domain = 'dkim.test'"), 0)

        k = self.expect(201, "POST", "/domains/dkim.test/dkim", {})
        self.assertEqual((k["selector"], k["algorithm"]), ("roost", "rsa-sha256"))
        rec = k["record"]
        self.assertEqual((rec["purpose"], rec["type"], rec["name"]), ("DKIM", "TXT", "roost._domainkey.dkim.test."))
        self.assertTrue(rec["zone_line"].startswith("roost._domainkey.dkim.test. 3600 IN TXT \"v=DKIM1; k=rsa; p="),
                        rec["zone_line"])
        # The DNS helper now shows that key, and nothing is missing.
        dns = self.expect(200, "GET", "/domains/dkim.test/dns")
        self.assertEqual(dns["missing"], [])
        self.assertNotIn("; DKIM", dns["zone"])
        self.assertIn(rec["zone_line"], dns["zone"])
        self.assertEqual([x["selector"] for x in dns["dkim_keys"]], ["roost"])
        # ... and so does `roost dkim list`: the same stored key, the same published value.
        value = "".join(re.findall(r'"([^"]*)"', rec["value"]))
        listed = self.roost.cli("dkim", "list", "dkim.test").stdout
        self.assertEqual("".join(re.findall(r'"([^"]*)"', listed)), value)
        self.assertEqual(dns["dkim_keys"][0]["value"], value)

        # Rotation: a second key gets a dated selector; both sign until the old one is removed.
        k2 = self.expect(201, "POST", "/domains/dkim.test/dkim", {"algorithm": "rsa"})
        self.assertRegex(k2["selector"], r"^roost-\d{8}$")
        ed = self.expect(201, "POST", "/domains/dkim.test/dkim", {"algorithm": "ed25519"})
        self.assertEqual(ed["selector"], "roosted")
        self.assertIn("k=ed25519", ed["record"]["value"])
        self.expect(409, "POST", "/domains/dkim.test/dkim", {"selector": "roost"})
        self.assertEqual(len(self.expect(200, "GET", "/domains/dkim.test/dns")["dkim_keys"]), 3)

        self.expect(403, "DELETE", "/domains/dkim.test/dkim/roost", csrf=False)
        self.expect(200, "DELETE", "/domains/dkim.test/dkim/roost")
        self.expect(404, "DELETE", "/domains/dkim.test/dkim/roost")
        self.expect(404, "DELETE", "/domains/unknown.test/dkim/roost")
        left = [x["selector"] for x in self.expect(200, "GET", "/domains/dkim.test/dns")["dkim_keys"]]
        self.assertEqual(sorted(left), sorted([k2["selector"], "roosted"]))
        for sel in left:
            self.expect(200, "DELETE", f"/domains/dkim.test/dkim/{sel}")

    # ----- delivery log, rejections, traffic -----
    def test_rejections_and_deliveries_in_the_log_and_counts(self):
        before = self.expect(200, "GET", "/status")["today"]
        port = self.roost.ports["smtp"]
        with smtplib.SMTP(rf.HOST, port, timeout=30) as s:
            s.ehlo("client.remote.test")
            s.mail("spammer@bad.test")
            self.assertEqual(s.rcpt("no-such-user@example.test")[0], 550)
            self.assertEqual(s.rcpt("victim@elsewhere.test")[0], 554)  # no relaying for strangers
            self.assertEqual(s.rcpt(USER)[0], 250)
            # A bare LF inside the data (SMTP smuggling) refuses the message.
            code, _ = s.data(b"Subject: smuggled\r\n\r\nline\n.\nMAIL FROM:<x@y>\r\n")
            self.assertEqual(code // 100, 5)
            s.rset()
            s.mail("friend@remote.test")
            s.rcpt(USER)
            s.data(b"Subject: =?UTF-8?Q?Gr=C3=BC=C3=9Fe?= from a friend\r\n\r\nHi.\r\n")
        rejected = self.expect(200, "GET", "/deliveries?status=rejected&limit=1000")
        mine = [l for l in rejected if l["sender"] == "spammer@bad.test"]
        self.assertEqual(len(mine), 3, rejected)
        by_rcpt = {l["recipient"]: l for l in mine}
        self.assertEqual(by_rcpt["no-such-user@example.test"]["detail"], "550 5.1.1 Mailbox unavailable")
        self.assertEqual(by_rcpt["victim@elsewhere.test"]["detail"], "554 5.7.1 Relay access denied")
        smuggled = by_rcpt[USER]
        self.assertEqual(smuggled["subject"], "smuggled")
        self.assertTrue(smuggled["detail"].startswith("5"), smuggled)
        for l in mine:
            self.assertEqual((l["direction"], l["status"], l["client"]), ("inbound", "rejected", "127.0.0.1"))
        # Search by address, by subject, by status.
        self.assertEqual([l["recipient"] for l in self.expect(200, "GET", "/deliveries?q=NO-SUCH-USER")],
                         ["no-such-user@example.test"])
        got = self.expect(200, "GET", "/deliveries?q=gr%C3%BC%C3%9Fe&status=delivered")
        self.assertEqual([(l["sender"], l["recipient"], l["subject"]) for l in got],
                         [("friend@remote.test", USER, "Grüße from a friend")])
        self.assertEqual(self.expect(200, "GET", "/deliveries?q=gr%C3%BC%C3%9Fe&status=rejected"), [])
        # Counted today and in the current hour of both series.
        s = self.expect(200, "GET", "/status")
        self.assertGreaterEqual(s["today"]["rejected"] - before["rejected"], 3)
        self.assertGreaterEqual(s["today"]["received"] - before["received"], 1)
        for series, n in (("day", 24), ("week", 168)):
            hours = s["traffic"][series]
            self.assertEqual(len(hours), n)
            self.assertEqual([h["hour"] for h in hours], list(range(hours[0]["hour"], hours[-1]["hour"] + 1, 3600)))
            self.assertLessEqual(hours[-1]["hour"], s["time"])
            self.assertGreater(hours[-1]["hour"] + 3600, s["time"])
            self.assertGreaterEqual(hours[-1]["rejected"], 3)
            self.assertGreaterEqual(hours[-1]["received"], 1)

    # ----- daemons -----
    def daemon_state(self, name):
        return next(d for d in self.expect(200, "GET", "/status")["daemons"] if d["name"] == name)

    def test_daemon_state_uptime_and_connections(self):
        names = [d["name"] for d in self.expect(200, "GET", "/status")["daemons"]]
        self.assertEqual(names, ["smtpd", "imapd", "pop3d", "admin"])
        admin = self.daemon_state("admin")
        self.assertTrue(admin["running"])
        self.assertEqual(admin["pid"], self.daemon_pid("admin"))
        self.assertGreaterEqual(admin["uptime"], 0)
        self.assertGreaterEqual(admin["connections"], 0)
        smtpd = self.daemon_state("smtpd")
        self.assertTrue(smtpd["running"])
        self.assertEqual(smtpd["pid"], self.smtpd.proc.pid)
        self.assertAlmostEqual(smtpd["started"], time.time() - smtpd["uptime"], delta=5)
        # Open connections are published within a second or two.
        idle = [socket.create_connection((rf.HOST, self.roost.ports["smtp"])) for _ in range(3)]
        try:
            self.assertTrue(self.roost.wait_until(lambda: self.daemon_state("smtpd")["connections"] >= 3, 10))
        finally:
            for c in idle:
                c.close()
        self.assertTrue(self.roost.wait_until(lambda: self.daemon_state("smtpd")["connections"] == 0, 10))
        # Never started: down.
        self.assertEqual(self.daemon_state("pop3d"), {"name": "pop3d", "running": False})
        # Stopped cleanly, and killed outright: down either way.
        imapd = self.roost.start("imapd")
        self.assertTrue(self.daemon_state("imapd")["running"])
        self.assertEqual(self.daemon_state("imapd")["pid"], imapd.proc.pid)
        imapd.proc.send_signal(signal.SIGKILL)
        imapd.proc.wait()
        self.roost.daemons.remove(imapd)
        self.assertEqual(self.daemon_state("imapd"), {"name": "imapd", "running": False})
        pop3d = self.roost.start("pop3d")
        self.assertTrue(self.daemon_state("pop3d")["running"])
        pop3d.stop()
        self.assertFalse(self.daemon_state("pop3d")["running"])
        self.assertFalse(os.path.exists(os.path.join(self.roost.data_dir, "run", "pop3d.status")))

    def daemon_pid(self, name):
        return next(d.proc.pid for d in self.roost.daemons if d.name == name)

    def test_api_tokens(self):
        t = self.expect(201, "POST", "/tokens", {"name": "backup <script>alert(1)</script>"})
        self.assertTrue(t["token"].startswith("roost_"))
        self.expect(400, "POST", "/tokens", {"name": ""})
        listed = self.expect(200, "GET", "/tokens")
        self.assertIn(t["id"], [x["id"] for x in listed])
        self.assertNotIn("token", listed[0])
        self.assertEqual(self.roost.count("api_tokens", "WHERE token_digest = ?", (t["token"],)), 0)
        script = Client(self.port)
        script.token = t["token"]
        self.expect(200, "GET", "/domains", client=script)
        self.expect(201, "POST", "/domains", {"name": "bytoken.test"}, client=script)  # no CSRF with a token
        self.expect(200, "DELETE", "/domains/bytoken.test", client=script)
        self.expect(400, "DELETE", "/tokens/abc")
        self.expect(200, "DELETE", f"/tokens/{t['id']}")
        self.expect(404, "DELETE", f"/tokens/{t['id']}")
        self.expect(401, "GET", "/domains", client=script)

    # ----- autoconfiguration -----
    def test_autoconfig_documents(self):
        c = Client(self.port)
        imap_port = self.roost.ports["imaps"]
        for path in ("/.well-known/autoconfig/mail/config-v1.1.xml?emailaddress=a%40example.test",
                     "/mail/config-v1.1.xml?emailaddress=a%40example.test"):
            status, xml, _ = c.request("GET", path)
            self.assertEqual(status, 200)
            self.assertIn("<clientConfig", xml)
            self.assertIn("<domain>example.test</domain>", xml)
            self.assertIn(f"<port>{imap_port}</port>", xml)
            self.assertIn(f"<port>{self.roost.ports['submissions']}</port>", xml)
        body = ("<?xml version=\"1.0\"?><Autodiscover><Request><EMailAddress>a@example.test</EMailAddress>"
                "</Request></Autodiscover>")
        status, xml, _ = c.request("POST", "/autodiscover/autodiscover.xml", raw=body.encode(),
                                   headers={"Content-Type": "text/xml"})
        self.assertEqual(status, 200)
        self.assertIn("<LoginName>a@example.test</LoginName>", xml)
        self.assertIn(f"<Port>{imap_port}</Port>", xml)
        status, plist, resp = c.request("GET", "/apple/mail.mobileconfig?emailaddress=a%40example.test")
        self.assertEqual(status, 200)
        self.assertEqual(resp.getheader("Content-Type"), "application/x-apple-aspen-config")
        self.assertIn("com.apple.mail.managed", plist)
        self.assertIn(f"<integer>{imap_port}</integer>", plist)
        self.assertEqual(c.request("GET", "/apple/mail.mobileconfig?emailaddress=%3Cscript%3E")[0], 400)


class AdminTlsTest(unittest.TestCase):
    """HTTPS listener: Secure __Host- cookie and HSTS; plain HTTP refused when plaintext_auth = never."""

    def test_https_cookie_and_plaintext_policy(self):
        tls_port = rf.free_ports(1)[0]
        with rf.Roost(settings={"admin": {"listen_tls": [f"{rf.HOST}:{tls_port}"], "plaintext_auth": "never"}}) as r:
            r.add_domain("example.test")
            r.cli("admin", "add", ADMIN, "--password-stdin", input=ADMIN_PW + "\n")
            r.start("admin")
            self.assertTrue(rf.wait_for_port(tls_port))
            plain = Client(r.ports["admin"])
            self.assertEqual(plain.login(ADMIN, ADMIN_PW)[0], 403)
            c = Client(tls_port, tls=True)
            status, _, resp = c.api("POST", "/login", {"username": ADMIN, "password": ADMIN_PW})
            self.assertEqual(status, 200)
            cookie = resp.getheader("Set-Cookie")
            self.assertTrue(cookie.startswith("__Host-roost_session="), cookie)
            self.assertIn("Secure", cookie)
            self.assertIn("HttpOnly", cookie)
            self.assertIn("max-age", resp.getheader("Strict-Transport-Security"))
            c.csrf = None
            status, data, _ = c.api("GET", "/session")
            self.assertEqual(status, 200)
            c.csrf = data["csrf"]
            self.assertEqual(c.api("POST", "/domains", {"name": "tls.test"})[0], 201)


if __name__ == "__main__":
    unittest.main(argv=rf.parse_args())
