"""``/tenants/{tenant}/clients``: list (keyset pages), register (idempotent), read, update
(``If-Match``, a status of ``disabled`` turns a client off), rotate the secret.

A client secret is in exactly one response: the one that created it, or the one that rotated it.
Only its keyed hash is stored, and never returned. An idempotent replay of a creation answers
the stored first response *without* the secret (``Idempotent-Replayed: true``): the secret is
not kept anywhere, so a caller that lost the first response rotates the secret.
"""

from __future__ import annotations

from typing import Annotated, Any

import orjson
from fastapi import APIRouter, Header, Path, Query, Request
from starlette.responses import Response

from keystead.http.admin import cursors
from keystead.http.admin.auth import Admin
from keystead.http.admin.idempotency import check_key, run_once
from keystead.http.admin.problems import Problem, ProblemRoute
from keystead.http.admin.representation import body_field, check_if_match, etag, json_response
from keystead.http.admin.schemas import (
    ClientCreate,
    ClientFilters,
    ClientOut,
    ClientPage,
    ClientPatch,
    ClientSecretOut,
    problems,
    rfc3339,
)
from keystead.ports.records import Client

ClientId = Annotated[str, Path(min_length=1, max_length=255)]
IfMatch = Annotated[str | None, Header(alias="If-Match", max_length=1024)]
IdempotencyKey = Annotated[str | None, Header(alias="Idempotency-Key", max_length=1024)]
AUTH = (401, 403)

router = APIRouter(route_class=ProblemRoute, tags=["clients"], prefix="/tenants/{tenant}/clients")


@router.get("", response_model=ClientPage, responses=problems(400, *AUTH, 404, 422))
def list_clients(ctx: Admin, q: Annotated[ClientFilters, Query()]) -> Response:
    """Clients in registration order; follow `next_cursor` until it is `null`."""
    after = cursors.time_id(ctx.app.ring, ctx.tenant.id, "clients", q.cursor)
    clients = ctx.app.clients.page(ctx.tenant.id, after=after, limit=q.limit + 1)
    page = clients[: q.limit]
    next_cursor = None
    if len(clients) > q.limit:
        last = page[-1]
        next_cursor = cursors.encode(ctx.app.ring, ctx.tenant.id, "clients", [last.created_at, last.id])
    return json_response({"items": [clientjson_response(c) for c in page], "next_cursor": next_cursor})


@router.post(
    "", status_code=201, response_model=ClientOut, responses=problems(400, *AUTH, 404, 409, 413, 422)
)
def create_client(
    ctx: Admin, body: ClientCreate, request: Request, idempotency_key: IdempotencyKey = None
) -> Response:
    """Register a client. A confidential client's `client_secret` is in this response only.
    With `Idempotency-Key`, a replay answers the first response without the secret."""
    key = check_key(idempotency_key)
    secrets: list[str] = []

    def create() -> Response:
        fields = body.model_dump(exclude={"name"}, exclude_none=True)
        if body.risk is not None:  # an override's absent members are the tenant's
            fields["risk"] = body.risk.model_dump(exclude_none=True)
        created = ctx.app.clients.create(ctx.tenant.id, body.name, **fields)
        if created.secret is not None:
            secrets.append(created.secret)
        client = created.client
        ctx.app.audit.record(
            ctx.tenant.id, ctx.actor, "client.create", client.client_id, after=clientjson_response(client)
        )
        location = (
            f"{request.scope.get('root_path', '')}/tenants/{ctx.tenant.name}/clients/{client.client_id}"
        )
        return json_response(
            clientjson_response(client), 201, {"Location": location, "ETag": etag(ctx, client)}
        )

    response = run_once(ctx, key, body.model_dump(mode="json"), create)
    if not secrets:  # a public client, or a replay: no secret to show
        return response
    shown = {**orjson.loads(bytes(response.body)), "client_secret": secrets[0]}
    headers = {k: v for k, v in response.headers.items() if k in ("location", "etag")}
    return json_response(shown, 201, {**headers, "Cache-Control": "no-store"})


