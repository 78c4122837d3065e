"""``/tenants/{tenant}/config``: the tenant's configuration as code (docs/config-as-code.md).

``GET`` returns its settings (the login flow included) and clients (never a secret) as JSON, or
as YAML when ``Accept`` asks for ``application/yaml``. ``PUT`` takes the same document (JSON or
YAML) and makes the tenant match it: everything is checked first (422 naming the field, nothing
written), then only the differences are applied and returned, with the secret of each new
confidential client (shown once). ``?dry_run=true`` returns the differences and changes nothing.
Importing the same document again changes nothing. Audited (``tenant.config.import``)."""

from __future__ import annotations

from typing import Annotated, Any

import orjson
from fastapi import APIRouter, Query, Request
from pydantic import BaseModel, Field
from starlette.concurrency import run_in_threadpool
from starlette.responses import Response

from keystead.http.admin.auth import Admin
from keystead.http.admin.problems import Problem, ProblemRoute
from keystead.http.admin.representation import json_response
from keystead.http.admin.schemas import problems
from keystead.services.config_document import dump_yaml, load_yaml

YAML = "application/yaml"
YAML_TYPES = (YAML, "application/x-yaml", "text/yaml", "text/x-yaml")
AUTH = (401, 403)

router = APIRouter(route_class=ProblemRoute, tags=["configuration"], prefix="/tenants/{tenant}/config")


class ChangeOut(BaseModel):
    kind: str = Field(description="`settings`, `create` (a client) or `update` (a client)")
    target: str = Field(description="a dotted settings path, or a client_id")
    before: Any = None
    after: Any = None


class ImportOut(BaseModel):
    applied: bool = Field(description="`false` for a dry run, or when nothing differed")
    changes: list[ChangeOut]
    secrets: dict[str, str] = Field(description="client_id -> secret of each confidential client created")
    unlisted_clients: list[str] = Field(description="clients not in the document: left as they are")


class ConfigOut(BaseModel):
    keystead_config: int
    tenant: str
    settings: dict[str, Any]
    clients: list[dict[str, Any]]


_PUT_BODY = {
    "requestBody": {
        "required": True,
        "description": "The document `GET` returns (docs/config-as-code.md)",
        "content": {
            "application/json": {"schema": {"$ref": "#/components/schemas/ConfigOut"}},
            YAML: {"schema": {"type": "string"}},
        },
    }
}


@router.get(
    "",
    response_model=ConfigOut,
    responses={**problems(*AUTH, 404, 422), 200: {"content": {YAML: {"schema": {"type": "string"}}}}},
)
def export_config(ctx: Admin, request: Request) -> Response:
    """The tenant's settings and clients as one document (`Accept: application/yaml` for YAML)."""
    document = ctx.app.config.export(ctx.tenant.id, ctx.tenant.name)
    headers = {"Cache-Control": "no-store", "Vary": "Accept"}
    if _wants_yaml(request.headers.get("accept", "")):
        return Response(dump_yaml(document), media_type=YAML, headers=headers)
    return json_response(document, headers=headers)


@router.put(
    "",
    response_model=ImportOut,
    responses=problems(400, *AUTH, 404, 412, 413, 415, 422),
    openapi_extra=_PUT_BODY,
)
async def import_config(
    ctx: Admin,
    request: Request,
    dry_run: Annotated[bool, Query(description="only report what would change")] = False,
) -> Response:
    """Make the tenant match the document; only what differs is written."""
    document = _parse(request.headers.get("content-type", ""), await request.body())
    result = await run_in_threadpool(
        ctx.app.config.import_, ctx.tenant.id, document, ctx.actor, dry_run=dry_run
    )
    return json_response(result.to_json(), headers={"Cache-Control": "no-store"})


def _wants_yaml(accept: str) -> bool:
    offered = [part.split(";")[0].strip().lower() for part in accept.split(",")]
    return any(kind in YAML_TYPES for kind in offered) and "application/json" not in offered[:1]


def _parse(content_type: str, body: bytes) -> Any:
    media_type = content_type.split(";", maxsplit=1)[0].strip().lower()
    if media_type == "application/json":
        try:
            return orjson.loads(body)
        except orjson.JSONDecodeError as exc:
            raise Problem("bad-request", "the request body is not valid JSON") from exc
    if media_type in YAML_TYPES:
        try:
            return load_yaml(body.decode("utf-8"))
        except UnicodeDecodeError as exc:
            raise Problem("bad-request", "the request body is not UTF-8") from exc
    raise Problem(
        "unsupported-media-type",
        f"send the document as application/json or {YAML}",
        errors=[{"field": "Content-Type", "in": "header", "detail": f"expected application/json or {YAML}"}],
    )
