#!/usr/bin/env python3
"""The docker deployment for real (issue 8): builds the image from docker/Dockerfile with Podman, runs
docker/compose.yaml with podman-compose on alternative ports of 127.0.0.1, and uses it like a mail client:

1. The base images. No container registry is reachable, so `debootstrap` makes a minimal bookworm (mirror read
   from /etc/apt/sources.list(.d) at run time) and `podman import` tags it debian:bookworm and
   debian:bookworm-slim (Podman files them under localhost/, where the Dockerfile's ordinary FROM lines find
   them without a registry). The tarballs are cached in --cache (/var/cache/roost-test) and the images stay in
   Podman's store, so later runs reuse the build layers.
2. `podman build` (host network for apt-get, the ulimits these machines need, --build-arg BUILD_JOBS).
3. `podman-compose up -d` (every podman command reads a generated containers.conf through CONTAINERS_CONF:
   default_ulimits, and the runc runtime, as crun refuses hybrid cgroup hosts); checks that the
   daemons run unprivileged with only cap_net_bind_service, that the HEALTHCHECK passes, that the entrypoint
   added ROOST_FIRST_DOMAIN and told how to create the first administrator.
4. Administrator and user created with the CLI inside the containers (`podman exec`); the admin API (plain
   HTTP through the loopback-published port) shows the domain's DNS records.
5. Mail: one message over SMTP (port 25), one over submission (STARTTLS + AUTH); read over IMAP (STARTTLS);
   the first downloaded and deleted over POP3 (implicit TLS), which IMAP then sees.
6. The online backup of docs/docker.md (sqlite3 .backup in the admin container, podman cp) holds the account.
7. `podman-compose down` + `up -d` (new containers, same named volume): the account, the remaining message, the
   deletion, the administrator and the TLS certificate all survived.
8. Everything torn down (also on failure, and leftovers of killed runs at the start); the image stays cached.

Needs root (rootful Podman): exits 77 (CTest SKIP_RETURN_CODE) otherwise.

Run: python3 test_container.py --source REPO [--cache DIR] [--build-jobs N] [--keep]
"""

import argparse
import contextlib
import fcntl
import glob
import hashlib
import http.client
import imaplib
import json
import os
import poplib
import shutil
import smtplib
import socket
import sqlite3
import ssl
import subprocess
import sys
import tempfile
import time
import uuid

SKIP = 77
BASE_TAGS = ("debian:bookworm", "debian:bookworm-slim")
IMAGE = "localhost/roost-test:latest"
BUILD_IMAGE = "localhost/roost-test-build:latest"  # the Dockerfile's build stage, kept for its layer cache
PROJECT_PREFIX = "roostct"
ULIMITS = ("nofile=20000:20000", "nproc=4096:4096")
HOSTNAME = "mail.example.test"
DOMAIN = "example.test"
USER, USER_PASSWORD = "alice@example.test", "container test 1"
ADMIN, ADMIN_PASSWORD = "admin@example.test", "container admin 1"
UID = 1025  # the image's roost user (docker/Dockerfile)
CAP_NET_BIND_SERVICE = 10  # bit number in /proc/PID/status CapEff
# Published container port -> variable of docker/compose.yaml that sets the host port.
PORT_VARS = {25: "PORT_SMTP", 587: "PORT_SUBMISSION", 465: "PORT_SUBMISSIONS", 143: "PORT_IMAP",
             993: "PORT_IMAPS", 110: "PORT_POP3", 995: "PORT_POP3S", 8080: "PORT_ADMIN"}
SERVICES = ("smtpd", "imapd", "pop3d", "admin")


class Failure(Exception):
    pass


def check(cond, what):
    if not cond:
        raise Failure(what)


