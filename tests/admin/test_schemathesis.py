"""Schemathesis against a REAL Keystead (uvicorn in a subprocess): the admin API's OpenAPI 3.1
document, as served at ``/admin/api/v1/openapi.json``, is the contract.

* As a tenant admin of the live tenant: no 5xx, only documented status codes, documented content
  types, and every response body valid against its schema.
* With no token, a garbage token, or a tenant admin token of ANOTHER tenant: only 401/403
  problem documents (never 2xx, never 5xx).

Every operation the served document lists is fuzzed (the users and audit operations must be
there), each as a subtest. The budget is bounded (a handful of examples per operation and pass,
derandomized, no shrinking) so the module stays well under a minute on a 2-core machine.
Nothing here skips: a server that does not start fails the module."""

from __future__ import annotations

import os
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import orjson
import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from schemathesis import APIOperation, BaseSchema, Case, GenerationMode
from schemathesis.checks import (
    allow_header_conformance,
    content_type_conformance,
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
)

from keystead.config import load_settings
from keystead.wiring import build
from tests.support.live_server import LiveServer, live_server

pytestmark = pytest.mark.e2e

API = "/admin/api/v1"
PROBLEM_TYPE = "application/problem+json"
#: Examples per operation and pass (the budget: the module must stay well under 60 s).
#: ``KEYSTEAD_SCHEMATHESIS_SCALE=10`` multiplies them for a longer, exploratory run.
SCALE = max(1, int(os.environ.get("KEYSTEAD_SCHEMATHESIS_SCALE", "1")))
POSITIVE_EXAMPLES = 15 * SCALE
NEGATIVE_EXAMPLES = 8 * SCALE
UNAUTHORIZED_EXAMPLES = 3 * SCALE
#: Operations whose every call is costly (an RSA key is generated): fewer examples.
EXPENSIVE = {("POST", "/tenants/{tenant}/keys/rotate"): 3 * SCALE}
CHECKS = [
    not_a_server_error,
    allow_header_conformance,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]
BUDGET = settings(
    deadline=None,
    derandomize=True,
    database=None,
    phases=[Phase.explicit, Phase.generate],
    suppress_health_check=list(HealthCheck),
)


@schemathesis.serializer("application/x-ndjson")
def _ndjson(ctx: schemathesis.SerializationContext, value: object) -> bytes:
    """Bulk import bodies (JSON Lines): a generated string is sent as it is."""
    return value.encode() if isinstance(value, str) else orjson.dumps(value) + b"\n"


@dataclass(frozen=True)
class Target:
    server: LiveServer
    token: str
    other_token: str
    user_ids: tuple[str, ...]

    @property
    def api(self) -> str:
        return self.server.base_url + API


def _token(base_url: str, tenant: str, client_id: str, secret: str) -> str:
    response = httpx.post(
        f"{base_url}/t/{tenant}/token",
        data={"grant_type": "client_credentials", "scope": "keystead:admin"},
        auth=(client_id, secret),
        timeout=10,
    )
    assert response.status_code == 200, response.text
    return str(response.json()["access_token"])


@pytest.fixture(scope="module")
def target(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Target]:
    workdir: Path = tmp_path_factory.mktemp("schemathesis")
    # thousands of requests from one client in seconds: far past the default per-client limit
    with pytest.MonkeyPatch.context() as env:
        env.setenv("KEYSTEAD_ADMIN__RATE_LIMIT_BURST", "1000000")
        with live_server(workdir) as server:
            k = build(
                load_settings(
                    database={"url": server.env["KEYSTEAD_DATABASE__URL"]},
                    server={"base_url": server.base_url},
                    passwords={"memory_kib": 8192, "time_cost": 1},
                )
            )
            try:
                tenant = k.tenants.find_active(server.tenant)
                assert tenant is not None
                other = k.tenants.create(f"{server.tenant}-other", "Other Corp")
                admin = k.clients.create(
                    tenant.id,
                    "admin",
                    grant_types=["client_credentials"],
                    scopes=["keystead:admin"],
                    redirect_uris=[],
                )
                intruder = k.clients.create(
                    other.id,
                    "admin",
                    grant_types=["client_credentials"],
                    scopes=["keystead:admin"],
                    redirect_uris=[],
                )
                user_ids = tuple(
                    k.users.create(tenant.id, f"fuzz{i}", email=f"fuzz{i}@example.com").id for i in range(4)
                )
            finally:
                k.close()
            token = _token(server.base_url, server.tenant, admin.client.client_id, admin.secret or "")
            other_token = _token(
                server.base_url, other.name, intruder.client.client_id, intruder.secret or ""
            )
            yield Target(server, token, other_token, user_ids)


