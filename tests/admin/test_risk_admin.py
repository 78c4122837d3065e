"""The risk policy through the admin API: a client's ``mfa``, ``minimum_acr`` and ``risk``
override (set, read, returned to the tenant's with ``null``; bad values 422 naming the field and
nothing written), the tenant's ``risk`` settings, and the decisions as a typed, paged view."""

from __future__ import annotations

from typing import Any

from keystead.flows.stages import ACR_MFA
from keystead.wiring import Keystead
from tests.admin.conftest import Api, assert_problem
from tests.support.factories import PASSWORD, Factory
from tests.support.flow import Flow

CB = "https://rp.example.com/cb"


def _client(api: Api, **fields: Any) -> dict[str, Any]:
    response = api.request("POST", "/clients", json={"name": "Shop", "redirect_uris": [CB], **fields})
    assert response.status_code == 201, response.text
    return dict(response.json())


def _fields(problem: dict[str, Any]) -> list[str]:
    return [e["field"] for e in problem.get("errors", [])]


def test_a_client_s_sign_in_strength_is_set_read_and_reset(api: Api):
    created = _client(api, mfa="always", minimum_acr=ACR_MFA, risk={"mode": "adaptive", "sensitive": True})
    assert (created["mfa"], created["minimum_acr"]) == ("always", ACR_MFA)
    assert created["risk"] == {"mode": "adaptive", "sensitive": True}
    path = f"/clients/{created['client_id']}"
    read = api.request("GET", path)
    assert read.json()["risk"] == {"mode": "adaptive", "sensitive": True}
    patched = api.request(
        "PATCH",
        path,
        json={"mfa": None, "risk": {"step_up_at": 30}},
        headers={"If-Match": read.headers["etag"]},
    )
    assert patched.status_code == 200, patched.text
    body = patched.json()
    assert (body["mfa"], body["minimum_acr"], body["risk"]) == (None, ACR_MFA, {"step_up_at": 30})
    again = api.request("PATCH", path, json={"risk": None}, headers={"If-Match": patched.headers["etag"]})
    assert again.status_code == 200 and again.json()["risk"] is None
    plain = _client(api)
    assert (plain["mfa"], plain["minimum_acr"], plain["risk"]) == (None, None, None)


def test_bad_client_strength_values_are_refused_naming_the_field(api: Api):
    before = api.request("GET", "/clients").json()["items"]
    for body, field in (
        ({"mfa": "sometimes"}, "mfa"),
        ({"minimum_acr": "urn:other:acr"}, "minimum_acr"),
        ({"risk": {"mode": "maybe"}}, "risk.mode"),
        ({"risk": {"bogus": 1}}, "risk.bogus"),
        ({"risk": {"step_up_at": 0}}, "risk.step_up_at"),
    ):
        response = api.request("POST", "/clients", json={"name": "Bad", "redirect_uris": [CB], **body})
        assert field in _fields(assert_problem(response, 422, "validation")), (body, response.text)
    inverted = api.request(
        "POST",
        "/clients",
        json={"name": "Bad", "redirect_uris": [CB], "risk": {"step_up_at": 50, "deny_at": 40}},
    )
    problem = assert_problem(inverted, 422, "validation")
    assert "risk.deny_at" in _fields(problem) or "risk.deny_at" in problem["detail"]
    assert api.request("GET", "/clients").json()["items"] == before


def test_a_bad_patch_writes_nothing(api: Api):
    created = _client(api, mfa="when_enrolled")
    path = f"/clients/{created['client_id']}"
    etag = api.request("GET", path).headers["etag"]
    refused = api.request("PATCH", path, json={"mfa": "often"}, headers={"If-Match": etag})
    assert "mfa" in _fields(assert_problem(refused, 422, "validation"))
    after = api.request("GET", path)
    assert after.json()["mfa"] == "when_enrolled" and after.headers["etag"] == etag


def _settings(api: Api) -> tuple[dict[str, Any], str]:
    response = api.request("GET", "/settings")
    assert response.status_code == 200
    return dict(response.json()), response.headers["etag"]


def test_the_tenant_risk_policy_has_defaults_and_is_patched(api: Api):
    settings, etag = _settings(api)
    risk = settings["risk"]
    assert (risk["mode"], risk["step_up_at"], risk["deny_at"]) == ("never", 40, 100)
    assert risk["weights"]["breached_password"] == 45 and risk["enrol_on_step_up"] is False
    patched = api.request(
        "PATCH",
        "/settings",
        json={"risk": {"mode": "adaptive", "weights": {"new_device": 50}}},
        headers={"If-Match": etag},
    )
    assert patched.status_code == 200, patched.text
    risk = patched.json()["risk"]
    assert (risk["mode"], risk["weights"]["new_device"], risk["weights"]["new_network"]) == (
        "adaptive",
        50,
        20,
    )