class Log:
    """Steps with their duration; command output goes to a file whose tail is printed on failure."""

    def __init__(self, path):
        self.path = path
        self.start = time.monotonic()
        self.steps = []

    def step(self, name):
        log = self

        class Step:
            def __enter__(self):
                self.t = time.monotonic()
                print(f"[{time.monotonic() - log.start:7.1f}s] {name} ...", flush=True)

            def __exit__(self, *exc):
                d = time.monotonic() - self.t
                log.steps.append((name, d))
                print(f"[{time.monotonic() - log.start:7.1f}s] {name}: {'done' if exc[0] is None else 'FAILED'} "
                      f"({d:.1f}s)", flush=True)

        return Step()

    def run(self, cmd, check_rc=True, input=None, env=None, timeout=600):
        """Runs cmd with its output appended to the log file; returns CompletedProcess (text)."""
        with open(self.path, "a") as f:
            f.write(f"\n$ {' '.join(cmd)}\n")
        p = subprocess.run(cmd, input=input, capture_output=True, text=True, env=env, timeout=timeout)
        with open(self.path, "a") as f:
            f.write(p.stdout + p.stderr + f"[exit {p.returncode}]\n")
        if check_rc and p.returncode != 0:
            raise Failure(f"{' '.join(cmd)} failed (exit {p.returncode}):\n{p.stdout[-3000:]}{p.stderr[-3000:]}")
        return p

    def run_streamed(self, cmd, env=None, timeout=3600):
        """A long command (debootstrap, podman build) writing straight into the log file."""
        with open(self.path, "a") as f:
            f.write(f"\n$ {' '.join(cmd)}\n")
            f.flush()
            p = subprocess.run(cmd, stdout=f, stderr=subprocess.STDOUT, env=env, timeout=timeout)
        if p.returncode != 0:
            raise Failure(f"{' '.join(cmd)} failed (exit {p.returncode}); see the log tail below")

    def tail(self, lines=80):
        try:
            with open(self.path, errors="replace") as f:
                return "".join(f.readlines()[-lines:])
        except OSError:
            return ""


# ----- base images: debootstrap + podman import, cached -----

def debian_sources():
    """[(uri, suite, components)] of the host's bookworm entries, from one-line and deb822 apt sources."""
    entries = []
    one_line = ["/etc/apt/sources.list"] + sorted(glob.glob("/etc/apt/sources.list.d/*.list"))
    for path in one_line:
        try:
            lines = open(path).read().splitlines()
        except OSError:
            continue
        for line in lines:
            words = line.split("#", 1)[0].split()
            if not words or words[0] != "deb":
                continue
            words = words[1:]
            if words and words[0].startswith("["):  # [option=value ...]
                while words and not words[0].endswith("]"):
                    words = words[1:]
                words = words[1:]
            if len(words) >= 3:
                entries.append((words[0], words[1], words[2:]))
    for path in sorted(glob.glob("/etc/apt/sources.list.d/*.sources")):
        try:
            text = open(path).read()
        except OSError:
            continue
        for stanza in text.split("\n\n"):
            fields, key = {}, None
            for line in stanza.splitlines():
                if line.startswith("#") or not line.strip():
                    continue
                if line[0] in " \t" and key:
                    fields[key] += " " + line.strip()
                elif ":" in line:
                    key, value = line.split(":", 1)
                    key = key.strip().lower()
                    fields[key] = value.strip()
            if "deb" not in fields.get("types", "").split() or fields.get("enabled", "yes").lower() == "no":
                continue
            for uri in fields.get("uris", "").split():
                for suite in fields.get("suites", "").split():
                    entries.append((uri, suite, fields.get("components", "main").split()))
    return [(u.rstrip("/"), s, c) for u, s, c in entries
            if s.split("-")[0] == "bookworm" and u.split(":")[0] in ("http", "https")]


