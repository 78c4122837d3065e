"""Per-client rate limits of the admin API (a token bucket per caller, on an injected clock),
and authentication before the body is read: a caller without a valid token learns nothing
about its request, not even that its JSON is malformed."""

from __future__ import annotations

import httpx
import pytest
from starlette.testclient import TestClient

from keystead.clock import FrozenClock
from keystead.config import Settings, load_settings
from keystead.sdk.admin import AdminClient
from keystead.wiring import Keystead
from tests.admin.conftest import Api, assert_problem, issue_token
from tests.conftest import FAST_PASSWORDS, unique

BURST = 3


@pytest.fixture
def settings(db_url: str) -> Settings:
    return load_settings(
        database={"url": db_url},
        passwords=FAST_PASSWORDS,
        server={"base_url": "http://testserver", "max_body_bytes": 4096},
        admin={
            "platform_tenant": unique("platform"),
            "rate_limit_per_second": 0.5,
            "rate_limit_burst": BURST,
        },
    )


def test_a_client_past_its_burst_gets_429_with_retry_after_until_the_bucket_refills(
    api: Api, clock: FrozenClock
):
    for _ in range(BURST):
        assert api.request("GET", "/users").status_code == 200

    limited = api.request("GET", "/users")

    assert_problem(limited, 429, "rate-limited")
    assert limited.headers["retry-after"] == "2"  # one request per 2 s
    # a refused request spends nothing, and a write is refused before anything is written
    assert_problem(api.request("POST", "/users", json={"username": "mallory"}), 429, "rate-limited")
    clock.advance(1)
    assert api.request("GET", "/users").status_code == 429
    clock.advance(1)
    assert api.request("GET", "/users").json()["items"] == []
    assert api.request("GET", "/users").status_code == 429


def test_each_client_has_its_own_bucket(api: Api, client: httpx.Client, keystead: Keystead):
    for _ in range(BURST):
        api.request("GET", "/users")
    assert api.request("GET", "/users").status_code == 429
    second = Api(client, api.tenant, issue_token(client, keystead, api.tenant, "keystead:admin"))

    assert second.request("GET", "/users").status_code == 200
    assert api.request("GET", "/users").status_code == 429


def test_unauthenticated_requests_are_401_and_do_not_spend_the_clients_budget(api: Api):
    for _ in range(BURST + 2):
        response = api.http.get(api.base + "/users", headers={"Authorization": "Bearer x.y.z"})
        assert_problem(response, 401, "unauthorized")

    assert api.request("GET", "/users").status_code == 200


def test_malformed_json_is_401_without_a_token_and_400_with_one(api: Api):
    body = b'{"username": "x",'
    json_type = {"Content-Type": "application/json"}

    anonymous = api.http.post(api.base + "/users", content=body, headers=json_type)
    assert_problem(anonymous, 401, "unauthorized")
    assert anonymous.headers["www-authenticate"] == 'Bearer realm="keystead-admin"'
    assert "JSON" not in anonymous.text
    assert_problem(api.request("POST", "/users", content=body, headers=json_type), 400, "bad-request")


def test_the_sdk_waits_retry_after_and_succeeds(
    api: Api, client: TestClient, keystead: Keystead, clock: FrozenClock
):
    created = keystead.clients.create(
        api.tenant.id, "sdk", grant_types=["client_credentials"], scopes=["keystead:admin"], redirect_uris=[]
    )
    slept: list[float] = []

    def sleep(seconds: float) -> None:
        slept.append(seconds)
        clock.advance(seconds)

    admin = AdminClient(
        "http://testserver",
        client_id=created.client.client_id,
        client_secret=created.secret,
        issuer=f"http://testserver/t/{api.tenant.name}",
        http=client,
        clock=clock,
        sleep=sleep,
    )
    users = admin.users(api.tenant.name)

    made = [users.create(f"user{i}").username for i in range(BURST + 2)]

    assert made == [f"user{i}" for i in range(BURST + 2)]
    assert slept == [2.0, 2.0]  # the Retry-After of the two requests refused
    assert sorted(u.username for u in users.list()) == made
