"""What every admin resource renders the same way: JSON bodies, strong ETags of stored records,
``If-Match`` checks, and field errors."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

import orjson
from starlette.responses import Response

from keystead.http.admin.auth import AdminContext
from keystead.http.admin.problems import Problem

ETAG_PURPOSE = "admin-etag"


def json_response(body: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    return Response(orjson.dumps(body), status_code=status, headers=headers, media_type="application/json")


def etag(ctx: AdminContext, record: Any) -> str:
    """A strong validator of a stored record (a dataclass): any change of any field, secrets
    and hashes included, changes it; keyed, so it reveals nothing of them."""
    state = orjson.dumps(asdict(record), option=orjson.OPT_SORT_KEYS).decode()
    return f'"{ctx.app.ring.mac(ETAG_PURPOSE, state)[:32]}"'


def check_if_match(ctx: AdminContext, record: Any, if_match: str, noun: str) -> None:
    """RFC 9110 section 13.1.1: ``*`` or one of the listed tags must match the current ETag."""
    offered = [tag.strip() for tag in if_match.split(",")]
    if "*" not in offered and etag(ctx, record) not in offered:
        raise Problem("precondition-failed", f"the {noun} was changed since this ETag was read")


def body_field(name: str, detail: str) -> dict[str, str]:
    """One entry of a validation problem's ``errors`` for a field of the JSON body."""
    return {"field": name, "in": "body", "detail": detail}