@router.get("/{client_id}", response_model=ClientOut, responses=problems(*AUTH, 404, 422))
def get_client(ctx: Admin, client_id: ClientId) -> Response:
    client = ctx.app.clients.lookup(ctx.tenant.id, client_id)
    return json_response(clientjson_response(client), headers={"ETag": etag(ctx, client)})


@router.patch(
    "/{client_id}", response_model=ClientOut, responses=problems(400, *AUTH, 404, 412, 413, 422, 428)
)
def update_client(ctx: Admin, client_id: ClientId, body: ClientPatch, if_match: IfMatch = None) -> Response:
    """A JSON merge patch (RFC 7396) of the client; `If-Match` with the client's `ETag` is
    required, and a stale one changes nothing (412). `"status": "disabled"` turns it off."""
    if if_match is None:
        raise Problem("precondition-required", "send If-Match with the client's ETag")
    before = ctx.app.clients.lookup(ctx.tenant.id, client_id)
    check_if_match(ctx, before, if_match, "client")
    changes = {name: getattr(body, name) for name in body.model_fields_set}
    if body.risk is not None:
        changes["risk"] = body.risk.model_dump(exclude_none=True)
    nullable = ("client_uri", "mfa", "minimum_acr", "risk")
    for name, value in changes.items():
        if value is None and name not in nullable:
            raise Problem("validation", f"{name} cannot be null", errors=[body_field(name, "cannot be null")])
    after = ctx.app.clients.update(ctx.tenant.id, client_id, expected=before, **changes)
    ctx.app.audit.record(
        ctx.tenant.id,
        ctx.actor,
        "client.update",
        client_id,
        before=clientjson_response(before),
        after=clientjson_response(after),
    )
    return json_response(clientjson_response(after), headers={"ETag": etag(ctx, after)})


@router.delete("/{client_id}", status_code=204, responses=problems(*AUTH, 404, 412, 422))
def delete_client(ctx: Admin, client_id: ClientId, if_match: IfMatch = None) -> Response:
    """Delete the client: its grants, refresh and access tokens are revoked and its consents
    deleted at once; it is then `404`. `If-Match` is optional."""
    before = ctx.app.clients.lookup(ctx.tenant.id, client_id)
    if if_match is not None:
        check_if_match(ctx, before, if_match, "client")
    ctx.app.clients.delete(ctx.tenant.id, client_id)
    ctx.app.audit.record(
        ctx.tenant.id, ctx.actor, "client.delete", client_id, before=clientjson_response(before)
    )
    return Response(status_code=204)


@router.post("/{client_id}/secret", response_model=ClientSecretOut, responses=problems(*AUTH, 404, 412, 422))
def rotate_secret(ctx: Admin, client_id: ClientId, if_match: IfMatch = None) -> Response:
    """A new secret for a confidential client, shown in this response only; the old one stops
    working at once. A public client has no secret (422). `If-Match` is optional."""
    if if_match is not None:
        check_if_match(ctx, ctx.app.clients.lookup(ctx.tenant.id, client_id), if_match, "client")
    rotated = ctx.app.clients.rotate_secret(ctx.tenant.id, client_id)
    ctx.app.audit.record(ctx.tenant.id, ctx.actor, "client.secret.rotate", client_id)
    body = {"client_id": client_id, "client_secret": rotated.secret}
    return json_response(body, headers={"ETag": etag(ctx, rotated.client), "Cache-Control": "no-store"})


def clientjson_response(client: Client) -> dict[str, Any]:
    return {
        "id": client.id,
        "client_id": client.client_id,
        "name": client.name,
        "client_type": client.client_type,
        "status": client.status,
        "redirect_uris": list(client.redirect_uris),
        "post_logout_redirect_uris": list(client.post_logout_redirect_uris),
        "grant_types": list(client.grant_types),
        "scopes": list(client.scopes),
        "first_party": client.first_party,
        "id_token_alg": client.id_token_alg,
        "access_token_ttl": client.access_token_ttl,
        "id_token_ttl": client.id_token_ttl,
        "refresh_token_ttl": client.refresh_token_ttl,
        "client_uri": client.client_uri,
        "has_secret": client.secret_hash is not None,
        "created_at": rfc3339(client.created_at),
        "mfa": client.mfa,
        "minimum_acr": client.minimum_acr,
        "risk": client.risk,
    }
