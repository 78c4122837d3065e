"""Bulk import jobs and export through the live ASGI app: 202 + Location, progress and line
numbered errors, Idempotency-Key, keyset pages of jobs, the body limit of imports (larger than
the JSON one), streamed export with hashes only on request, tenant isolation, bad bodies."""

from __future__ import annotations

from typing import Any

import bcrypt
import orjson
import pytest

from keystead.config import Settings, load_settings
from keystead.wiring import Keystead
from tests.admin.conftest import API, Api, assert_problem
from tests.conftest import FAST_PASSWORDS, unique

NDJSON = {"Content-Type": "application/x-ndjson"}
IMPORT_LIMIT = 8192
PASSWORD = "imported pass phrase"


@pytest.fixture
def settings(db_url: str) -> Settings:
    return load_settings(
        database={"url": db_url},
        passwords=FAST_PASSWORDS,
        server={"base_url": "http://testserver", "max_body_bytes": 4096},
        admin={"platform_tenant": unique("platform"), "max_import_bytes": IMPORT_LIMIT},
    )


def lines(*rows: dict[str, Any] | str) -> bytes:
    return b"".join((r.encode() if isinstance(r, str) else orjson.dumps(r)) + b"\n" for r in rows)


def start(api: Api, body: bytes, **headers: str) -> dict[str, Any]:
    response = api.request("POST", "/users/import", content=body, headers={**NDJSON, **headers})
    assert response.status_code == 202, response.text
    job = dict(response.json())
    assert response.headers["location"] == f"{API}/tenants/{api.tenant.name}/import-jobs/{job['id']}"
    return job


def finished(api: Api, keystead: Keystead, job_id: str) -> dict[str, Any]:
    keystead.imports.wait()
    response = api.request("GET", f"/import-jobs/{job_id}")
    assert response.status_code == 200, response.text
    return dict(response.json())


def job_ids(api: Api) -> list[str]:
    response = api.request("GET", "/import-jobs")
    assert response.status_code == 200, response.text
    return [j["id"] for j in response.json()["items"]]


def test_import_job_runs_and_reports_rows_by_line(api: Api, keystead: Keystead) -> None:
    hashed = bcrypt.hashpw(PASSWORD.encode(), bcrypt.gensalt(4)).decode()
    body = lines(
        {"username": "imp1", "email": "imp1@example.com", "password": PASSWORD},
        {"username": "imp2", "password_hash": hashed, "roles": ["admin"]},
        {"username": "imp3", "email": "broken"},
        "{oops",
    )
    job = start(api, body)
    assert job["status"] in ("queued", "running", "succeeded")
    assert job["source"] == "api"

    done = finished(api, keystead, job["id"])
    assert {k: done[k] for k in ("status", "total", "created", "unchanged", "failed")} == {
        "status": "succeeded",
        "total": 4,
        "created": 2,
        "unchanged": 0,
        "failed": 2,
    }
    assert done["errors"] == [
        {"line": 3, "field": "email", "reason": "not a valid email address"},
        {"line": 4, "field": None, "reason": "not a JSON object"},
    ]
    assert done["finished_at"] is not None and done["created_at"].endswith("Z")
    found = api.request("GET", "/users", params={"username": "imp2"}).json()["items"]
    assert found[0]["roles"] == ["admin"] and found[0]["has_password"] is True
    assert keystead.login.authenticate(api.tenant.id, "imp2", PASSWORD, "192.0.2.1").username == "imp2"

    again = finished(api, keystead, start(api, body)["id"])  # the same file again
    assert (again["created"], again["unchanged"], again["failed"]) == (0, 2, 2)

    audit = api.request("GET", "/audit-events", params={"action": "user.import"}).json()["items"]
    assert {e["target"] for e in audit} == {job["id"], again["id"]}
    assert PASSWORD not in str(audit) and hashed not in str(audit)


