"""Password hashing with argon2id (OWASP: m=19 MiB, t=2, p=1), in a pool bounded by the cores.

Hashing is the most expensive thing a login does, so it runs in its own thread pool (argon2-cffi
releases the GIL) whose size is the core count: more threads would only queue on the CPU.
A login for an unknown account still pays one verification against a dummy hash made with the
same parameters as the tenant's real hashes.

A tenant may set its own costs (:class:`HashParams`); ``None`` means the server's settings.
Imported bcrypt and PBKDF2 hashes (:mod:`keystead.services.password_formats`) are verified too,
and every hash that is not argon2id with the wanted parameters is replaced on a successful login.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from argon2 import PasswordHasher, Type
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from keystead.config import PasswordSettings
from keystead.services.password_formats import matches_foreign, scheme_of

MAX_PASSWORD_LENGTH = 1024
_MAX_HASHERS = 64  # distinct tenant parameter sets kept; past that the cache starts over


@dataclass(frozen=True, slots=True)
class HashParams:
    """argon2id cost parameters; a tenant may set its own (tenant settings)."""

    time_cost: int = 2
    memory_kib: int = 19 * 1024
    parallelism: int = 1


@dataclass(frozen=True, slots=True)
class Verification:
    ok: bool
    new_hash: str | None = None  # set when the stored hash used another scheme or other parameters


@dataclass(frozen=True, slots=True)
class _Hasher:
    argon2: PasswordHasher
    dummy: str


def usable_cores() -> int:
    """Cores this process may run on (a pinned worker gets one hashing thread, not all)."""
    try:
        return len(os.sched_getaffinity(0)) or 1
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


class Passwords:
    def __init__(self, settings: PasswordSettings) -> None:
        self._default = HashParams(settings.time_cost, settings.memory_kib, settings.parallelism)
        self._workers = settings.workers or usable_cores()
        self._pool = ThreadPoolExecutor(max_workers=self._workers, thread_name_prefix="argon2")
        self._hashers: dict[HashParams, _Hasher] = {}
        self._lock = threading.Lock()
        self._hasher(None)

    def hash(self, password: str, params: HashParams | None = None) -> str:
        return self._pool.submit(self._hasher(params).argon2.hash, password).result()

    def hash_many(self, passwords: Sequence[str], params: HashParams | None = None) -> list[str]:
        """Hash several passwords (an import) on the pool, a pool's width at a time: logins
        queued meanwhile wait for one round, not for the whole list."""
        hasher = self._hasher(params).argon2
        hashes: list[str] = []
        for start in range(0, len(passwords), self._workers):
            hashes.extend(self._pool.map(hasher.hash, passwords[start : start + self._workers]))
        return hashes

    def verify(
        self, stored_hash: str | None, password: str, params: HashParams | None = None
    ) -> Verification:
        """Check ``password``; an absent hash costs the same as a wrong password. ``new_hash`` is
        set when the stored hash is not argon2id with ``params`` (or the server's defaults)."""
        return self._pool.submit(self._verify, stored_hash, password, params).result()

    def _verify(self, stored_hash: str | None, password: str, params: HashParams | None) -> Verification:
        hasher = self._hasher(params)
        password = password[:MAX_PASSWORD_LENGTH]
        scheme = scheme_of(stored_hash) if stored_hash else None
        if stored_hash is None or scheme is None:
            _argon2_matches(hasher.argon2, hasher.dummy, password)
            return Verification(ok=False)
        if scheme != "argon2":
            ok = matches_foreign(stored_hash, password)
            return (
                Verification(ok=True, new_hash=hasher.argon2.hash(password)) if ok else Verification(ok=False)
            )
        if not _argon2_matches(hasher.argon2, stored_hash, password):
            return Verification(ok=False)
        if hasher.argon2.check_needs_rehash(stored_hash):
            return Verification(ok=True, new_hash=hasher.argon2.hash(password))
        return Verification(ok=True)

    def _hasher(self, params: HashParams | None) -> _Hasher:
        key = params or self._default
        with self._lock:
            found = self._hashers.get(key)
        if found is not None:
            return found
        argon2 = PasswordHasher(
            time_cost=key.time_cost, memory_cost=key.memory_kib, parallelism=key.parallelism, type=Type.ID
        )
        made = _Hasher(argon2, argon2.hash("keystead-dummy-password"))
        with self._lock:
            if len(self._hashers) >= _MAX_HASHERS:
                self._hashers = {self._default: self._hashers[self._default]}
            return self._hashers.setdefault(key, made)

    def close(self) -> None:
        self._pool.shutdown(wait=False)


def _argon2_matches(hasher: PasswordHasher, stored_hash: str, password: str) -> bool:
    try:
        return hasher.verify(stored_hash, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False