#: Operations that must be served (all a tenant admin's to call); any other is fuzzed too.
REQUIRED = {
    ("GET", "/tenants/{tenant}/users"),
    ("POST", "/tenants/{tenant}/users"),
    ("GET", "/tenants/{tenant}/users/{user_id}"),
    ("PATCH", "/tenants/{tenant}/users/{user_id}"),
    ("DELETE", "/tenants/{tenant}/users/{user_id}"),
    ("GET", "/tenants/{tenant}/audit-events"),
    ("DELETE", "/tenants/{tenant}/clients/{client_id}"),
    ("GET", "/tenants/{tenant}/users/{user_id}/consents"),
    ("DELETE", "/tenants/{tenant}/users/{user_id}/consents/{client_id}"),
    ("GET", "/tenants/{tenant}/users/{user_id}/grants"),
    ("DELETE", "/tenants/{tenant}/users/{user_id}/grants/{grant_id}"),
    ("GET", "/tenants/{tenant}/users/{user_id}/sessions"),
    ("GET", "/tenants/{tenant}/settings"),
    ("PATCH", "/tenants/{tenant}/settings"),
}


@pytest.fixture(scope="module")
def schema(target: Target) -> BaseSchema:
    return schemathesis.openapi.from_url(f"{target.api}/openapi.json", timeout=10)


@pytest.fixture(scope="module")
def operations(schema: BaseSchema) -> list[APIOperation]:
    ops = [result.ok() for result in schema.get_all_operations()]
    assert {(op.method.upper(), op.path) for op in ops} >= REQUIRED
    return ops


def _pin(case: Case, target: Target) -> None:
    """The live tenant; for most cases an existing user (chosen from the generated id, so a
    replayed example picks the same one), otherwise the generated id (a 404 or a 422). A
    generated ``If-Match`` is ``*`` half the time, so PATCH and DELETE also succeed."""
    case.path_parameters = {**(case.path_parameters or {}), "tenant": target.server.tenant}
    generated = case.path_parameters.get("user_id")
    if isinstance(generated, str):
        pick = zlib.crc32(generated.encode()) % (len(target.user_ids) + 1)
        if pick < len(target.user_ids):
            case.path_parameters["user_id"] = target.user_ids[pick]
    if case.path.endswith("/settings") and isinstance(case.body, dict):
        # costly argon2id parameters would slow every later password hash of the live tenant
        case.body.pop("password_hashing", None)
    if_match = (case.headers or {}).get("If-Match")
    if isinstance(if_match, str) and case.headers and zlib.crc32(if_match.encode()) % 2:
        case.headers["If-Match"] = "*"


def _fuzz(
    subtests: pytest.Subtests,
    operations: list[APIOperation],
    mode: GenerationMode,
    examples: int,
    check: Callable[[Case], None],
) -> None:
    for operation in operations:
        with subtests.test(msg=f"{operation.method.upper()} {operation.path} ({mode.value})"):
            cap = EXPENSIVE.get((operation.method.upper(), operation.path), examples)

            @settings(BUDGET, max_examples=min(examples, cap))
            @given(case=operation.as_strategy(generation_mode=mode))
            def run(case: Case) -> None:
                check(case)

            run()