def test_import_body_may_exceed_the_json_limit_up_to_its_own(api: Api, keystead: Keystead) -> None:
    rows = [{"username": f"big{i:03d}", "given_name": "x" * 40} for i in range(80)]
    body = lines(*rows)
    assert 4096 < len(body) < IMPORT_LIMIT
    assert finished(api, keystead, start(api, body, source="big.jsonl")["id"])["created"] == 80

    too_big = body + lines(*rows)
    assert_problem(
        api.request("POST", "/users/import", content=too_big, headers=NDJSON), 413, "payload-too-large"
    )

    def chunks():  # type: ignore[no-untyped-def]
        yield too_big  # no Content-Length: counted while streaming

    streamed = api.request("POST", "/users/import", content=chunks(), headers=NDJSON)
    assert_problem(streamed, 413, "payload-too-large")
    assert len(job_ids(api)) == 1  # the refused bodies started nothing


def test_idempotency_key_replays_the_job_and_refuses_another_body(api: Api, keystead: Keystead) -> None:
    body = lines({"username": unique("idem")})
    first = start(api, body, **{"Idempotency-Key": "import-1"})
    replay = api.request(
        "POST", "/users/import", content=body, headers={**NDJSON, "Idempotency-Key": "import-1"}
    )
    assert replay.status_code == 202
    assert replay.headers["idempotent-replayed"] == "true"
    assert replay.json()["id"] == first["id"]
    other = api.request(
        "POST",
        "/users/import",
        content=lines({"username": "x"}),
        headers={**NDJSON, "Idempotency-Key": "import-1"},
    )
    assert_problem(other, 409, "idempotency-key-reused")
    keystead.imports.wait()
    assert job_ids(api) == [first["id"]]


def test_jobs_are_listed_newest_first_in_keyset_pages(
    api: Api, other_api: Api, keystead: Keystead, clock: Any
) -> None:
    ids = []
    for i in range(3):
        ids.append(start(api, lines({"username": f"page{i}"}))["id"])
        keystead.imports.wait()
        clock.advance(1)
    first = api.request("GET", "/import-jobs", params={"limit": 2}).json()
    assert [j["id"] for j in first["items"]] == ids[::-1][:2]
    rest = api.request("GET", "/import-jobs", params={"limit": 2, "cursor": first["next_cursor"]}).json()
    assert [j["id"] for j in rest["items"]] == ids[:1]
    assert rest["next_cursor"] is None
    # a cursor of another tenant's list, or tampered with, is refused
    foreign = other_api.request("GET", "/import-jobs", params={"cursor": first["next_cursor"]})
    assert_problem(foreign, 400, "invalid-cursor")
    tampered = api.request("GET", "/import-jobs", params={"cursor": first["next_cursor"][:-2] + "xx"})
    assert_problem(tampered, 400, "invalid-cursor")


@pytest.mark.parametrize(
    ("headers", "body", "status", "slug", "field"),
    [
        (
            {"Content-Type": "application/json"},
            b'{"username": "a"}\n',
            415,
            "unsupported-media-type",
            "Content-Type",
        ),
        ({}, b'{"username": "a"}\n', 415, "unsupported-media-type", "Content-Type"),
        (NDJSON, b"", 422, "validation", "body"),
        (NDJSON, b"\n  \n", 422, "validation", "body"),
        (NDJSON, b'[{"username": "a"}]\n', 400, "bad-request", "body"),
        (NDJSON, b"username=a&password=b", 400, "bad-request", "body"),
        (NDJSON, b"\xff\xfe\x00garbage\n", 400, "bad-request", "body"),
        ({**NDJSON, "Idempotency-Key": "\x7f"}, b'{"username": "a"}\n', 422, "validation", "Idempotency-Key"),
    ],
)
def test_malformed_import_bodies_are_problems_naming_the_field_and_start_nothing(
    api: Api, headers: dict[str, str], body: bytes, status: int, slug: str, field: str
) -> None:
    response = api.request("POST", "/users/import", content=body, headers=headers)
    problem = assert_problem(response, status, slug)
    assert problem["errors"][0]["field"] == field
    assert job_ids(api) == []


def test_bad_source_label_is_refused(api: Api) -> None:
    response = api.request(
        "POST", "/users/import", params={"source": "a\nb"}, content=b'{"username":"a"}', headers=NDJSON
    )
    problem = assert_problem(response, 422, "validation")
    assert problem["errors"][0]["field"] == "source"


