"""Keystead throughput benchmark: one uvicorn worker on one core, load from another core.

    .venv/bin/python bench/run.py [--duration 5] [--quick] [--scenarios a,b] [--profile NAME]

Seeds a fresh SQLite database (real OWASP argon2id parameters, the defaults), starts
``uvicorn --factory keystead.http.app:create_app`` pinned to the first core, drives each scenario
from the second core over loopback for a bounded time, and prints a table comparing each
scenario with its goal and with the raw limits of one core measured in the same run.
See bench/README.md and docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import json
import os
import platform
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
import uuid
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, quote, urlencode, urlsplit

import breakdown  # bench/ is sys.path[0] when run as a script
import limits
import loadgen
from loadgen import Connection, Exhausted, RunResult, expect

PASSWORD = "correct horse battery staple"
TENANT = "bench"
USERNAME = "alice"
SCOPES = ("openid", "profile", "email", "offline_access")
_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


# ---------------------------------------------------------------- seeding
@dataclass
class Seed:
    port: int
    base_url: str
    db_url: str
    client_id: str
    client_secret: str
    redirect_uri: str
    access_token: str
    refresh_tokens: deque[str]

    @property
    def basic(self) -> str:
        raw = f"{quote(self.client_id, safe='')}:{quote(self.client_secret, safe='')}".encode()
        return "Basic " + base64.b64encode(raw).decode()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def seed(workdir: Path, port: int, refresh_pool: int, *, rs256_key: bool = False) -> Seed:
    """Tenant, user, first-party confidential client, one access token and a refresh token pool."""
    from keystead.adapters.sql import create_engine_for, tables, upgrade
    from keystead.adapters.sql._rows import to_row
    from keystead.config import load_settings
    from keystead.ports.records import Grant, RefreshToken
    from keystead.services.authorization import ACR_PASSWORD
    from keystead.services.secrets import new_token
    from keystead.services.tokens import REFRESH_PURPOSE, Issuer
    from keystead.wiring import build

    base_url = f"http://127.0.0.1:{port}"
    db_url = f"sqlite:///{workdir / 'bench.db'}"
    engine = create_engine_for(db_url)
    upgrade(engine)
    engine.dispose()
    settings = load_settings(database={"url": db_url}, server={"base_url": base_url})
    pw = settings.passwords
    if (pw.memory_kib, pw.time_cost, pw.parallelism) != (19456, 2, 1):
        raise SystemExit(f"argon2 parameters are not the OWASP defaults: {pw} (unset KEYSTEAD_PASSWORDS__*)")
    k = build(settings)
    try:
        tenant = k.tenants.create(TENANT, "Bench Corp")
        user = k.users.create(
            tenant.id, USERNAME, email="alice@example.com", password=PASSWORD, name="Alice Liddell",
            given_name="Alice", family_name="Liddell", email_verified=True,
        )  # fmt: skip
        redirect_uri = f"http://127.0.0.1:{free_port()}/callback"  # never contacted
        new = k.clients.create(
            tenant.id, "Bench RP", redirect_uris=[redirect_uri], scopes=list(SCOPES),
            grant_types=["authorization_code", "refresh_token", "client_credentials"],
            first_party=True, id_token_alg="ES256",
        )  # fmt: skip
        client = new.client
        assert new.secret is not None
        if rs256_key:  # as when any client of the tenant asks for RS256 ID tokens
            k.keys.ensure_keys(tenant.id, ("ES256", "RS256"))
        iss = Issuer(tenant.id, k.tenants.issuer(tenant))
        now = time.time()
        authn: dict[str, Any] = {"user_id": user.id, "auth_time": now, "acr": ACR_PASSWORD, "amr": ("pwd",)}
        grant = k.tokens.new_grant(iss, client, ("openid", "profile", "email"), **authn)
        access = k.tokens.issue(iss, client, grant, with_refresh=False, with_id_token=False).access_token
        # Refresh tokens: one grant (token family) each, as the code flow leaves them; written in
        # bulk through the adapter's tables so that seeding stays fast.
        grants, refreshes, values = [], [], deque()
        for _ in range(refresh_pool):
            g = Grant(id=str(uuid.uuid4()), tenant_id=tenant.id, client_id=client.client_id,
                      scopes=SCOPES, created_at=now, **authn)  # fmt: skip
            value = new_token()
            grants.append(to_row(g))
            refreshes.append(
                to_row(
                    RefreshToken(
                        token_hmac=k.ring.mac(REFRESH_PURPOSE, value), grant_id=g.id,
                        tenant_id=tenant.id, client_id=client.client_id, scopes=SCOPES,
                        expires_at=now + 30 * 86400, created_at=now,
                    )
                )
            )  # fmt: skip
            values.append(value)
        if grants:
            with k.storage.engine.begin() as conn:
                conn.execute(tables.grants.insert(), grants)
                conn.execute(tables.refresh_tokens.insert(), refreshes)
    finally:
        k.close()
    return Seed(port, base_url, db_url, client.client_id, new.secret, redirect_uri, access, values)


# ---------------------------------------------------------------- server
class Server:
    """``uvicorn --factory keystead.http.app:create_app``, one worker, pinned to ``cpu``."""

    def __init__(self, s: Seed, cpu: int | None, log_path: Path, variants: list[str]) -> None:
        env = {k: v for k, v in os.environ.items() if not k.startswith("KEYSTEAD_")}
        env["KEYSTEAD_DATABASE__URL"] = s.db_url
        env["KEYSTEAD_SERVER__BASE_URL"] = s.base_url
        factory = ["--factory", "keystead.http.app:create_app"]
        if variants:  # the same app with candidate optimisations patched in (bench/variants.py)
            env["BENCH_KEYSTEAD_VARIANTS"] = ",".join(variants)
            factory = ["--app-dir", str(Path(__file__).resolve().parent), "--factory", "variants:create_app"]
        cmd = [sys.executable, "-m", "uvicorn", *factory,
               "--host", "127.0.0.1", "--port", str(s.port),
               "--no-access-log", "--log-level", "warning"]  # fmt: skip
        if cpu is not None:
            cmd = ["taskset", "-c", str(cpu), *cmd]
        self.command = " ".join(cmd)
        self.log = log_path.open("wb")
        self.proc = subprocess.Popen(cmd, env=env, stdout=self.log, stderr=subprocess.STDOUT)
        self.pid = self.proc.pid  # taskset execs, so this is the Python process
        self._wait(f"{s.base_url}/healthz")

    def _wait(self, url: str) -> None:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"server exited with {self.proc.returncode}; see {self.log.name}")
            try:
                with urllib.request.urlopen(url, timeout=1) as r:
                    if r.status == 200:
                        return
            except OSError:
                pass
            time.sleep(0.1)
        raise RuntimeError("server did not start in 30 s")

    def cpu_times(self) -> tuple[float, float]:
        """(user, system) CPU seconds of the server process, all threads."""
        stat = Path(f"/proc/{self.pid}/stat").read_text()
        fields = stat.rsplit(")", 1)[1].split()
        tick = os.sysconf("SC_CLK_TCK")
        return int(fields[11]) / tick, int(fields[12]) / tick

    def context_switches(self) -> int:
        """Voluntary + involuntary context switches of every thread of the server."""
        total = 0
        for task in Path(f"/proc/{self.pid}/task").iterdir():
            try:
                for line in (task / "status").read_text().splitlines():
                    if line.startswith(("voluntary_ctxt_switches", "nonvoluntary_ctxt_switches")):
                        total += int(line.split()[1])
            except OSError:
                pass  # the thread ended
        return total

    def memory_kib(self) -> dict[str, int]:
        out = {}
        for line in Path(f"/proc/{self.pid}/status").read_text().splitlines():
            key, _, value = line.partition(":")
            if key in ("VmRSS", "VmHWM", "Threads"):
                out[key] = int(value.split()[0])
        return out

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.log.close()


def core_ticks() -> dict[int, tuple[int, int]]:
    """Per core: (busy, total) jiffies from /proc/stat."""
    out = {}
    for line in Path("/proc/stat").read_text().splitlines():
        if line.startswith("cpu") and line[3].isdigit():
            name, *vals = line.split()
            v = [int(x) for x in vals]
            idle = v[3] + v[4]  # idle + iowait
            out[int(name[3:])] = (sum(v[:8]) - idle, sum(v[:8]))
    return out


def busy_pct(
    before: dict[int, tuple[int, int]], after: dict[int, tuple[int, int]], core: int | None
) -> float:
    if core is None or core not in before:
        return float("nan")
    busy = after[core][0] - before[core][0]
    total = after[core][1] - before[core][1]
    return 100 * busy / total if total else 0.0


def wait_quiet(cores: set[int], limit: float, threshold: float = 15.0) -> float:
    """Wait (up to ``limit`` s) until every core in ``cores`` is under ``threshold``% busy for
    a whole second; return the busiest core's figure for the last second."""
    deadline = time.monotonic() + limit
    while True:
        before = core_ticks()
        time.sleep(1.0)
        after = core_ticks()
        worst = max(busy_pct(before, after, c) for c in cores)
        if worst < threshold or time.monotonic() >= deadline:
            return worst


