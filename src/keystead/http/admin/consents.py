"""A user's consents and grants: list them, withdraw a consent (the user's grants for that
client are revoked with it, so their tokens stop working), revoke one grant."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Query
from starlette.responses import Response

from keystead.http.admin import cursors
from keystead.http.admin.auth import Admin
from keystead.http.admin.problems import ProblemRoute
from keystead.http.admin.representation import json_response
from keystead.http.admin.schemas import ConsentPage, GrantPage, PageQuery, problems, rfc3339
from keystead.ports.records import Consent, Grant

Id = Annotated[str, Path(max_length=64, pattern=r"^[A-Za-z0-9_-]+$")]
ClientId = Annotated[str, Path(min_length=1, max_length=255)]
AUTH = (401, 403)

router = APIRouter(route_class=ProblemRoute, tags=["consents"], prefix="/tenants/{tenant}/users/{user_id}")


@router.get("/consents", response_model=ConsentPage, responses=problems(400, *AUTH, 404, 422))
def list_consents(ctx: Admin, user_id: Id, q: Annotated[PageQuery, Query()]) -> Response:
    """The clients the user consented to, and the scopes, ordered by `client_id`."""
    ctx.app.users.get(ctx.tenant.id, user_id)
    after = cursors.text(ctx.app.ring, ctx.tenant.id, f"consents:{user_id}", q.cursor)
    found = ctx.app.consents.of_user(ctx.tenant.id, user_id, after=after, limit=q.limit + 1)
    page = found[: q.limit]
    next_cursor = None
    if len(found) > q.limit:
        next_cursor = cursors.encode(ctx.app.ring, ctx.tenant.id, f"consents:{user_id}", [page[-1].client_id])
    return json_response({"items": [consent_json(c) for c in page], "next_cursor": next_cursor})


@router.delete("/consents/{client_id}", status_code=204, responses=problems(*AUTH, 404, 422))
def revoke_consent(ctx: Admin, user_id: Id, client_id: ClientId) -> Response:
    """Withdraw the user's consent to the client and revoke the user's grants for it: their
    refresh and access tokens stop working, and the next authorization asks for consent."""
    ctx.app.users.get(ctx.tenant.id, user_id)
    grants = ctx.app.consents.revoke(ctx.tenant.id, user_id, client_id)
    ctx.app.audit.record(
        ctx.tenant.id,
        ctx.actor,
        "consent.revoke",
        user_id,
        after={"client_id": client_id, "grants": grants},
    )
    return Response(status_code=204)


@router.get("/grants", response_model=GrantPage, responses=problems(400, *AUTH, 404, 422))
def list_grants(ctx: Admin, user_id: Id, q: Annotated[PageQuery, Query()]) -> Response:
    """The user's live grants (token families), newest first."""
    ctx.app.users.get(ctx.tenant.id, user_id)
    kind = f"grants:{user_id}"
    after = cursors.time_id(ctx.app.ring, ctx.tenant.id, kind, q.cursor)
    found = ctx.app.consents.grants(ctx.tenant.id, user_id, after=after, limit=q.limit + 1)
    page = found[: q.limit]
    next_cursor = None
    if len(found) > q.limit:
        next_cursor = cursors.encode(ctx.app.ring, ctx.tenant.id, kind, [page[-1].created_at, page[-1].id])
    return json_response({"items": [grant_json(g) for g in page], "next_cursor": next_cursor})


@router.delete("/grants/{grant_id}", status_code=204, responses=problems(*AUTH, 404, 422))
def revoke_grant(ctx: Admin, user_id: Id, grant_id: Id) -> Response:
    """Revoke one grant of the user: its refresh and access tokens stop working."""
    ctx.app.users.get(ctx.tenant.id, user_id)
    grant = ctx.app.consents.revoke_grant(ctx.tenant.id, user_id, grant_id)
    ctx.app.audit.record(ctx.tenant.id, ctx.actor, "grant.revoke", grant_id, before=grant_json(grant))
    return Response(status_code=204)


def consent_json(consent: Consent) -> dict[str, Any]:
    return {
        "client_id": consent.client_id,
        "scopes": list(consent.scopes),
        "granted_at": rfc3339(consent.granted_at),
    }


def grant_json(grant: Grant) -> dict[str, Any]:
    return {
        "id": grant.id,
        "client_id": grant.client_id,
        "user_id": grant.user_id,
        "scopes": list(grant.scopes),
        "created_at": rfc3339(grant.created_at),
        "session_id": grant.session_id,
        "auth_time": rfc3339(grant.auth_time) if grant.auth_time is not None else None,
        "acr": grant.acr,
        "amr": list(grant.amr),
    }
