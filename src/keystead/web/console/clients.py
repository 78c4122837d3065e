"""Clients: list (keyset pages), register (a confidential client's secret is shown exactly once,
through a sealed one-time cookie read by the next page), edit name and redirect URIs, rotate
the secret, disable or enable. The console's own client is shown but cannot be changed here."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote, urlencode

from starlette.responses import Response

from keystead.errors import InvalidInput, NotFound, Stale
from keystead.http.admin.clients import clientjson_response
from keystead.ports.records import Client
from keystead.services.console_access import CONSOLE_CLIENT_ID
from keystead.web.console import cursors, render
from keystead.web.console.context import Console

PAGE_SIZE = 25
KINDS = {
    "web": ("confidential", ("authorization_code", "refresh_token")),
    "spa": ("public", ("authorization_code", "refresh_token")),
    "service": ("confidential", ("client_credentials",)),
}
_STALE = "Someone changed this client after you opened the page. Reload it and make your changes again."


def _lines(text: str) -> list[str]:
    return [line.strip() for line in text.splitlines() if line.strip()]


def list_clients(c: Console) -> Response:
    after = None
    if cursor := c.query("after"):
        position = cursors.decode(c.app.ring, c.target.id, "clients", cursor)
        if position is not None and len(position) == 2 and isinstance(position[0], float | int):
            after = (float(position[0]), str(position[1]))
    rows = c.app.clients.page(c.target.id, after=after, limit=PAGE_SIZE + 1)
    clients, more = list(rows[:PAGE_SIZE]), len(rows) > PAGE_SIZE
    next_url = None
    if more:
        token = cursors.encode(c.app.ring, c.target.id, "clients", [clients[-1].created_at, clients[-1].id])
        next_url = f"{c.tbase}/clients?{urlencode({'after': token})}"
    return render.page(
        c,
        "console/clients.html",
        section="clients",
        title="Clients",
        clients=clients,
        next_url=next_url,
        first_url=f"{c.tbase}/clients" if after else None,
        builtin=CONSOLE_CLIENT_ID,
    )


def new_client(c: Console) -> Response:
    return _form(c, {"kind": "web"}, {})


def _form(c: Console, values: dict[str, Any], errors: dict[str, str], status: int = 200) -> Response:
    return render.page(
        c,
        "console/client_new.html",
        section="clients",
        title="New client",
        status=status,
        values=values,
        errors=errors,
    )


def create_client(c: Console) -> Response:
    values = {
        "name": c.value("name", max_length=200),
        "kind": c.value("kind", max_length=16),
        "redirect_uris": c.value("redirect_uris", max_length=8192),
        "post_logout_redirect_uris": c.value("post_logout_redirect_uris", max_length=8192),
    }
    if values["kind"] not in KINDS:
        return _form(c, values, {"kind": "Choose the kind of application."}, status=400)
    if not values["name"]:
        return _form(c, values, {"name": "Give the client a name."}, status=400)
    client_type, grants = KINDS[values["kind"]]
    try:
        created = c.app.clients.create(
            c.target.id,
            values["name"],
            client_type=client_type,
            grant_types=grants,
            redirect_uris=_lines(values["redirect_uris"]),
            post_logout_redirect_uris=_lines(values["post_logout_redirect_uris"]),
        )
    except InvalidInput as exc:
        return _form(c, values, {exc.field: exc.description}, status=400)
    client = created.client
    c.app.audit.record(
        c.target.id, c.actor, "client.create", client.client_id, after=clientjson_response(client)
    )
    if created.secret is not None:
        c.say(f"Client {client.name} was created.", secret=created.secret, client_id=client.client_id)
    else:
        c.say(f"Client {client.name} was created. It is public: it has no secret and uses PKCE.")
    return c.redirect(_url(c, client))


def _url(c: Console, client: Client) -> str:
    return f"{c.tbase}/clients/{quote(client.client_id, safe='')}"


def _client(c: Console) -> Client:
    client_id = str(c.request.path_params["client_id"])
    if not 1 <= len(client_id) <= 255:
        raise NotFound("no such client")
    return c.app.clients.lookup(c.target.id, client_id)


def show_client(c: Console) -> Response:
    return _show(c, _client(c), {}, {})


def _show(
    c: Console, client: Client, values: dict[str, Any], errors: dict[str, str], status: int = 200
) -> Response:
    secret = None
    if c.flash and c.flash.get("client_id") == client.client_id:
        secret = c.flash.get("secret")
    return render.page(
        c,
        "console/client.html",
        section="clients",
        title=client.name,
        status=status,
        client=client,
        values=values,
        errors=errors,
        secret=secret,
        builtin=client.client_id == CONSOLE_CLIENT_ID,
        version=repr(client.updated_at),
        url=_url(c, client),
    )


def update_client(c: Console) -> Response:
    before = _client(c)
    if before.client_id == CONSOLE_CLIENT_ID:
        return _show(c, before, {}, {"form": "Keystead manages the console's own client."}, status=400)
    values = {
        "name": c.value("name", max_length=200),
        "redirect_uris": c.value("redirect_uris", max_length=8192),
        "post_logout_redirect_uris": c.value("post_logout_redirect_uris", max_length=8192),
    }
    if c.value("version", max_length=64) != repr(before.updated_at):
        return _show(c, before, values, {"form": _STALE}, status=409)
    changes: dict[str, Any] = {
        "name": values["name"],
        "redirect_uris": _lines(values["redirect_uris"]),
        "post_logout_redirect_uris": _lines(values["post_logout_redirect_uris"]),
    }
    try:
        after = c.app.clients.update(c.target.id, before.client_id, expected=before, **changes)
    except InvalidInput as exc:
        return _show(c, before, values, {exc.field: exc.description}, status=400)
    except Stale:
        return _show(c, before, values, {"form": _STALE}, status=409)
    c.app.audit.record(
        c.target.id,
        c.actor,
        "client.update",
        before.client_id,
        before=clientjson_response(before),
        after=clientjson_response(after),
    )
    c.say("Changes saved.")
    return c.redirect(_url(c, after))


def rotate_secret(c: Console) -> Response:
    client = _client(c)
    try:
        rotated = c.app.clients.rotate_secret(c.target.id, client.client_id)
    except InvalidInput as exc:
        return _show(c, client, {}, {"secret": exc.description}, status=400)
    c.app.audit.record(c.target.id, c.actor, "client.secret.rotate", client.client_id)
    c.say(
        "A new secret was generated. The old one no longer works.",
        secret=rotated.secret,
        client_id=client.client_id,
    )
    return c.redirect(_url(c, client))


def set_status(c: Console) -> Response:
    before = _client(c)
    status = c.value("status", max_length=16)
    if before.client_id == CONSOLE_CLIENT_ID:
        return _show(c, before, {}, {"status": "The console's own client cannot be disabled."}, status=400)
    if status not in ("active", "disabled"):
        return _show(c, before, {}, {"status": "Choose enable or disable."}, status=400)
    try:
        after = c.app.clients.update(c.target.id, before.client_id, expected=before, status=status)
    except Stale:
        return _show(c, before, {}, {"form": _STALE}, status=409)
    c.app.audit.record(
        c.target.id,
        c.actor,
        "client.update",
        before.client_id,
        before=clientjson_response(before),
        after=clientjson_response(after),
    )
    c.say(f"{after.name} is {'enabled' if status == 'active' else 'disabled'}.")
    return c.redirect(_url(c, after))
