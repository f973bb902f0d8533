#!/usr/bin/env python3
"""roost-admin's JSON API against the running daemon: every route (taken from admin-ui/api.cpp's route
table, which must equal docs/api.md), authentication on every route, CSRF refusal, bad input refused without
side effects, API tokens, self-service, the shared login throttle, security headers, HTTPS cookies and the
mail-client autoconfiguration documents.

Run: python3 test_admin_api.py --roost PATH/roost --admin PATH/roost-admin [unittest args]
"""

import http.client
import json
import os
import re
import ssl
import sys
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
        cls.roost = rf.Roost(settings={"auth": {"lockout_after": 5}})
        cls.roost.add_domain("example.test")
        cls.roost.cli("admin", "add", ADMIN, "--password-stdin", input=ADMIN_PW + "\n")
        cls.roost.add_user(USER, USER_PW, quota="10M")
        cls.daemon = cls.roost.start("admin")
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
        self.assertGreaterEqual(len(source_routes()), 26)

    def test_every_route_needs_authentication(self):
        anonymous = Client(self.port)
        for method, pattern in source_routes():
            if pattern == "/login":
                continue
            path = pattern.replace("{name}", "example.test").replace("{address}", USER)
            path = path.replace("{source}", "x@example.test").replace("{id}", "1")
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
        self.assertTrue({"MX", "SPF", "DKIM", "DMARC", "autoconfig", "autodiscover"} <= types, types)
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