# ---------------------------------------------------------------- scenarios
@dataclass
class Scenario:
    name: str
    label: str
    goal: Callable[[dict[str, float]], float | None]  # from the raw limits
    goal_text: str
    ceiling: Callable[[dict[str, float]], float | None]  # crypto-only bound
    # for wrk: (method, path, headers, body); else None
    http: Callable[[Seed], tuple[str, str, dict[str, str], str]] | None = None
    iteration: Callable[[Seed], loadgen.Iteration] | None = None
    concurrency: str = "connections"  # or "login_workers"


def healthz_http(s: Seed) -> tuple[str, str, dict[str, str], str]:
    return "GET", "/healthz", {}, ""


def jwks_http(s: Seed) -> tuple[str, str, dict[str, str], str]:
    return "GET", f"/t/{TENANT}/jwks", {}, ""


def client_credentials_http(s: Seed) -> tuple[str, str, dict[str, str], str]:
    headers = {"Authorization": s.basic, "Content-Type": "application/x-www-form-urlencoded"}
    return "POST", f"/t/{TENANT}/token", headers, "grant_type=client_credentials"


def introspection_http(s: Seed) -> tuple[str, str, dict[str, str], str]:
    headers = {"Authorization": s.basic, "Content-Type": "application/x-www-form-urlencoded"}
    body = urlencode({"token": s.access_token, "token_type_hint": "access_token"})
    return "POST", f"/t/{TENANT}/introspect", headers, body


