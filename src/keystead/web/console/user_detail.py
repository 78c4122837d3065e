"""One user: profile and roles (a compare-and-set against the version the form showed), enable
or disable, set a new password, sessions (revoke one or all), delete after a confirmation."""

from __future__ import annotations

from typing import Any

from starlette.responses import Response

from keystead.errors import Conflict, InvalidInput, NotFound, Stale
from keystead.http.admin.sessions import session_json
from keystead.ports.records import User
from keystead.services.console_access import ADMIN_ROLE
from keystead.web.console import render
from keystead.web.console.context import Console
from keystead.web.console.users import user_audit

MAX_SESSIONS_SHOWN = 100


def _user(c: Console) -> User:
    user_id = str(c.request.path_params["user_id"])
    if len(user_id) > 64:
        raise NotFound("no such user")
    return c.app.users.get(c.target.id, user_id)


def _is_self(c: Console, user: User) -> bool:
    return c.target.id == c.home.tenant.id and user.id == c.admin.id


def show_user(c: Console) -> Response:
    return _show(c, _user(c), {}, {})


def _show(
    c: Console, user: User, values: dict[str, Any], errors: dict[str, str], status: int = 200
) -> Response:
    sessions = c.app.sessions.of_user(c.target.id, user.id, limit=MAX_SESSIONS_SHOWN)
    return render.page(
        c,
        "console/user.html",
        section="users",
        title=user.username,
        status=status,
        user=user,
        values=values,
        errors=errors,
        sessions=sessions,
        is_self=_is_self(c, user),
        current_sso=c.session.sso_session_id,
        version=repr(user.updated_at),
        admin_role=ADMIN_ROLE,
    )


def update_user(c: Console) -> Response:
    before = _user(c)
    values: dict[str, Any] = {
        "username": c.value("username", max_length=255),
        "email": c.value("email", max_length=320),
        "name": c.value("name", max_length=255),
        "given_name": c.value("given_name", max_length=255),
        "family_name": c.value("family_name", max_length=255),
        "admin": c.value("admin", max_length=8) == "on",
    }
    if c.value("version", max_length=64) != repr(before.updated_at):
        return _show(c, before, values, {"form": _STALE}, status=409)
    if not values["username"]:
        return _show(c, before, values, {"username": "A user needs a username."}, status=400)
    changes = _changes(before, values)
    roles = tuple(r for r in before.roles if r != ADMIN_ROLE) + ((ADMIN_ROLE,) if values["admin"] else ())
    if _is_self(c, before) and ADMIN_ROLE not in roles:
        return _show(c, before, values, {"admin": "You cannot remove your own admin role."}, status=400)
    if set(roles) != set(before.roles):
        changes["roles"] = roles
    try:
        after = c.app.users.update(c.target.id, before.id, expected=before, **changes) if changes else before
    except InvalidInput as exc:
        return _show(c, before, values, {exc.field: exc.description}, status=400)
    except Conflict:
        return _show(c, before, values, {"username": "This username or email is already in use."}, status=409)
    except Stale:
        return _show(c, before, values, {"form": _STALE}, status=409)
    if after is before:
        c.say("Nothing changed.", kind="info")
    else:
        c.app.audit.record(
            c.target.id, c.actor, "user.update", before.id, before=user_audit(before), after=user_audit(after)
        )
        c.say("Changes saved.")
    return c.redirect(f"{c.tbase}/users/{before.id}")


def _changes(before: User, values: dict[str, Any]) -> dict[str, Any]:
    changes: dict[str, Any] = {}
    for name in ("username", "email", "name", "given_name", "family_name"):
        new = values[name] or None
        if new != getattr(before, name):
            changes[name] = new
    if "email" in changes:
        changes["email_verified"] = False
    return changes


_STALE = "Someone changed this user after you opened the page. Reload it and make your changes again."


def set_status(c: Console) -> Response:
    before = _user(c)
    status = c.value("status", max_length=16)
    if status not in ("active", "disabled"):
        return _show(c, before, {}, {"status": "Choose enable or disable."}, status=400)
    if _is_self(c, before) and status == "disabled":
        return _show(c, before, {}, {"status": "You cannot disable your own account."}, status=400)
    if status != before.status:
        after = c.app.users.set_status(c.target.id, before.id, status)
        c.app.audit.record(
            c.target.id, c.actor, "user.update", before.id, before=user_audit(before), after=user_audit(after)
        )
    c.say(f"{before.username} is {'enabled' if status == 'active' else 'disabled'}.")
    return c.redirect(f"{c.tbase}/users/{before.id}")


def set_password(c: Console) -> Response:
    user = _user(c)
    password = c.value("password", max_length=1024)
    if password != c.value("confirm", max_length=1024):
        return _show(c, user, {}, {"password": "The two passwords differ."}, status=400)
    try:
        c.app.users.set_password(c.target.id, user.id, password)
    except InvalidInput as exc:
        return _show(c, user, {}, {"password": exc.description}, status=400)
    c.app.audit.record(c.target.id, c.actor, "user.password.set", user.id)
    c.say(f"A new password is set for {user.username}.")
    return c.redirect(f"{c.tbase}/users/{user.id}#password")


def revoke_session(c: Console) -> Response:
    user = _user(c)
    session_id = str(c.request.path_params["session_id"])
    session = c.app.sessions.find(c.target.id, session_id) if len(session_id) <= 64 else None
    if session is None or session.user_id != user.id:
        raise NotFound("no such live session")
    c.app.sessions.end(session)
    c.app.audit.record(c.target.id, c.actor, "session.revoke", session.id, before=session_json(session))
    c.say("The session was revoked.")
    return c.redirect(f"{c.tbase}/users/{user.id}#sessions")


def revoke_sessions(c: Console) -> Response:
    user = _user(c)
    ended = c.app.sessions.end_all_of_user(c.target.id, user.id)
    c.app.audit.record(c.target.id, c.actor, "user.sessions.revoke", user.id, after={"sessions": ended})
    c.say(
        f"{len(ended)} session{'s' if len(ended) != 1 else ''} revoked; {user.username} is signed out everywhere."
    )
    return c.redirect(f"{c.tbase}/users/{user.id}#sessions")


def confirm_delete(c: Console) -> Response:
    user = _user(c)
    return _confirm(c, user, None)


def _confirm(c: Console, user: User, error: str | None, status: int = 200) -> Response:
    return render.page(
        c,
        "console/user_delete.html",
        section="users",
        title=f"Delete {user.username}",
        status=status,
        user=user,
        error=error,
        is_self=_is_self(c, user),
    )


def delete_user(c: Console) -> Response:
    user = _user(c)
    if _is_self(c, user):
        return _confirm(c, user, "You cannot delete your own account.", status=400)
    if c.value("confirm", max_length=255) != user.username:
        return _confirm(c, user, "Type the username exactly to confirm.", status=400)
    c.app.users.delete(c.target.id, user.id)
    c.app.audit.record(c.target.id, c.actor, "user.delete", user.id, before=user_audit(user))
    c.say(f"User {user.username} was deleted.")
    return c.redirect(f"{c.tbase}/users")
