"""First launches of new students, as a university loads them: the tool against a minimal launch.

Starts its own signing platform (tests/lti_platform.py: an RSA key, its JWKS over loopback
HTTP), the tool under gunicorn with deploy/gunicorn.conf.py (2 workers), and, under the same
server and settings, a minimal correct Flask launch (`minimal_app` below: state and nonce in
SQLite and bound to the browser by a cookie, RS256 checked against a cached JWKS, the claims
every LTI launch must carry, one user upsert, a small page) as the baseline;
with --postgres also the same minimal launch on the tool's PostgreSQL server (min-pg), so
that the database's own CPU is on both sides of a second ratio.
Then runs N first launches of new students at each concurrency, following redirects to the
first page of the module, and prints requests, server CPU per launch (gunicorn master and
workers, from /proc), launches/s and the ratio to the baseline. SQL statements and commits
per launch are counted in-process with SQLAlchemy event listeners (they are deterministic).
Nothing here asserts a threshold.

    .venv/bin/python benchmarks/launch.py [--launches 1000] [--concurrency 8,16] [--postgres]
"""

from __future__ import annotations

import argparse
import logging
import os
import secrets
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from urllib.parse import parse_qs, urljoin, urlsplit

import requests

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

MODULE = "r4-online-safeguarding"
LTI = "https://purl.imsglobal.org/spec/lti/claim"
CUSTOM = f"{LTI}/custom"
TICKS = os.sysconf("SC_CLK_TCK")


# -- the baseline: a minimal correct launch ------------------------------------------------

def minimal_app():
    """A minimal correct LTI 1.3 launch (gunicorn 'benchmarks.launch:minimal_app()')."""
    import jwt
    from flask import Flask, abort, redirect, request

    db_path = os.environ["MINIMAL_DB"]  # a SQLite file, or a PostgreSQL URL
    issuer, client_id = os.environ["MINIMAL_ISSUER"], os.environ["MINIMAL_CLIENT_ID"]
    base = os.environ["MINIMAL_BASE_URL"]
    jwks = jwt.PyJWKClient(os.environ["MINIMAL_JWKS_URL"], cache_keys=True, lifespan=3600)
    local = threading.local()
    app = Flask("minimal")
    postgres = db_path.startswith("postgresql")
    deployments = set(os.environ.get("MINIMAL_DEPLOYMENTS", "1").split())

    def db():
        if not hasattr(local, "db"):
            if postgres:  # one autocommitted connection per thread, statements as below
                import psycopg

                local.db = psycopg.connect(db_path.replace("+psycopg", ""), autocommit=True)
            else:
                local.db = sqlite3.connect(db_path, timeout=30, isolation_level=None)
                local.db.execute("PRAGMA journal_mode=WAL")
                local.db.execute("PRAGMA synchronous=NORMAL")
        return local.db

    def sql(statement: str) -> str:
        return statement.replace("?", "%s") if postgres else statement

    @app.post("/lti/login")
    def login():
        state, nonce = secrets.token_urlsafe(24), secrets.token_urlsafe(24)
        db().execute(sql("INSERT INTO minimal_login (state, nonce, expires) VALUES (?, ?, ?)"),
                     (state, nonce, time.time() + 600))
        response = redirect(f"https://platform.invalid/auth?state={state}&nonce={nonce}"
                            f"&redirect_uri={base}/lti/launch", code=302)
        response.set_cookie("state", state, max_age=600, httponly=True)  # this browser's login
        return response

    @app.post("/lti/launch")
    def launch():
        token, state = request.form.get("id_token", ""), request.form.get("state", "")
        if not state or request.cookies.get("state") != state:
            abort(400)
        row = db().execute(sql("DELETE FROM minimal_login WHERE state = ? AND expires > ? "
                               "RETURNING nonce"), (state, time.time())).fetchone()
        if row is None:
            abort(400)
        key = jwks.get_signing_key_from_jwt(token)
        claims = jwt.decode(token, key.key, algorithms=["RS256"], audience=client_id,
                            issuer=issuer, leeway=60,
                            options={"require": ["exp", "iat", "iss", "aud"]})
        audiences = claims["aud"] if isinstance(claims["aud"], list) else [claims["aud"]]
        # The checks LTI 1.3 asks of every launch (../shared/LTI.md, "What a launch must prove").
        if (claims.get("nonce") != row[0] or time.time() - claims["iat"] > 3600
                or ((len(audiences) > 1 or "azp" in claims) and claims.get("azp") != client_id)
                or claims.get(f"{LTI}/deployment_id") not in deployments
                or claims.get(f"{LTI}/message_type") != "LtiResourceLinkRequest"
                or claims.get(f"{LTI}/version") != "1.3.0" or not claims.get("sub")
                or not (claims.get(f"{LTI}/resource_link") or {}).get("id")):
            abort(400)
        db().execute(sql("INSERT INTO minimal_user (sub, name) VALUES (?, ?) ON CONFLICT (sub) "
                         "DO UPDATE SET name = excluded.name"), (claims["sub"], claims.get("name")))
        return f"<!doctype html><title>Hello</title><p>Hello {claims.get('name')}</p>"

    return app


