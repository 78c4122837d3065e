"""What the admin console needs beyond the admin API's services: its own first-party OpenID
Connect client in each tenant (the console signs administrators in through Keystead itself),
and who may use it: active users with the role ``admin`` (roles are set through ``Users``)."""

from __future__ import annotations

from keystead.errors import Conflict, NotFound
from keystead.ports.records import Client, User
from keystead.protocols.oauth2.client import PUBLIC
from keystead.services.clients import Clients

CONSOLE_CLIENT_ID = "keystead-console"
CONSOLE_CLIENT_NAME = "Keystead admin console"
CONSOLE_SCOPES = ("openid", "profile")
ADMIN_ROLE = "admin"


def is_admin(user: User | None) -> bool:
    """An active user holding the ``admin`` role."""
    return user is not None and user.active and ADMIN_ROLE in user.roles


class ConsoleAccess:
    def __init__(self, clients: Clients) -> None:
        self._clients = clients

    def client(self, tenant_id: str, redirect_uri: str) -> Client:
        """The tenant's console client, registered on first use; ``redirect_uri`` (derived from
        the server's base URL) is added to it if the base URL changed since."""
        try:
            client = self._clients.lookup(tenant_id, CONSOLE_CLIENT_ID)
        except NotFound:
            try:
                return self._clients.create(
                    tenant_id,
                    CONSOLE_CLIENT_NAME,
                    client_id=CONSOLE_CLIENT_ID,
                    client_type=PUBLIC,
                    redirect_uris=[redirect_uri],
                    grant_types=["authorization_code"],
                    scopes=CONSOLE_SCOPES,
                    first_party=True,
                ).client
            except Conflict:  # registered by a concurrent request
                client = self._clients.lookup(tenant_id, CONSOLE_CLIENT_ID)
        if redirect_uri not in client.redirect_uris:
            client = self._clients.update(
                tenant_id,
                CONSOLE_CLIENT_ID,
                expected=client,
                redirect_uris=(*client.redirect_uris, redirect_uri),
            )
        return client
