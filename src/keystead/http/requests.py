"""Reading requests strictly: parameters, content types, the tenant, the client address."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from urllib.parse import parse_qsl

from starlette.requests import Request

from keystead.ports.records import Tenant
from keystead.protocols.oauth2.errors import InvalidRequest
from keystead.services.tokens import Issuer
from keystead.types import Params
from keystead.wiring import Keystead

FORM_TYPE = "application/x-www-form-urlencoded"
MAX_PARAMS = 64


@dataclass(frozen=True, slots=True)
class TenantContext:
    tenant: Tenant
    issuer: Issuer
    base_path: str  # URL path prefix of the tenant's endpoints, without trailing slash


def app_of(request: Request) -> Keystead:
    app: Keystead = request.app.state.keystead
    return app


def tenant_context(request: Request) -> TenantContext | None:
    """The active tenant the request addresses (path ``/t/{name}`` or a custom domain)."""
    app = app_of(request)
    name = request.path_params.get("tenant", "")
    custom = request.scope.get("keystead.custom_domain")
    if custom:
        tenant = app.tenants.find_by_domain(custom)
        if tenant is None or tenant.name != name:
            return None
        base_path = ""
    else:
        valid = len(name) <= 63 and "\x00" not in name
        tenant = app.tenants.find_active(name) if valid else None
        if tenant is None or tenant.custom_domain:
            return None
        base_path = f"/t/{tenant.name}"
    return TenantContext(tenant, Issuer(tenant.id, app.tenants.issuer(tenant)), base_path)


def decode_params(raw: bytes) -> Params:
    """``application/x-www-form-urlencoded`` data, strictly UTF-8, bounded in count."""
    try:
        pairs = parse_qsl(
            raw.decode("ascii"), keep_blank_values=True, errors="strict", max_num_fields=MAX_PARAMS
        )
    except (UnicodeDecodeError, ValueError) as exc:
        raise InvalidRequest("malformed parameters") from exc
    params: dict[str, list[str]] = defaultdict(list)
    for name, value in pairs:
        if "\x00" in name or "\x00" in value:  # no parameter may hold NUL (PostgreSQL refuses it)
            raise InvalidRequest("malformed parameters")
        params[name].append(value)
    return dict(params)


def query_params(request: Request) -> Params:
    return decode_params(request.scope.get("query_string", b""))


async def form_params(request: Request) -> Params:
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type != FORM_TYPE:
        raise InvalidRequest(f"the request body must be {FORM_TYPE}")
    return decode_params(await request.body())


def client_ip(request: Request) -> str:
    peer = request.client.host if request.client else "unknown"
    trusted = app_of(request).settings.server.trusted_proxies
    forwarded = request.headers.get("x-forwarded-for")
    if forwarded and peer in trusted:
        return forwarded.split(",")[-1].strip()[:64] or peer
    return peer
