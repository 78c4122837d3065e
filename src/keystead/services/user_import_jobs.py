"""Import jobs: an import run in the background of the server process, its progress stored so
that any process can report it, one audit event per import.

A job is ``queued`` when created, ``running`` while its rows go in (progress written after each
batch), then ``succeeded`` (every row was read; rejected rows are counted in ``failed``) or
``failed`` (the import itself stopped). A job whose progress has not moved for
:data:`STALE_AFTER` seconds — its process was stopped or restarted — is reported and stored as
``failed`` by the first read that notices; the rows it inserted stay, and re-running the file
completes the import (existing users count as ``unchanged``).
"""

from __future__ import annotations

import logging
import threading
import uuid
from collections.abc import Callable, Sequence
from dataclasses import replace
from typing import IO, Any

from keystead.errors import Conflict, NotFound
from keystead.ports.records import ImportJob
from keystead.ports.stores import ImportJobStore
from keystead.services.audit import Actor, Audit
from keystead.services.tenant_settings import TenantSettings
from keystead.services.user_import import ImportPolicy, Progress, UserImporter, count_rows
from keystead.types import Clock

log = logging.getLogger("keystead.imports")

STALE_AFTER = 15 * 60
MAX_RUNNING = 4
ACTIVE = ("queued", "running")
INTERRUPTED = "interrupted: no progress for 15 minutes (the server was probably restarted)"


class ImportJobs:
    def __init__(
        self,
        store: ImportJobStore,
        importer: UserImporter,
        audit: Audit,
        clock: Clock,
        settings_for: Callable[[str], TenantSettings] | None = None,
    ) -> None:
        """``settings_for(tenant_id)``: the tenant's password policy and hashing parameters,
        applied to plain passwords unless a job is given its own :class:`ImportPolicy`."""
        self._settings_for = settings_for
        self._store = store
        self._importer = importer
        self._audit = audit
        self._clock = clock
        self._threads: set[threading.Thread] = set()
        self._lock = threading.Lock()

    def start(
        self,
        tenant_id: str,
        actor: Actor,
        stream: IO[bytes],
        *,
        source: str | None = None,
        policy: ImportPolicy | None = None,
    ) -> ImportJob:
        """Queue an import of ``stream`` (seekable; the job closes it) on a background thread."""
        policy = self._policy(tenant_id, policy)
        with self._lock:
            self._threads = {t for t in self._threads if t.is_alive()}
            if len(self._threads) >= MAX_RUNNING:
                stream.close()
                raise Conflict(f"{MAX_RUNNING} imports are already running here; retry when one has finished")
            job = self._new(tenant_id, actor, source)
            thread = threading.Thread(
                target=self._execute,
                args=(job, actor, stream, policy, None),
                name=f"import-{job.id}",
                daemon=True,
            )
            self._threads.add(thread)
        thread.start()
        return job

    def run(
        self,
        tenant_id: str,
        actor: Actor,
        stream: IO[bytes],
        *,
        source: str | None = None,
        policy: ImportPolicy | None = None,
        on_progress: Callable[[Progress], None] | None = None,
    ) -> tuple[ImportJob, Progress]:
        """Import in the calling thread (the CLI); the job is recorded like a queued one."""
        policy = self._policy(tenant_id, policy)
        job = self._new(tenant_id, actor, source)
        return self._execute(job, actor, stream, policy, on_progress)

    def get(self, tenant_id: str, job_id: str) -> ImportJob:
        job = self._store.import_job(tenant_id, job_id)
        if job is None:
            raise NotFound("no such import job")
        return self._checked(job)

    def page(self, tenant_id: str, *, after: tuple[float, str] | None, limit: int) -> Sequence[ImportJob]:
        return [self._checked(j) for j in self._store.import_jobs_page(tenant_id, after=after, limit=limit)]

    def wait(self, timeout: float = 30.0) -> None:
        """Wait for this process's background imports (tests, orderly shutdown)."""
        with self._lock:
            threads = list(self._threads)
        for thread in threads:
            thread.join(timeout)

    def _policy(self, tenant_id: str, policy: ImportPolicy | None) -> ImportPolicy | None:
        if policy is not None or self._settings_for is None:
            return policy
        settings = self._settings_for(tenant_id)
        rules = settings.password_policy
        return ImportPolicy(settings.hash_params, rules.min_length, rules=rules)

    def _new(self, tenant_id: str, actor: Actor, source: str | None) -> ImportJob:
        now = self._clock()
        job = ImportJob(
            id=str(uuid.uuid4()),
            tenant_id=tenant_id,
            kind="users",
            status="queued",
            actor=actor.name,
            created_at=now,
            updated_at=now,
            source=source[:255] if source else None,
        )
        self._store.add_import_job(job)
        return job

    def _execute(
        self,
        job: ImportJob,
        actor: Actor,
        stream: IO[bytes],
        policy: ImportPolicy | None,
        on_progress: Callable[[Progress], None] | None,
    ) -> tuple[ImportJob, Progress]:
        progress = Progress()
        try:
            with stream:
                progress.total = count_rows(stream)
                job = self._save(job, status="running", total=progress.total)

                def report(p: Progress) -> None:
                    self._save(job, **_counts(p))
                    if on_progress is not None:
                        on_progress(p)

                progress = self._importer.run(
                    job.tenant_id, stream, total=progress.total, policy=policy, on_progress=report
                )
            job = self._finish(job, "succeeded", _counts(progress), actor)
        except Exception:
            log.exception("import job %s stopped", job.id)
            counts = _counts(progress)
            counts["errors"].append(
                {"line": None, "field": None, "reason": "the import stopped on an internal error"}
            )
            job = self._finish(job, "failed", counts, actor)
        return job, progress

    def _checked(self, job: ImportJob) -> ImportJob:
        if job.status not in ACTIVE or self._clock() - job.updated_at <= STALE_AFTER:
            return job
        errors = [*job.errors, {"line": None, "field": None, "reason": INTERRUPTED}]
        return self._finish(job, "failed", {"errors": errors})

    def _finish(
        self, job: ImportJob, status: str, fields: dict[str, Any], actor: Actor | None = None
    ) -> ImportJob:
        """The job's end, and its one audit event (counts only: no row, password or hash)."""
        job = self._save(job, status=status, finished_at=self._clock(), **fields)
        summary = {
            "status": job.status,
            "source": job.source,
            **{k: getattr(job, k) for k in ("total", "created", "unchanged", "failed")},
        }
        self._audit.record(job.tenant_id, actor or Actor(job.actor), "user.import", job.id, after=summary)
        return job

    def _save(self, job: ImportJob, **fields: Any) -> ImportJob:
        fields["updated_at"] = max(self._clock(), job.updated_at)
        self._store.update_import_job(job.tenant_id, job.id, **fields)
        return replace(job, **fields)


def _counts(progress: Progress) -> dict[str, Any]:
    return {
        "total": progress.total,
        "created": progress.created,
        "unchanged": progress.unchanged,
        "failed": progress.failed,
        "errors": [e.as_dict() for e in progress.errors],
    }
