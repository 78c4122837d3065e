"""Bulk user import and export: ``POST /tenants/{tenant}/users/import`` (JSON Lines in, an
asynchronous job out), ``/tenants/{tenant}/import-jobs`` (their progress) and
``GET /tenants/{tenant}/users/export`` (JSON Lines out, password hashes only on request).

The import body is streamed to a temporary file, never held whole in memory, up to
``admin.max_import_bytes`` (413 past it); rows are checked by the job, which reports each bad
one with its line number. Only a body whose first line is not a JSON object is refused at once.
"""

from __future__ import annotations

import hashlib
import tempfile
from datetime import datetime
from typing import IO, Annotated, Any, Literal

from fastapi import APIRouter, Header, Path, Query, Request
from pydantic import BaseModel, Field
from starlette.concurrency import run_in_threadpool
from starlette.responses import Response, StreamingResponse

from keystead.http.admin import cursors
from keystead.http.admin.auth import Admin, AdminContext
from keystead.http.admin.idempotency import check_key, run_once
from keystead.http.admin.problems import Problem, ProblemRoute
from keystead.http.admin.representation import json_response
from keystead.http.admin.schemas import PageQuery, problems, rfc3339
from keystead.ports.records import ImportJob
from keystead.services.user_import_export import export_lines
from keystead.services.user_import_rows import RowError, parse_line, read_lines

NDJSON = "application/x-ndjson"
ACCEPTED_TYPES = (NDJSON, "application/jsonl", "application/json-lines")
SPOOL_IN_MEMORY = 1024 * 1024
AUTH = (401, 403)

JobId = Annotated[str, Path(max_length=64, pattern=r"^[A-Za-z0-9_-]+$")]
IdempotencyKey = Annotated[str | None, Header(alias="Idempotency-Key", min_length=1, max_length=255)]
Source = Annotated[
    str | None,
    Query(max_length=255, pattern=r"^[^\x00-\x1f\x7f]*$", description="A label, e.g. the file name"),
]

router = APIRouter(route_class=ProblemRoute, tags=["import and export"], prefix="/tenants/{tenant}")


class RowErrorOut(BaseModel):
    line: int | None = Field(description="1-based line of the file; `null` for the job itself")
    field: str | None
    reason: str


class ImportJobOut(BaseModel):
    id: str
    status: Literal["queued", "running", "succeeded", "failed"] = Field(
        description="`succeeded`: every row was read (rejected rows are counted in `failed`); "
        "`failed`: the import itself stopped"
    )
    source: str | None
    total: int
    created: int
    unchanged: int = Field(description="Rows whose username already existed: left as they are")
    failed: int
    errors: list[RowErrorOut] = Field(description="The first 1,000 rejected rows")
    created_at: datetime
    updated_at: datetime
    finished_at: datetime | None


class ImportJobPage(BaseModel):
    items: list[ImportJobOut]
    next_cursor: str | None


_IMPORT_BODY = {
    "requestBody": {
        "required": True,
        "description": "One user per line (JSON Lines); see docs/import-export.md for the fields",
        "content": {NDJSON: {"schema": {"type": "string"}}},
    }
}


@router.post(
    "/users/import",
    status_code=202,
    response_model=ImportJobOut,
    responses=problems(400, *AUTH, 404, 409, 413, 415, 422),
    openapi_extra=_IMPORT_BODY,
)
async def import_users(
    ctx: Admin, request: Request, source: Source = None, idempotency_key: IdempotencyKey = None
) -> Response:
    """Start importing users from JSON Lines; poll the job at `Location`. Existing usernames
    are left alone (counted `unchanged`), so sending a file again creates no duplicates."""
    key = check_key(idempotency_key)
    _check_media_type(request)
    body, digest = await _spool(request, ctx.app.settings.admin.max_import_bytes)
    handed_over = False
    try:
        _check_first_line(body)

        def start() -> Response:
            nonlocal handed_over
            handed_over = True
            job = ctx.app.imports.start(ctx.tenant.id, ctx.actor, body, source=source or "api")
            location = f"{request.scope.get('root_path', '')}/tenants/{ctx.tenant.name}/import-jobs/{job.id}"
            return json_response(job_json(job), 202, {"Location": location})

        fingerprint = {"sha256": digest, "source": source}
        return await run_in_threadpool(run_once, ctx, key, fingerprint, start)
    finally:
        if not handed_over:
            body.close()