def userinfo_http(s: Seed) -> tuple[str, str, dict[str, str], str]:
    return "GET", f"/t/{TENANT}/userinfo", {"Authorization": f"Bearer {s.access_token}"}, ""


def refresh_iteration(s: Seed) -> loadgen.Iteration:
    headers = {"Authorization": s.basic, "Content-Type": "application/x-www-form-urlencoded"}
    path = f"/t/{TENANT}/token"

    async def once(conn: Connection) -> None:
        try:
            token = s.refresh_tokens.popleft()
        except IndexError:
            raise Exhausted() from None
        body = f"grant_type=refresh_token&refresh_token={token}".encode()
        r = await conn.request("POST", path, headers=headers, body=body)
        expect("refresh", r, 200)

    return once


def login_iteration(s: Seed) -> loadgen.Iteration:
    """A new browser (empty cookie jar) signs in: authorize, login page, POST, code exchange."""
    base = f"/t/{TENANT}"
    token_headers = {"Authorization": s.basic, "Content-Type": "application/x-www-form-urlencoded"}
    form = {"Content-Type": "application/x-www-form-urlencoded"}

    async def once(conn: Connection) -> None:
        jar: dict[str, str] = {}
        verifier = secrets.token_urlsafe(48)
        challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=")
        state = secrets.token_urlsafe(8)
        query = urlencode({
            "response_type": "code", "client_id": s.client_id, "redirect_uri": s.redirect_uri,
            "scope": "openid profile email", "state": state, "nonce": secrets.token_urlsafe(8),
            "code_challenge": challenge.decode(), "code_challenge_method": "S256",
        })  # fmt: skip
        r = expect("authorize", await conn.request("GET", f"{base}/authorize?{query}"), 303)
        jar.update(r.cookies())
        page = r.header("location") or ""
        r = expect("login page", await conn.request("GET", page, cookies=jar), 200)
        jar.update(r.cookies())
        m = _CSRF.search(r.body.decode())
        if m is None:
            raise RuntimeError("no csrf_token on the login page")
        body = urlencode({"csrf_token": m.group(1), "username": USERNAME, "password": PASSWORD}).encode()
        r = await conn.request("POST", page, headers=form, body=body, cookies=jar)
        expect("login POST", r, 303)
        params = parse_qs(urlsplit(r.header("location") or "").query)
        if params.get("state") != [state] or "code" not in params:
            raise RuntimeError(f"no code in the redirect: {r.header('location')}")
        exchange = urlencode({
            "grant_type": "authorization_code", "code": params["code"][0],
            "redirect_uri": s.redirect_uri, "code_verifier": verifier,
        }).encode()  # fmt: skip
        r = await conn.request("POST", f"{base}/token", headers=token_headers, body=exchange)
        expect("code exchange", r, 200)
        if b"id_token" not in r.body:
            raise RuntimeError("no id_token")

    return once


