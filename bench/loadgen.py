"""Load generators: a lean asyncio HTTP/1.1 keep-alive client, and a driver for ``wrk``.

Both talk to 127.0.0.1 only and stop at a deadline. The Python client builds request bytes by
hand and parses only what it needs (status line, headers, ``Content-Length`` body), so that its
own cost per request stays far below the server's.
"""

from __future__ import annotations

import asyncio
import json
import shutil
import subprocess
import tempfile
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path

HOST = "127.0.0.1"


@dataclass
class Response:
    status: int
    headers: list[tuple[str, str]]
    body: bytes

    def header(self, name: str) -> str | None:
        for key, value in self.headers:
            if key == name:
                return value
        return None

    def cookies(self) -> dict[str, str]:
        out = {}
        for key, value in self.headers:
            if key == "set-cookie":
                pair = value.split(";", 1)[0]
                name, _, val = pair.partition("=")
                out[name.strip()] = val.strip()
        return out


class Connection:
    """One keep-alive HTTP/1.1 connection to 127.0.0.1:port."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def open(self) -> None:
        self.reader, self.writer = await asyncio.open_connection(HOST, self.port)

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
        self.reader = self.writer = None

    async def request(
        self,
        method: str,
        target: str,
        *,
        headers: dict[str, str] | None = None,
        body: bytes = b"",
        cookies: dict[str, str] | None = None,
    ) -> Response:
        if self.writer is None:
            await self.open()
        assert self.reader is not None and self.writer is not None
        lines = [f"{method} {target} HTTP/1.1", f"Host: {HOST}:{self.port}"]
        for name, value in (headers or {}).items():
            lines.append(f"{name}: {value}")
        if cookies:
            lines.append("Cookie: " + "; ".join(f"{k}={v}" for k, v in cookies.items()))
        if body or method == "POST":
            lines.append(f"Content-Length: {len(body)}")
        raw = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body
        try:
            self.writer.write(raw)
            head = await self.reader.readuntil(b"\r\n\r\n")
            status_line, *header_lines = head[:-4].decode("latin-1").split("\r\n")
            status = int(status_line.split(" ", 2)[1])
            parsed = []
            length = 0
            closing = False
            for line in header_lines:
                name, _, value = line.partition(":")
                name = name.strip().lower()
                value = value.strip()
                parsed.append((name, value))
                if name == "content-length":
                    length = int(value)
                elif name == "transfer-encoding":
                    raise RuntimeError("chunked responses are not supported by the bench client")
                elif name == "connection" and value.lower() == "close":
                    closing = True
            payload = await self.reader.readexactly(length) if length else b""
        except (OSError, asyncio.IncompleteReadError, asyncio.LimitOverrunError):
            self.close()
            raise
        if closing:
            self.close()
        return Response(status, parsed, payload)


@dataclass
class RunResult:
    ok: int = 0
    errors: int = 0
    elapsed: float = 0.0
    latencies: list[float] = field(default_factory=list)  # seconds, successful iterations
    statuses: dict[str, int] = field(default_factory=dict)
    tool: str = "python"
    exhausted: bool = False
    wrk_p50: float | None = None  # wrk keeps a histogram, not samples
    wrk_p99: float | None = None

    @property
    def rate(self) -> float:
        return self.ok / self.elapsed if self.elapsed else 0.0

    def percentile(self, p: float) -> float:
        if not self.latencies:
            return float("nan")
        data = sorted(self.latencies)
        k = min(len(data) - 1, max(0, round(p / 100 * (len(data) - 1))))
        return data[k]


class Exhausted(Exception):
    """The scenario ran out of single-use inputs (e.g. refresh tokens)."""


# One iteration: do the requests on ``conn``, raise on any unexpected answer.
Iteration = Callable[[Connection], Awaitable[None]]


async def run_python(port: int, iteration: Iteration, *, concurrency: int, seconds: float) -> RunResult:
    """``concurrency`` workers, each on its own connection, loop ``iteration`` until the deadline."""
    result = RunResult()
    stop = False
    start = time.perf_counter()
    deadline = start + seconds

    async def worker() -> None:
        nonlocal stop
        conn = Connection(port)
        try:
            while not stop and time.perf_counter() < deadline:
                t0 = time.perf_counter()
                try:
                    await iteration(conn)
                except Exhausted:
                    stop = True
                    result.exhausted = True
                    return
                except Exception as exc:
                    result.errors += 1
                    key = type(exc).__name__ + (f": {exc}" if isinstance(exc, UnexpectedStatus) else "")
                    result.statuses[key] = result.statuses.get(key, 0) + 1
                    conn.close()
                    continue
                result.latencies.append(time.perf_counter() - t0)
                result.ok += 1
        finally:
            conn.close()

    await asyncio.gather(*(worker() for _ in range(concurrency)))
    result.elapsed = time.perf_counter() - start
    return result


class UnexpectedStatus(Exception):
    def __init__(self, step: str, response: Response) -> None:
        super().__init__(f"{step} -> {response.status}")
        self.response = response


def expect(step: str, response: Response, status: int) -> Response:
    if response.status != status:
        raise UnexpectedStatus(step, response)
    return response


def run_async(coro: Awaitable[RunResult]) -> RunResult:
    try:
        import uvloop

        return uvloop.run(coro)  # type: ignore[arg-type]
    except ImportError:
        return asyncio.run(coro)  # type: ignore[arg-type]


# wrk
def wrk_path() -> str | None:
    return shutil.which("wrk")


_WRK_DONE = """
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'WRKJSON {"requests": %d, "duration_us": %d, "connect": %d, "read": %d, "write": %d, '
    .. '"status": %d, "timeout": %d, "p50_us": %d, "p99_us": %d}\\n',
    summary.requests, summary.duration, e.connect, e.read, e.write, e.status, e.timeout,
    latency:percentile(50), latency:percentile(99)))