@router.get("/import-jobs", response_model=ImportJobPage, responses=problems(400, *AUTH, 404, 422))
def list_import_jobs(ctx: Admin, q: Annotated[PageQuery, Query()]) -> Response:
    """Import jobs, newest first; follow `next_cursor` until it is `null`."""
    after = cursors.time_id(ctx.app.ring, ctx.tenant.id, "import-jobs", q.cursor)
    jobs = ctx.app.imports.page(ctx.tenant.id, after=after, limit=q.limit + 1)
    page = jobs[: q.limit]
    next_cursor = None
    if len(jobs) > q.limit:
        last = page[-1]
        next_cursor = cursors.encode(ctx.app.ring, ctx.tenant.id, "import-jobs", [last.created_at, last.id])
    return json_response({"items": [job_json(j) for j in page], "next_cursor": next_cursor})


@router.get("/import-jobs/{job_id}", response_model=ImportJobOut, responses=problems(*AUTH, 404, 422))
def get_import_job(ctx: Admin, job_id: JobId) -> Response:
    """An import's status and counts, and the first 1,000 rejected rows with their line numbers."""
    return json_response(job_json(ctx.app.imports.get(ctx.tenant.id, job_id)))


class NdjsonStream(StreamingResponse):
    media_type = NDJSON


@router.get(
    "/users/export",
    response_class=NdjsonStream,
    responses={
        200: {
            "description": "One user per line, in the import's format",
            "content": {NDJSON: {"schema": {}}},
        },
        **problems(*AUTH, 404, 422),
    },
)
def export_users(
    ctx: Admin,
    include_password_hashes: Annotated[
        bool,
        Query(description="Add each user's `password_hash`: the file is then as sensitive as the database"),
    ] = False,
) -> Response:
    """Every user of the tenant as JSON Lines, streamed; recorded in the audit trail."""
    _audit_export(ctx, include_password_hashes)
    lines = export_lines(ctx.app.storage, ctx.tenant.id, with_password_hashes=include_password_hashes)
    headers = {
        "Cache-Control": "no-store",
        "Content-Disposition": f'attachment; filename="{ctx.tenant.name}-users.jsonl"',
    }
    return NdjsonStream(lines, media_type=NDJSON, headers=headers)


def _audit_export(ctx: AdminContext, include_password_hashes: bool) -> None:
    after = {"include_password_hashes": include_password_hashes}
    ctx.app.audit.record(ctx.tenant.id, ctx.actor, "user.export", None, after=after)


def _check_media_type(request: Request) -> None:
    media_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if media_type not in ACCEPTED_TYPES:
        raise Problem(
            "unsupported-media-type",
            f"send JSON Lines as {NDJSON}",
            errors=[{"field": "Content-Type", "in": "header", "detail": f"expected {NDJSON}"}],
        )


async def _spool(request: Request, limit: int) -> tuple[IO[bytes], str]:
    """The body in a temporary file (in memory while small), and its SHA-256."""
    length = request.headers.get("content-length")
    if length is not None and (not length.isdigit() or int(length) > limit):
        raise _too_large(limit)
    spool = tempfile.SpooledTemporaryFile(max_size=SPOOL_IN_MEMORY)  # noqa: SIM115 (handed to the job)
    digest = hashlib.sha256()
    size = 0
    try:
        async for chunk in request.stream():
            size += len(chunk)
            if size > limit:
                raise _too_large(limit)
            digest.update(chunk)
            spool.write(chunk)
    except BaseException:
        spool.close()
        raise
    spool.seek(0)
    return spool, digest.hexdigest()


def _check_first_line(body: IO[bytes]) -> None:
    """Refuse at once what is not JSON Lines at all (an empty body, a JSON array, a form)."""
    first = next(read_lines(body), None)
    body.seek(0)
    if first is None:
        raise Problem(
            "validation", "the body has no rows", errors=[{"field": "body", "in": "body", "detail": "empty"}]
        )
    parsed = parse_line(first)
    if isinstance(parsed, RowError) and parsed.field is None:
        raise Problem(
            "bad-request",
            "the body is not JSON Lines",
            errors=[{"field": "body", "in": "body", "detail": f"line {first.number}: {parsed.reason}"}],
        )


def _too_large(limit: int) -> Problem:
    return Problem("payload-too-large", f"imports are limited to {limit} bytes; split the file")


def job_json(job: ImportJob) -> dict[str, Any]:
    return {
        "id": job.id,
        "status": job.status,
        "source": job.source,
        "total": job.total,
        "created": job.created,
        "unchanged": job.unchanged,
        "failed": job.failed,
        "errors": job.errors,
        "created_at": rfc3339(job.created_at),
        "updated_at": rfc3339(job.updated_at),
        "finished_at": rfc3339(job.finished_at) if job.finished_at is not None else None,
    }
