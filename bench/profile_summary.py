"""Summarise a py-spy ``--format raw`` profile (collapsed stacks) of the Keystead server.

    .venv/bin/python bench/profile_summary.py /tmp/keystead-profile-client_credentials.txt

Prints where the samples go: by category of the innermost frame (self time), by marker frames
anywhere on the stack (inclusive time), and the top functions by self time. Without
``--native`` py-spy attributes time spent in C (OpenSSL, SQLite, argon2) to the Python frame
that called it, which is what the categories below rely on.
"""

from __future__ import annotations

import argparse
import re
from collections import Counter
from pathlib import Path

# (category, regex on "function (file:line)"), first match from the innermost frame outwards
SELF_CATEGORIES = [
    ("argon2id hashing (C)", r"argon2/"),
    ("ECDSA/RSA sign+verify (OpenSSL via cryptography)", r"cryptography/hazmat/.*\.py"),
    ("joserfc (Python around the crypto)", r"joserfc/"),
    (
        "SQLite C calls (execute/fetch/commit)",
        r"do_execute|do_executemany|do_commit|do_rollback|fetchone|fetchall|_fetchone_impl|_fetchall_impl|connect \(sqlite3|_sqlite_pragmas|do_close",
    ),
    ("SQLAlchemy Core (Python)", r"sqlalchemy/"),
    ("Jinja2 templates", r"jinja2/|<template>|templates/"),
    ("keystead row mapping (_rows)", r"keystead/adapters/sql/_rows"),
    ("keystead adapters (other)", r"keystead/adapters/"),
    ("keystead services/protocols", r"keystead/(services|protocols|wiring|ports)"),
    ("keystead http/web layer", r"keystead/(http|web)/"),
    ("pydantic", r"pydantic"),
    (
        "thread pool hop (anyio/threading/queue)",
        r"anyio/|threading\.py|queue\.py|concurrent/futures|starlette/concurrency",
    ),
    ("Starlette routing/requests/responses", r"starlette/"),
    ("uvicorn + httptools protocol", r"uvicorn/|httptools"),
    ("asyncio/uvloop event loop", r"asyncio/|uvloop|runners\.py"),
    ("orjson/json", r"orjson|json/"),
    ("stdlib other", r"\((<frozen|[a-z_]+\.py|[a-z_]+/)"),
]
_COMPILED = [(name, re.compile(rx)) for name, rx in SELF_CATEGORIES]

MARKERS = [
    ("tenant lookup per request (tenant_context)", "tenant_context ("),
    ("client authentication (Clients.authenticate)", "Clients.authenticate ("),
    ("token signing (jose.sign)", "sign (keystead/protocols/jose/tokens.py"),
    ("token verify (jose.verify)", "verify (keystead/protocols/jose/tokens.py"),
    ("  of which joserfc jwt.decode", "decode (joserfc/jwt.py"),
    ("SQL: engine.begin() transactions", "Engine.begin ("),
    ("SQL: any statement execution", "Connection.execute ("),
    ("SQL: commit", "do_commit ("),
    ("SQL: connection checkout/return (pool)", "_ConnectionFairy"),
    ("key cache (KeyManager._keys)", "KeyManager._keys ("),
    ("key reload (KeyManager._load)", "KeyManager._load ("),
    ("argon2 verify (Passwords._verify)", "Passwords._verify ("),
    ("template render (render.page)", "page (keystead/web/render.py"),
    ("password login (PasswordLogin.authenticate)", "PasswordLogin.authenticate ("),
    ("authorization interaction (Authorization.*)", "Authorization."),
    ("token endpoint service (TokenEndpoint.*)", "TokenEndpoint."),
    ("event loop thread (MainThread)", "MainThread"),
    ("worker threads (AnyIO worker thread)", "AnyIO worker thread"),
    ("argon2 pool threads", "argon2"),
    ("Starlette Request.body/form parsing", "Request.body ("),
    (
        "Starlette middleware stack (AccessLog/SecurityHeaders/BodyLimit/CustomDomains)",
        "AccessLog.__call__ (",
    ),
]


def load(path: Path) -> list[tuple[list[str], int]]:
    stacks = []
    for line in path.read_text(errors="replace").splitlines():
        stack, _, count = line.rpartition(" ")
        if not stack or not count.isdigit():
            continue
        stacks.append((stack.split(";"), int(count)))
    return stacks


# Threads parked waiting for work: py-spy can count them as active on a saturated single core
# (woken but not yet running), so they are set apart rather than charged to a category.
IDLE_PATTERNS = [
    re.compile(r"WorkerThread\.run \(anyio/.*;Queue\.get \(queue\.py:\d+\);Condition\.wait"),
    re.compile(
        r"_worker \(concurrent/futures/thread\.py:\d+\);Queue\.get|_worker \(concurrent/futures/thread\.py:\d+\);SimpleQueue"
    ),
]


def idle(frames: list[str]) -> bool:
    joined = ";".join(frames[-6:])
    return any(rx.search(joined) for rx in IDLE_PATTERNS)


def category(frames: list[str]) -> str:
    for frame in reversed(frames):
        for name, rx in _COMPILED:
            if rx.search(frame):
                return name
    return "other"


def summarise(path: Path, top: int = 25) -> str:
    everything = load(path)
    stacks = [(f, n) for f, n in everything if not idle(f)]
    parked = sum(n for f, n in everything if idle(f))
    total = sum(n for _, n in stacks) or 1
    cats: Counter[str] = Counter()
    leaves: Counter[str] = Counter()
    marks: Counter[str] = Counter()
    for frames, n in stacks:
        cats[category(frames)] += n
        leaves[frames[-1]] += n
        joined = ";".join(frames)
        for label, needle in MARKERS:
            if needle in joined:
                marks[label] += n
    out = [
        f"{path}: {total} samples of busy threads ({parked} more of pool threads parked waiting for work,"
        " left out)",
        "",
        "self time by category:",
    ]
    out += [f"  {100 * n / total:5.1f}%  {name}" for name, n in cats.most_common()]
    out += ["", "inclusive time (frame anywhere on the stack):"]
    out += [f"  {100 * marks[label] / total:5.1f}%  {label}" for label, _ in MARKERS if marks[label]]
    out += ["", f"top {top} functions by self time:"]
    out += [f"  {100 * n / total:5.1f}%  {leaf}" for leaf, n in leaves.most_common(top)]
    return "\n".join(out)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("profile", type=Path, help="py-spy record --format raw output")
    p.add_argument("--top", type=int, default=25)
    args = p.parse_args()
    print(summarise(args.profile, args.top))


if __name__ == "__main__":
    main()
