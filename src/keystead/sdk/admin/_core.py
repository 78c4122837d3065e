"""Sans-IO core of the admin client, shared by the sync and async clients: what each request
is (:class:`Call`), the bearer token's life, and what to do after each answer (retry after a
delay, refresh the token once, raise a typed error, or parse the result)."""

from __future__ import annotations

import base64
import email.utils
import enum
import json
import math
import random
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar
from urllib.parse import quote

import httpx

from keystead.sdk.admin.errors import problem_error
from keystead.sdk.errors import ProviderError

T = TypeVar("T")
Clock = Callable[[], float]

API_PREFIX = "/admin/api/v1"
TENANT_SCOPE = "keystead:admin"
PLATFORM_SCOPE = "keystead:platform"
DEFAULT_TIMEOUT = 30.0
RETRY_STATUSES = frozenset({429, 503})
MERGE_PATCH = "application/merge-patch+json"


def segment(value: str) -> str:
    """One path segment, percent-encoded (a ``/`` in an id cannot reach another route)."""
    return quote(str(value), safe="")


def new_idempotency_key() -> str:
    return str(uuid.uuid4())


@dataclass(frozen=True)
class Call(Generic[T]):
    """One API request and how to read its successful answer.

    ``idempotent``: safe to send again after a connection error (GET, DELETE, a POST with an
    ``Idempotency-Key``). ``authenticated``: carries the admin bearer token."""

    method: str
    url: str
    parse: Callable[[httpx.Response], T]
    params: Mapping[str, str] | None = None
    json: Any = None
    content: bytes | None = None  # a raw body of ``content_type`` (e.g. JSON Lines)
    data: Mapping[str, str] | None = None
    headers: Mapping[str, str] = field(default_factory=dict)
    content_type: str = "application/json"
    idempotent: bool = True
    authenticated: bool = True


class Step(enum.Enum):
    REFRESH = "refresh"  # the token was refused: fetch a new one and send again, once


@dataclass
class _Token:
    value: str
    expires_at: float
    refresh_at: float


class TokenState:
    """The bearer token: a fixed one, or one fetched with client credentials and renewed
    shortly before it expires (10% of its lifetime, at most 60 s, early) or when refused."""

    def __init__(self, token: str | None) -> None:
        self._token = _Token(token, math.inf, math.inf) if token is not None else None
        self.renewable = token is None

    def current(self, now: float) -> str | None:
        token = self._token
        if token is None or (self.renewable and now >= token.refresh_at):
            return None
        return token.value

    def store(self, value: str, expires_in: float, now: float) -> None:
        margin = min(60.0, expires_in / 10)
        self._token = _Token(value, now + expires_in, now + expires_in - margin)

    def invalidate(self) -> None:
        if self.renewable:
            self._token = None


@dataclass(frozen=True)
class IssuedToken:
    access_token: str
    expires_in: float


def _issued_token(response: httpx.Response) -> IssuedToken:
    try:
        body = response.json()
    except ValueError as exc:
        raise ProviderError("the token endpoint did not answer JSON") from exc
    token = body.get("access_token") if isinstance(body, dict) else None
    if not isinstance(token, str) or not token:
        raise ProviderError("the token endpoint answered no access_token")
    expires_in = body.get("expires_in")
    if isinstance(expires_in, bool) or not isinstance(expires_in, int | float) or expires_in <= 0:
        expires_in = 300
    return IssuedToken(token, float(expires_in))


