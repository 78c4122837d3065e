"""Helpers of bench/users_1m.py: deterministic users, a throwaway PostgreSQL, query plans.

User ``i`` is ``{first}.{last}{i}`` with email ``{first}{i}@{domain}``: 200 first names, 1,000
last names and 20 domains, so a first name matches ~N/200 users, a last name ~N/1,000, a first
and a last name together ~N/200,000, and a domain ~N/20 (spread evenly over username order). First
names share prefixes (``anan`` starts ``ananl``, ``anann``, ``anans``), as real ones do.
"""

from __future__ import annotations

import contextlib
import os
import random
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, event, text
from sqlalchemy.exc import OperationalError

from keystead.ports.records import User

ROOT = Path(__file__).resolve().parent.parent
_SYLLABLES = ["ka", "lo", "mi", "ra", "ne", "to", "su", "vi", "de", "jo", "an", "el", "or", "in", "us", "be"]
FIRST = sorted({a + b + c for a in _SYLLABLES for b in _SYLLABLES for c in ("n", "l", "s", "")})[:200]
LAST = sorted({a + b + c for a in _SYLLABLES for b in _SYLLABLES for c in _SYLLABLES})[:1000]
DOMAINS = [f"mail{d}.example" for d in range(20)]
# A precomputed argon2id PHC string (the bulk path stores hashes as given: "pre-hashed").
PASSWORD_HASH = (
    "$argon2id$v=19$m=19456,t=2,p=1$YmVuY2gtc2FsdC0xMjM0$2kQ3cJ6n1mG8o0p4v5W7xYzA1B2C3D4E5F6G7H8I9J0"
)


def person(i: int) -> tuple[str, str]:
    return FIRST[i % len(FIRST)], LAST[(i // len(FIRST)) % len(LAST)]


def username(i: int) -> str:
    first, last = person(i)
    return f"{first}.{last}{i}"


def domain(i: int) -> str:
    # Hashed, not ``i % 20``: a domain must not follow the first name (``i % 200``), or all of a
    # domain's users would sit together in username order.
    return DOMAINS[(i * 2_654_435_761 >> 16) % len(DOMAINS)]


def email(i: int) -> str:
    return f"{person(i)[0]}{i}@{domain(i)}"


def user_id(i: int) -> str:
    return str(uuid.UUID(int=random.Random(i).getrandbits(128), version=4))


def users(tenant_id: str, start: int, stop: int, now: float) -> list[User]:
    out = []
    for i in range(start, stop):
        first, last = person(i)
        out.append(
            User(
                id=user_id(i),
                tenant_id=tenant_id,
                username=username(i),
                email=email(i),
                email_verified=True,
                password_hash=PASSWORD_HASH,
                given_name=first.capitalize(),
                family_name=last.capitalize(),
                created_at=now + i / 1000,
                updated_at=now + i / 1000,
            )
        )
    return out


@contextlib.contextmanager
def postgres(url: str | None) -> Iterator[str]:
    """``url`` if given; else a throwaway server started with scripts/pg.sh, stopped after."""
    if url:
        yield url
        return
    directory = tempfile.mkdtemp(prefix="keystead-bench-pg.")
    pg = str(ROOT / "scripts" / "pg.sh")
    subprocess.run([pg, "start", directory], check=True)
    try:
        yield subprocess.run(
            [pg, "url", directory], check=True, capture_output=True, text=True
        ).stdout.strip()
    finally:
        subprocess.run([pg, "stop", directory], check=False)


@contextlib.contextmanager
def scratch_database(base_url: str) -> Iterator[str]:
    """A new database of this run's own on the server of ``base_url``, dropped afterwards."""
    from sqlalchemy import create_engine

    name = f"keystead_users_bench_{os.getpid()}"
    admin = create_engine(base_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield base_url.rsplit("/", 1)[0] + f"/{name}"
    finally:
        _drop(admin, name)
        admin.dispose()


def _drop(admin: Engine, name: str) -> None:
    """Drop ``name`` once nothing uses it (an autovacuum worker may hold it for a moment)."""
    for _ in range(30):
        try:
            with admin.connect() as conn:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{name}"'))
            return
        except OperationalError:
            time.sleep(1)
    print(f"warning: could not drop database {name}", file=sys.stderr)


@contextlib.contextmanager
def captured(engine: Engine) -> Iterator[list[tuple[str, Any]]]:
    """The statements (SQL and parameters, as sent to the driver) run on ``engine`` meanwhile."""
    seen: list[tuple[str, Any]] = []

    def record(_conn: Any, _cursor: Any, statement: str, parameters: Any, _context: Any, _many: bool) -> None:
        seen.append((statement, parameters))

    event.listen(engine, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", record)


def explain(engine: Engine, statement: str, parameters: Any) -> str:
    """EXPLAIN ANALYZE on PostgreSQL, EXPLAIN QUERY PLAN on SQLite, of a statement as sent."""
    with engine.connect() as conn:
        if conn.dialect.name == "postgresql":
            rows = conn.exec_driver_sql(
                "EXPLAIN (ANALYZE, BUFFERS, COSTS OFF) " + statement, parameters
            ).all()
            return "\n".join(r[0] for r in rows)
        rows = conn.exec_driver_sql("EXPLAIN QUERY PLAN " + statement, parameters).all()
        return "\n".join(f"{r[0]:>3} {r[1]:>3} {r[3]}" for r in rows)


def server_cpu_seconds(engine: Engine) -> float | None:
    """CPU time used so far by the local PostgreSQL server that ``engine`` talks to (the
    postmaster and its live children: backends, WAL writer, checkpointer), from /proc; ``None``
    on SQLite or when the server is not a local process we can read."""
    if engine.dialect.name != "postgresql":
        return None
    with engine.connect() as conn:
        backend = int(conn.exec_driver_sql("SELECT pg_backend_pid()").scalar_one())
    try:
        postmaster = _stat(backend)[1]
        total = 0.0
        for entry in Path("/proc").iterdir():
            if entry.name.isdigit():
                with contextlib.suppress(OSError):
                    pid, ppid, ticks = _stat(int(entry.name))
                    if pid == postmaster or ppid == postmaster:
                        total += ticks
        return total / os.sysconf("SC_CLK_TCK")
    except OSError:
        return None


def _stat(pid: int) -> tuple[int, int, int]:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return pid, int(fields[1]), int(fields[11]) + int(fields[12])  # ppid, utime + stime
