"""The tenant's login flow as data through the admin API (``login_flow`` and, per client,
``client_login_flows``): impossible flows refused naming the field with nothing written, and a
stored flow deciding the pages of the next sign-in, for the tenant and for one client only."""

from __future__ import annotations

import pyotp
import pytest
from starlette.testclient import TestClient

from keystead.clock import FrozenClock
from keystead.wiring import Keystead
from tests.admin.conftest import Api, assert_problem
from tests.support.factories import PASSWORD, Factory
from tests.support.flow import Flow
from tests.support.stages import land, manual_key, page_of, submit

DEFAULT = [
    {"stage": "second_factor", "options": {"recovery_codes": True}},
    {"stage": "enrol_totp", "options": {}},
    {"stage": "recovery_codes", "options": {}},
    {"stage": "change_password", "options": {}},
    {"stage": "verify_email", "options": {}},  # asked only with email.verify_at_sign_in
]


def _read(api: Api) -> tuple[dict, str]:
    response = api.request("GET", "/settings")
    assert response.status_code == 200, response.text
    return dict(response.json()), response.headers["etag"]


def _patch(api: Api, body: dict):
    return api.request("PATCH", "/settings", json=body, headers={"If-Match": _read(api)[1]})


def test_the_default_flow_is_todays(api: Api):
    body, _ = _read(api)
    assert body["login_flow"] == DEFAULT
    assert body["client_login_flows"] == {}


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"login_flow": [{"stage": "second_factor"}, {"stage": "captcha"}]}, "login_flow.1.stage"),
        ({"login_flow": [{"stage": "second_factor"}, {"stage": "second_factor"}]}, "login_flow.1.stage"),
        (
            {
                "login_flow": [
                    {"stage": "second_factor"},
                    {"stage": "recovery_codes"},
                    {"stage": "enrol_totp"},
                ]
            },
            "login_flow.1.stage",
        ),
        ({"login_flow": [{"stage": "enrol_totp"}]}, "login_flow"),
        (
            {"login_flow": [{"stage": "second_factor", "options": {"recovery_codes": 1}}]},
            "login_flow.0.options",
        ),
        ({"login_flow": []}, "login_flow"),
        ({"client_login_flows": {"app-1": [{"stage": "change_password"}]}}, "client_login_flows.app-1"),
        ({"mfa": "always", "login_flow": [{"stage": "second_factor"}]}, "login_flow"),
    ],
)
def test_impossible_flows_are_refused_naming_the_field_and_nothing_is_written(api: Api, body, field):
    before = _read(api)
    response = _patch(api, body)
    assert response.status_code in (400, 422), response.text
    problem = assert_problem(response, response.status_code, "validation")
    fields = [e["field"] for e in problem.get("errors", [])] or [problem.get("field")]
    assert any(f == field or f.startswith(field + ".") for f in fields if f), (fields, problem)
    assert _read(api) == before


def _enrol_and_land(client: TestClient, flow: Flow, rp, clock: FrozenClock, username: str):
    page = submit(
        client, land(client, flow.start(flow.authorize_params(rp))), username=username, password=PASSWORD
    )
    assert page_of(page) == "enrol_totp"
    return submit(client, page, code=pyotp.TOTP(manual_key(page)).at(clock()))


def test_a_stored_flow_decides_the_pages_for_the_tenant_and_a_client_override_for_one_client(
    api: Api, client: TestClient, keystead: Keystead, factory: Factory, clock: FrozenClock
):
    plain = factory.client(api.tenant, first_party=True)
    special = factory.client(api.tenant, first_party=True)
    without_codes = [{"stage": "second_factor"}, {"stage": "enrol_totp"}, {"stage": "change_password"}]
    patched = _patch(
        api,
        {"mfa": "always", "login_flow": without_codes, "client_login_flows": {special.client_id: DEFAULT}},
    )
    assert patched.status_code == 200, patched.text
    assert patched.json()["login_flow"][0] == {"stage": "second_factor", "options": {"recovery_codes": True}}
    factory.user(api.tenant, "una")
    factory.user(api.tenant, "vic")

    flow = Flow(client, api.tenant.name)
    assert page_of(_enrol_and_land(client, flow, plain, clock, "una")) == "client"  # no codes page
    client.cookies.clear()
    assert page_of(_enrol_and_land(client, flow, special, clock, "vic")) == "recovery_codes"

    # back to the tenant's flow for that client
    removed = _patch(api, {"client_login_flows": {special.client_id: None}})
    assert removed.status_code == 200 and removed.json()["client_login_flows"] == {}


def test_recovery_codes_can_be_refused_at_the_second_factor_for_one_client(
    api: Api, client: TestClient, keystead: Keystead, factory: Factory, clock: FrozenClock
):
    rp = factory.client(api.tenant, first_party=True)
    user = factory.user(api.tenant, "wes")
    enrolment = keystead.factors.enrol_totp(api.tenant.id, user.id)
    totp = pyotp.TOTP(pyotp.parse_uri(enrolment.uri).secret)
    keystead.factors.activate_totp(api.tenant.id, user.id, enrolment.factor.id, totp.at(clock()))
    code = keystead.factors.generate_recovery_codes(api.tenant.id, user.id).codes[0]
    no_recovery = [{"stage": "second_factor", "options": {"recovery_codes": False}}]
    assert _patch(api, {"client_login_flows": {rp.client_id: no_recovery}}).status_code == 200

    flow = Flow(client, api.tenant.name)
    page = submit(
        client, land(client, flow.start(flow.authorize_params(rp))), username="wes", password=PASSWORD
    )
    assert page_of(page) == "second_factor"
    assert 'id="use-recovery-code"' not in page.text
    refused = submit(client, page, method="recovery", code=code)
    assert refused.status_code == 400 and page_of(refused) == "second_factor"
    [codes] = [f for f in keystead.factors.list_factors(api.tenant.id, user.id) if f.kind == "recovery_codes"]
    assert codes.remaining_codes == 10  # not spent
