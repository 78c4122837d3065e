"""Users: search as you type (htmx swaps the results; a plain GET form without JavaScript),
keyset "next page" links, and creating a user."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from starlette.responses import Response

from keystead.errors import Conflict, InvalidInput
from keystead.http.admin.users import userjson_response
from keystead.ports.records import User
from keystead.services.console_access import ADMIN_ROLE
from keystead.web.console import cursors, render
from keystead.web.console.context import Console

PAGE_SIZE = 25
MAX_QUERY = 200
#: The store's free-text filter ``q`` (every word a prefix of a word of the username, email or
#: names). When False, a search is a username prefix only.
FREE_TEXT_SEARCH = True


def search_filters(text: str, status: str | None) -> dict[str, Any]:
    filters: dict[str, Any] = {"status": status} if status else {}
    if not text:
        return filters
    if FREE_TEXT_SEARCH:
        return {**filters, "q": text}
    return {**filters, "username_prefix": text}


def list_users(c: Console) -> Response:
    text = c.query("q", max_length=MAX_QUERY)
    status = c.query("status")
    status = status if status in ("active", "disabled") else ""
    after, bad_cursor = None, False
    if cursor := c.query("after"):
        position = cursors.decode(c.app.ring, c.target.id, "users", cursor)
        if position is not None and len(position) == 2 and all(isinstance(p, str) for p in position):
            after = (position[0], position[1])
        else:
            bad_cursor = True
    rows = c.app.storage.users_page(
        c.target.id, after=after, limit=PAGE_SIZE + 1, **search_filters(text, status or None)
    )
    users, more = list(rows[:PAGE_SIZE]), len(rows) > PAGE_SIZE
    next_url = None
    if more:
        last = users[-1]
        token = cursors.encode(c.app.ring, c.target.id, "users", [last.username.strip().casefold(), last.id])
        next_url = f"{c.tbase}/users?{urlencode({'q': text, 'status': status, 'after': token})}"
    context: dict[str, Any] = {
        "users": users,
        "q": text,
        "status_filter": status,
        "next_url": next_url,
        "first_url": f"{c.tbase}/users?{urlencode({'q': text, 'status': status})}" if after else None,
        "bad_cursor": bad_cursor,
        "admin_role": ADMIN_ROLE,
    }
    if render.is_htmx(c):
        return render.fragment("console/_user_results.html", c=c, **context)
    return render.page(c, "console/users.html", section="users", title="Users", **context)


def new_user(c: Console) -> Response:
    return _form(c, {}, {})


def create_user(c: Console) -> Response:
    values: dict[str, Any] = {
        "username": c.value("username", max_length=255),
        "email": c.value("email", max_length=320),
        "name": c.value("name", max_length=255),
        "password": c.value("password", max_length=1024),
        "admin": c.value("admin", max_length=8) == "on",
    }
    try:
        user = c.app.users.create(
            c.target.id,
            values["username"],
            email=values["email"] or None,
            password=values["password"] or None,
            name=values["name"] or None,
            roles=(ADMIN_ROLE,) if values["admin"] else (),
        )
    except InvalidInput as exc:
        return _form(c, values, {exc.field: exc.description}, status=400)
    except Conflict:
        return _form(c, values, {"username": "This username or email is already in use."}, status=409)
    c.app.audit.record(c.target.id, c.actor, "user.create", user.id, after=user_audit(user))
    c.say(f"User {user.username} was created.")
    return c.redirect(f"{c.tbase}/users/{user.id}")


def _form(c: Console, values: dict[str, Any], errors: dict[str, str], status: int = 200) -> Response:
    return render.page(
        c,
        "console/user_new.html",
        section="users",
        title="New user",
        status=status,
        values=values,
        errors=errors,
    )


def user_audit(user: User) -> dict[str, Any]:
    """The user as the admin API records it in audit events."""
    return userjson_response(user)
