"""A million users in one tenant: bulk load rate, then lookups, searches and admin API pages.

    .venv/bin/python bench/users_1m.py                       # 1,000,000 users, SQLite and PostgreSQL
    .venv/bin/python bench/users_1m.py --users 100000 --backends sqlite
    KEYSTEAD_TEST_PG_URL=postgresql+psycopg://... .venv/bin/python bench/users_1m.py --backends postgres

For each backend: load ``--users`` users with pre-hashed passwords through ``add_users_bulk``
(batches of ``--batch``) and report users/s; then ``--samples`` timed calls of each hot
operation (p50/p99 in ms, wall clock, one thread, in process) and the plan of each statement it
runs (PostgreSQL ``EXPLAIN ANALYZE``, SQLite ``EXPLAIN QUERY PLAN``), so that a missing index
shows. Pages of ``GET /admin/api/v1/tenants/bench/users`` are requested in process (Starlette
TestClient, a real bearer token) at depths 1, 100, 10,000... with a signed cursor. PostgreSQL is
``--pg-url`` or ``KEYSTEAD_TEST_PG_URL``, else a throwaway server from scripts/pg.sh; it is
VACUUM ANALYZEd after the load (autovacuum would do it later). SQLite is a file in a temp dir, not
ANALYZEd (Keystead never runs ANALYZE). Results: docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import sys
import tempfile
import time
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import users_data as data

from keystead.adapters.sql.users import normalize
from keystead.config import load_settings
from keystead.http.admin import cursors
from keystead.wiring import Keystead, build

PAGE = 50


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--users", type=int, default=1_000_000)
    parser.add_argument("--backends", default="sqlite,postgres")
    parser.add_argument("--batch", type=int, default=10_000)
    parser.add_argument("--samples", type=int, default=300)
    parser.add_argument("--pg-url", default=os.environ.get("KEYSTEAD_TEST_PG_URL"))
    parser.add_argument("--no-explain", action="store_true")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    results: dict[str, Any] = {}
    for backend in args.backends.split(","):
        with tempfile.TemporaryDirectory(prefix="keystead-users-bench.") as tmp:
            if backend == "sqlite":
                results[backend] = run(f"sqlite:///{tmp}/bench.db", args)
            elif backend == "postgres":
                with data.postgres(args.pg_url) as base, data.scratch_database(base) as url:
                    results[backend] = run(url, args)
            else:
                parser.error(f"unknown backend {backend!r}")
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))
    return 0


def run(url: str, args: argparse.Namespace) -> dict[str, Any]:
    settings = load_settings(
        database={"url": url},
        passwords={"memory_kib": 8192, "time_cost": 1, "parallelism": 1},
        server={"base_url": "http://bench"},
        # The admin API's per-client limit would turn the page samples into 429s: measure pages.
        admin={"rate_limit_per_second": 1e6, "rate_limit_burst": 1_000_000},
    )
    k = build(settings, migrate=True)
    try:
        backend = k.storage.engine.dialect.name
        print(f"\n## {backend}: {args.users:,} users", flush=True)
        tenant = k.tenants.create("bench", "Bench")
        result: dict[str, Any] = {"users": args.users, "load": load(k, tenant.id, args)}
        if backend == "postgresql":  # what autovacuum does a while after a load
            with k.storage.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
                conn.exec_driver_sql("VACUUM ANALYZE")
        order = sorted((normalize(data.username(i)), data.user_id(i)) for i in range(args.users))
        result["operations"] = operations(k, tenant.id, args, order)
        result["pages"] = pages(k, tenant, args, order)
        return result
    finally:
        k.passwords.close()
        k.storage.close()


def load(k: Keystead, tenant_id: str, args: argparse.Namespace) -> dict[str, float]:
    """Wall-clock rate, and the rate per CPU second (this process plus the PostgreSQL server):
    the second one is what other work on a shared machine does not lower."""
    stored = generated = 0.0
    inserted = 0
    now = time.time()
    engine = k.storage.engine
    server_before, client_before = data.server_cpu_seconds(engine), time.process_time()
    for start in range(0, args.users, args.batch):
        t0 = time.perf_counter()
        batch = data.users(tenant_id, start, min(start + args.batch, args.users), now)
        t1 = time.perf_counter()
        inserted += len(k.storage.add_users_bulk(tenant_id, batch))
        stored += time.perf_counter() - t1
        generated += t1 - t0
        if (start // args.batch) % 10 == 9:
            print(f"  {start + len(batch):,} users, {(start + len(batch)) / stored:,.0f}/s", flush=True)
    client_cpu = time.process_time() - client_before
    server_after = data.server_cpu_seconds(engine)
    server_cpu = (
        server_after - server_before if server_after is not None and server_before is not None else 0.0
    )
    assert inserted == args.users, (inserted, args.users)
    rate = {
        "seconds": stored,
        "users_per_s": args.users / stored,
        "with_generation_per_s": args.users / (stored + generated),
        "client_cpu_s": client_cpu,
        "server_cpu_s": server_cpu,
        "users_per_cpu_s": args.users / (client_cpu + server_cpu),
    }
    print(
        f"load: {args.users:,} users in {stored:.1f} s = {rate['users_per_s']:,.0f} users/s "
        f"({rate['with_generation_per_s']:,.0f}/s counting the generation of the records); "
        f"CPU: this process {client_cpu:.1f} s (generation included), server {server_cpu:.1f} s "
        f"= {rate['users_per_cpu_s']:,.0f} users per CPU second",
        flush=True,
    )
    return rate


def operations(
    k: Keystead, tenant_id: str, args: argparse.Namespace, order: list[tuple[str, str]]
) -> dict[str, dict[str, float]]:
    s, n = k.storage, args.users
    page: Callable[..., Any] = s.users_page
    depth = min(10_000, n // PAGE)
    deep = order[(depth - 1) * PAGE - 1]
    ops: dict[str, Callable[[int], Any]] = {
        "lookup by username": lambda i: s.user_by_login(tenant_id, data.username(i).upper()),
        "lookup by email": lambda i: s.user_by_login(tenant_id, data.email(i)),
        f"users_page at depth {depth:,} (storage)": lambda i: page(tenant_id, after=deep, limit=PAGE + 1),
        "username prefix, first page": lambda i: page(
            tenant_id, after=None, limit=PAGE + 1, username_prefix=data.username(i)[:4]
        ),
        "q: one user's word": lambda i: page(
            tenant_id, after=None, limit=PAGE + 1, q=f"{data.person(i)[1]}{i}"
        ),
        "q: first + last name": lambda i: page(
            tenant_id, after=None, limit=PAGE + 1, q=" ".join(data.person(i))
        ),
        "q: first name": lambda i: page(tenant_id, after=None, limit=PAGE + 1, q=data.person(i)[0]),
        "q: email domain (common)": lambda i: page(
            tenant_id, after=None, limit=PAGE + 1, q=data.domain(i).split(".")[0]
        ),
    }
    results: dict[str, dict[str, float]] = {}
    print("\n| operation | p50 ms | p99 ms | rows (first sample) |\n| --- | ---: | ---: | ---: |", flush=True)
    rng = random.Random(7)
    plans: list[str] = []
    for name, op in ops.items():
        first = op(rng.randrange(n))
        rows = len(first) if isinstance(first, list | tuple) else int(first is not None)
        timings = timed(op, [rng.randrange(n) for _ in range(args.samples)])
        results[name] = timings
        print(f"| {name} | {timings['p50']:.2f} | {timings['p99']:.2f} | {rows} |", flush=True)
        if not args.no_explain:
            with data.captured(s.engine) as seen:
                op(rng.randrange(n))
            plans += [
                f"### {name}\n{sql}\n--\n{data.explain(s.engine, sql, params)}\n" for sql, params in seen
            ]
    if plans:
        print("\n" + "\n".join(plans), flush=True)
    return results


def pages(
    k: Keystead, tenant: Any, args: argparse.Namespace, order: list[tuple[str, str]]
) -> dict[str, dict[str, float]]:
    from starlette.testclient import TestClient

    from keystead.http.app import create_app

    last = -(-args.users // PAGE)  # the last page
    depths = sorted({d for d in (1, 100, 1_000, 10_000) if d < last} | {last})
    created = k.clients.create(
        tenant.id,
        "bench-admin",
        grant_types=["client_credentials"],
        scopes=["keystead:admin"],
        redirect_uris=[],
    )
    results: dict[str, dict[str, float]] = {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with TestClient(create_app(k), base_url="http://bench") as http:
            token = http.post(
                f"/t/{tenant.name}/token",
                data={"grant_type": "client_credentials", "scope": "keystead:admin"},
                auth=(created.client.client_id, created.secret or ""),
            ).json()["access_token"]
            headers = {"Authorization": f"Bearer {token}"}
            print("\n| admin API page (50 users) | p50 ms | p99 ms |\n| --- | ---: | ---: |", flush=True)
            for depth in depths:
                params = {"limit": str(PAGE)}
                if depth > 1:
                    params["cursor"] = cursors.encode(
                        k.ring, tenant.id, "users", list(order[(depth - 1) * PAGE - 1])
                    )
                expected = order[(depth - 1) * PAGE][1]

                def get(_: int, params: dict[str, str] = params, expected: str = expected) -> None:
                    response = http.get(
                        f"/admin/api/v1/tenants/{tenant.name}/users", params=params, headers=headers
                    )
                    assert response.status_code == 200, response.text
                    assert response.json()["items"][0]["id"] == expected

                results[f"depth {depth:,}"] = timings = timed(get, list(range(args.samples)))
                print(
                    f"| page at depth {depth:,} | {timings['p50']:.2f} | {timings['p99']:.2f} |", flush=True
                )
    return results


def timed(op: Callable[[int], Any], inputs: list[int]) -> dict[str, float]:
    samples = []
    for i in inputs:
        t0 = time.perf_counter()
        op(i)
        samples.append((time.perf_counter() - t0) * 1000)
    samples.sort()
    return {
        "p50": statistics.median(samples),
        "p99": samples[min(len(samples) - 1, round(0.99 * (len(samples) - 1)))],
        "max": samples[-1],
    }


if __name__ == "__main__":
    sys.exit(main())
