"""``/tenants/{tenant}/keys``: the tenant's signing keys (public facts only, never key
material) and rotation."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from starlette.responses import Response

from keystead.http.admin.auth import Admin
from keystead.http.admin.problems import ProblemRoute
from keystead.http.admin.representation import json_response
from keystead.http.admin.schemas import KeyList, KeyRotation, problems, rfc3339
from keystead.ports.records import StoredKey

AUTH = (401, 403)

router = APIRouter(route_class=ProblemRoute, tags=["keys"], prefix="/tenants/{tenant}/keys")


@router.get("", response_model=KeyList, responses=problems(*AUTH, 404))
def list_keys(ctx: Admin) -> Response:
    """Signing keys, newest first: the active key of each algorithm, and retired keys still
    published in the JWKS until `publish_until`."""
    keys = ctx.app.keys.listing(ctx.tenant.id)
    return json_response({"items": [keyjson_response(k) for k in keys]})


@router.post("/rotate", response_model=KeyRotation, responses=problems(*AUTH, 404))
def rotate_keys(ctx: Admin) -> Response:
    """A new active key for each algorithm in use. The previous keys stay published until every
    token they signed has expired, so tokens already issued keep verifying."""
    rotated = [{"kid": k.kid, "alg": k.alg} for k in ctx.app.keys.rotate(ctx.tenant.id)]
    ctx.app.audit.record(ctx.tenant.id, ctx.actor, "keys.rotate", None, after={"rotated": rotated})
    return json_response({"rotated": rotated})


def keyjson_response(key: StoredKey) -> dict[str, Any]:
    return {
        "kid": key.kid,
        "alg": key.alg,
        "status": key.status,
        "created_at": rfc3339(key.created_at),
        "publish_until": rfc3339(key.publish_until) if key.publish_until is not None else None,
    }
