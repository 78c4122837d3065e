"""Provider metadata (OpenID Connect Discovery 1.0 section 4) as the SDK needs it: the issuer it
names must be exactly the configured one (section 4.3), and the endpoints it points at."""

from __future__ import annotations

from typing import Any

import httpx

from keystead.sdk.errors import ProviderError

DEFAULT_TIMEOUT = 5.0


def discovery_url(issuer: str) -> str:
    return f"{issuer.rstrip('/')}/.well-known/openid-configuration"


def endpoint(metadata: Any, issuer: str, name: str) -> str:
    """``metadata[name]`` after checking that the document belongs to ``issuer``."""
    if not isinstance(metadata, dict):
        raise ProviderError("the discovery document is not a JSON object")
    if metadata.get("issuer") != issuer:
        raise ProviderError(f"discovery issuer {metadata.get('issuer')!r} is not {issuer!r}")
    url = metadata.get(name)
    if not isinstance(url, str) or not url.startswith(("https://", "http://")):
        raise ProviderError(f"the discovery document has no {name}")
    return url


def json_body(response: httpx.Response) -> Any:
    """The JSON body of a 200 response, else :class:`ProviderError`."""
    if response.status_code != 200:
        raise ProviderError(f"GET {response.request.url} answered {response.status_code}")
    try:
        return response.json()
    except ValueError as exc:
        raise ProviderError(f"GET {response.request.url} did not answer JSON") from exc


def get_json(http: httpx.Client, url: str) -> Any:
    try:
        response = http.get(url, headers={"Accept": "application/json"})
    except httpx.HTTPError as exc:
        raise ProviderError(f"GET {url} failed: {exc.__class__.__name__}") from exc
    return json_body(response)


async def aget_json(http: httpx.AsyncClient, url: str) -> Any:
    try:
        response = await http.get(url, headers={"Accept": "application/json"})
    except httpx.HTTPError as exc:
        raise ProviderError(f"GET {url} failed: {exc.__class__.__name__}") from exc
    return json_body(response)
