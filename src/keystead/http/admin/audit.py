"""``/tenants/{tenant}/audit-events``: the tenant's audit trail, newest first."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query
from starlette.responses import Response

from keystead.http.admin import cursors
from keystead.http.admin.auth import Admin
from keystead.http.admin.problems import Problem, ProblemRoute
from keystead.http.admin.representation import json_response
from keystead.http.admin.schemas import AuditFilters, AuditPage, problems, rfc3339
from keystead.ports.records import AuditEvent

router = APIRouter(route_class=ProblemRoute, tags=["audit"], prefix="/tenants/{tenant}/audit-events")


@router.get("", response_model=AuditPage, responses=problems(400, 401, 403, 404, 422))
def list_audit_events(ctx: Admin, q: Annotated[AuditFilters, Query()]) -> Response:
    """Audit events, newest first; follow `next_cursor` until it is `null`."""
    after = None
    if q.cursor is not None:
        position = cursors.decode(ctx.app.ring, ctx.tenant.id, "audit", q.cursor)
        if len(position) != 2 or not isinstance(position[0], float | int) or not isinstance(position[1], str):
            raise Problem("invalid-cursor", "the cursor is invalid")
        after = (float(position[0]), position[1])
    events = ctx.app.audit.page(
        ctx.tenant.id, after=after, limit=q.limit + 1, action=q.action, target=q.target
    )
    page = events[: q.limit]
    next_cursor = None
    if len(events) > q.limit:
        last = page[-1]
        next_cursor = cursors.encode(ctx.app.ring, ctx.tenant.id, "audit", [last.created_at, last.id])
    body = {"items": [event_json(e) for e in page], "next_cursor": next_cursor}
    return json_response(body)


def event_json(event: AuditEvent) -> dict[str, Any]:
    return {
        "id": event.id,
        "actor": event.actor,
        "action": event.action,
        "target": event.target,
        "ip": event.ip,
        "created_at": rfc3339(event.created_at),
        "before": event.before,
        "after": event.after,
    }
