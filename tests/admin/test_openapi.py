"""The OpenAPI 3.1 document describes every route and its problem responses."""

from __future__ import annotations

from tests.admin.conftest import API

EXPECTED = {
    ("get", "/tenants/{tenant}/users"): {"400", "401", "403", "404", "422"},
    ("post", "/tenants/{tenant}/users"): {"400", "401", "403", "404", "409", "413", "422"},
    ("get", "/tenants/{tenant}/users/{user_id}"): {"401", "403", "404", "422"},
    ("patch", "/tenants/{tenant}/users/{user_id}"): {"400", "401", "403", "404", "409", "412", "422", "428"},
    ("delete", "/tenants/{tenant}/users/{user_id}"): {"401", "403", "404", "412", "422"},
    ("get", "/tenants/{tenant}/audit-events"): {"400", "401", "403", "404", "422"},
    ("get", "/tenants/{tenant}/clients"): {"400", "401", "403", "404", "422"},
    ("post", "/tenants/{tenant}/clients"): {"400", "401", "403", "404", "409", "413", "422"},
    ("get", "/tenants/{tenant}/clients/{client_id}"): {"401", "403", "404", "422"},
    ("patch", "/tenants/{tenant}/clients/{client_id}"): {"400", "401", "403", "404", "412", "422", "428"},
    ("post", "/tenants/{tenant}/clients/{client_id}/secret"): {"401", "403", "404", "412", "422"},
    ("get", "/tenants/{tenant}/keys"): {"401", "403", "404"},
    ("post", "/tenants/{tenant}/keys/rotate"): {"401", "403", "404"},
    ("get", "/tenants/{tenant}/users/{user_id}/sessions"): {"401", "403", "404", "422"},
    ("delete", "/tenants/{tenant}/users/{user_id}/sessions"): {"401", "403", "404", "422"},
    ("delete", "/tenants/{tenant}/sessions/{session_id}"): {"401", "403", "404", "422"},
    ("get", "/tenants/{tenant}/users/{user_id}/lockout"): {"401", "403", "404", "422"},
    ("delete", "/tenants/{tenant}/users/{user_id}/lockout"): {"401", "403", "404", "422"},
    ("get", "/tenants/{tenant}/users/{user_id}/factors"): {"401", "403", "404", "422"},
    ("delete", "/tenants/{tenant}/users/{user_id}/factors"): {"401", "403", "404", "422"},
    ("delete", "/tenants/{tenant}/users/{user_id}/factors/{factor_id}"): {"401", "403", "404", "422"},
    ("delete", "/tenants/{tenant}/clients/{client_id}"): {"401", "403", "404", "412", "422"},
    ("get", "/tenants/{tenant}/users/{user_id}/consents"): {"400", "401", "403", "404", "422"},
    ("delete", "/tenants/{tenant}/users/{user_id}/consents/{client_id}"): {"401", "403", "404", "422"},
    ("get", "/tenants/{tenant}/users/{user_id}/grants"): {"400", "401", "403", "404", "422"},
    ("get", "/tenants/{tenant}/settings"): {"401", "403", "404", "422"},
    ("patch", "/tenants/{tenant}/settings"): {"400", "401", "403", "404", "412", "413", "422", "428"},
    ("get", "/tenants/{tenant}/config"): {"401", "403", "404", "422"},
    ("put", "/tenants/{tenant}/config"): {"400", "401", "403", "404", "412", "413", "415", "422"},
    ("get", "/tenants/{tenant}/risk-decisions"): {"400", "401", "403", "404", "422"},
    ("delete", "/tenants/{tenant}/users/{user_id}/grants/{grant_id}"): {"401", "403", "404", "422"},
    ("get", "/tenants"): {"400", "401", "403", "422"},
    ("post", "/tenants"): {"400", "401", "403", "409", "413", "422"},
    ("get", "/tenants/{tenant}"): {"401", "403", "404", "422"},
    ("patch", "/tenants/{tenant}"): {"400", "401", "403", "404", "413", "422"},
}


def test_openapi_lists_every_route_with_its_problem_responses(client):
    response = client.get(f"{API}/openapi.json")

    assert response.status_code == 200
    doc = response.json()
    assert doc["openapi"].startswith("3.1")
    # the import-job routes are described and tested in tests/admin/test_imports.py
    operations = {
        (m, p): op for p, ops in doc["paths"].items() for m, op in ops.items() if not _import_route(p)
    }
    assert set(operations) == set(EXPECTED)
    for key, statuses in EXPECTED.items():
        responses = operations[key]["responses"]
        assert statuses | {"429"} <= set(responses), key  # every route is rate-limited
        for status in statuses:
            schema = responses[status]["content"]["application/problem+json"]["schema"]
            assert schema == {"$ref": "#/components/schemas/ProblemOut"}
    assert "ProblemOut" in doc["components"]["schemas"]
    assert doc["components"]["securitySchemes"]["bearer"]["scheme"] == "bearer"


def _import_route(path: str) -> bool:
    return path.endswith(("/users/import", "/users/export")) or "/import-jobs" in path


def test_openapi_is_public_and_docs_pages_are_off(client):
    assert client.get(f"{API}/docs").status_code == 404
