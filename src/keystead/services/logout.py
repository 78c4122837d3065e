"""RP-Initiated Logout 1.0: validate the request, then end the SSO session.

A ``post_logout_redirect_uri`` is honoured only when registered for the client named by the
``id_token_hint``'s audience or by ``client_id``; otherwise the user stays on Keystead's page.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlencode, urlsplit, urlunsplit

from keystead.ports.records import Client
from keystead.protocols import jose
from keystead.protocols.oauth2.errors import InvalidRequest
from keystead.protocols.oauth2.params import single
from keystead.services.clients import Clients
from keystead.services.keys import KeyManager
from keystead.services.tokens import Issuer
from keystead.types import Clock, Params


@dataclass(frozen=True, slots=True)
class LogoutRequest:
    client: Client | None
    redirect_uri: str | None
    state: str | None
    hinted_subject: str | None

    def hidden_fields(self) -> dict[str, str]:
        fields = {}
        if self.client is not None:
            fields["client_id"] = self.client.client_id
        if self.redirect_uri is not None:
            fields["post_logout_redirect_uri"] = self.redirect_uri
        if self.state is not None:
            fields["state"] = self.state
        return fields

    def location(self) -> str | None:
        if self.redirect_uri is None:
            return None
        parts = urlsplit(self.redirect_uri)
        extra = urlencode({"state": self.state}) if self.state is not None else ""
        query = "&".join(p for p in (parts.query, extra) if p)
        return urlunsplit((parts.scheme, parts.netloc, parts.path, query, ""))


class Logout:
    def __init__(self, clients: Clients, keys: KeyManager, clock: Clock) -> None:
        self._clients = clients
        self._keys = keys
        self._clock = clock

    def parse(self, iss: Issuer, params: Params) -> LogoutRequest:
        hint = single(params, "id_token_hint", max_length=8192)
        client_id = single(params, "client_id", max_length=255)
        redirect_uri = single(params, "post_logout_redirect_uri", max_length=2048)
        state = single(params, "state", max_length=2048)
        subject, audience = self._hint(iss, hint) if hint else (None, None)
        if client_id and audience and client_id != audience:
            raise InvalidRequest("client_id does not match the id_token_hint")
        client_id = client_id or audience
        client = self._clients.find(iss.tenant_id, client_id) if client_id else None
        if client_id and client is None:
            raise InvalidRequest("The application that sent you here is not registered (unknown client_id).")
        if redirect_uri is not None:
            if client is None:
                raise InvalidRequest("post_logout_redirect_uri needs id_token_hint or client_id")
            if redirect_uri not in client.post_logout_redirect_uris:
                raise InvalidRequest(
                    "The application asked to return to an address it has not registered "
                    "(post_logout_redirect_uri)."
                )
        return LogoutRequest(client, redirect_uri, state, subject)

    def _hint(self, iss: Issuer, hint: str) -> tuple[str, str]:
        try:
            verified = jose.verify(
                hint,
                self._keys.verify_set(iss.tenant_id),
                now=self._clock(),
                issuer=iss.url,
                typ="jwt",  # an ID token, not an access token (at+jwt)
                check_expiry=False,
            )
        except jose.JoseError as exc:
            raise InvalidRequest("id_token_hint is not valid", detail=str(exc)) from exc
        aud = verified.claims.get("aud")
        audience = aud[0] if isinstance(aud, list) and aud else aud
        if not isinstance(audience, str):
            raise InvalidRequest("id_token_hint has no audience")
        return str(verified.claims.get("sub")), audience
