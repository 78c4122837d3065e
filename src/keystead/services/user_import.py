"""Bulk user import from JSON Lines (:mod:`keystead.services.user_import_rows` reads the rows).

Valid rows go in by batches through :meth:`BulkUserStore.add_users_bulk`; a bad row is reported
(line, field, reason) and never stops the others. Existing users are never changed: a row whose
username is already taken in the tenant counts as ``unchanged``, which makes re-running a file
safe. A username repeated within the file is an error on the later line (the file's usernames
are remembered as 64-bit digests: about 70 bytes a row).

Plain passwords are hashed with argon2id on the shared password pool, a pool's width at a time;
that is the slow part of an import (tens of milliseconds per password and core), expected and
documented. Hashes of rows whose user already exists are not computed at all.
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import IO, Protocol

from keystead.ports.records import User
from keystead.services.password_policy import offline_policy
from keystead.services.passwords import MAX_PASSWORD_LENGTH, HashParams, Passwords
from keystead.services.tenant_settings import PasswordPolicy as PolicySettings
from keystead.services.user_import_rows import ImportRow, Line, RowError, parse_lines, read_lines
from keystead.services.users import MIN_PASSWORD_LENGTH
from keystead.types import Clock

BATCH_SIZE = 1000
MAX_ERRORS = 1000


class ImportTarget(Protocol):
    """What an import needs of the storage."""

    def add_users_bulk(self, tenant_id: str, users: Sequence[User]) -> list[int]: ...
    def taken_logins(
        self, tenant_id: str, usernames: Sequence[str], emails: Sequence[str]
    ) -> tuple[set[str], set[str]]:
        """Those of ``usernames`` and ``emails`` (as given) taken in the tenant, case-insensitively."""
        ...


@dataclass(frozen=True, slots=True)
class ImportPolicy:
    """The tenant's rules for plain passwords: its argon2id costs and password policy
    (``rules``; without it, ``min_password_length`` and the policy's defaults). Checked offline
    only: the shipped breached list (a Bloom lookup) applies, range queries never run per row."""

    hash_params: HashParams | None = None
    min_password_length: int = MIN_PASSWORD_LENGTH
    rules: PolicySettings | None = None

    def refusal(self, row: ImportRow) -> RowError | None:
        if row.password is None:
            return None
        rules = self.rules or PolicySettings.model_construct(
            min_length=self.min_password_length, max_length=MAX_PASSWORD_LENGTH
        )
        reason = offline_policy().refusal(
            row.password, rules, username=row.username, email=row.email, online=False
        )
        return RowError(row.line, "password", reason) if reason is not None else None


@dataclass
class Progress:
    total: int = 0
    created: int = 0
    unchanged: int = 0
    failed: int = 0
    errors: list[RowError] = field(default_factory=list)

    @property
    def done(self) -> int:
        return self.created + self.unchanged + self.failed

    def fail(self, error: RowError) -> None:
        self.failed += 1
        if len(self.errors) < MAX_ERRORS:
            self.errors.append(error)


def count_rows(stream: IO[bytes]) -> int:
    """Non-blank lines from the stream's position; the stream is rewound there."""
    start = stream.tell()
    total = sum(1 for _ in read_lines(stream))
    stream.seek(start)
    return total


class UserImporter:
    def __init__(
        self, store: ImportTarget, passwords: Passwords, clock: Clock, *, batch_size: int = BATCH_SIZE
    ) -> None:
        self._store = store
        self._passwords = passwords
        self._clock = clock
        self._batch_size = batch_size

    def run(
        self,
        tenant_id: str,
        stream: IO[bytes],
        *,
        total: int = 0,
        policy: ImportPolicy | None = None,
        on_progress: Callable[[Progress], None] | None = None,
    ) -> Progress:
        """Import every row of ``stream``; ``on_progress`` is called after each batch."""
        return self.run_lines(
            tenant_id, read_lines(stream), total=total, policy=policy, on_progress=on_progress
        )

    def run_lines(
        self,
        tenant_id: str,
        lines: Iterable[Line],
        *,
        total: int = 0,
        policy: ImportPolicy | None = None,
        on_progress: Callable[[Progress], None] | None = None,
    ) -> Progress:
        policy = policy or ImportPolicy()
        progress = Progress(total=total)
        seen: set[int] = set()
        batch: list[ImportRow] = []
        for item in parse_lines(lines):
            if isinstance(item, RowError):
                progress.fail(item)
            elif (refused := policy.refusal(item)) is not None:
                progress.fail(refused)
            elif (key := _digest(item.username)) in seen:
                progress.fail(RowError(item.line, "username", "repeats the username of an earlier line"))
            else:
                seen.add(key)
                batch.append(item)
            if len(batch) >= self._batch_size:
                self._flush(tenant_id, batch, policy.hash_params, progress, on_progress)
                batch = []
        self._flush(tenant_id, batch, policy.hash_params, progress, on_progress)
        progress.total = max(progress.total, progress.done)
        return progress

    def _flush(
        self,
        tenant_id: str,
        batch: list[ImportRow],
        params: HashParams | None,
        progress: Progress,
        on_progress: Callable[[Progress], None] | None,
    ) -> None:
        if batch:
            self._insert(tenant_id, batch, params, progress)
        if on_progress is not None:
            progress.total = max(progress.total, progress.done)
            on_progress(progress)

    def _insert(
        self, tenant_id: str, batch: list[ImportRow], params: HashParams | None, progress: Progress
    ) -> None:
        existing, _ = self._store.taken_logins(tenant_id, [r.username for r in batch], [])
        fresh = [r for r in batch if r.username not in existing]
        progress.unchanged += len(batch) - len(fresh)
        if not fresh:
            return
        plain = self._passwords.hash_many([r.password for r in fresh if r.password is not None], params)
        hashes = iter(plain)
        now = self._clock()
        users = [
            _user(tenant_id, r, next(hashes) if r.password is not None else r.password_hash, now)
            for r in fresh
        ]
        inserted = set(self._store.add_users_bulk(tenant_id, users))
        progress.created += len(inserted)
        skipped = [r for i, r in enumerate(fresh) if i not in inserted]
        if skipped:
            self._explain(tenant_id, skipped, progress)

    def _explain(self, tenant_id: str, skipped: list[ImportRow], progress: Progress) -> None:
        """Why rows with a free username were not inserted."""
        names, emails = self._store.taken_logins(
            tenant_id, [r.username for r in skipped], [r.email for r in skipped if r.email]
        )
        for row in skipped:
            if row.email is not None and row.email in emails:
                progress.fail(RowError(row.line, "email", "email already in use"))
            elif row.username in names:
                progress.fail(RowError(row.line, "username", "username already in use"))
            elif row.id is not None:
                progress.fail(RowError(row.line, "id", "id already in use"))
            else:
                progress.fail(RowError(row.line, None, "conflicts with an existing user"))


def _user(tenant_id: str, row: ImportRow, password_hash: str | None, now: float) -> User:
    return User(
        id=row.id or str(uuid.uuid4()),
        tenant_id=tenant_id,
        username=row.username,
        email=row.email,
        email_verified=row.email_verified,
        status=row.status,
        password_hash=password_hash,
        given_name=row.profile.get("given_name"),
        family_name=row.profile.get("family_name"),
        name=row.profile.get("name"),
        phone_number=row.profile.get("phone_number"),
        phone_number_verified=row.phone_number_verified,
        address=row.address,
        locale=row.profile.get("locale"),
        created_at=now,
        updated_at=now,
        roles=row.roles,
    )


def _digest(username: str) -> int:
    norm = username.strip().casefold().encode("utf-8")
    return int.from_bytes(hashlib.blake2b(norm, digest_size=8).digest(), "big")
