"""``/tenants``: list (keyset pages by name), create (idempotent), read, update. Platform admins
only: a tenant admin's token gets 403 on every route here, whichever tenant it names."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Header, Path, Query, Request
from pydantic import BaseModel, ConfigDict, Field, StringConstraints
from starlette.responses import Response

from keystead.http.admin import cursors
from keystead.http.admin.auth import AdminContext, Principal, keystead_of, principal
from keystead.http.admin.idempotency import check_key, run_once
from keystead.http.admin.problems import Problem, ProblemRoute
from keystead.http.admin.representation import json_response
from keystead.http.admin.schemas import Page, Status, Strict, Text, Uri, problems, rfc3339
from keystead.ports.records import Tenant

AUTH = (401, 403)
TenantName = Annotated[str, Path(max_length=63, description="The tenant's name")]
IdempotencyKey = Annotated[str | None, Header(alias="Idempotency-Key", max_length=1024)]
DisplayName = Annotated[str, StringConstraints(min_length=1, max_length=200)]
Color = Annotated[str, StringConstraints(max_length=16)]


class TenantFilters(Page):
    model_config = ConfigDict(extra="forbid", strict=False)

    status: Status | None = None
    name_prefix: Text | None = Field(None, description="Names starting with this")


class TenantCreate(Strict):
    name: Annotated[str, StringConstraints(max_length=63)] = Field(
        description="1-63 lowercase letters, digits and '-'"
    )
    display_name: DisplayName | None = None
    custom_domain: Annotated[str, StringConstraints(max_length=253)] | None = None
    brand_color: Color | None = Field(None, description="`#rrggbb`")
    logo_url: Uri | None = None


class TenantPatch(Strict):
    """A JSON merge patch (RFC 7396) of the tenant."""

    display_name: DisplayName | None = None
    brand_color: Color | None = None
    logo_url: Uri | None = None
    status: Status | None = None


class TenantOut(BaseModel):
    id: str
    name: str
    display_name: str
    status: str
    custom_domain: str | None
    brand_color: str | None
    logo_url: str | None
    issuer: str
    created_at: str


class TenantPage(BaseModel):
    items: list[TenantOut]
    next_cursor: str | None


def platform_context(request: Request, caller: Annotated[Principal, Depends(principal)]) -> AdminContext:
    """A platform admin, acting from the platform tenant (its idempotency keys live there)."""
    if not caller.platform:
        raise Problem("forbidden", "only platform admins may manage tenants")
    return AdminContext(keystead_of(request), caller.issuer_tenant, caller)


Platform = Annotated[AdminContext, Depends(platform_context)]

router = APIRouter(route_class=ProblemRoute, tags=["tenants"], prefix="/tenants")


@router.get("", response_model=TenantPage, responses=problems(400, *AUTH, 422))
def list_tenants(ctx: Platform, q: Annotated[TenantFilters, Query()]) -> Response:
    """Tenants ordered by name; follow `next_cursor` until it is `null`."""
    after = cursors.text(ctx.app.ring, ctx.tenant.id, "tenants", q.cursor)
    tenants = ctx.app.tenants.page(after=after, limit=q.limit + 1, status=q.status, name_prefix=q.name_prefix)
    page = tenants[: q.limit]
    next_cursor = None
    if len(tenants) > q.limit:
        next_cursor = cursors.encode(ctx.app.ring, ctx.tenant.id, "tenants", [page[-1].name])
    return json_response({"items": [tenantjson_response(ctx, t) for t in page], "next_cursor": next_cursor})


@router.post("", status_code=201, response_model=TenantOut, responses=problems(400, *AUTH, 409, 413, 422))
def create_tenant(
    ctx: Platform, body: TenantCreate, request: Request, idempotency_key: IdempotencyKey = None
) -> Response:
    """Create a tenant (with its signing keys). Send `Idempotency-Key` to make retries safe."""
    key = check_key(idempotency_key)

    def create() -> Response:
        tenant = ctx.app.tenants.create(
            body.name,
            body.display_name,
            custom_domain=body.custom_domain,
            logo_url=body.logo_url,
            brand_color=body.brand_color,
        )
        ctx.app.audit.record(
            tenant.id, ctx.actor, "tenant.create", tenant.id, after=tenantjson_response(ctx, tenant)
        )
        location = f"{request.scope.get('root_path', '')}/tenants/{tenant.name}"
        return json_response(tenantjson_response(ctx, tenant), 201, {"Location": location})

    return run_once(ctx, key, body.model_dump(mode="json"), create)


@router.get("/{tenant}", response_model=TenantOut, responses=problems(*AUTH, 404, 422))
def get_tenant(ctx: Platform, tenant: TenantName) -> Response:
    """A tenant, active or disabled."""
    return json_response(tenantjson_response(ctx, ctx.app.tenants.get(tenant)))


@router.patch("/{tenant}", response_model=TenantOut, responses=problems(400, *AUTH, 404, 413, 422))
def update_tenant(ctx: Platform, tenant: TenantName, body: TenantPatch) -> Response:
    """A JSON merge patch of the tenant; `"status": "disabled"` turns it off (its tokens stop
    working)."""
    changes = {name: getattr(body, name) for name in body.model_fields_set}
    for name, value in changes.items():
        if value is None and name not in ("logo_url", "brand_color"):
            raise Problem(
                "validation",
                f"{name} cannot be null",
                errors=[{"field": name, "in": "body", "detail": "cannot be null"}],
            )
    before = ctx.app.tenants.get(tenant)
    after = ctx.app.tenants.update(tenant, **changes)
    ctx.app.audit.record(
        after.id,
        ctx.actor,
        "tenant.update",
        after.id,
        before=tenantjson_response(ctx, before),
        after=tenantjson_response(ctx, after),
    )
    return json_response(tenantjson_response(ctx, after))


def tenantjson_response(ctx: AdminContext, tenant: Tenant) -> dict[str, Any]:
    return {
        "id": tenant.id,
        "name": tenant.name,
        "display_name": tenant.display_name,
        "status": tenant.status,
        "custom_domain": tenant.custom_domain,
        "brand_color": tenant.brand_color,
        "logo_url": tenant.logo_url,
        "issuer": ctx.app.tenants.issuer(tenant),
        "created_at": rfc3339(tenant.created_at),
    }