def make_base_tarballs(cache, log):
    """debootstrap a minimal bookworm; writes debian-bookworm.tar and debian-bookworm-slim.tar into cache."""
    sources = debian_sources()
    mirrors = [u for u, s, _ in sources if s == "bookworm"]
    check(mirrors, "no Debian bookworm entry in /etc/apt/sources.list(.d): debootstrap needs a mirror")
    root = os.path.join(cache, "rootfs.tmp")
    shutil.rmtree(root, ignore_errors=True)
    log.run_streamed(["debootstrap", "--variant=minbase", "bookworm", root, mirrors[0]], timeout=1800)
    # The image's apt sources: the host's bookworm, bookworm-updates and bookworm-security entries.
    with open(os.path.join(root, "etc/apt/sources.list"), "w") as f:
        for uri, suite, components in sources:
            f.write(f"deb {uri} {suite} {' '.join(components)}\n")
    log.run(["chroot", root, "apt-get", "clean"])
    for d in ("var/lib/apt/lists", "var/cache/apt", "var/log/apt", "tmp"):
        for p in glob.glob(os.path.join(root, d, "*")):
            shutil.rmtree(p) if os.path.isdir(p) and not os.path.islink(p) else os.unlink(p)

    def tar(name):
        tmp = os.path.join(cache, name + ".tmp")
        log.run(["tar", "--numeric-owner", "--xattrs", "--xattrs-include=*", "--exclude=./dev/*",
                 "--exclude=./proc/*", "--exclude=./sys/*", "-C", root, "-cf", tmp, "."])
        os.replace(tmp, os.path.join(cache, name))

    tar("debian-bookworm.tar")
    # Like Debian's official -slim image: no documentation, manual pages or translations.
    with open(os.path.join(root, "etc/dpkg/dpkg.cfg.d/docker"), "w") as f:
        f.write("path-exclude /usr/share/doc/*\npath-include /usr/share/doc/*/copyright\n"
                "path-exclude /usr/share/man/*\npath-exclude /usr/share/groff/*\npath-exclude /usr/share/info/*\n"
                "path-exclude /usr/share/lintian/*\npath-exclude /usr/share/locale/*\n")
    for d in ("usr/share/man", "usr/share/groff", "usr/share/info", "usr/share/lintian", "usr/share/locale"):
        for p in glob.glob(os.path.join(root, d, "*")):
            shutil.rmtree(p) if os.path.isdir(p) and not os.path.islink(p) else os.unlink(p)
    for dirpath, _, files in os.walk(os.path.join(root, "usr/share/doc")):
        for name in files:
            if name != "copyright":
                os.unlink(os.path.join(dirpath, name))
    tar("debian-bookworm-slim.tar")
    shutil.rmtree(root)


