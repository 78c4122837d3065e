"""``/tenants/{tenant}/users``: list (keyset pages), create (idempotent), read, update
(``If-Match``), delete. Password hashes are never returned."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Header, Path, Query, Request
from starlette.responses import Response

from keystead.http.admin import cursors
from keystead.http.admin.auth import Admin, AdminContext
from keystead.http.admin.idempotency import check_key, run_once
from keystead.http.admin.problems import Problem, ProblemRoute
from keystead.http.admin.representation import body_field, check_if_match, etag, json_response
from keystead.http.admin.schemas import (
    UserCreate,
    UserFilters,
    UserOut,
    UserPage,
    UserPatch,
    problems,
    rfc3339,
)
from keystead.ports.records import User
from keystead.ports.stores import UserPageStore

UserId = Annotated[str, Path(max_length=64, pattern=r"^[A-Za-z0-9_-]+$")]
IfMatch = Annotated[str | None, Header(alias="If-Match", max_length=1024)]
IdempotencyKey = Annotated[str | None, Header(alias="Idempotency-Key", min_length=1, max_length=255)]
AUTH = (401, 403)

router = APIRouter(route_class=ProblemRoute, tags=["users"], prefix="/tenants/{tenant}/users")


@router.get("", response_model=UserPage, responses=problems(400, *AUTH, 404, 422))
def list_users(ctx: Admin, q: Annotated[UserFilters, Query()]) -> Response:
    """Users ordered by username; follow `next_cursor` until it is `null`."""
    after = None
    if q.cursor is not None:
        position = cursors.decode(ctx.app.ring, ctx.tenant.id, "users", q.cursor)
        if len(position) != 2 or not all(isinstance(p, str) for p in position):
            raise Problem("invalid-cursor", "the cursor is invalid")
        after = (position[0], position[1])
    store: UserPageStore = ctx.app.storage
    users = store.users_page(ctx.tenant.id, after=after, limit=q.limit + 1, **q.store_filters())
    page, more = users[: q.limit], len(users) > q.limit
    next_cursor = None
    if more:
        last = page[-1]
        position = [last.username.strip().casefold(), last.id]
        next_cursor = cursors.encode(ctx.app.ring, ctx.tenant.id, "users", position)
    return json_response({"items": [userjson_response(u) for u in page], "next_cursor": next_cursor})


@router.post(
    "",
    status_code=201,
    response_model=UserOut,
    responses=problems(400, *AUTH, 404, 409, 413, 422),
)
def create_user(
    ctx: Admin, body: UserCreate, request: Request, idempotency_key: IdempotencyKey = None
) -> Response:
    """Create a user. Send `Idempotency-Key` to make retries safe for 24 hours."""
    key = check_key(idempotency_key)

    def create() -> Response:
        fields = body.model_dump(exclude={"username", "status"}, exclude_none=True)
        user = ctx.app.users.create(ctx.tenant.id, body.username, **fields)
        if body.status != "active":
            user = ctx.app.users.set_status(ctx.tenant.id, user.id, body.status)
        ctx.app.audit.record(ctx.tenant.id, ctx.actor, "user.create", user.id, after=userjson_response(user))
        location = f"{request.scope.get('root_path', '')}/tenants/{ctx.tenant.name}/users/{user.id}"
        return json_response(userjson_response(user), 201, {"Location": location, "ETag": etag(ctx, user)})

    return run_once(ctx, key, body.model_dump(mode="json"), create)


@router.get("/{user_id}", response_model=UserOut, responses=problems(*AUTH, 404, 422))
def get_user(ctx: Admin, user_id: UserId) -> Response:
    user = ctx.app.users.get(ctx.tenant.id, user_id)
    return json_response(userjson_response(user), headers={"ETag": etag(ctx, user)})


@router.patch(
    "/{user_id}",
    response_model=UserOut,
    responses=problems(400, *AUTH, 404, 409, 412, 413, 422, 428),
)
def update_user(ctx: Admin, user_id: UserId, body: UserPatch, if_match: IfMatch = None) -> Response:
    """A JSON merge patch (RFC 7396) of the user; `If-Match` with the user's `ETag` is required,
    and a stale one changes nothing (412)."""
    if if_match is None:
        raise Problem("precondition-required", "send If-Match with the user's ETag")
    before = ctx.app.users.get(ctx.tenant.id, user_id)
    check_if_match(ctx, before, if_match, "user")
    changes = {name: getattr(body, name) for name in body.model_fields_set}
    for name in ("username", "status", "email_verified", "roles"):
        if name in changes and changes[name] is None:
            raise Problem("validation", f"{name} cannot be null", errors=[body_field(name, "cannot be null")])
    after = _apply(ctx, before, changes)
    ctx.app.audit.record(
        ctx.tenant.id,
        ctx.actor,
        "user.update",
        user_id,
        before=userjson_response(before),
        after=userjson_response(after),
    )
    return json_response(userjson_response(after), headers={"ETag": etag(ctx, after)})


@router.delete("/{user_id}", status_code=204, responses=problems(*AUTH, 404, 412, 422))
def delete_user(ctx: Admin, user_id: UserId, if_match: IfMatch = None) -> Response:
    """Delete the user, their sessions, consents and grants. `If-Match` is optional."""
    before = ctx.app.users.get(ctx.tenant.id, user_id)
    if if_match is not None:
        check_if_match(ctx, before, if_match, "user")
    ctx.app.users.delete(ctx.tenant.id, user_id)
    ctx.app.audit.record(ctx.tenant.id, ctx.actor, "user.delete", user_id, before=userjson_response(before))
    return Response(status_code=204)


def _apply(ctx: AdminContext, user: User, changes: dict[str, Any]) -> User:
    status = changes.pop("status", None)
    if "address" in changes and changes["address"] is not None:
        changes["address"] = changes["address"].model_dump(exclude_none=True)
    if "email_verified" in changes and "email" not in changes:
        changes["email"] = user.email
    # Each write is a compare-and-set against the version If-Match named: a concurrent change
    # between the check and the write is a 412, not a lost update.
    if changes:
        user = ctx.app.users.update(ctx.tenant.id, user.id, expected=user, **changes)
    if status is not None and status != user.status:
        user = ctx.app.users.set_status(ctx.tenant.id, user.id, status, expected=user)
    return user


def userjson_response(user: User) -> dict[str, Any]:
    return {
        "id": user.id,
        "username": user.username,
        "email": user.email,
        "email_verified": user.email_verified,
        "status": user.status,
        "given_name": user.given_name,
        "family_name": user.family_name,
        "name": user.name,
        "phone_number": user.phone_number,
        "phone_number_verified": user.phone_number_verified,
        "address": user.address,
        "locale": user.locale,
        "has_password": user.password_hash is not None,
        "roles": list(user.roles),
        "created_at": rfc3339(user.created_at),
        "updated_at": rfc3339(user.updated_at),
    }
