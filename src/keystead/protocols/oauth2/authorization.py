"""The authorization endpoint's request (RFC 6749 section 4.1.1, OIDC Core section 3.1.2.1).

Validation is two ordered pipelines. :func:`identify_client` checks what must hold before
anything may be sent back to a redirect URI (an unknown client or an unregistered redirect URI
gets an error page, never a redirect: RFC 6749 section 4.1.2.1). :func:`validate_request` checks
the rest; its errors are returned to the client at the redirect URI.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from keystead.protocols.oauth2 import pkce
from keystead.protocols.oauth2.client import ClientMetadata
from keystead.protocols.oauth2.errors import (
    InvalidRequest,
    InvalidScope,
    RequestNotSupported,
    RequestUriNotSupported,
    UnauthorizedClient,
    UnsupportedResponseType,
)
from keystead.protocols.oauth2.params import parse_int, required, single, space_list
from keystead.types import Params

RESPONSE_MODES = ("query", "form_post")
PROMPTS = ("none", "login", "consent", "select_account")
DISPLAYS = ("page", "popup", "touch", "wap")

ClientLookup = Callable[[str], ClientMetadata | None]


@dataclass(frozen=True, slots=True)
class AuthorizationRequest:
    client_id: str
    redirect_uri: str
    response_type: str
    response_mode: str
    scopes: tuple[str, ...]
    state: str | None = None
    nonce: str | None = None
    code_challenge: str | None = None
    prompt: tuple[str, ...] = ()
    max_age: int | None = None
    login_hint: str | None = None
    id_token_hint: str | None = None
    acr_values: tuple[str, ...] = ()
    ui_locales: tuple[str, ...] = ()
    claims: dict[str, Any] = field(default_factory=dict)

    @property
    def is_openid(self) -> bool:
        return "openid" in self.scopes

    def to_dict(self) -> dict[str, Any]:
        """A JSON-safe form, to carry the request through an interaction."""
        return {name: getattr(self, name) for name in self.__dataclass_fields__}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> AuthorizationRequest:
        tuples = ("scopes", "prompt", "acr_values", "ui_locales")
        values: dict[str, Any] = {k: tuple(v) if k in tuples else v for k, v in data.items()}
        return cls(**values)


@dataclass(frozen=True, slots=True)
class RedirectTarget:
    """Where errors of the second pipeline go once the client and redirect URI are known."""

    client: ClientMetadata
    redirect_uri: str
    state: str | None
    response_mode: str


def identify_client(params: Params, lookup: ClientLookup) -> RedirectTarget:
    """Client and redirect URI: errors here are shown on an error page, never redirected."""
    client_id = required(params, "client_id", max_length=255)
    client = lookup(client_id)
    if client is None:
        raise InvalidRequest(
            "The application that sent you here is not registered (unknown client_id).",
            detail=f"client_id={client_id!r}",
        )
    redirect_uri = required(params, "redirect_uri", max_length=2048)
    if redirect_uri not in client.redirect_uris:
        raise InvalidRequest(
            "The application asked to return to an address it has not registered (redirect_uri)."
        )
    return RedirectTarget(
        client=client,
        redirect_uri=redirect_uri,
        state=_state_or_none(params),
        response_mode=_response_mode_or_default(params),
    )


def validate_request(params: Params, target: RedirectTarget) -> AuthorizationRequest:
    """The ordered checks after the redirect URI is trusted; errors go back to the client."""
    client = target.client
    single(params, "state", max_length=2048)  # a repeated or overlong state is an error
    _check_no_request_object(params)
    response_type = _check_response_type(params, client)
    response_mode = _check_response_mode(params)
    scopes = _check_scope(params, client)
    challenge = pkce.check_challenge(
        single(params, "code_challenge", max_length=128),
        single(params, "code_challenge_method", max_length=16),
        required=client.pkce_required,
    )
    prompt = _check_prompt(params)
    return AuthorizationRequest(
        client_id=client.client_id,
        redirect_uri=target.redirect_uri,
        response_type=response_type,
        response_mode=response_mode,
        scopes=scopes,
        state=target.state,
        nonce=single(params, "nonce", max_length=512),
        code_challenge=challenge,
        prompt=prompt,
        max_age=parse_int("max_age", single(params, "max_age")),
        login_hint=single(params, "login_hint", max_length=320),
        id_token_hint=single(params, "id_token_hint", max_length=8192),
        acr_values=space_list(single(params, "acr_values", max_length=512)),
        ui_locales=space_list(single(params, "ui_locales", max_length=256)),
        claims=_check_claims(single(params, "claims", max_length=4096)),
    )


def _state_or_none(params: Params) -> str | None:
    values = params.get("state") or ()
    # A repeated state is an error reported later; echo nothing ambiguous meanwhile.
    return values[0] if len(values) == 1 and len(values[0]) <= 2048 and values[0] else None


def _response_mode_or_default(params: Params) -> str:
    values = params.get("response_mode") or ()
    return values[0] if len(values) == 1 and values[0] in RESPONSE_MODES else "query"


def _check_no_request_object(params: Params) -> None:
    if params.get("request"):
        raise RequestNotSupported("request objects are not supported")
    if params.get("request_uri"):
        raise RequestUriNotSupported("request_uri is not supported")


def _check_response_type(params: Params, client: ClientMetadata) -> str:
    response_type = required(params, "response_type", max_length=64)
    if response_type != "code":
        raise UnsupportedResponseType("only response_type=code is supported")
    if "authorization_code" not in client.grant_types:
        raise UnauthorizedClient("this client may not use the authorization code grant")
    return response_type


def _check_response_mode(params: Params) -> str:
    mode = single(params, "response_mode", max_length=32) or "query"
    if mode not in RESPONSE_MODES:
        raise InvalidRequest("response_mode must be query or form_post")
    return mode


def _check_scope(params: Params, client: ClientMetadata) -> tuple[str, ...]:
    scopes = space_list(single(params, "scope", max_length=1024))
    if not scopes:
        raise InvalidScope("scope is required")
    refused = [s for s in scopes if s not in client.scopes]
    if refused:
        raise InvalidScope(f"scope not allowed for this client: {' '.join(refused)}")
    return scopes


def _check_prompt(params: Params) -> tuple[str, ...]:
    prompt = space_list(single(params, "prompt", max_length=128))
    unknown = [p for p in prompt if p not in PROMPTS]
    if unknown:
        raise InvalidRequest(f"unsupported prompt value: {' '.join(unknown)}")
    if "none" in prompt and len(prompt) > 1:
        raise InvalidRequest("prompt=none cannot be combined with other values")
    return prompt


def _check_claims(raw: str | None) -> dict[str, Any]:
    """The ``claims`` request parameter (OIDC Core section 5.5): a JSON object."""
    if raw is None:
        return {}
    try:
        claims = json.loads(raw)
    except ValueError as exc:
        raise InvalidRequest("claims must be a JSON object") from exc
    if not isinstance(claims, dict) or any(
        k not in ("userinfo", "id_token") or not isinstance(v, dict | None) for k, v in claims.items()
    ):
        raise InvalidRequest("claims must be a JSON object of userinfo and id_token members")
    return claims