def ensure_base_images(cache, log):
    """Returns how the base images were obtained: 'cached images', 'imported' or 'debootstrapped'."""
    os.makedirs(cache, exist_ok=True)
    with open(os.path.join(cache, "lock"), "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # one run at a time builds the cache
        missing = [t for t in BASE_TAGS if log.run(["podman", "image", "exists", t], check_rc=False).returncode]
        if not missing:
            return "cached images"
        how = "imported"
        tars = {BASE_TAGS[0]: "debian-bookworm.tar", BASE_TAGS[1]: "debian-bookworm-slim.tar"}
        if not all(os.path.exists(os.path.join(cache, tars[t])) for t in missing):
            make_base_tarballs(cache, log)
            how = "debootstrapped"
        for t in missing:
            log.run(["podman", "import", "--change", "ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
                     "--change", 'CMD ["bash"]', os.path.join(cache, tars[t]), t])
        return how


# ----- the compose stack -----

def free_ports(n):
    socks = []
    try:
        for _ in range(n):
            s = socket.socket()
            s.bind(("127.0.0.1", 0))
            socks.append(s)
        return [s.getsockname()[1] for s in socks]
    finally:
        for s in socks:
            s.close()


def remove_project(log, project):
    """Containers, volumes and networks of one compose project, whatever state it is in."""
    label = f"label=io.podman.compose.project={project}"
    ids = log.run(["podman", "ps", "-aq", "--filter", label], check_rc=False).stdout.split()
    if ids:
        log.run(["podman", "rm", "-f", "-t", "2"] + ids, check_rc=False)
    vols = log.run(["podman", "volume", "ls", "-q", "--filter", label], check_rc=False).stdout.split()
    if vols:
        log.run(["podman", "volume", "rm", "-f"] + vols, check_rc=False)
    nets = log.run(["podman", "network", "ls", "-q", "--filter", label], check_rc=False).stdout.split()
    for n in nets + [f"{project}_default"]:
        log.run(["podman", "network", "rm", "-f", n], check_rc=False)


def remove_stale_projects(log):
    """Projects of earlier runs that were killed before their cleanup (the run's pid is in the name)."""
    out = log.run(["podman", "ps", "-a", "--format", '{{index .Labels "io.podman.compose.project"}}'],
                  check_rc=False).stdout.split()
    out += log.run(["podman", "volume", "ls", "--format", "{{.Name}}"], check_rc=False).stdout.split()
    for name in set(out):
        name = name.split("_")[0]
        pid = name[len(PROJECT_PREFIX):]
        if name.startswith(PROJECT_PREFIX) and pid.isdigit() and not os.path.exists(f"/proc/{pid}"):
            remove_project(log, name)


class Stack:
    def __init__(self, source, tmp, log):
        self.log = log
        self.project = f"{PROJECT_PREFIX}{os.getpid()}"
        # A copy of compose.yaml in an empty folder: podman-compose 1.0.3 lets a .env next to the file
        # override the environment, and a developer's own docker/.env must not change this test.
        self.compose_file = os.path.join(tmp, "compose.yaml")
        shutil.copy(os.path.join(source, "docker", "compose.yaml"), self.compose_file)
        self.ports = dict(zip(PORT_VARS, free_ports(len(PORT_VARS))))
        self.env = dict(os.environ, ROOST_IMAGE=IMAGE, ROOST_HOSTNAME=HOSTNAME,
                        ROOST_FIRST_DOMAIN=DOMAIN, ROOST_LOG_LEVEL="info", PUBLISH_ADDRESS="127.0.0.1",
                        ADMIN_ADDRESS="127.0.0.1")
        for container_port, var in PORT_VARS.items():
            self.env[var] = str(self.ports[container_port])

    def container(self, service):
        return f"{self.project}_{service}_1"  # podman-compose's naming

    def compose(self, *args):
        return self.log.run(["podman-compose", "-f", self.compose_file, "-p", self.project, *args], env=self.env)

    def podman(self, *args, **kw):
        return self.log.run(["podman", *args], env=self.env, **kw)

    def exec(self, service, *cmd, input=None):
        return self.podman("exec", "-i", self.container(service), *cmd, input=input).stdout

    def up(self):
        self.compose("up", "-d")
        deadline = time.monotonic() + 90
        for service in SERVICES:
            while True:
                state = self.podman("inspect", "--format", "{{.State.Status}}", self.container(service),
                                    check_rc=False).stdout.strip()
                if state == "running":
                    break
                if time.monotonic() > deadline or state in ("exited", "dead", ""):
                    logs = self.podman("logs", self.container(service), check_rc=False)
                    raise Failure(f"{service} is '{state}':\n{logs.stdout}{logs.stderr}")
                time.sleep(0.5)
        self.wait_ready()

    def wait_ready(self):
        """Every published port answers with its greeting (or HTTP for the admin panel)."""
        deadline = time.monotonic() + 90
        expect = {25: b"220 ", 587: b"220 ", 143: b"* OK", 110: b"+OK"}
        for port, greeting in expect.items():
            while True:
                try:
                    with socket.create_connection(("127.0.0.1", self.ports[port]), timeout=5) as s:
                        if s.recv(200).startswith(greeting):
                            break
                except OSError:
                    pass
                check(time.monotonic() < deadline, f"no {greeting!r} greeting on published port for {port}")
                time.sleep(0.5)
        while True:
            try:
                status, _, _ = http_request(self.ports[8080], "GET", "/")
                if status == 200:
                    break
            except OSError:
                pass
            check(time.monotonic() < deadline, "the admin panel does not answer on its published port")
            time.sleep(0.5)

    def down(self):
        self.compose("down")

    def remove(self):
        remove_project(self.log, self.project)


# ----- clients -----

def tls_context():
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE  # the stack's self-signed certificate
    return ctx


def http_request(port, method, path, body=None, headers=None):
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        hdrs = dict(headers or {})
        data = None
        if body is not None:
            data = json.dumps(body).encode()
            hdrs["Content-Type"] = "application/json"
        c.request(method, path, body=data, headers=hdrs)
        r = c.getresponse()
        return r.status, r.getheaders(), r.read()
    finally:
        c.close()


def admin_session(port):
    status, headers, body = http_request(port, "POST", "/api/v1/login",
                                         {"username": ADMIN, "password": ADMIN_PASSWORD})
    check(status == 200, f"admin login over the published port: {status} {body[:200]!r}")
    cookie = next(v.split(";")[0] for k, v in headers if k.lower() == "set-cookie")
    return {"Cookie": cookie}


def message(subject, token):
    return (f"From: Sender <sender@outside.test>\r\nTo: {USER}\r\nSubject: {subject}\r\n"
            f"Message-ID: <{token}@outside.test>\r\n\r\nbody {token}\r\n").encode()


def imap_inbox(stack):
    """(tokens of the INBOX messages in order, SHA-256 of the server certificate) over IMAP + STARTTLS."""
    with imaplib.IMAP4("127.0.0.1", stack.ports[143], timeout=10) as m:
        m.starttls(tls_context())
        cert = hashlib.sha256(m.sock.getpeercert(binary_form=True)).hexdigest()
        m.login(USER, USER_PASSWORD)
        typ, data = m.select("INBOX", readonly=True)
        check(typ == "OK", f"SELECT INBOX: {data}")
        tokens = []
        typ, data = m.search(None, "ALL")
        for num in data[0].split():
            typ, parts = m.fetch(num, "(BODY.PEEK[TEXT])")
            tokens.append(parts[0][1].decode().split()[1])
        m.logout()
    return tokens, cert


def ssl_subject_cn(port):
    with socket.create_connection(("127.0.0.1", port), timeout=10) as raw:
        with tls_context().wrap_socket(raw) as s:
            der = s.getpeercert(binary_form=True)
    # The decoded form is empty without verification; ask openssl to read the DER.
    p = subprocess.run(["openssl", "x509", "-inform", "DER", "-noout", "-subject"], input=der, capture_output=True)
    return p.stdout.decode()


def proc_status(stack, service):
    fields = {}
    for line in stack.exec(service, "cat", "/proc/1/status").splitlines():
        k, _, v = line.partition(":")
        fields[k] = v.split()
    return fields


# ----- the scenario -----

def scenario(args, log, tmp, results):
    with log.step("base images"):
        results["base images"] = ensure_base_images(args.cache, log)

    with log.step("podman build"):
        def image_id(tag):
            p = log.run(["podman", "image", "inspect", "--format", "{{.Id}}", tag], check_rc=False)
            return p.stdout.strip() if p.returncode == 0 else None

        old = {tag: image_id(tag) for tag in (BUILD_IMAGE, IMAGE)}
        # The build stage gets a tag of its own: an untagged last layer would be taken for a dangling image,
        # and its cache lost to the first `podman image prune`.
        for target, tag in (("build", BUILD_IMAGE), (None, IMAGE)):
            log.run_streamed(["podman", "build", "--network=host", *[f"--ulimit={u}" for u in ULIMITS],
                              "--format", "docker", "--jobs", "1", "--build-arg", f"BUILD_JOBS={args.build_jobs}",
                              *(["--target", target] if target else []),
                              "-f", os.path.join(args.source, "docker", "Dockerfile"), "-t", tag, args.source])
        # The images of the previous build (and their layers no other image uses) are now only disk space.
        for tag, previous in old.items():
            if previous and previous != image_id(tag):
                log.run(["podman", "rmi", previous], check_rc=False)
        info = json.loads(log.run(["podman", "image", "inspect", IMAGE]).stdout)[0]
        config = info["Config"]
        check(config.get("User") == "roost", f"image user: {config.get('User')}")
        check("/var/lib/roost" in (config.get("Volumes") or {}), f"image volumes: {config.get('Volumes')}")
        health = info.get("Healthcheck") or config.get("Healthcheck") or {}
        check("roost-healthcheck" in json.dumps(health), f"image HEALTHCHECK: {health}")
        results["image size"] = f"{info['Size'] / 1e6:.0f} MB"

    stack = Stack(args.source, tmp, log)
    try:
        with log.step("compose up"):
            stack.up()
        with log.step("container checks"):
            # Unprivileged daemons that bound ports below 1024 through cap_net_bind_service alone.
            for service in SERVICES:
                st = proc_status(stack, service)
                check(set(st["Uid"]) == {str(UID)} and set(st["Gid"]) == {str(UID)},
                      f"{service} runs as uid/gid {st['Uid']} {st['Gid']}, not the roost user")
                eff = int(st["CapEff"][0], 16)
                check(eff == 1 << CAP_NET_BIND_SERVICE, f"{service}: effective capabilities {eff:#x}")
                hc = stack.podman("healthcheck", "run", stack.container(service), check_rc=False)
                check(hc.returncode == 0, f"{service} health check: {hc.stdout}{hc.stderr}")
            bad = stack.podman("exec", stack.container("smtpd"), "sh", "-c", "command -v cc c++ g++ cmake",
                               check_rc=False)
            check(bad.stdout.strip() == "", f"compilers in the runtime image: {bad.stdout}")
            # The entrypoint: the first domain from ROOST_FIRST_DOMAIN, the first-admin hint.
            check(stack.exec("admin", "roost", "domain", "list").split() == [DOMAIN], "first domain not added")
            logs = stack.podman("logs", stack.container("admin"))
            check("roost admin add" in logs.stdout + logs.stderr, "no first-administrator hint in the admin log")
            check(HOSTNAME in ssl_subject_cn(stack.ports[993]), "certificate not made for ROOST_HOSTNAME")

        with log.step("administrator, user, admin API"):
            stack.exec("admin", "roost", "admin", "add", ADMIN, "--password-stdin", input=ADMIN_PASSWORD + "\n")
            stack.exec("imapd", "roost", "user", "add", USER, "--password-stdin", input=USER_PASSWORD + "\n")
            status, _, body = http_request(stack.ports[8080], "GET", "/")
            check(status == 200 and b"<html" in body.lower(), f"panel page: {status}")
            cookie = admin_session(stack.ports[8080])
            status, _, body = http_request(stack.ports[8080], "GET", f"/api/v1/domains/{DOMAIN}/dns", headers=cookie)
            check(status == 200, f"DNS records: {status} {body[:200]!r}")
            records = {(r["type"], r["name"]): r["value"] for r in json.loads(body)["records"]}
            check(records.get(("MX", DOMAIN + ".")) == f"10 {HOSTNAME}.", f"MX record: {records}")
            check(records.get(("SRV", f"_imaps._tcp.{DOMAIN}.")) == f"0 1 993 {HOSTNAME}.", f"SRV: {records}")

        t1, t2 = uuid.uuid4().hex, uuid.uuid4().hex
        with log.step("SMTP, IMAP, POP3"):
            with smtplib.SMTP("127.0.0.1", stack.ports[25], local_hostname="client.outside.test", timeout=20) as s:
                refused = s.sendmail("sender@outside.test", [USER], message("over port 25", t1))
                check(refused == {}, f"refused: {refused}")
            with smtplib.SMTP("127.0.0.1", stack.ports[587], local_hostname="client.outside.test", timeout=20) as s:
                s.starttls(context=tls_context())
                s.login(USER, USER_PASSWORD)
                s.sendmail(USER, [USER], message("over submission", t2))
            deadline = time.monotonic() + 20
            while True:
                tokens, cert = imap_inbox(stack)
                if len(tokens) >= 2 or time.monotonic() > deadline:
                    break
                time.sleep(0.5)
            check(tokens == [t1, t2], f"INBOX over IMAP: {tokens}, expected {[t1, t2]}")
            pop = poplib.POP3_SSL("127.0.0.1", stack.ports[995], context=tls_context(), timeout=20)
            pop.user(USER)
            pop.pass_(USER_PASSWORD)
            count, _ = pop.stat()
            check(count == 2, f"POP3 STAT: {count} messages")
            _, lines, _ = pop.retr(1)
            check(f"body {t1}".encode() in lines, f"POP3 RETR 1: {lines}")
            pop.dele(1)
            pop.quit()
            tokens, cert2 = imap_inbox(stack)
            check(tokens == [t2], f"INBOX after the POP3 deletion: {tokens}")
            check(cert == cert2, "two certificates in one stack")

        with log.step("backup (docs/docker.md)"):
            # The online backup docs/docker.md gives, while the daemons run.
            stack.exec("admin", "sqlite3", "/var/lib/roost/roost.db", ".backup /var/lib/roost/backup.db")
            backup = os.path.join(tmp, "backup.db")
            stack.podman("cp", f"{stack.container('admin')}:/var/lib/roost/backup.db", backup)
            stack.exec("admin", "rm", "/var/lib/roost/backup.db")
            with contextlib.closing(sqlite3.connect(f"file:{backup}?mode=ro", uri=True)) as db:
                check(db.execute("PRAGMA integrity_check").fetchone()[0] == "ok", "backup: integrity check")
                check(db.execute("SELECT address FROM accounts").fetchall() == [(USER,)], "backup: accounts")
                check(db.execute("SELECT count(*) FROM messages").fetchone()[0] >= 1, "backup: no messages")

        with log.step("restart (down, up)"):
            stack.down()
            left = stack.podman("ps", "-aq", "--filter", f"label=io.podman.compose.project={stack.project}")
            check(left.stdout.strip() == "", "containers left after down")
            stack.up()
        with log.step("data survived"):
            check(stack.exec("smtpd", "roost", "domain", "list").split() == [DOMAIN], "domain lost")
            tokens, cert3 = imap_inbox(stack)  # the password still works
            check(tokens == [t2], f"INBOX after the restart: {tokens}, expected {[t2]}")
            check(cert3 == cert, "the TLS certificate changed across the restart (not in the volume?)")
            admin_session(stack.ports[8080])
            logs = stack.podman("logs", stack.container("admin"))
            check("roost admin add" not in logs.stdout + logs.stderr, "first-administrator hint with an administrator")
    finally:
        if args.keep:
            print(f"kept the stack: podman-compose -f {stack.compose_file} -p {stack.project} down; "
                  f"ports {stack.ports}", flush=True)
        else:
            with log.step("teardown"):
                stack.remove()
                left = log.run(["podman", "ps", "-aq", "--filter", f"label=io.podman.compose.project={stack.project}"])
                vols = log.run(["podman", "volume", "ls", "-q", "--filter",
                                f"label=io.podman.compose.project={stack.project}"])
                check(left.stdout.strip() == "" and vols.stdout.strip() == "", "containers or volumes left behind")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--source", required=True, help="repository root (build context)")
    ap.add_argument("--cache", default=os.environ.get("ROOST_CONTAINER_CACHE", "/var/cache/roost-test"))
    ap.add_argument("--build-jobs", type=int, default=int(os.environ.get("ROOST_CONTAINER_BUILD_JOBS", "2")))
    ap.add_argument("--keep", action="store_true", help="leave the stack running (debugging)")
    args = ap.parse_args()
    args.source = os.path.abspath(args.source)
    if os.geteuid() != 0:
        print("SKIP: needs root (rootful Podman)")
        return SKIP
    missing = [p for p in ("podman", "podman-compose", "debootstrap", "runc", "openssl") if not shutil.which(p)]
    if missing:
        print(f"FAIL: missing {' '.join(missing)} (scripts/install-deps.sh test installs them)")
        return 1
    tmp = tempfile.mkdtemp(prefix="roost-container-")
    log = Log(os.path.join(tmp, "log"))
    # Every podman command of this run (podman-compose's too) reads this file instead of containers.conf:
    # the ulimits these machines need, and runc, which (unlike crun) runs containers on hosts with the hybrid
    # cgroup v1/v2 layout.
    conf = os.path.join(tmp, "containers.conf")
    with open(conf, "w") as f:
        f.write("[containers]\ndefault_ulimits = [%s]\n\n[engine]\nruntime = \"runc\"\n"
                % ", ".join(f'"{u}"' for u in ULIMITS))
    os.environ["CONTAINERS_CONF"] = conf
    results = {}
    try:
        remove_stale_projects(log)
        scenario(args, log, tmp, results)
    except (Failure, AssertionError, OSError, subprocess.SubprocessError, imaplib.IMAP4.error,
            poplib.error_proto, smtplib.SMTPException) as e:
        print(f"FAIL: {e}\n--- log tail ({log.path}) ---\n{log.tail()}", flush=True)
        return 1
    finally:
        for name, d in log.steps:
            print(f"  {name:34s} {d:7.1f}s")
        for k, v in results.items():
            print(f"  {k}: {v}")
        print(f"  total {time.monotonic() - log.start:.1f}s", flush=True)
    shutil.rmtree(tmp, ignore_errors=True)
    print("OK")
    return 0


if __name__ == "__main__":
    sys.exit(main())
