"""RFC 9457 problem details: every admin API error is ``application/problem+json`` with a
stable ``type`` URI; validation problems name the offending fields."""

from __future__ import annotations

import logging
from collections.abc import Callable, Coroutine, Sequence
from typing import Any

import orjson
from fastapi.exceptions import RequestValidationError
from fastapi.routing import APIRoute
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response

from keystead.errors import Conflict, InvalidInput, KeysteadError, NotFound, Stale

log = logging.getLogger("keystead.admin")

PROBLEM_TYPE = "application/problem+json"
PROBLEM_BASE = "https://keystead.dev/problems/"
BEARER_CHALLENGE = 'Bearer realm="keystead-admin"'

#: The stable problem types, by slug: (status, title).
TYPES: dict[str, tuple[int, str]] = {
    "bad-request": (400, "Bad request"),
    "invalid-cursor": (400, "Invalid cursor"),
    "unauthorized": (401, "Unauthorized"),
    "forbidden": (403, "Forbidden"),
    "not-found": (404, "Not found"),
    "method-not-allowed": (405, "Method not allowed"),
    "conflict": (409, "Conflict"),
    "idempotency-key-reused": (409, "Idempotency key reused"),
    "precondition-failed": (412, "Precondition failed"),
    "payload-too-large": (413, "Payload too large"),
    "unsupported-media-type": (415, "Unsupported media type"),
    "validation": (422, "Validation failed"),
    "precondition-required": (428, "Precondition required"),
    "rate-limited": (429, "Too many requests"),
    "server-error": (500, "Internal server error"),
}


class Problem(Exception):
    """An error the admin API answers with; ``detail`` is public, ``log_detail`` private."""

    def __init__(
        self,
        slug: str,
        detail: str | None = None,
        *,
        errors: Sequence[dict[str, str]] = (),
        headers: dict[str, str] | None = None,
        log_detail: str | None = None,
    ) -> None:
        super().__init__(detail or slug)
        self.slug = slug
        self.status, self.title = TYPES[slug]
        self.detail = detail
        self.errors = list(errors)
        self.headers = headers or {}
        self.log_detail = log_detail

    def body(self) -> dict[str, Any]:
        body: dict[str, Any] = {"type": PROBLEM_BASE + self.slug, "title": self.title, "status": self.status}
        if self.detail:
            body["detail"] = self.detail
        if self.errors:
            body["errors"] = self.errors
        return body


def unauthorized(detail: str, *, log_detail: str | None = None) -> Problem:
    return Problem(
        "unauthorized", detail, headers={"WWW-Authenticate": BEARER_CHALLENGE}, log_detail=log_detail
    )


def problem_response(problem: Problem) -> Response:
    if problem.log_detail:
        log.info("admin problem %s: %s", problem.slug, problem.log_detail)
    headers = {"Cache-Control": "no-store", **problem.headers}
    return Response(
        orjson.dumps(problem.body()), status_code=problem.status, headers=headers, media_type=PROBLEM_TYPE
    )


def from_domain(exc: KeysteadError) -> Problem:
    if isinstance(exc, InvalidInput):
        return Problem(
            "validation", exc.description, errors=[{"field": exc.field, "detail": exc.description}]
        )
    if isinstance(exc, Conflict):
        return Problem("conflict", exc.description)
    if isinstance(exc, NotFound):
        return Problem("not-found", exc.description)
    if isinstance(exc, Stale):
        return Problem("precondition-failed", exc.description)
    return Problem("bad-request", exc.description, log_detail=exc.detail)


def from_validation(exc: RequestValidationError) -> Problem:
    errors = []
    malformed = False
    for error in exc.errors():
        loc = [str(p) for p in error.get("loc", ())]
        malformed = malformed or error.get("type") == "json_invalid"
        where, path = (loc[0], loc[1:]) if loc else ("body", [])
        field = ".".join(path) if path else where
        errors.append({"field": field, "in": where, "detail": str(error.get("msg", "invalid"))})
    if malformed:
        return Problem("bad-request", "the request body is not valid JSON", errors=errors)
    return Problem("validation", "the request is invalid", errors=errors)


def to_problem(exc: Exception) -> Problem:
    if isinstance(exc, Problem):
        return exc
    if isinstance(exc, KeysteadError):
        return from_domain(exc)
    if isinstance(exc, RequestValidationError):
        return from_validation(exc)
    if isinstance(exc, HTTPException):
        return from_http(exc)
    log.exception("unexpected error in the admin API")
    return Problem("server-error")


def from_http(exc: HTTPException) -> Problem:
    slug = {404: "not-found", 405: "method-not-allowed", 413: "payload-too-large"}.get(exc.status_code)
    if slug is None:
        slug = "bad-request" if exc.status_code < 500 else "server-error"
    return Problem(slug, headers=dict(exc.headers or {}))


async def http_exception_handler(request: Request, exc: Exception) -> Response:
    """Routing errors (unknown path, wrong method) outside any route handler."""
    return problem_response(to_problem(exc))


class ProblemRoute(APIRoute):
    """Every error raised while handling a route (dependencies included) becomes a problem;
    anything unexpected becomes a 500 problem with no detail, its cause only in the log.

    Before the route's parameters and body are parsed, the app's ``gate`` (``app.state.gate``:
    authentication and rate limiting) runs, so nothing about a request is answered to a caller
    that may not make it."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def handle(request: Request) -> Response:
            try:
                gate: Callable[[Request], None] | None = getattr(request.app.state, "gate", None)
                if gate is not None:
                    await run_in_threadpool(gate, request)
                return await handler(request)
            except Exception as exc:
                return problem_response(to_problem(exc))

        return handle
