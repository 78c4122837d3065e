"""The audit log: newest first, filtered by action and target, keyset "older events" links."""

from __future__ import annotations

from urllib.parse import urlencode

from starlette.responses import Response

from keystead.services import signin_events
from keystead.web.console import cursors, render
from keystead.web.console.context import Console, to_json

PAGE_SIZE = 50
ACTIONS = (
    "user.create",
    "user.update",
    "user.delete",
    "user.password.set",
    "user.sessions.revoke",
    "session.revoke",
    "client.create",
    "client.update",
    "client.secret.rotate",
    "keys.rotate",
    "tenant.settings.update",
    "console.signin",
    "console.signout",
    *signin_events.ACTIONS,
    "risk.decision",
)


def list_events(c: Console) -> Response:
    action = c.query("action", max_length=64)
    target = c.query("target", max_length=255)
    after = None
    if cursor := c.query("after"):
        position = cursors.decode(c.app.ring, c.target.id, "audit", cursor)
        if position is not None and len(position) == 2 and isinstance(position[0], float | int):
            after = (float(position[0]), str(position[1]))
    rows = c.app.audit.page(
        c.target.id, after=after, limit=PAGE_SIZE + 1, action=action or None, target=target or None
    )
    events, more = list(rows[:PAGE_SIZE]), len(rows) > PAGE_SIZE
    filters = {"action": action, "target": target}
    next_url = None
    if more:
        token = cursors.encode(c.app.ring, c.target.id, "audit", [events[-1].created_at, events[-1].id])
        next_url = f"{c.tbase}/audit?{urlencode({**filters, 'after': token})}"
    names = _user_names(c, [e.actor.split(" via ", 1)[0] for e in events] + [e.target or "" for e in events])
    return render.page(
        c,
        "console/audit.html",
        names=names,
        section="audit",
        title="Audit log",
        events=events,
        action=action,
        target=target,
        actions=sorted({*ACTIONS, *([action] if action else [])}),
        next_url=next_url,
        first_url=f"{c.tbase}/audit?{urlencode(filters)}" if after else None,
        as_json=to_json,
    )


def _user_names(c: Console, ids: list[str]) -> dict[str, str]:
    """Usernames for the ids of users (of the managed tenant, or the administrator's own) that
    appear as actors or targets on the page; deleted users keep their id."""
    names: dict[str, str] = {}
    tenants = dict.fromkeys((c.target.id, c.home.tenant.id))
    for user_id in dict.fromkeys(i for i in ids if len(i) == 36):
        for tenant_id in tenants:
            user = c.app.storage.user_by_id(tenant_id, user_id)
            if user is not None:
                names[user_id] = user.username
                break
    return names