@pytest.mark.parametrize(
    ("mode", "examples"),
    [(GenerationMode.POSITIVE, POSITIVE_EXAMPLES), (GenerationMode.NEGATIVE, NEGATIVE_EXAMPLES)],
    ids=["positive", "negative"],
)
def test_admin_api_conforms_to_its_openapi_document(
    subtests: pytest.Subtests,
    operations: list[APIOperation],
    target: Target,
    mode: GenerationMode,
    examples: int,
) -> None:
    """A tenant admin of the live tenant: no 5xx, documented statuses and content types, and
    bodies matching the schema."""
    auth = {"Authorization": f"Bearer {target.token}"}

    def check(case: Case) -> None:
        _pin(case, target)
        # Negative generation also mangles the security header: the token must be ours.
        case.headers = {**(case.headers or {}), **auth}
        response = case.call(base_url=target.api, headers=auth, timeout=10)
        # The token is valid; this slice's operations are all a tenant admin's to call.
        refused = (401, 403) if (case.method, case.path) in REQUIRED else (401,)
        assert response.status_code not in refused, (case.method, case.formatted_path, response.text)
        answered.append((case.method, case.path, response.status_code))
        case.validate_response(response, checks=CHECKS, headers=auth)

    answered: list[tuple[str, str, int]] = []
    _fuzz(subtests, operations, mode, examples, check)
    if mode is GenerationMode.POSITIVE:
        # Not vacuous: the pinned tenant and token reach real data.
        ok = {(method, path) for method, path, status in answered if 200 <= status < 300}
        assert {("GET", "/tenants/{tenant}/users"), ("GET", "/tenants/{tenant}/audit-events")} <= ok


@pytest.mark.parametrize("who", ["no-token", "garbage-token", "other-tenant"])
def test_without_a_valid_token_for_the_tenant_only_401_or_403_problems(
    subtests: pytest.Subtests, operations: list[APIOperation], target: Target, who: str
) -> None:
    """No token, a garbage token, or a tenant admin token of another tenant: never 2xx, never
    5xx — a 401 (with a Bearer challenge) or a 403 problem document, and nothing changes."""
    headers = {
        "no-token": {},
        "garbage-token": {"Authorization": "Bearer eyJhbGciOiJub25lIn0.eyJpc3MiOiJ4In0.x"},
        "other-tenant": {"Authorization": f"Bearer {target.other_token}"},
    }[who]
    expected = 403 if who == "other-tenant" else 401

    def check(case: Case) -> None:
        _pin(case, target)
        if case.headers:
            case.headers.pop("Authorization", None)
        response = case.call(base_url=target.api, headers=headers, timeout=10)
        assert response.status_code == expected, (
            case.method,
            case.formatted_path,
            response.status_code,
            response.text,
        )
        assert response.headers.get("content-type", [""])[0] == PROBLEM_TYPE
        problem = response.json()
        assert problem["status"] == expected
        assert problem["type"].startswith("https://keystead.dev/problems/")
        if expected == 401:
            assert response.headers.get("www-authenticate") == ['Bearer realm="keystead-admin"']
        case.validate_response(response, checks=CHECKS, headers=headers)

    newest_before = _newest_audit_event(target)
    _fuzz(subtests, operations, GenerationMode.POSITIVE, UNAUTHORIZED_EXAMPLES, check)
    assert _newest_audit_event(target) == newest_before, "an unauthorized request changed something"


def _newest_audit_event(target: Target) -> str | None:
    response = httpx.get(
        f"{target.api}/tenants/{target.server.tenant}/audit-events",
        params={"limit": 1},
        headers={"Authorization": f"Bearer {target.token}"},
        timeout=10,
    )
    assert response.status_code == 200, response.text
    items = response.json()["items"]
    return str(items[0]["id"]) if items else None
