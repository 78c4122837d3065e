"""Admin API errors: each RFC 9457 problem document is raised as a typed exception, chosen by
the response status (so a proxy's bare 503 is a :class:`ServerError` too)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import httpx

from keystead.sdk.errors import SdkError

PROBLEM_BASE = "https://keystead.dev/problems/"


class AdminApiError(SdkError):
    """The admin API answered with an error. ``type`` is the problem's stable URI (``slug`` its
    last part), ``errors`` the offending fields of a validation problem (``field``, ``in``,
    ``detail``)."""

    def __init__(
        self,
        status: int,
        type: str = "about:blank",
        title: str = "",
        detail: str | None = None,
        errors: Sequence[Mapping[str, str]] = (),
    ) -> None:
        self.status = status
        self.type = type
        self.title = title
        self.detail = detail
        self.errors: list[dict[str, str]] = [dict(e) for e in errors]
        super().__init__(f"{status} {title or type}" + (f": {detail}" if detail else ""))

    @property
    def slug(self) -> str:
        """``not-found`` for ``https://keystead.dev/problems/not-found``."""
        return self.type.removeprefix(PROBLEM_BASE)


class BadRequest(AdminApiError):
    """400: malformed JSON, a tampered cursor (``invalid-cursor``), a body too large (413)..."""


class Unauthorized(AdminApiError):
    """401: no token, or an invalid, expired or revoked one; or the token request was refused."""


class Forbidden(AdminApiError):
    """403: the token may not administer this tenant (or lacks the admin scope)."""


class NotFound(AdminApiError):
    """404: no such user (in this tenant), no such tenant, no such route."""


class Conflict(AdminApiError):
    """409: username or email already in use; an ``Idempotency-Key`` reused with another body or
    still running."""


class PreconditionFailed(AdminApiError):
    """412: the object changed since its ETag was read — nothing was written (428: no If-Match)."""


class ValidationFailed(AdminApiError):
    """422: ``errors`` names each invalid field."""

    @property
    def fields(self) -> list[str]:
        return [e.get("field", "") for e in self.errors]


class RateLimited(AdminApiError):
    """429, after the retries: ``retry_after`` is the server's ``Retry-After`` in seconds."""

    retry_after: float | None = None


class ServerError(AdminApiError):
    """5xx, after the retries for 503."""


_BY_STATUS: dict[int, type[AdminApiError]] = {
    400: BadRequest,
    401: Unauthorized,
    403: Forbidden,
    404: NotFound,
    409: Conflict,
    412: PreconditionFailed,
    413: BadRequest,
    422: ValidationFailed,
    428: PreconditionFailed,
    429: RateLimited,
}


def error_class(status: int) -> type[AdminApiError]:
    if status >= 500:
        return ServerError
    return _BY_STATUS.get(status, AdminApiError)


def problem_error(response: httpx.Response, retry_after: float | None = None) -> AdminApiError:
    """The exception for an error response; its body is read as a problem document when it is
    one (or as an OAuth error, ``error``/``error_description``, from the token endpoint), else
    the status alone describes it."""
    body: Any = None
    try:
        body = response.json()
    except ValueError:
        body = None
    if not isinstance(body, dict):
        body = {}
    errors = body.get("errors")
    error = error_class(response.status_code)(
        response.status_code,
        _text(body.get("type")) or "about:blank",
        _text(body.get("title")) or _text(body.get("error")) or response.reason_phrase,
        _text(body.get("detail")) or _text(body.get("error_description")),
        [e for e in errors if isinstance(e, dict)] if isinstance(errors, list) else (),
    )
    if isinstance(error, RateLimited):
        error.retry_after = retry_after
    return error


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) else None