def test_unknown_job_is_404(api: Api) -> None:
    assert_problem(api.request("GET", "/import-jobs/no-such-job"), 404, "not-found")
    assert_problem(api.request("GET", "/import-jobs/bad%20id"), 422, "validation")


def test_export_streams_users_without_hashes_unless_asked_and_audits_it(
    api: Api, other_api: Api, keystead: Keystead
) -> None:
    hashed = bcrypt.hashpw(PASSWORD.encode(), bcrypt.gensalt(4)).decode()
    rows = [
        {"username": "exp-a", "email": "a@example.com", "given_name": "A", "password_hash": hashed},
        {"username": "exp-b", "status": "disabled", "roles": ["ops"]},
    ]
    finished(api, keystead, start(api, lines(*rows))["id"])

    plain = api.request("GET", "/users/export")
    assert plain.status_code == 200, plain.text
    assert plain.headers["content-type"] == "application/x-ndjson"
    exported = [orjson.loads(line) for line in plain.content.splitlines()]
    assert [r["username"] for r in exported] == ["exp-a", "exp-b"]
    assert hashed not in plain.text and all("password_hash" not in r for r in exported)

    with_hashes = api.request("GET", "/users/export", params={"include_password_hashes": "true"})
    full = [orjson.loads(line) for line in with_hashes.content.splitlines()]
    assert full[0]["password_hash"] == hashed

    events = api.request("GET", "/audit-events", params={"action": "user.export"}).json()["items"]
    assert [e["after"] for e in events] == [
        {"include_password_hashes": True},
        {"include_password_hashes": False},
    ]
    assert hashed not in str(events)

    # the export imports into another tenant (ids are global: dropped) and signs in there
    moved = lines(*({k: v for k, v in r.items() if k != "id"} for r in full))
    done = finished(other_api, keystead, start(other_api, moved)["id"])
    assert (done["created"], done["failed"]) == (2, 0)
    assert keystead.login.authenticate(other_api.tenant.id, "exp-a", PASSWORD, "192.0.2.1").given_name == "A"


def test_another_tenants_admin_is_refused_on_every_route(
    api: Api, other_api: Api, keystead: Keystead
) -> None:
    job = start(api, lines({"username": unique("mine")}))
    keystead.imports.wait()
    intruder = Api(api.http, api.tenant, other_api.token)
    calls = [
        ("POST", "/users/import", {"content": lines({"username": "evil"}), "headers": NDJSON}),
        ("GET", "/import-jobs", {}),
        ("GET", f"/import-jobs/{job['id']}", {}),
        ("GET", "/users/export", {}),
        ("GET", "/users/export?include_password_hashes=true", {}),
    ]
    for method, path, kw in calls:
        assert_problem(intruder.request(method, path, **kw), 403, "forbidden")
    assert job_ids(api) == [job["id"]]
    assert api.request("GET", "/users", params={"username": "evil"}).json()["items"] == []
    # and its own tenant's job is not visible by id from the other tenant's routes
    assert_problem(other_api.request("GET", f"/import-jobs/{job['id']}"), 404, "not-found")


def test_without_a_token_401(api: Api) -> None:
    for method, path in [("POST", "/users/import"), ("GET", "/import-jobs"), ("GET", "/users/export")]:
        response = api.http.request(method, api.base + path, content=b"{}", headers=NDJSON)
        assert_problem(response, 401, "unauthorized")


def test_openapi_documents_the_import_routes(api: Api) -> None:
    spec = api.http.get(f"{API}/openapi.json").json()
    post = spec["paths"]["/tenants/{tenant}/users/import"]["post"]
    assert list(post["requestBody"]["content"]) == ["application/x-ndjson"]
    assert set(post["responses"]) >= {"202", "400", "401", "403", "413", "415", "422"}
    export = spec["paths"]["/tenants/{tenant}/users/export"]["get"]
    assert list(export["responses"]["200"]["content"]) == ["application/x-ndjson"]
    assert {p["name"] for p in export["parameters"]} >= {"include_password_hashes"}
    assert "/tenants/{tenant}/import-jobs/{job_id}" in spec["paths"]