def test_bad_tenant_risk_settings_are_refused_naming_the_field(api: Api):
    before, etag = _settings(api)
    for body in (
        {"risk": {"mode": "sometimes"}},
        {"risk": {"weights": {"new_device": -1}}},
        {"risk": {"step_up_at": 90, "deny_at": 50}},
        {"risk": {"retention_days": 0}},
    ):
        response = api.request("PATCH", "/settings", json=body, headers={"If-Match": etag})
        problem = assert_problem(response, 422, "validation")
        fields = _fields(problem) or [problem.get("detail", "")]
        assert any(f.startswith("risk") for f in fields), (body, problem)
    assert _settings(api) == (before, etag)


def test_decisions_are_listed_newest_first_paged_and_by_user(api: Api, keystead: Keystead, factory: Factory):
    version = keystead.tenant_settings.read(api.tenant.id).version
    keystead.tenant_settings.update(api.tenant.id, {"risk": {"mode": "adaptive"}}, expected_version=version)
    alice, bob = factory.user(api.tenant, "alice"), factory.user(api.tenant, "bob")
    rp = factory.client(api.tenant, first_party=True)
    flow = Flow(api.http, api.tenant.name)
    for username in ("alice", "bob", "alice"):
        api.http.cookies.clear()
        assert flow.login(rp, username, PASSWORD, consent=None).code
    first = api.request("GET", "/risk-decisions", params={"limit": 2})
    assert first.status_code == 200, first.text
    page = first.json()
    assert [d["user_id"] for d in page["items"]] == [alice.id, bob.id]
    decision = page["items"][0]
    assert (decision["mode"], decision["outcome"], decision["enforced"], decision["effect"]) == (
        "adaptive",
        "allow",
        "allow",
        "none",
    )
    assert decision["client_id"] == rp.client_id and decision["thresholds"] == {"step_up": 40, "deny": 100}
    assert {c["signal"] for c in decision["contributions"]} >= {"new_device", "breached_password"}
    rest = api.request("GET", "/risk-decisions", params={"limit": 2, "cursor": page["next_cursor"]}).json()
    assert [d["user_id"] for d in rest["items"]] == [alice.id] and rest["next_cursor"] is None
    mine = api.request("GET", "/risk-decisions", params={"user_id": bob.id}).json()["items"]
    assert [d["user_id"] for d in mine] == [bob.id]
    assert_problem(
        api.request("GET", "/risk-decisions", params={"cursor": "forged.cursor"}), 400, "invalid-cursor"
    )
    assert_problem(api.request("GET", "/risk-decisions", params={"limit": 0}), 422, "validation")


def test_decisions_of_one_tenant_are_not_visible_to_another(api: Api, other_api: Api, keystead, factory):
    version = keystead.tenant_settings.read(api.tenant.id).version
    keystead.tenant_settings.update(api.tenant.id, {"risk": {"mode": "simulate"}}, expected_version=version)
    factory.user(api.tenant, "alice")
    rp = factory.client(api.tenant, first_party=True)
    assert Flow(api.http, api.tenant.name).login(rp, "alice", PASSWORD, consent=None).code
    assert len(api.request("GET", "/risk-decisions").json()["items"]) == 1
    assert other_api.request("GET", "/risk-decisions").json()["items"] == []


def test_a_client_s_strength_travels_in_the_configuration_document(api: Api, other_api: Api):
    _client(api, name="Payments", mfa="always", minimum_acr=ACR_MFA, risk={"sensitive": True})
    exported = api.request("GET", "/config").json()
    [payments] = [c for c in exported["clients"] if c["name"] == "Payments"]
    assert (payments["mfa"], payments["minimum_acr"], payments["risk"]) == (
        "always",
        ACR_MFA,
        {"sensitive": True},
    )
    imported = other_api.request("PUT", "/config", json={**exported, "tenant": None})
    assert imported.status_code == 200, imported.text
    copied = other_api.request("GET", f"/clients/{payments['client_id']}").json()
    assert (copied["mfa"], copied["minimum_acr"], copied["risk"]) == ("always", ACR_MFA, {"sensitive": True})
    bad = {**exported, "tenant": None, "clients": [{**payments, "risk": {"mode": "sometimes"}}]}
    refused = other_api.request("PUT", "/config", json=bad)
    problem = assert_problem(refused, 422, "validation")
    assert "clients.0.risk.mode" in str(problem)
