"""The password policy through the admin API: its settings, and problems naming `password`."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from keystead.services.password_policy import BREACHED
from keystead.wiring import Keystead
from tests.admin.conftest import Api, assert_problem


def _patch(api: Api, policy: Any) -> httpx.Response:
    etag = api.request("GET", "/settings").headers["etag"]
    return api.request("PATCH", "/settings", json={"password_policy": policy}, headers={"If-Match": etag})


def test_the_policy_settings_are_read_and_changed(api: Api):
    body = api.request("GET", "/settings").json()["password_policy"]
    assert body == {
        "min_length": 8,
        "max_length": 1024,
        "blocklist": [],
        "check_breached": True,
        "hibp_range_check": False,
        "max_age_days": 0,
    }
    changed = _patch(
        api, {"max_length": 128, "blocklist": ["Acme", "ACME", "roadrunner"], "hibp_range_check": True}
    )
    assert changed.status_code == 200, changed.text
    policy = changed.json()["password_policy"]
    assert (policy["max_length"], policy["blocklist"], policy["hibp_range_check"]) == (
        128,
        ["acme", "roadrunner"],
        True,
    )
    assert api.request("GET", "/settings").json()["password_policy"] == policy


@pytest.mark.parametrize(
    ("policy", "field"),
    [
        ({"max_length": 63}, "password_policy.max_length"),
        ({"max_age_days": -1}, "password_policy.max_age_days"),
        ({"max_age_days": 3651}, "password_policy.max_age_days"),
        ({"max_length": 2048}, "password_policy.max_length"),
        ({"min_length": 100, "max_length": 64}, "password_policy.max_length"),
        ({"blocklist": ["ok-word", "ab"]}, "password_policy.blocklist.1"),
        ({"blocklist": ["x" * 65]}, "password_policy.blocklist.0"),
        ({"blocklist": [f"word{i}" for i in range(101)]}, "password_policy.blocklist"),
        ({"check_breached": "no"}, "password_policy.check_breached"),
        ({"hibp_range_check": 1}, "password_policy.hibp_range_check"),
        ({"composition_rules": True}, "password_policy.composition_rules"),
    ],
)
def test_bad_policy_settings_are_problems_naming_the_field(
    api: Api, keystead: Keystead, policy: Any, field: str
):
    before = keystead.tenant_settings.read(api.tenant.id)
    problem = assert_problem(_patch(api, policy), 422, "validation")
    assert [e["field"] for e in problem["errors"]] == [field]
    assert keystead.tenant_settings.read(api.tenant.id) == before


def test_users_with_refused_passwords_are_problems_naming_password(api: Api, keystead: Keystead):
    assert _patch(api, {"blocklist": ["roadrunner"]}).status_code == 200
    for body, reason in [
        ({"username": "wile", "password": "password123"}, BREACHED),
        ({"username": "wile", "password": "beep beep roadrunner"}, "roadrunner"),
        ({"username": "wile", "password": "wile-e-coyote-genius"}, "username"),
    ]:
        problem = assert_problem(api.request("POST", "/users", json=body), 422, "validation")
        [error] = problem["errors"]
        assert error["field"] == "password" and reason in error["detail"]
        assert keystead.storage.user_by_login(api.tenant.id, "wile") is None
    assert (
        api.request(
            "POST", "/users", json={"username": "wile", "password": "violet tractor on the moor"}
        ).status_code
        == 201
    )