def minimal_database(where: Path | str) -> None:
    """The baseline's two tables, in a SQLite file or a PostgreSQL database."""
    login = "CREATE TABLE minimal_login (state TEXT PRIMARY KEY, nonce TEXT, expires REAL)"
    if isinstance(where, str):
        import psycopg

        with psycopg.connect(where.replace("+psycopg", ""), autocommit=True) as pg:
            pg.execute(login)
            pg.execute("CREATE TABLE minimal_user (id SERIAL PRIMARY KEY, sub TEXT UNIQUE, "
                       "name TEXT)")
        return
    with sqlite3.connect(where) as db:
        db.execute("PRAGMA journal_mode=WAL")
        db.execute(login)
        db.execute("CREATE TABLE minimal_user (id INTEGER PRIMARY KEY, sub TEXT UNIQUE, "
                   "name TEXT)")


# -- servers -------------------------------------------------------------------------------

def free_port() -> int:
    """A loopback port nobody listens on."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Gunicorn:
    """gunicorn -c deploy/gunicorn.conf.py APP, with its CPU time read from /proc."""

    WORKERS = 2

    def __init__(self, app: str, env: dict, log: Path, port: int | None = None) -> None:
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = log.open("w")
        self.process = subprocess.Popen(
            [str(ROOT / ".venv/bin/gunicorn"), "-c", str(ROOT / "deploy/gunicorn.conf.py"),
             "--access-logfile", "/dev/null", app],
            # Each server its own metrics folder: gunicorn.conf.py empties it at start.
            cwd=ROOT, env={"PROMETHEUS_MULTIPROC_DIR": str(log.with_suffix(".metrics")),
                           **os.environ, **env, "BIND": f"127.0.0.1:{self.port}",
                           "WEB_CONCURRENCY": str(self.WORKERS)},
            stdout=self.log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                requests.get(self.url + "/", timeout=10)
                return
            except (requests.ConnectionError, requests.Timeout):
                time.sleep(0.2)
        raise SystemExit(f"gunicorn {app} did not start; see {log}")

    def cpu(self) -> float:
        """CPU seconds of the master and its workers so far (workers that exited included)."""
        return tree_cpu(self.process.pid)

    def stop(self) -> None:
        """Stop gunicorn (the process this benchmark started)."""
        self.process.send_signal(signal.SIGTERM)
        self.process.wait(timeout=30)
        self.log.close()


def children(pid: int) -> list[int]:
    """The pids of a process's children (a gunicorn master's workers), from /proc."""
    listed = Path(f"/proc/{pid}/task/{pid}/children")
    return [int(p) for p in listed.read_text().split()] if listed.exists() else []


def tree_cpu(pid: int) -> float:
    """CPU seconds of a process and its children so far (children that exited included)."""
    total = 0.0
    for each in [pid] + children(pid):
        try:
            fields = Path(f"/proc/{each}/stat").read_text().rsplit(")", 1)[1].split()
        except FileNotFoundError:
            continue
        # utime, stime, cutime, cstime (fields 14-17): children that exited count too.
        total += sum(int(v) for v in fields[11:15]) / TICKS
    return total


def postmaster(url: str) -> int | None:
    """The pid of the PostgreSQL server listening on the URL's port, if it runs here."""
    port = urlsplit(url.replace("+psycopg", "")).port
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            argv = (proc / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if argv and argv[0].endswith(b"postgres") and f"-p {port}".encode() in b" ".join(argv):
            return int(proc.name)
    return None


class Cpu:
    """CPU seconds of a tool's servers, and of its PostgreSQL server when there is one."""

    def __init__(self, servers: list[Gunicorn], database_pid: int | None) -> None:
        self.servers, self.database_pid = servers, database_pid

    def __call__(self) -> tuple[float, float]:
        """(tool CPU, database CPU) so far."""
        tool = sum(server.cpu() for server in self.servers)
        return tool, tree_cpu(self.database_pid) if self.database_pid else 0.0


# -- the client: a browser launching from the VLE ------------------------------------------

def one_launch(platform, base: str, sub: str, replicas: list[str] | None = None) -> int:
    """Login, launch and every redirect to the first page; the number of requests.

    With `replicas`, each request goes to the next one, as a load balancer without sticky
    sessions would send it (`base` stays the address the platform knows).
    """
    from tests.lti_platform import moodle_claims

    turn = iter(range(1000))
    servers = replicas or [base]

    def at() -> str:
        return servers[next(turn) % len(servers)]

    with requests.Session() as browser:
        login = browser.post(at() + "/lti/login", allow_redirects=False, data={
            "iss": platform.issuer, "login_hint": sub, "target_link_uri": base + "/lti/launch",
            "client_id": platform.client_id, "lti_deployment_id": "1"})
        assert login.status_code == 302, login.text[:300]
        auth = {k: v[0] for k, v in parse_qs(urlsplit(login.headers["Location"]).query).items()}
        claims = platform.claims(moodle_claims("student_launch"), {
            "nonce": auth["nonce"], "redirect_uri": auth.get("redirect_uri",
                                                             base + "/lti/launch")})
        claims["sub"], claims["name"] = sub, f"Student {sub}"
        claims[CUSTOM] = {**claims.get(CUSTOM, {}), "module": MODULE}
        response = browser.post(at() + "/lti/launch", allow_redirects=False,
                                data={"id_token": platform.sign(claims),
                                      "state": auth["state"]})
        count = 2
        while response.status_code in (302, 303):
            response = browser.get(urljoin(at() + "/", response.headers["Location"]),
                                   allow_redirects=False)
            count += 1
        assert response.status_code == 200, (response.status_code, response.text[:300])
        return count


def load(server: Gunicorn, platform, launches: int, concurrency: int, tag: str,
         cpu: Cpu | None = None, replicas: list[Gunicorn] | None = None) -> dict:
    """N first launches at a concurrency: requests per launch, CPU ms per launch (the tool's,
    and its database server's), launches/s."""
    cpu = cpu or Cpu([server], None)
    urls = [r.url for r in replicas] if replicas else None
    tool_before, db_before = cpu()
    client_before = time.process_time()  # this process: the browsers and the platform
    start = time.perf_counter()
    with ThreadPoolExecutor(concurrency) as pool:
        counts = list(pool.map(lambda n: one_launch(platform, server.url, f"{tag}-{n}", urls),
                               range(launches)))
    elapsed = time.perf_counter() - start
    tool_after, db_after = cpu()
    client = (time.process_time() - client_before) * 1000 / launches
    return {"requests": sum(counts) / launches, "client_ms": client,
            "cpu_ms": (tool_after - tool_before) * 1000 / launches,
            "db_ms": (db_after - db_before) * 1000 / launches, "per_s": launches / elapsed}


def interleaved(servers: dict[str, Gunicorn], cpus: dict[str, Cpu], platform, launches: int,
                concurrency: int, rounds: int = 10) -> dict[str, dict]:
    """`load` for every server, in turns of launches/rounds each (the order alternating), so
    that a machine whose speed drifts during the run (shared cores, frequency) weighs on the
    tool and the baseline alike; figures summed over the turns."""
    per_turn = max(launches // rounds, concurrency)
    totals: dict[str, dict] = {name: {"launches": 0, "requests": 0.0, "client_ms": 0.0,
                                      "cpu_ms": 0.0, "db_ms": 0.0, "seconds": 0.0}
                               for name in servers}
    for turn in range(rounds):
        names = list(servers) if turn % 2 == 0 else list(reversed(servers))
        for name in names:
            f = load(servers[name], platform, per_turn, concurrency,
                     f"{name}-{concurrency}-{turn}-{secrets.token_hex(3)}", cpus[name])
            t = totals[name]
            t["launches"] += per_turn
            for key in ("requests", "client_ms", "cpu_ms", "db_ms"):
                t[key] += f[key] * per_turn
            t["seconds"] += per_turn / f["per_s"]
    return {name: {"requests": t["requests"] / t["launches"],
                   "client_ms": t["client_ms"] / t["launches"],
                   "cpu_ms": t["cpu_ms"] / t["launches"], "db_ms": t["db_ms"] / t["launches"],
                   "per_s": t["launches"] / t["seconds"]} for name, t in totals.items()}


# -- statements per launch, in-process -----------------------------------------------------

def statements_per_launch(workdir: Path, url: str) -> tuple[int, int, int]:
    """(requests, SQL statements, commits) of one new student's first launch, in-process."""
    from sqlalchemy import event

    from lti_tool import create_app
    from lti_tool.config import TestConfig
    from tests.lti_platform import JwksServer, TestPlatform, moodle_claims

    app = create_app(TestConfig(INSTANCE_DIR=workdir / "inproc", SQLALCHEMY_DATABASE_URL=url,
                                KEYS_DIR=workdir / "keys", BASE_URL="http://localhost"))
    server = JwksServer()
    platform = TestPlatform(server, "inproc", "https://vle.inproc.test", "inproc-client")
    with app.extensions["lti_tool.sessionmaker"]() as db:
        platform.register(db)
    seen = {"statements": 0, "commits": 0}
    engine = app.extensions["lti_tool.engine"]

    def mutate(sub):
        def change(claims):
            claims["sub"], claims[CUSTOM] = sub, {"module": MODULE}
        return change

    def launch(sub: str) -> int:
        client = app.test_client()
        response, _, _ = platform.launch(client, moodle_claims("student_launch"),
                                         mutate=mutate(sub), login_hint=sub)
        count = 2
        while response.status_code in (302, 303):
            response = client.get(response.headers["Location"])
            count += 1
        return count

    launch("warm-up")  # the key set is fetched once per process
    event.listen(engine, "before_cursor_execute",
                 lambda *a: seen.__setitem__("statements", seen["statements"] + 1))
    event.listen(engine, "commit", lambda *a: seen.__setitem__("commits", seen["commits"] + 1))
    count = launch("counted")
    server.close()
    engine.dispose()
    return count, seen["statements"], seen["commits"]


def run(launches: int, concurrencies: list[int], database_url: str | None) -> None:
    """Start everything, load it, print the table."""
    from lti_tool import migrate
    from lti_tool.db import make_engine
    from lti_tool.keys import Keyring
    from tests.lti_platform import JwksServer, TestPlatform

    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # the key set server's lines
    workdir = Path(tempfile.mkdtemp(prefix="launch-bench-"))
    url = database_url or f"sqlite:///{workdir / 'tool.sqlite3'}"
    migrate.upgrade(url)
    Keyring(workdir / "keys").generate()
    jwks = JwksServer()
    platform = TestPlatform(jwks, "bench", "https://vle.bench.test", "bench-client")
    engine = make_engine(url)
    from sqlalchemy.orm import Session

    with Session(engine) as db:
        platform.register(db)
    engine.dispose()
    minimal_db = workdir / "minimal.sqlite3"
    minimal_database(minimal_db)
    common = {"LTI_TOOL_LOG_LEVEL": "warning", "LTI_TOOL_SECRET_KEY": secrets.token_hex(32)}
    tool_port_env = {"LTI_TOOL_DATABASE_URL": url, "LTI_TOOL_INSTANCE_DIR": str(workdir / "i"),
                     "LTI_TOOL_KEYS_DIR": str(workdir / "keys"),
                     "LTI_TOOL_TRUSTED_PROXIES": "0", **common}
    servers = {}
    try:
        # The base URL must name the port, which gunicorn binds: pick it first.
        port = free_port()
        tool_env = {**tool_port_env, "LTI_TOOL_BASE_URL": f"http://127.0.0.1:{port}"}
        tool = Gunicorn("lti_tool.wsgi:app", tool_env, workdir / "tool.log", port=port)
        servers["tool"] = tool
        postgres = None if url.startswith("sqlite") else postmaster(url)
        cpus = {"tool": Cpu([tool], postgres)}
        # The baseline as the issue defines it (SQLite); on PostgreSQL also the same launch
        # on the tool's database server, its CPU counted too: like for like.
        for name, where in [("minimal", str(minimal_db))] + (
                [("min-pg", url)] if postgres is not None else []):
            if where == url:
                minimal_database(url)
            minimal_port = free_port()
            servers[name] = Gunicorn("benchmarks.launch:minimal_app()", {
                "MINIMAL_DB": where, "MINIMAL_ISSUER": platform.issuer,
                "MINIMAL_CLIENT_ID": platform.client_id,
                "MINIMAL_JWKS_URL": platform.key_set_url,
                "MINIMAL_BASE_URL": f"http://127.0.0.1:{minimal_port}", **common},
                workdir / f"{name}.log", port=minimal_port)
            cpus[name] = Cpu([servers[name]], postgres if where == url else None)
        for server in servers.values():  # warm up: imports, key set caches, connections
            load(server, platform, 20, 4, f"warm-{secrets.token_hex(3)}")
        kind = "SQLite" if url.startswith("sqlite") else "PostgreSQL"
        print(f"{launches} first launches of new students, gunicorn 2 workers "
              f"(deploy/gunicorn.conf.py) [{kind}], {os.cpu_count()} CPUs")
        same = "  x min-pg" if postgres is not None else ""
        print(f"{'concurrency':<12}{'server':<9}{'requests':>9}{'CPU ms/launch':>15}"
              f"{'of it DB':>10}{'launches/s':>12}{'CPU x minimal':>15}{same}")
        for concurrency in concurrencies:
            figures = interleaved(servers, cpus, platform, launches, concurrency)
            for name, f in figures.items():
                total = f["cpu_ms"] + f["db_ms"]
                ratio = total / (figures["minimal"]["cpu_ms"] + figures["minimal"]["db_ms"])
                like = (f"{total / (figures['min-pg']['cpu_ms'] + figures['min-pg']['db_ms']):10.1f}"
                        if same else "")
                print(f"{concurrency:<12}{name:<9}{f['requests']:9.0f}{total:15.1f}"
                      f"{f['db_ms']:10.1f}{f['per_s']:12.1f}{ratio:15.1f}{like}")
        count, statements, commits = statements_per_launch(workdir, url)
        print(f"tool, one first launch in-process: {count} requests, {statements} SQL "
              f"statements, {commits} commits (minimal launch: 2 requests, 3 statements)")
        if postgres is not None:
            scale_out(tool, tool_env, platform, workdir, launches, max(concurrencies),
                      postgres, servers)
    finally:
        for server in servers.values():
            server.stop()
        jwks.close()


def scale_out(first: Gunicorn, env: dict, platform, workdir: Path, launches: int,
              concurrency: int, postgres: int, servers: dict) -> None:
    """One tool instance, then two on the same PostgreSQL behind a round-robin 'balancer'."""
    second = Gunicorn("lti_tool.wsgi:app", env, workdir / "tool2.log")
    servers["tool2"] = second
    load(first, platform, 20, 4, f"warm2-{secrets.token_hex(3)}", replicas=[second])
    one = load(first, platform, launches, concurrency, f"one-{secrets.token_hex(3)}",
               Cpu([first], postgres))
    two = load(first, platform, launches, concurrency, f"two-{secrets.token_hex(3)}",
               Cpu([first, second], postgres), replicas=[first, second])
    print(f"scale-out on one PostgreSQL, {concurrency} at a time, each request to the next "
          f"instance (no sticky sessions):")
    for name, f in (("1 instance", one), ("2 instances", two)):
        server = f["cpu_ms"] + f["db_ms"]
        busy = (server + f["client_ms"]) * f["per_s"] / 1000
        print(f"  {name:<12}{f['per_s']:8.1f} launches/s; CPU per launch: tool + PostgreSQL "
              f"{server:5.1f} ms, browsers + platform {f['client_ms']:5.1f} ms; "
              f"{busy:4.2f} of {os.cpu_count()} cores busy")
    print(f"  two instances / one: {two['per_s'] / one['per_s']:.2f}x (the load generator, "
          f"the platform and PostgreSQL share the same cores)")


def main() -> None:
    """Command-line entry."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--launches", type=int, default=1000)
    parser.add_argument("--concurrency", default="8,16")
    parser.add_argument("--database-url", default=None, help="default: a throwaway SQLite file")
    parser.add_argument("--postgres", action="store_true",
                        help="run on a throwaway PostgreSQL cluster (tests/pg.py)")
    args = parser.parse_args()
    concurrencies = [int(c) for c in args.concurrency.split(",")]
    if not args.postgres:
        run(args.launches, concurrencies, args.database_url)
        return
    from tests.pg import throwaway_database

    with throwaway_database() as url:
        run(args.launches, concurrencies, url)


if __name__ == "__main__":
    main()