def _http_iteration(http: Callable[[Seed], tuple[str, str, dict[str, str], str]]) -> Callable[[Seed], Any]:
    def make(s: Seed) -> loadgen.Iteration:
        method, path, headers, body = http(s)
        raw = body.encode()

        async def once(conn: Connection) -> None:
            expect(path, await conn.request(method, path, headers=headers, body=raw), 200)

        return once

    return make


def _login_ceiling(lim: dict[str, float]) -> float:
    return 1 / (1 / lim["argon2id_hash_per_s"] + 2 / lim["es256_jwt_encode_per_s"])


SCENARIOS = [
    Scenario("healthz", "healthz (HTTP stack only)", lambda _: None, "baseline",
             lambda _: None, http=healthz_http),
    Scenario("jwks", "JWKS GET (baseline)", lambda _: None, "baseline",
             lambda _: None, http=jwks_http),
    Scenario("client_credentials", "client_credentials grant", lambda _: 4000.0, ">= 4,000/s",
             lambda lim: lim["es256_jwt_encode_per_s"], http=client_credentials_http),
    Scenario("refresh", "refresh with rotation", lambda _: 2000.0, ">= 2,000/s",
             lambda lim: lim["es256_jwt_encode_per_s"] / 2, iteration=refresh_iteration),
    Scenario("introspection", "introspection (access token)", lambda _: 5000.0, ">= 5,000/s",
             lambda lim: lim["es256_jwt_decode_per_s"], http=introspection_http),
    Scenario("userinfo", "userinfo", lambda _: 5000.0, ">= 5,000/s",
             lambda lim: lim["es256_jwt_decode_per_s"], http=userinfo_http),
    Scenario("login", "full password login", lambda lim: 0.85 * lim["argon2id_hash_per_s"],
             ">= 85% of argon2id/s", _login_ceiling, iteration=login_iteration,
             concurrency="login_workers"),
]  # fmt: skip


TENANT_LOOKUP = "tenant lookup (Tenants.find_active, 1 SELECT)"
SERVICE_CALLS: dict[str, list[tuple[str, int]]] = {
    "healthz": [],
    "jwks": [(TENANT_LOOKUP, 1)],
    "client_credentials": [(TENANT_LOOKUP, 1), ("token: client_credentials", 1)],
    "refresh": [(TENANT_LOOKUP, 1), ("token: refresh with rotation", 1)],
    "introspection": [(TENANT_LOOKUP, 1), ("introspect (access token)", 1)],
    "userinfo": [(TENANT_LOOKUP, 1), ("userinfo", 1)],
    "login": [(TENANT_LOOKUP, 4), ("login: all services, no HTTP (authorize..code exchange)", 1)],
}


def service_us(name: str, costs: dict[str, float]) -> float | None:
    calls = SERVICE_CALLS.get(name)
    if calls is None or not costs or any(key not in costs for key, _ in calls):
        return None
    return sum(costs[key] * n for key, n in calls)


@dataclass
class Outcome:
    scenario: Scenario
    result: RunResult
    concurrency: int
    cpu_seconds: float
    memory: dict[str, int]
    goal: float | None
    ceiling: float | None
    system_seconds: float = 0.0  # kernel part of cpu_seconds
    context_switches: int = 0
    server_core_busy: float = float("nan")  # % of the server's core busy (anyone)
    load_core_busy: float = float("nan")
    profile: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def cpu_pct(self) -> float:
        return 100 * self.cpu_seconds / self.result.elapsed if self.result.elapsed else 0.0

    @property
    def others_pct(self) -> float:
        """CPU of other processes on the server's core during the run (interference)."""
        return max(0.0, self.server_core_busy - self.cpu_pct)

    @property
    def cpu_us_per_req(self) -> float:
        return 1e6 * self.cpu_seconds / self.result.ok if self.result.ok else float("nan")

    @property
    def per_core(self) -> float:
        """Requests per second one fully used core would serve: 1 / server CPU per request."""
        return 1e6 / self.cpu_us_per_req if self.result.ok and self.cpu_seconds else 0.0

    def as_dict(self) -> dict[str, Any]:
        p50, p99 = loadgen.p50_p99(self.result)
        return {
            "scenario": self.scenario.name,
            "tool": self.result.tool,
            "concurrency": self.concurrency,
            "ok": self.result.ok,
            "errors": self.result.errors,
            "error_kinds": self.result.statuses,
            "seconds": round(self.result.elapsed, 3),
            "per_s": round(self.result.rate, 1),
            "p50_ms": round(p50 * 1000, 3),
            "p99_ms": round(p99 * 1000, 3),
            "server_cpu_pct": round(self.cpu_pct, 1),
            "server_cpu_us_per_req": round(self.cpu_us_per_req, 1),
            "per_core_per_s": round(self.per_core, 1),
            "server_sys_share_pct": round(100 * self.system_seconds / self.cpu_seconds, 1)
            if self.cpu_seconds
            else None,
            "context_switches_per_req": round(self.context_switches / self.result.ok, 2)
            if self.result.ok
            else None,
            "server_core_busy_pct": round(self.server_core_busy, 1),
            "others_on_server_core_pct": round(self.others_pct, 1),
            "load_core_busy_pct": round(self.load_core_busy, 1),
            "rss_kib": self.memory.get("VmRSS"),
            "goal_per_s": self.goal,
            "goal_ratio": round(self.result.rate / self.goal, 3) if self.goal else None,
            "goal_ratio_per_core": round(self.per_core / self.goal, 3) if self.goal else None,
            "crypto_ceiling_per_s": self.ceiling,
            "exhausted_pool": self.result.exhausted,
            **self.extra,
            "profile": self.profile,
        }


