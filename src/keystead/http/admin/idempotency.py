"""``Idempotency-Key`` on creating POSTs: the same key with the same body within 24 hours
replays the first response without creating anything; the same key with another body is a 409.

Keys are scoped to the tenant and the caller. A key is claimed (a row without a response) before
the work starts, so two concurrent requests with one key cannot both create; the claim is
released if the work fails, so the client may retry.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import orjson
from starlette.responses import Response

from keystead.http.admin.auth import AdminContext
from keystead.http.admin.problems import Problem
from keystead.ports.records import IdempotencyRecord
from keystead.ports.stores import IdempotencyStore

PURPOSE = "admin-idempotency"
TTL_SECONDS = 24 * 3600
MAX_KEY = 255
REPLAY_HEADERS = ("location", "etag", "content-type")


def check_key(key: str | None) -> str | None:
    if key is not None and (not key or len(key) > MAX_KEY or not key.isprintable()):
        raise Problem(
            "validation",
            "the Idempotency-Key header is invalid",
            errors=[{"field": "Idempotency-Key", "in": "header", "detail": f"1 to {MAX_KEY} characters"}],
        )
    return key


def run_once(
    ctx: AdminContext, key: str | None, body: dict[str, Any], create: Callable[[], Response]
) -> Response:
    """``create()`` once per key; later calls with the same key and body replay its response."""
    if key is None:
        return create()
    store: IdempotencyStore = ctx.app.storage
    tenant_id, actor = ctx.tenant.id, ctx.actor.name
    request_mac = ctx.app.ring.mac(PURPOSE, orjson.dumps(body, option=orjson.OPT_SORT_KEYS).decode())
    now = ctx.app.clock()
    claim = IdempotencyRecord(tenant_id, actor, key, request_mac, now)
    if not store.claim_idempotency_key(claim):
        existing = store.idempotency_record(tenant_id, actor, key)
        if existing is not None and existing.created_at + TTL_SECONDS <= now:
            store.release_idempotency_key(tenant_id, actor, key)
            return run_once(ctx, key, body, create)
        return _replay(existing, request_mac)
    try:
        response = create()
    except BaseException:
        store.release_idempotency_key(tenant_id, actor, key)
        raise
    store.complete_idempotency_key(tenant_id, actor, key, _stored(response))
    return response


def _replay(existing: IdempotencyRecord | None, request_mac: str) -> Response:
    if existing is None or existing.request_mac != request_mac:
        raise Problem("idempotency-key-reused", "this Idempotency-Key was used with another request")
    if existing.response is None:
        raise Problem("conflict", "a request with this Idempotency-Key is still in progress")
    stored = existing.response
    headers = {**stored["headers"], "Idempotent-Replayed": "true"}
    media_type = headers.pop("content-type", "application/json")
    return Response(
        stored["body"].encode(), status_code=stored["status"], headers=headers, media_type=media_type
    )


def _stored(response: Response) -> dict[str, Any]:
    headers = {k: v for k, v in response.headers.items() if k in REPLAY_HEADERS}
    return {"status": response.status_code, "headers": headers, "body": bytes(response.body).decode()}
