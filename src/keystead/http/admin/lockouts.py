"""``/tenants/{tenant}/users/{user_id}/lockout``: a user's brute-force lock state, and unlocking.

The state is read from the attack-protection counters (in process or Redis) under every login
the user may type (username and email). ``DELETE`` clears the failures, delay and lockout of
those logins (not the per-address limits, which protect against credential stuffing) and is
audited as ``user.unlock``.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Path
from pydantic import BaseModel, Field
from starlette.responses import Response

from keystead.http.admin.auth import Admin
from keystead.http.admin.problems import ProblemRoute
from keystead.http.admin.representation import json_response
from keystead.http.admin.schemas import problems, rfc3339
from keystead.services.throttle import AccountState

UserId = Annotated[str, Path(max_length=64, pattern=r"^[A-Za-z0-9_-]+$")]
AUTH = (401, 403)

router = APIRouter(route_class=ProblemRoute, tags=["lockouts"], prefix="/tenants/{tenant}/users/{user_id}")


class LockoutOut(BaseModel):
    state: str = Field(description="`open`, `delayed` (a short progressive delay) or `locked`")
    failures: int = Field(description="Failed sign-ins counted in the current window")
    retry_after: int = Field(description="Seconds until sign-in is allowed again; 0 when open")
    until: datetime | None = Field(description="When the delay or lockout ends by itself")


@router.get("/lockout", response_model=LockoutOut, responses=problems(*AUTH, 404, 422))
def get_lockout(ctx: Admin, user_id: UserId) -> Response:
    """Whether failed sign-ins currently delay or lock the user out."""
    user = ctx.app.users.get(ctx.tenant.id, user_id)
    return json_response(lockout_json(ctx.app.lockouts.state(user), ctx.app.clock()))


@router.delete("/lockout", status_code=204, responses=problems(*AUTH, 404, 422))
def unlock(ctx: Admin, user_id: UserId) -> Response:
    """Unlock the user now: forget their failed sign-ins, delay and lockout."""
    user = ctx.app.users.get(ctx.tenant.id, user_id)
    before = lockout_json(ctx.app.lockouts.state(user), ctx.app.clock())
    ctx.app.lockouts.unlock(user)
    ctx.app.audit.record(ctx.tenant.id, ctx.actor, "user.unlock", user.id, before=before)
    return Response(status_code=204)


def lockout_json(state: AccountState, now: float) -> dict[str, Any]:
    kind = "locked" if state.locked else "delayed" if state.delayed else "open"
    return {
        "state": kind,
        "failures": state.failures,
        "retry_after": state.retry_after,
        "until": rfc3339(now + state.retry_after) if state.retry_after else None,
    }
