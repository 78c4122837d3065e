"""The admin console: server-rendered pages under ``/t/{tenant}/console/`` (see docs/console.md)."""

from __future__ import annotations

import re

from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from keystead.web.console import audit, auth, clients, keys, settings, signout, user_detail, users
from keystead.web.console.context import Console, console_route

T = "/tenants/{target}"
TENANT_NAME = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$")
GET, POST = ["GET"], ["POST"]


def _home(c: Console) -> Response:
    return c.redirect(f"{c.tbase}/users")


def _switch(c: Console) -> Response:
    """The tenant switcher's target (a GET form: it works without JavaScript). Whether the
    administrator may manage that tenant is decided by the page it leads to."""
    name = c.query("tenant", max_length=63)
    return c.redirect(f"{c.base}/tenants/{name}/users" if TENANT_NAME.match(name) else f"{c.base}/")


def routes() -> list[BaseRoute]:
    """Mounted at ``/console`` under the tenant's routes."""
    r = console_route
    return [
        Route("/", r(_home), methods=GET),
        Route("/signin", auth.sign_in, methods=GET),
        Route("/callback", auth.callback, methods=GET),
        Route("/signout", r(signout.sign_out), methods=POST),
        Route("/signed-out", signout.signed_out, methods=GET),
        Route("/switch", r(_switch), methods=GET),
        Route(f"{T}/users", r(users.list_users), methods=GET),
        Route(f"{T}/users", r(users.create_user), methods=POST),
        Route(f"{T}/users/new", r(users.new_user), methods=GET),
        Route(f"{T}/users/{{user_id}}", r(user_detail.show_user), methods=GET),
        Route(f"{T}/users/{{user_id}}", r(user_detail.update_user), methods=POST),
        Route(f"{T}/users/{{user_id}}/status", r(user_detail.set_status), methods=POST),
        Route(f"{T}/users/{{user_id}}/password", r(user_detail.set_password), methods=POST),
        Route(f"{T}/users/{{user_id}}/sessions/revoke", r(user_detail.revoke_sessions), methods=POST),
        Route(
            f"{T}/users/{{user_id}}/sessions/{{session_id}}/revoke",
            r(user_detail.revoke_session),
            methods=POST,
        ),
        Route(f"{T}/users/{{user_id}}/delete", r(user_detail.confirm_delete), methods=GET),
        Route(f"{T}/users/{{user_id}}/delete", r(user_detail.delete_user), methods=POST),
        Route(f"{T}/clients", r(clients.list_clients), methods=GET),
        Route(f"{T}/clients", r(clients.create_client), methods=POST),
        Route(f"{T}/clients/new", r(clients.new_client), methods=GET),
        Route(f"{T}/clients/{{client_id}}/secret", r(clients.rotate_secret), methods=POST),
        Route(f"{T}/clients/{{client_id}}/status", r(clients.set_status), methods=POST),
        Route(f"{T}/clients/{{client_id}}", r(clients.show_client), methods=GET),
        Route(f"{T}/clients/{{client_id}}", r(clients.update_client), methods=POST),
        Route(f"{T}/keys", r(keys.list_keys), methods=GET),
        Route(f"{T}/keys/rotate", r(keys.rotate_keys), methods=POST),
        Route(f"{T}/settings", r(settings.show_settings), methods=GET),
        Route(f"{T}/settings", r(settings.update_settings), methods=POST),
        Route(f"{T}/audit", r(audit.list_events), methods=GET),
    ]
