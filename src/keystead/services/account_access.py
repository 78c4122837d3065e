"""The end users' account page signs them in through their tenant's own OpenID Connect, as the
admin console does for administrators: a first-party public client per tenant,
``keystead-account`` (code flow with PKCE S256), registered on first use."""

from __future__ import annotations

from keystead.errors import Conflict, NotFound
from keystead.ports.records import Client
from keystead.protocols.oauth2.client import PUBLIC
from keystead.services.clients import Clients

ACCOUNT_CLIENT_ID = "keystead-account"
ACCOUNT_CLIENT_NAME = "Your account"
ACCOUNT_SCOPES = ("openid", "profile")


class AccountAccess:
    def __init__(self, clients: Clients) -> None:
        self._clients = clients

    def client(self, tenant_id: str, redirect_uri: str) -> Client:
        """The tenant's account-page client, registered on first use; ``redirect_uri`` (derived
        from the server's base URL) is added to it if the base URL changed since."""
        try:
            client = self._clients.lookup(tenant_id, ACCOUNT_CLIENT_ID)
        except NotFound:
            try:
                return self._clients.create(
                    tenant_id,
                    ACCOUNT_CLIENT_NAME,
                    client_id=ACCOUNT_CLIENT_ID,
                    client_type=PUBLIC,
                    redirect_uris=[redirect_uri],
                    grant_types=["authorization_code"],
                    scopes=ACCOUNT_SCOPES,
                    first_party=True,
                ).client
            except Conflict:  # registered by a concurrent request
                client = self._clients.lookup(tenant_id, ACCOUNT_CLIENT_ID)
        if redirect_uri not in client.redirect_uris:
            client = self._clients.update(
                tenant_id,
                ACCOUNT_CLIENT_ID,
                expected=client,
                redirect_uris=(*client.redirect_uris, redirect_uri),
            )
        return client
