"""The admin REST API (``/admin/api/v1``): a FastAPI sub-application, thin by design — parse,
call services, render. Errors are RFC 9457 problems; OpenAPI 3.1 is at ``/openapi.json``."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException

from keystead.http.admin import (
    audit,
    clients,
    config,
    consents,
    factors,
    imports,
    keys,
    lockouts,
    risk,
    sessions,
    settings,
    tenants,
    users,
)
from keystead.http.admin.auth import gate
from keystead.http.admin.problems import http_exception_handler
from keystead.http.admin.ratelimit import RateLimiter
from keystead.http.admin.schemas import ProblemOut
from keystead.wiring import Keystead

PREFIX = "/admin/api/v1"


def create_admin_app(keystead: Keystead) -> FastAPI:
    app = FastAPI(
        title="Keystead admin API",
        version="1",
        openapi_url="/openapi.json",
        docs_url=None,
        redoc_url=None,
        description="Manage tenants' users and read their audit trail. Authenticate with a "
        "Keystead access token (scope `keystead:admin` or `keystead:platform`).",
    )
    app.state.keystead = keystead
    app.state.gate = gate
    limits = keystead.settings.admin
    app.state.rate_limiter = RateLimiter(
        limits.rate_limit_per_second, limits.rate_limit_burst, keystead.clock
    )
    app.add_exception_handler(HTTPException, http_exception_handler)
    app.add_exception_handler(RequestValidationError, http_exception_handler)
    app.include_router(imports.router)  # before users: /users/export is not a user id
    app.include_router(users.router)
    app.include_router(audit.router)
    app.include_router(clients.router)
    app.include_router(keys.router)
    app.include_router(sessions.router)
    app.include_router(lockouts.router)
    app.include_router(factors.router)
    app.include_router(consents.router)
    app.include_router(settings.router)
    app.include_router(config.router)
    app.include_router(risk.router)
    app.include_router(tenants.router)
    app.openapi = lambda: _openapi(app)  # type: ignore[method-assign]
    return app


def _openapi(app: FastAPI) -> dict[str, Any]:
    if app.openapi_schema is None:
        from fastapi.openapi.utils import get_openapi

        schema = get_openapi(
            title=app.title,
            version=app.version,
            openapi_version=app.openapi_version,
            description=app.description,
            routes=app.routes,
            servers=[{"url": PREFIX}],
        )
        components = schema.setdefault("components", {})
        components.setdefault("schemas", {})["ProblemOut"] = ProblemOut.model_json_schema(
            ref_template="#/components/schemas/{model}"
        )
        components["securitySchemes"] = {
            "bearer": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"}
        }
        schema["security"] = [{"bearer": []}]
        app.openapi_schema = schema
    return app.openapi_schema
