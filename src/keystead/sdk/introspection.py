"""Asking Keystead whether a token is still active (RFC 7662): a second check after local
verification, for resources that must see revocation at once. Costs one request per call.

The caller is a confidential client; it authenticates with ``client_secret_basic`` (RFC 6749
section 2.3.1: both parts form-urlencoded before Basic encoding).
"""

from __future__ import annotations

import base64
from collections.abc import Mapping
from types import TracebackType
from typing import Any, Self
from urllib.parse import quote

import httpx

from keystead.sdk._discovery import DEFAULT_TIMEOUT, aget_json, discovery_url, endpoint, get_json, json_body
from keystead.sdk.access_token import AccessToken, split_scope
from keystead.sdk.errors import InvalidToken, ProviderError


class _Introspector:
    def __init__(self, issuer: str, client_id: str, client_secret: str, endpoint: str | None) -> None:
        self.issuer = issuer
        self._endpoint = endpoint
        basic = f"{quote(client_id, safe='')}:{quote(client_secret, safe='')}"
        self._headers = {
            "Authorization": "Basic " + base64.b64encode(basic.encode()).decode(),
            "Accept": "application/json",
        }

    @staticmethod
    def _form(token: str) -> dict[str, str]:
        return {"token": token, "token_type_hint": "access_token"}

    def _result(self, body: Any) -> AccessToken:
        if not isinstance(body, Mapping):
            raise ProviderError("the introspection response is not a JSON object")
        return active_access_token(body, self.issuer)


def active_access_token(body: Mapping[str, Any], issuer: str) -> AccessToken:
    """An introspection response (RFC 7662 section 2.2) as an :class:`AccessToken`."""
    if body.get("active") is not True:
        raise InvalidToken("introspection: not active")
    if body.get("token_type") not in (None, "Bearer", "bearer", "access_token"):
        raise InvalidToken(f"introspection: a {body.get('token_type')}, not an access token")
    if body.get("iss", issuer) != issuer:
        raise InvalidToken(f"introspection: wrong issuer {body.get('iss')!r}")
    sub, client_id, exp = body.get("sub"), body.get("client_id"), body.get("exp")
    if not isinstance(sub, str) or not isinstance(client_id, str) or not isinstance(exp, int):
        raise InvalidToken("introspection: sub, client_id or exp missing")
    jti = body.get("jti")
    return AccessToken(
        sub=sub,
        client_id=client_id,
        scopes=split_scope(body.get("scope")),
        expires_at=exp,
        claims=dict(body),
        jti=jti if isinstance(jti, str) else None,
    )


class Introspector(_Introspector):
    """``Introspector(issuer, client_id, client_secret).check(token)`` returns the token when
    Keystead says it is active, else raises :class:`InvalidToken`. The endpoint comes from
    discovery unless ``endpoint`` is given."""

    def __init__(
        self,
        issuer: str,
        client_id: str,
        client_secret: str,
        *,
        endpoint: str | None = None,
        http: httpx.Client | None = None,
    ) -> None:
        super().__init__(issuer, client_id, client_secret, endpoint)
        self._owns_http = http is None
        self._http = http if http is not None else httpx.Client(timeout=DEFAULT_TIMEOUT)

    def check(self, token: str) -> AccessToken:
        try:
            response = self._http.post(self._url(), data=self._form(token), headers=self._headers)
        except httpx.HTTPError as exc:
            raise ProviderError(f"introspection failed: {exc.__class__.__name__}") from exc
        return self._result(json_body(response))

    def _url(self) -> str:
        if self._endpoint is None:
            metadata = get_json(self._http, discovery_url(self.issuer))
            self._endpoint = endpoint(metadata, self.issuer, "introspection_endpoint")
        return self._endpoint

    def close(self) -> None:
        if self._owns_http:
            self._http.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: type[BaseException] | BaseException | TracebackType | None) -> None:
        self.close()


class AsyncIntrospector(_Introspector):
    """:class:`Introspector` for asyncio code; ``await introspector.check(token)``."""

    def __init__(
        self,
        issuer: str,
        client_id: str,
        client_secret: str,
        *,
        endpoint: str | None = None,
        http: httpx.AsyncClient | None = None,
    ) -> None:
        super().__init__(issuer, client_id, client_secret, endpoint)
        self._owns_http = http is None
        self._http = http if http is not None else httpx.AsyncClient(timeout=DEFAULT_TIMEOUT)

    async def check(self, token: str) -> AccessToken:
        url = await self._url()
        try:
            response = await self._http.post(url, data=self._form(token), headers=self._headers)
        except httpx.HTTPError as exc:
            raise ProviderError(f"introspection failed: {exc.__class__.__name__}") from exc
        return self._result(json_body(response))

    async def _url(self) -> str:
        if self._endpoint is None:
            metadata = await aget_json(self._http, discovery_url(self.issuer))
            self._endpoint = endpoint(metadata, self.issuer, "introspection_endpoint")
        return self._endpoint

    async def aclose(self) -> None:
        if self._owns_http:
            await self._http.aclose()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(self, *exc: type[BaseException] | BaseException | TracebackType | None) -> None:
        await self.aclose()
