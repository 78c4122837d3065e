"""The tenant's ``mfa`` setting through the admin API: an unknown mode is 422 naming the field
with nothing written; ``always`` makes the next sign-in enrol an authenticator app."""

from __future__ import annotations

from starlette.testclient import TestClient

from keystead.wiring import Keystead
from tests.admin.conftest import Api, assert_problem
from tests.support.factories import PASSWORD, Factory
from tests.support.flow import Flow
from tests.support.stages import land, page_of, submit


def _read(api: Api) -> tuple[dict, str]:
    response = api.request("GET", "/settings")
    assert response.status_code == 200, response.text
    return dict(response.json()), response.headers["etag"]


def test_an_unknown_mfa_mode_is_refused_naming_the_field(api: Api):
    before, etag = _read(api)
    assert before["mfa"] == "when_enrolled"
    problem = assert_problem(
        api.request("PATCH", "/settings", json={"mfa": "sometimes"}, headers={"If-Match": etag}),
        422,
        "validation",
    )
    assert "mfa" in [e["field"] for e in problem["errors"]]
    assert _read(api) == (before, etag)


def test_mfa_always_makes_the_next_sign_in_enrol(
    api: Api, client: TestClient, keystead: Keystead, factory: Factory
):
    _, etag = _read(api)
    patched = api.request("PATCH", "/settings", json={"mfa": "always"}, headers={"If-Match": etag})
    assert patched.status_code == 200 and patched.json()["mfa"] == "always"
    factory.user(api.tenant, "mallory")
    rp = factory.client(api.tenant, first_party=True)
    flow = Flow(client, api.tenant.name)
    page = land(client, flow.start(flow.authorize_params(rp)))
    page = submit(client, page, username="mallory", password=PASSWORD)
    assert page_of(page) == "enrol_totp"