def drive(
    sc: Scenario, s: Seed, *, seconds: float, conc: int, use_wrk: bool, load_cpu: int | None
) -> RunResult:
    if sc.http is not None and use_wrk:
        method, path, headers, body = sc.http(s)
        return loadgen.run_wrk(
            s.port, path, method=method, headers=headers, body=body, connections=conc,
            seconds=round(seconds), cpu=load_cpu,
        )  # fmt: skip
    make = sc.iteration or _http_iteration(sc.http)  # type: ignore[arg-type]
    return loadgen.run_async(loadgen.run_python(s.port, make(s), concurrency=conc, seconds=seconds))


def start_profiler(pid: int, seconds: float, out: Path, fmt: str, cpu: int | None) -> subprocess.Popen[bytes]:
    exe = shutil.which("py-spy") or str(Path(sys.executable).with_name("py-spy"))
    if not Path(exe).exists():
        raise SystemExit("py-spy not found: .venv/bin/pip install py-spy")
    cmd = [exe, "record", "--pid", str(pid), "--duration", str(max(1, round(seconds))),
           "--rate", "250", "--nonblocking", "--threads", "--format", fmt, "-o", str(out)]  # fmt: skip
    if cpu is not None:
        cmd = ["taskset", "-c", str(cpu), *cmd]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    time.sleep(0.3)  # let it attach
    return proc


def run_scenario(
    sc: Scenario, s: Seed, server: Server, lim: dict[str, float], args: argparse.Namespace,
    cores: tuple[int | None, int | None],
) -> Outcome:  # fmt: skip
    server_cpu, load_cpu = cores
    conc = args.login_workers if sc.concurrency == "login_workers" else args.connections
    use_wrk = not args.no_wrk and loadgen.wrk_path() is not None
    if args.warmup > 0:
        drive(sc, s, seconds=args.warmup, conc=conc, use_wrk=use_wrk, load_cpu=load_cpu)
    if sc.name == "login":
        # The CPU's speed drifts on a shared VM: re-measure argon2id on the server's core (the
        # server idle) right before and after the logins, and use the mean as the login's limit.
        before = limits.measure_argon2(server_cpu, 0.3 if args.quick else 1.0)
    profiler = None
    profile_path = None
    if args.profile == sc.name:
        suffix = {"raw": "txt", "flamegraph": "svg", "speedscope": "json"}[args.profile_format]
        profile_path = Path(args.profile_out or f"/tmp/keystead-profile-{sc.name}.{suffix}")
        profiler = start_profiler(server.pid, args.duration, profile_path, args.profile_format, load_cpu)
    cpu0, cs0, ticks0 = server.cpu_times(), server.context_switches(), core_ticks()
    result = drive(sc, s, seconds=args.duration, conc=conc, use_wrk=use_wrk, load_cpu=load_cpu)
    cpu1, cs1, ticks1 = server.cpu_times(), server.context_switches(), core_ticks()
    user, system = cpu1[0] - cpu0[0], cpu1[1] - cpu0[1]
    if profiler is not None:
        try:
            _, err = profiler.communicate(timeout=args.duration + 30)
        except subprocess.TimeoutExpired:
            profiler.kill()
            _, err = profiler.communicate()
        if profiler.returncode != 0:
            print(f"py-spy failed: {err.decode(errors='replace')}", file=sys.stderr)
    if sc.name == "login":
        after = limits.measure_argon2(server_cpu, 0.3 if args.quick else 1.0)
        lim = dict(lim, argon2id_hash_per_s=(before + after) / 2)
        extra = {"argon2id_hash_per_s_before": round(before, 2), "argon2id_hash_per_s_after": round(after, 2)}
    else:
        extra = {}
    return Outcome(
        sc, result, conc, user + system, server.memory_kib(), sc.goal(lim), sc.ceiling(lim), extra=extra,
        system_seconds=system, context_switches=cs1 - cs0,
        server_core_busy=busy_pct(ticks0, ticks1, server_cpu),
        load_core_busy=busy_pct(ticks0, ticks1, load_cpu),
        profile=str(profile_path) if profile_path else None,
    )  # fmt: skip


