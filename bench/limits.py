"""The raw limits of one core, measured in-process and single-threaded on the server's core.

These are what each scenario is compared against: argon2id at the configured (OWASP) parameters,
ES256 with ``cryptography`` directly and through joserfc's ``jwt.encode``/``jwt.decode``, and
the cost of a SQLAlchemy Core insert+commit and primary-key read on SQLite with Keystead's
engine settings (WAL, synchronous=NORMAL).
"""

from __future__ import annotations

import os
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

WALL: dict[str, float] = {}  # the same rates by wall clock, to show interference from other load


def rate(fn: Callable[[], Any], seconds: float, *, min_calls: int = 3) -> tuple[float, float]:
    """Calls of ``fn`` per CPU second (this thread's CPU time, so that other processes sharing
    the core do not lower it) and per wall second, over about ``seconds`` of CPU."""
    fn()
    calls = 0
    start, wall = time.thread_time(), time.perf_counter()
    while True:
        fn()
        calls += 1
        elapsed = time.thread_time() - start
        if elapsed >= seconds and calls >= min_calls:
            return calls / elapsed, calls / (time.perf_counter() - wall)


def _timed(out: dict[str, float], key: str, fn: Callable[[], Any], seconds: float) -> None:
    out[key], WALL[key] = rate(fn, seconds)


def argon2_limits(seconds: float, *, verify: bool = True) -> dict[str, float]:
    from argon2 import PasswordHasher, Type

    from keystead.config.settings import PasswordSettings

    cfg = PasswordSettings()
    hasher = PasswordHasher(
        time_cost=cfg.time_cost, memory_cost=cfg.memory_kib, parallelism=cfg.parallelism, type=Type.ID
    )
    stored = hasher.hash("correct horse battery staple")
    out: dict[str, float] = {}
    _timed(out, "argon2id_hash_per_s", lambda: hasher.hash("correct horse battery staple"), seconds)
    _timed(
        out, "argon2id_verify_per_s", lambda: hasher.verify(stored, "correct horse battery staple"), seconds
    )
    return out


def es256_limits(seconds: float) -> dict[str, float]:
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import ec
    from joserfc import jwt
    from joserfc.jwk import KeySet

    from keystead.protocols.jose import generate

    private = ec.generate_private_key(ec.SECP256R1())
    public = private.public_key()
    algo = ec.ECDSA(hashes.SHA256())
    now = int(time.time())
    claims = {
        "iss": "http://127.0.0.1:8000/t/bench",
        "sub": "0b6f7a2e-3d1c-4f7e-9a51-2f5b8c1d9e00",
        "aud": "Jx3kq9u2VZKc0pQ8sL1w4A",
        "client_id": "Jx3kq9u2VZKc0pQ8sL1w4A",
        "iat": now,
        "exp": now + 600,
        "jti": "c0ffee-jti-2aVt5y7QeB0",
        "scope": "openid profile email",
    }
    signing_input = b"x" * 330  # about the size of an access token's header.payload
    signature = private.sign(signing_input, algo)
    key = generate("ES256")
    header = {"alg": "ES256", "kid": key.kid, "typ": "at+jwt"}
    token = jwt.encode(header, claims, key.key)
    keys = KeySet([key.key, generate("RS256").key])  # the verify set holds one key per alg
    out: dict[str, float] = {}
    _timed(out, "es256_sign_raw_per_s", lambda: private.sign(signing_input, algo), seconds)
    _timed(out, "es256_verify_raw_per_s", lambda: public.verify(signature, signing_input, algo), seconds)
    _timed(out, "es256_jwt_encode_per_s", lambda: jwt.encode(header, claims, key.key), seconds)
    _timed(
        out, "es256_jwt_decode_per_s", lambda: jwt.decode(token, keys, algorithms=["ES256", "RS256"]), seconds
    )
    return out


def sqlite_limits(seconds: float) -> dict[str, float]:
    from sqlalchemy import text

    from keystead.adapters.sql import create_engine_for

    with tempfile.TemporaryDirectory(prefix="keystead-bench-sqlite-") as tmp:
        engine = create_engine_for(f"sqlite:///{Path(tmp) / 'raw.db'}")
        with engine.begin() as conn:
            conn.execute(text("CREATE TABLE t (k TEXT PRIMARY KEY, v TEXT NOT NULL)"))
            conn.execute(text("INSERT INTO t VALUES ('probe', 'x')"))
        counter = iter(range(10**9))

        def insert_commit() -> None:
            with engine.begin() as conn:
                conn.execute(
                    text("INSERT INTO t VALUES (:k, :v)"), {"k": f"k{next(counter)}", "v": "y" * 200}
                )

        def read() -> None:
            with engine.connect() as conn:
                conn.execute(text("SELECT k, v FROM t WHERE k = :k"), {"k": "probe"}).first()

        out: dict[str, float] = {}
        _timed(out, "sqlite_insert_commit_per_s", insert_commit, seconds)
        _timed(out, "sqlite_pk_read_per_s", read, seconds)
        engine.dispose()
    return out


def measure_argon2(cpu: int | None, seconds: float) -> float:
    """argon2id hashes per CPU second on ``cpu`` (for re-measuring around the login scenario)."""
    before = os.sched_getaffinity(0)
    if cpu is not None:
        os.sched_setaffinity(0, {cpu})
    try:
        return argon2_limits(seconds, verify=False)["argon2id_hash_per_s"]
    finally:
        os.sched_setaffinity(0, before)


def measure(cpu: int | None, seconds: float) -> dict[str, float]:
    """All raw limits, with this process pinned to ``cpu`` for the duration."""
    before = os.sched_getaffinity(0)
    if cpu is not None:
        os.sched_setaffinity(0, {cpu})
    try:
        out: dict[str, float] = {}
        out.update(argon2_limits(max(seconds, 0.5)))
        out.update(es256_limits(seconds))
        out.update(sqlite_limits(seconds))
        return out
    finally:
        os.sched_setaffinity(0, before)


LABELS = {
    "argon2id_hash_per_s": "argon2id hash (m=19456 t=2 p=1)",
    "argon2id_verify_per_s": "argon2id verify (m=19456 t=2 p=1)",
    "es256_sign_raw_per_s": "ES256 sign, cryptography raw",
    "es256_verify_raw_per_s": "ES256 verify, cryptography raw",
    "es256_jwt_encode_per_s": "ES256 joserfc jwt.encode",
    "es256_jwt_decode_per_s": "ES256 joserfc jwt.decode (KeySet)",
    "sqlite_insert_commit_per_s": "SQLite insert+commit (SQLAlchemy Core)",
    "sqlite_pk_read_per_s": "SQLite PK read (SQLAlchemy Core)",
}
