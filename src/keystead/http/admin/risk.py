"""``/tenants/{tenant}/risk-decisions``: the risk engine's decisions at sign-in, newest first,
optionally of one user: a typed view over the audit events ``risk.decision`` (docs/risk.md)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query
from pydantic import BaseModel, ConfigDict, Field
from starlette.responses import Response

from keystead.http.admin import cursors
from keystead.http.admin.auth import Admin
from keystead.http.admin.problems import ProblemRoute
from keystead.http.admin.representation import json_response
from keystead.http.admin.schemas import Page, Text, problems, rfc3339
from keystead.ports.records import AuditEvent
from keystead.services.risk import DECISION_ACTION

router = APIRouter(route_class=ProblemRoute, tags=["risk"], prefix="/tenants/{tenant}/risk-decisions")


class RiskDecisionFilters(Page):
    model_config = ConfigDict(extra="forbid", strict=False)

    user_id: Text | None = Field(None, description="Only this user's sign-ins")


class ContributionOut(BaseModel):
    signal: str
    observed: bool | int | float | None = Field(description="What was observed; `null`: unknown")
    weight: int = Field(description="Points added to the score (0: did not fire)")
    reason: str


class RiskDecisionOut(BaseModel):
    id: str
    user_id: str | None
    client_id: str | None
    ip: str | None
    created_at: datetime
    mode: str = Field(description="never, always, adaptive or simulate")
    score: int
    outcome: str = Field(description="allow, step_up or deny: what the score and mode decided")
    enforced: str = Field(description="what the sign-in did (`allow` in simulate mode)")
    effect: str = Field(description="none, second_factor, enrolment, no_factor or denied")
    thresholds: dict[str, int]
    contributions: list[ContributionOut]


class RiskDecisionPage(BaseModel):
    items: list[RiskDecisionOut]
    next_cursor: str | None


@router.get("", response_model=RiskDecisionPage, responses=problems(400, 401, 403, 404, 422))
def list_risk_decisions(ctx: Admin, q: Annotated[RiskDecisionFilters, Query()]) -> Response:
    """Decisions, newest first; follow `next_cursor` until it is `null`."""
    after = cursors.time_id(ctx.app.ring, ctx.tenant.id, "risk", q.cursor)
    events = ctx.app.audit.page(
        ctx.tenant.id, after=after, limit=q.limit + 1, action=DECISION_ACTION, target=q.user_id
    )
    page = events[: q.limit]
    next_cursor = None
    if len(events) > q.limit:
        last = page[-1]
        next_cursor = cursors.encode(ctx.app.ring, ctx.tenant.id, "risk", [last.created_at, last.id])
    return json_response({"items": [decision_json(e) for e in page], "next_cursor": next_cursor})


def decision_json(event: AuditEvent) -> dict[str, Any]:
    data = event.after or {}
    return {
        "id": event.id,
        "user_id": event.target,
        "client_id": data.get("client_id"),
        "ip": event.ip,
        "created_at": rfc3339(event.created_at),
        "mode": data.get("mode"),
        "score": data.get("score"),
        "outcome": data.get("outcome"),
        "enforced": data.get("enforced"),
        "effect": data.get("effect"),
        "thresholds": data.get("thresholds") or {},
        "contributions": data.get("contributions") or [],
    }