# ---------------------------------------------------------------- report
def machine() -> dict[str, Any]:
    model = "unknown"
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            model = line.split(":", 1)[1].strip()
            break
    versions = {}
    for dist in ("uvicorn", "uvloop", "httptools", "starlette", "SQLAlchemy", "joserfc", "cryptography",
                 "argon2-cffi"):  # fmt: skip
        try:
            versions[dist] = metadata.version(dist)
        except metadata.PackageNotFoundError:
            versions[dist] = "-"
    wrk = loadgen.wrk_path()
    wrk_version = "-"
    if wrk:
        out = subprocess.run([wrk, "--version"], capture_output=True, text=True, check=False).stdout
        wrk_version = out.split(" [")[0].strip() or "wrk"
    return {
        "nproc": os.cpu_count(),
        "usable_cores": sorted(os.sched_getaffinity(0)),
        "cpu_model": model,
        "python": platform.python_version(),
        "kernel": platform.release(),
        "packages": versions,
        "wrk": wrk_version,
    }


def fmt_rate(x: float | None) -> str:
    if x is None:
        return "-"
    return f"{x:,.0f}" if x >= 100 else f"{x:,.1f}"


def print_report(
    info: dict[str, Any],
    lim: dict[str, float],
    outs: list[Outcome],
    command: str,
    variants: list[str],
    rs256_key: bool = False,
) -> None:
    print()
    print(f"machine: {info['nproc']} cores, {info['cpu_model']}, Python {info['python']}, "
          f"kernel {info['kernel']}")  # fmt: skip
    print("packages: " + ", ".join(f"{k} {v}" for k, v in info["packages"].items()) + f", wrk {info['wrk']}")
    print(f"server: {command}")
    if rs256_key:
        print("tenant keys: ES256 + RS256 (--rs256-key)")
    if variants:
        print(
            f"VARIANT RUN: patched with {', '.join(variants)} (bench/variants.py), not the code as committed"
        )
    print()
    print("Raw limits, one core, single thread, per CPU second (same run; 'wall' is per wall second):")
    for key, label in limits.LABELS.items():
        if key in lim:
            per = 1e6 / lim[key]
            wall = limits.WALL.get(key)
            print(f"  {label:<42} {fmt_rate(lim[key]):>10}/s  ({per:,.1f} us each; wall {fmt_rate(wall)}/s)")
    print()
    header = (
        f"{'scenario':<29} {'tool':<6} {'conc':>4} {'req/s':>8} {'p50 ms':>8} {'p99 ms':>8} {'err':>4} "
        f"{'srv CPU':>7} {'others':>6} {'CPU us/req':>10} {'/s/core':>8} {'RSS MiB':>7} {'goal':>21} "
        f"{'of goal':>7} {'crypto ceil':>11} {'of ceil':>7}"
    )
    print(header)
    print("-" * len(header))
    for o in outs:
        d = o.as_dict()
        goal = f"{o.scenario.goal_text}" + (f" ({fmt_rate(o.goal)})" if o.scenario.name == "login" else "")
        ratio = f"{d['goal_ratio_per_core'] * 100:.0f}%" if d["goal_ratio_per_core"] is not None else "-"
        ceil_ratio = f"{o.per_core / o.ceiling * 100:.0f}%" if o.ceiling else "-"
        print(
            f"{o.scenario.label:<29} {d['tool']:<6} {d['concurrency']:>4} {fmt_rate(o.result.rate):>8} "
            f"{d['p50_ms']:>8.2f} {d['p99_ms']:>8.2f} {d['errors']:>4} {d['server_cpu_pct']:>6.0f}% "
            f"{o.others_pct:>5.0f}% {d['server_cpu_us_per_req']:>10,.0f} {fmt_rate(o.per_core):>8} "
            f"{(d['rss_kib'] or 0) / 1024:>7.1f} {goal:>21} {ratio:>7} {fmt_rate(o.ceiling):>11} "
            f"{ceil_ratio:>7}"
        )
    print(
        "\nreq/s, p50, p99: measured over loopback. srv CPU: the server process's CPU / wall time; "
        "others: CPU used by\nother processes on the server's core meanwhile (interference; 0% on a quiet "
        "machine). /s/core = 1 / (server\nCPU per request): what one dedicated core serves; 'of goal' and "
        "'of ceil' compare it with the goal and with\nthe crypto-only bound from the raw limits."
    )
    for o in outs:
        if "argon2id_hash_per_s_before" in o.extra:
            print(
                f"  {o.scenario.name}: goal from argon2id re-measured around the scenario: "
                f"{o.extra['argon2id_hash_per_s_before']}/s before, {o.extra['argon2id_hash_per_s_after']}/s after"
            )
        if o.result.errors:
            print(f"  {o.scenario.name}: errors {o.result.statuses}")
        if o.result.exhausted:
            print(f"  {o.scenario.name}: the refresh token pool ran out early (raise --refresh-pool)")
        if o.profile:
            print(f"  {o.scenario.name}: profile written to {o.profile}")


