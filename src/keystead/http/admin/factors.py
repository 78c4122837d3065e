"""A user's second factors (TOTP authenticators, recovery codes): list them (never a seed, a
code or an HMAC), remove one, or reset them all so the user enrols again. Removals are
audited. Enrolment is the user's own (the account page, with the flow engine), not an admin's."""

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
from keystead.services.factors import FactorSummary

Id = Annotated[str, Path(max_length=64, pattern=r"^[A-Za-z0-9_-]+$")]
AUTH = (401, 403)

router = APIRouter(route_class=ProblemRoute, tags=["factors"], prefix="/tenants/{tenant}/users/{user_id}")


class FactorOut(BaseModel):
    id: str
    kind: str = Field(description="`totp` or `recovery_codes`")
    name: str
    status: str = Field(description="`pending` until the user confirms enrolment, then `active`")
    created_at: datetime
    last_used_at: datetime | None
    remaining_codes: int | None = Field(description="Unused recovery codes (recovery codes only)")
    locked_until: datetime | None = Field(description="Set while too many wrong codes lock the factor")


class FactorList(BaseModel):
    items: list[FactorOut]


@router.get("/factors", response_model=FactorList, responses=problems(*AUTH, 404, 422))
def list_user_factors(ctx: Admin, user_id: Id) -> Response:
    """The user's second factors, pending enrolments included, oldest first."""
    found = ctx.app.factors.list_factors(ctx.tenant.id, user_id)
    return json_response({"items": [factor_json(f) for f in found]})


@router.delete("/factors/{factor_id}", status_code=204, responses=problems(*AUTH, 404, 422))
def remove_user_factor(ctx: Admin, user_id: Id, factor_id: Id) -> Response:
    """Remove one factor (a lost phone; the recovery codes). The user's sessions stay."""
    ctx.app.users.get(ctx.tenant.id, user_id)
    removed = ctx.app.factors.remove_factor(ctx.tenant.id, user_id, factor_id)
    ctx.app.audit.record(ctx.tenant.id, ctx.actor, "user.factor.remove", user_id, before=factor_json(removed))
    return Response(status_code=204)


@router.delete("/factors", status_code=204, responses=problems(*AUTH, 404, 422))
def reset_user_factors(ctx: Admin, user_id: Id) -> Response:
    """Remove every second factor of the user: they sign in with their password and enrol
    again."""
    before = ctx.app.factors.list_factors(ctx.tenant.id, user_id)
    removed = ctx.app.factors.reset(ctx.tenant.id, user_id)
    ctx.app.audit.record(
        ctx.tenant.id,
        ctx.actor,
        "user.factors.reset",
        user_id,
        before={"factors": [factor_json(f) for f in before]},
        after={"removed": removed},
    )
    return Response(status_code=204)


def factor_json(factor: FactorSummary) -> dict[str, Any]:
    return {
        "id": factor.id,
        "kind": factor.kind,
        "name": factor.name,
        "status": factor.status,
        "created_at": rfc3339(factor.created_at),
        "last_used_at": rfc3339(factor.last_used_at) if factor.last_used_at is not None else None,
        "remaining_codes": factor.remaining_codes,
        "locked_until": rfc3339(factor.locked_until) if factor.locked_until is not None else None,
    }
