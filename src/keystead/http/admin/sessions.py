"""SSO sessions: list a user's live sessions, revoke one, revoke all of a user. Revoking a
session revokes the grants made in it too, so its refresh tokens stop working."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Query
from starlette.responses import Response

from keystead.http.admin import cursors
from keystead.http.admin.auth import Admin
from keystead.http.admin.problems import Problem, ProblemRoute
from keystead.http.admin.representation import json_response
from keystead.http.admin.schemas import PageQuery, SessionList, problems, rfc3339
from keystead.ports.records import Session

Id = Annotated[str, Path(max_length=64, pattern=r"^[A-Za-z0-9_-]+$")]
AUTH = (401, 403)

router = APIRouter(route_class=ProblemRoute, tags=["sessions"], prefix="/tenants/{tenant}")


@router.get("/users/{user_id}/sessions", response_model=SessionList, responses=problems(400, *AUTH, 404, 422))
def list_user_sessions(ctx: Admin, user_id: Id, q: Annotated[PageQuery, Query()]) -> Response:
    """The user's live sessions (not revoked, not expired), newest first; follow
    `next_cursor` until it is `null`."""
    ctx.app.users.get(ctx.tenant.id, user_id)
    kind = f"sessions:{user_id}"
    after = cursors.time_id(ctx.app.ring, ctx.tenant.id, kind, q.cursor)
    found = ctx.app.sessions.of_user(ctx.tenant.id, user_id, after=after, limit=q.limit + 1)
    page = found[: q.limit]
    next_cursor = None
    if len(found) > q.limit:
        next_cursor = cursors.encode(ctx.app.ring, ctx.tenant.id, kind, [page[-1].created_at, page[-1].id])
    return json_response({"items": [session_json(s) for s in page], "next_cursor": next_cursor})


@router.delete("/users/{user_id}/sessions", status_code=204, responses=problems(*AUTH, 404, 422))
def revoke_user_sessions(ctx: Admin, user_id: Id) -> Response:
    """Sign the user out everywhere: every live session and the grants made in them."""
    ctx.app.users.get(ctx.tenant.id, user_id)
    ended = ctx.app.sessions.end_all_of_user(ctx.tenant.id, user_id)
    ctx.app.audit.record(ctx.tenant.id, ctx.actor, "user.sessions.revoke", user_id, after={"sessions": ended})
    return Response(status_code=204)


@router.delete("/sessions/{session_id}", status_code=204, responses=problems(*AUTH, 404, 422))
def revoke_session(ctx: Admin, session_id: Id) -> Response:
    """Revoke one live session and the grants made in it."""
    session = ctx.app.sessions.find(ctx.tenant.id, session_id)
    if session is None:
        raise Problem("not-found", "no such live session")
    ctx.app.sessions.end(session)
    ctx.app.audit.record(ctx.tenant.id, ctx.actor, "session.revoke", session_id, before=session_json(session))
    return Response(status_code=204)


def session_json(session: Session) -> dict[str, Any]:
    return {
        "id": session.id,
        "user_id": session.user_id,
        "created_at": rfc3339(session.created_at),
        "auth_time": rfc3339(session.auth_time),
        "expires_at": rfc3339(session.expires_at),
        "acr": session.acr,
        "amr": list(session.amr),
    }