class Engine:
    """Configuration and decisions; no I/O. The clients own the HTTP client and the sleeping."""

    def __init__(
        self,
        base_url: str,
        *,
        token: str | None,
        client_id: str | None,
        client_secret: str | None,
        issuer: str | None,
        scope: str,
        retries: int,
        backoff: float,
        max_backoff: float,
        max_retry_after: float,
        clock: Clock,
        jitter: Callable[[], float] = random.random,
    ) -> None:
        if token is None and (client_id is None or client_secret is None or issuer is None):
            raise ValueError("pass token=, or client_id=, client_secret= and issuer=")
        if token is not None and client_id is not None:
            raise ValueError("pass token= or client credentials, not both")
        if retries < 0 or backoff < 0:
            raise ValueError("retries and backoff cannot be negative")
        self.api = base_url.rstrip("/") + API_PREFIX
        self.tokens = TokenState(token)
        self.issuer = issuer.rstrip("/") if issuer is not None else None
        self.scope = scope
        self.retries = retries
        self.backoff = backoff
        self.max_backoff = max_backoff
        self.max_retry_after = max_retry_after
        self.clock = clock
        self._jitter = jitter
        self._basic = ""
        if client_id is not None and client_secret is not None:
            pair = f"{quote(client_id, safe='')}:{quote(client_secret, safe='')}"  # RFC 6749 2.3.1
            self._basic = "Basic " + base64.b64encode(pair.encode()).decode()

    def url(self, *segments: str) -> str:
        return self.api + "".join("/" + segment(s) for s in segments)

    def token_call(self) -> Call[IssuedToken]:
        return Call(
            "POST",
            f"{self.issuer}/token",
            _issued_token,
            data={"grant_type": "client_credentials", "scope": self.scope},
            headers={"Authorization": self._basic},
            authenticated=False,
        )

    def build(
        self, http: httpx.Client | httpx.AsyncClient, call: Call[Any], bearer: str | None
    ) -> httpx.Request:
        headers = {"Accept": "application/json, application/problem+json", **call.headers}
        if bearer is not None:
            headers["Authorization"] = f"Bearer {bearer}"
        content = call.content
        if call.json is not None:
            content = json.dumps(call.json).encode()
        if content is not None:
            headers["Content-Type"] = call.content_type
        return http.build_request(
            call.method, call.url, params=call.params, content=content, data=call.data, headers=headers
        )

    def after(
        self, call: Call[Any], attempt: int, refreshed: bool, response: httpx.Response
    ) -> float | Step | None:
        """``None``: parse the answer; a delay: sleep, then send again; ``Step.REFRESH``: renew the
        token and send again. Raises the typed error when the answer is final."""
        status = response.status_code
        if status == 401 and call.authenticated and self.tokens.renewable and not refreshed:
            self.tokens.invalidate()
            return Step.REFRESH
        if response.is_success:
            return None
        retry_after = parse_retry_after(response.headers.get("retry-after"), self.clock())
        if status in RETRY_STATUSES and attempt < self.retries:
            if retry_after is None:
                return self.delay(attempt)
            if retry_after <= self.max_retry_after:
                return retry_after
        raise problem_error(response, retry_after)

    def after_error(self, call: Call[Any], attempt: int, exc: httpx.TransportError) -> float:
        """The delay before sending again after a connection error, or :class:`ProviderError`."""
        if call.idempotent and attempt < self.retries:
            return self.delay(attempt)
        raise ProviderError(f"{call.method} {call.url} failed: {exc.__class__.__name__}") from exc

    def delay(self, attempt: int) -> float:
        """Exponential backoff with jitter: between half and all of ``backoff * 2**attempt``."""
        ceiling = min(self.max_backoff, self.backoff * 2.0**attempt)
        return ceiling * (0.5 + self._jitter() / 2)


def parse_retry_after(value: str | None, now: float) -> float | None:
    """``Retry-After`` (RFC 9110 section 10.2.3): delay-seconds or an HTTP-date."""
    if value is None:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - now)


def no_content(response: httpx.Response) -> None:
    return None


def json_object(response: httpx.Response) -> dict[str, Any]:
    try:
        body = response.json()
    except ValueError as exc:
        raise ProviderError(f"{response.request.method} {response.request.url} did not answer JSON") from exc
    if not isinstance(body, dict):
        raise ProviderError(f"{response.request.method} {response.request.url} did not answer a JSON object")
    return body