end
"""


def _lua_string(value: str) -> str:
    return json.dumps(value)  # a JSON string literal is a valid Lua string literal here


def run_wrk(
    port: int,
    path: str,
    *,
    method: str = "GET",
    headers: dict[str, str] | None = None,
    body: str = "",
    connections: int,
    seconds: int,
    cpu: int | None,
) -> RunResult:
    """One ``wrk`` run (one thread) pinned to ``cpu``; non-2xx/3xx answers count as errors."""
    exe = wrk_path()
    assert exe is not None
    script = [f"wrk.method = {_lua_string(method)}"]
    if body:
        script.append(f"wrk.body = {_lua_string(body)}")
    for name, value in (headers or {}).items():
        script.append(f"wrk.headers[{_lua_string(name)}] = {_lua_string(value)}")
    script.append(_WRK_DONE)
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as f:
        f.write("\n".join(script))
        script_path = f.name
    cmd = [exe, "-t1", f"-c{connections}", f"-d{max(1, seconds)}s", "--timeout", "10s", "-s", script_path]
    cmd.append(f"http://{HOST}:{port}{path}")
    if cpu is not None:
        cmd = ["taskset", "-c", str(cpu), *cmd]
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=seconds + 30, check=False)
    finally:
        Path(script_path).unlink(missing_ok=True)
    line = next((x for x in proc.stdout.splitlines() if x.startswith("WRKJSON ")), None)
    if line is None:
        raise RuntimeError(f"wrk failed ({proc.returncode}): {proc.stdout}\n{proc.stderr}")
    data = json.loads(line[len("WRKJSON ") :])
    errors = data["connect"] + data["read"] + data["write"] + data["status"] + data["timeout"]
    res = RunResult(tool="wrk")
    res.elapsed = data["duration_us"] / 1e6
    res.ok = max(0, data["requests"] - data["status"])
    res.errors = errors
    if data["status"]:
        res.statuses["non-2xx/3xx"] = data["status"]
    res.wrk_p50 = data["p50_us"] / 1e6
    res.wrk_p99 = data["p99_us"] / 1e6
    return res


def p50_p99(res: RunResult) -> tuple[float, float]:
    if res.wrk_p50 is not None and res.wrk_p99 is not None:
        return res.wrk_p50, res.wrk_p99
    return res.percentile(50), res.percentile(99)
