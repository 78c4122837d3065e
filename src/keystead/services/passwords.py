"""Password hashing with argon2id (OWASP: m=19 MiB, t=2, p=1), in a pool bounded by the cores.

Hashing is the most expensive thing a login does, so it runs in its own thread pool (argon2-cffi
releases the GIL) whose size is the core count: more threads would only queue on the CPU.
A login for an unknown account still pays one verification against a dummy hash.
"""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from argon2 import PasswordHasher, Type
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from keystead.config import PasswordSettings

MAX_PASSWORD_LENGTH = 1024


@dataclass(frozen=True, slots=True)
class HashParams:
    """argon2id cost parameters; a tenant may set its own (tenant settings)."""

    time_cost: int = 2
    memory_kib: int = 19 * 1024
    parallelism: int = 1


@dataclass(frozen=True, slots=True)
class Verification:
    ok: bool
    new_hash: str | None = None  # set when the stored hash used outdated parameters


def usable_cores() -> int:
    """Cores this process may run on (a pinned worker gets one hashing thread, not all)."""
    try:
        return len(os.sched_getaffinity(0)) or 1
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


class Passwords:
    def __init__(self, settings: PasswordSettings) -> None:
        self._hasher = PasswordHasher(
            time_cost=settings.time_cost,
            memory_cost=settings.memory_kib,
            parallelism=settings.parallelism,
            type=Type.ID,
        )
        workers = settings.workers or usable_cores()
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="argon2")
        self._dummy = self._hasher.hash("keystead-dummy-password")

    def hash(self, password: str) -> str:
        return self._pool.submit(self._hasher.hash, password).result()

    def verify(self, stored_hash: str | None, password: str) -> Verification:
        """Check ``password``; an absent hash costs the same as a wrong password."""
        return self._pool.submit(self._verify, stored_hash, password).result()

    def _verify(self, stored_hash: str | None, password: str) -> Verification:
        target = stored_hash or self._dummy
        try:
            self._hasher.verify(target, password[:MAX_PASSWORD_LENGTH])
        except (VerifyMismatchError, VerificationError, InvalidHashError):
            return Verification(ok=False)
        if stored_hash is None:
            return Verification(ok=False)
        if self._hasher.check_needs_rehash(stored_hash):
            return Verification(ok=True, new_hash=self._hasher.hash(password))
        return Verification(ok=True)

    def close(self) -> None:
        self._pool.shutdown(wait=False)