def print_breakdown(costs: dict[str, float], outs: list[Outcome]) -> None:
    print("\nIn-process service cost, no HTTP (CPU us per call, single thread, same core, same database):")
    for key, us in costs.items():
        print(f"  {key:<62} {us:>10,.0f} us")
    print("\nWhere the server's CPU per request goes (us): services (table above) vs the HTTP layer")
    print("(uvicorn, Starlette, middleware, thread-pool hops, templates, GIL hand-offs, key-cache reloads):")
    print(f"  {'scenario':<29} {'server/req':>10} {'services':>9} {'HTTP layer':>10} {'HTTP share':>10}")
    for o in outs:
        svc = service_us(o.scenario.name, costs)
        total = o.cpu_us_per_req
        if svc is None or not o.result.ok:
            continue
        http = total - svc
        print(
            f"  {o.scenario.label:<29} {total:>10,.0f} {svc:>9,.0f} {http:>10,.0f} {100 * http / total:>9.0f}%"
        )


# ---------------------------------------------------------------- main
def pick_cores() -> tuple[int | None, int | None]:
    cores = sorted(os.sched_getaffinity(0))
    if len(cores) < 2:
        print("warning: fewer than 2 usable cores; server and load share a core", file=sys.stderr)
        return cores[0], cores[0]
    return cores[0], cores[1]


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--duration", type=float, default=5.0, help="seconds per scenario (default 5)")
    p.add_argument("--quick", action="store_true", help="smoke test: ~1 s per scenario, no warm-up")
    p.add_argument("--scenarios", default=",".join(s.name for s in SCENARIOS),
                   help="comma-separated subset of: " + ", ".join(s.name for s in SCENARIOS))  # fmt: skip
    p.add_argument("--connections", type=int, default=32, help="connections for the HTTP scenarios")
    p.add_argument("--login-workers", type=int, default=4, help="concurrent browsers in the login scenario")
    p.add_argument("--warmup", type=float, default=None, help="seconds of warm-up per scenario (default 1)")
    p.add_argument("--refresh-pool", type=int, default=None, help="refresh tokens to pre-mint")
    p.add_argument("--no-wrk", action="store_true", help="use the Python load generator everywhere")
    p.add_argument("--variant", default="", help="comma-separated patches from bench/variants.py "
                   "(keycache, tenantcache, inserts, selects, inline) applied to the server for an A/B run")  # fmt: skip
    p.add_argument("--rs256-key", action="store_true",
                   help="give the tenant an RS256 key too (as a client with RS256 ID tokens does)")  # fmt: skip
    p.add_argument("--no-breakdown", action="store_true", help="skip the in-process service cost table")
    p.add_argument("--profile", metavar="SCENARIO", help="record the server with py-spy during SCENARIO")
    p.add_argument("--profile-format", choices=["raw", "flamegraph", "speedscope"], default="raw")
    p.add_argument("--profile-out", help="profile output path (default /tmp/keystead-profile-NAME.*)")
    p.add_argument("--json", metavar="PATH", help="also write all figures as JSON")
    p.add_argument("--wait-quiet", type=float, default=0.0, metavar="S",
                   help="first wait up to S seconds for both cores to be under 15%% busy")  # fmt: skip
    args = p.parse_args(argv)
    if args.quick:
        args.duration = 1.0
    if args.warmup is None:
        args.warmup = 0.0 if args.quick else 1.0
    wanted = [x.strip() for x in args.scenarios.split(",") if x.strip()]
    unknown = set(wanted) - {s.name for s in SCENARIOS}
    if unknown:
        p.error(f"unknown scenarios: {', '.join(sorted(unknown))}")
    chosen = [s for s in SCENARIOS if s.name in wanted]
    variants = [v.strip() for v in args.variant.split(",") if v.strip()]
    bad = [v for v in variants if v not in ("keycache", "tenantcache", "inserts", "selects", "inline")]
    if bad:
        p.error(f"unknown variants: {', '.join(bad)}")
    server_cpu, load_cpu = pick_cores()

    info = machine()
    if args.wait_quiet > 0:
        cores = {c for c in (server_cpu, load_cpu) if c is not None}
        print(f"waiting up to {args.wait_quiet:.0f} s for a quiet machine ...", flush=True)
        worst = wait_quiet(cores, args.wait_quiet)
        print(f"  busiest core {worst:.0f}% busy in the last second", flush=True)
    print(f"measuring raw limits on core {server_cpu} ...", flush=True)
    lim = limits.measure(server_cpu, 0.3 if args.quick else 1.5)

    if load_cpu is not None:
        os.sched_setaffinity(0, {load_cpu})  # this process is the Python load generator
    pool = args.refresh_pool
    if pool is None:
        per_run = 3000 * (args.duration + args.warmup) * 1.3 if "refresh" in wanted else 0
        pool = int(per_run)
    outs: list[Outcome] = []
    with tempfile.TemporaryDirectory(prefix="keystead-bench-") as tmp:
        workdir = Path(tmp)
        print(f"seeding {workdir} (refresh pool {pool}) ...", flush=True)
        s = seed(workdir, free_port(), pool + (0 if args.no_breakdown else 400), rs256_key=args.rs256_key)
        costs: dict[str, float] = {}
        if variants:
            import variants as patches

            patches.apply(variants)  # so that the service table reflects them too
        if not args.no_breakdown:
            print(f"measuring in-process service costs on core {server_cpu} ...", flush=True)
            costs = breakdown.measure(
                s.db_url, s.base_url, client_id=s.client_id, client_secret=s.client_secret,
                redirect_uri=s.redirect_uri, access_token=s.access_token,
                refresh_tokens=s.refresh_tokens, tenant=TENANT, username=USERNAME, password=PASSWORD,
                seconds=0.3 if args.quick else 1.5, cpu=server_cpu,
            )  # fmt: skip
        server = Server(s, server_cpu, workdir / "server.log", variants)
        try:
            print(f"server pid {server.pid} on core {server_cpu}; load on core {load_cpu}", flush=True)
            for sc in chosen:
                print(f"  {sc.name} ...", flush=True)
                outs.append(run_scenario(sc, s, server, lim, args, (server_cpu, load_cpu)))
            final_mem = server.memory_kib()
        finally:
            server.stop()
        log = (workdir / "server.log").read_text(errors="replace").strip()
    print_report(info, lim, outs, server.command, variants, args.rs256_key)
    if costs:
        print_breakdown(costs, outs)
    print(f"\nserver memory after the run: VmRSS {final_mem.get('VmRSS', 0) / 1024:.1f} MiB, "
          f"peak VmHWM {final_mem.get('VmHWM', 0) / 1024:.1f} MiB, threads {final_mem.get('Threads')}")  # fmt: skip
    if log:
        print("\nserver log (tail):\n" + "\n".join(log.splitlines()[-15:]))
    if args.json:
        Path(args.json).write_text(
            json.dumps(
                {"machine": info, "limits": lim, "limits_wall": limits.WALL, "service_cpu_us": costs,
                 "variants": variants, "rs256_key": args.rs256_key,
                 "results": [o.as_dict() | {"service_cpu_us": service_us(o.scenario.name, costs)}
                             for o in outs],
                 "server_memory_kib": final_mem, "argv": sys.argv[1:]},
                indent=2,
            )
        )  # fmt: skip
    return 1 if any(o.result.ok == 0 for o in outs) else 0


if __name__ == "__main__":
    sys.exit(main())
