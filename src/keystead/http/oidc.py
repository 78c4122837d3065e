"""Protocol endpoints of one tenant: discovery, JWKS, authorize, token, userinfo, introspection,
revocation. Each parses the request, calls a service off the event loop and renders the result.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from functools import wraps

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response

from keystead.http.requests import (
    TenantContext,
    app_of,
    form_params,
    tenant_context,
)
from keystead.http.responses import NO_STORE, json_response, oauth_error
from keystead.protocols.oauth2 import bearer, client_auth
from keystead.protocols.oauth2 import token_request as tr
from keystead.protocols.oauth2.errors import InvalidRequest, OAuth2Error, ServerError
from keystead.protocols.oauth2.params import required, single
from keystead.protocols.oidc import discovery as oidc_discovery
from keystead.web import pages

log = logging.getLogger("keystead.http")

Endpoint = Callable[[Request, TenantContext], Awaitable[Response]]


def protocol_endpoint(
    *, bearer_realm: bool = False
) -> Callable[[Endpoint], Callable[[Request], Awaitable[Response]]]:
    """Resolve the tenant, and turn errors into the OAuth JSON format (unexpected ones into
    ``server_error`` with the detail only in the log)."""

    def wrap(handler: Endpoint) -> Callable[[Request], Awaitable[Response]]:
        @wraps(handler)
        async def endpoint(request: Request) -> Response:
            ctx = tenant_context(request)
            if ctx is None:
                return json_response({"error": "not_found"}, 404)
            try:
                return await handler(request, ctx)
            except OAuth2Error as exc:
                return oauth_error(exc, bearer_realm=bearer_realm)
            except Exception:
                log.exception("unexpected error in %s", handler.__name__)
                return oauth_error(ServerError("unexpected error"))

        return endpoint

    return wrap


@protocol_endpoint()
async def discovery(request: Request, ctx: TenantContext) -> Response:
    body = oidc_discovery.metadata(ctx.issuer.url)
    return json_response(
        body, headers={"Cache-Control": "public, max-age=300", "Access-Control-Allow-Origin": "*"}
    )


@protocol_endpoint()
async def jwks(request: Request, ctx: TenantContext) -> Response:
    keys = app_of(request).keys
    body = keys.cached_jwks(ctx.tenant.id) or await run_in_threadpool(keys.jwks, ctx.tenant.id)
    return json_response(
        body,
        media_type="application/jwk-set+json",
        headers={"Cache-Control": "public, max-age=60", "Access-Control-Allow-Origin": "*"},
    )


async def authorize(request: Request) -> Response:
    """GET and POST (OIDC Core section 3.1.2.1). Errors are pages or redirects, never JSON."""
    return await pages.authorize(request)


@protocol_endpoint()
async def token(request: Request, ctx: TenantContext) -> Response:
    form = await form_params(request)
    creds = client_auth.extract(request.headers.get("authorization"), form)
    grant = tr.parse(form)
    result = await run_in_threadpool(app_of(request).token_endpoint.token, ctx.issuer, creds, grant)
    return json_response(result.to_dict(), headers=NO_STORE)


@protocol_endpoint(bearer_realm=True)
async def userinfo(request: Request, ctx: TenantContext) -> Response:
    form = None
    if request.method == "POST" and request.headers.get("content-type", "").startswith(
        "application/x-www-form-urlencoded"
    ):
        form = await form_params(request)
    access_token = bearer.extract(request.headers.get("authorization"), form)
    claims = await run_in_threadpool(app_of(request).token_endpoint.userinfo, ctx.issuer, access_token)
    return json_response(claims, headers={**NO_STORE, "Access-Control-Allow-Origin": "*"})


@protocol_endpoint()
async def introspect(request: Request, ctx: TenantContext) -> Response:
    form = await form_params(request)
    creds = client_auth.extract(request.headers.get("authorization"), form)
    value = required(form, "token", max_length=8192)
    hint = single(form, "token_type_hint", max_length=32)
    body = await run_in_threadpool(app_of(request).token_endpoint.introspect, ctx.issuer, creds, value, hint)
    return json_response(body, headers=NO_STORE)


@protocol_endpoint()
async def revoke(request: Request, ctx: TenantContext) -> Response:
    form = await form_params(request)
    creds = client_auth.extract(request.headers.get("authorization"), form)
    value = single(form, "token", max_length=8192)
    if value is None:
        raise InvalidRequest("parameter 'token' is required")
    await run_in_threadpool(app_of(request).token_endpoint.revoke, ctx.issuer, creds, value)
    return Response(status_code=200, headers=NO_STORE)
