"""What the protocol needs to know of a registered client (RFC 7591 metadata names)."""

from __future__ import annotations

from dataclasses import dataclass, field

PUBLIC = "public"
CONFIDENTIAL = "confidential"


@dataclass(frozen=True, slots=True)
class ClientMetadata:
    client_id: str
    client_type: str
    redirect_uris: tuple[str, ...]
    grant_types: tuple[str, ...]
    scopes: tuple[str, ...]
    name: str = ""
    client_uri: str | None = None
    post_logout_redirect_uris: tuple[str, ...] = ()
    token_endpoint_auth_method: str = "client_secret_basic"
    id_token_signed_response_alg: str = "ES256"
    first_party: bool = False
    require_pkce: bool = False
    access_token_ttl: int = 600
    id_token_ttl: int = 600
    refresh_token_ttl: int = 30 * 86400
    extra: dict[str, str] = field(default_factory=dict)

    @property
    def is_public(self) -> bool:
        return self.client_type == PUBLIC

    @property
    def pkce_required(self) -> bool:
        return self.is_public or self.require_pkce
