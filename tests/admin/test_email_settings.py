"""The tenant's email settings and login methods through the admin API: the new values are
accepted, a bad one is 422 naming the field with nothing written."""

from __future__ import annotations

import pytest

from tests.admin.conftest import Api, assert_problem


def _read(api: Api) -> tuple[dict, str]:
    response = api.request("GET", "/settings")
    assert response.status_code == 200, response.text
    return dict(response.json()), response.headers["etag"]


def test_email_options_and_passwordless_methods_are_set(api: Api):
    before, etag = _read(api)
    assert before["email"] == {"second_factor": False, "verify_at_sign_in": False}
    patched = api.request(
        "PATCH",
        "/settings",
        json={"email": {"second_factor": True}, "login_methods": ["password", "email_code", "email_link"]},
        headers={"If-Match": etag},
    )
    assert patched.status_code == 200, patched.text
    body = patched.json()
    assert body["email"] == {"second_factor": True, "verify_at_sign_in": False}
    assert body["login_methods"] == ["password", "email_code", "email_link"]


@pytest.mark.parametrize(
    ("patch", "field"),
    [
        ({"email": {"second_factor": "yes"}}, "second_factor"),
        ({"email": {"sms": True}}, "sms"),
        ({"login_methods": ["magic"]}, "login_methods"),
    ],
)
def test_a_bad_email_setting_is_refused_naming_the_field(api: Api, patch: dict, field: str):
    before, etag = _read(api)
    problem = assert_problem(
        api.request("PATCH", "/settings", json=patch, headers={"If-Match": etag}), 422, "validation"
    )
    assert any(field in e["field"] for e in problem["errors"]), problem
    assert _read(api) == (before, etag)


def test_sms_as_second_factor_is_set_and_a_bad_value_refused(api: Api):
    _, etag = _read(api)
    patched = api.request(
        "PATCH", "/settings", json={"sms": {"second_factor": True}}, headers={"If-Match": etag}
    )
    assert patched.status_code == 200 and patched.json()["sms"] == {"second_factor": True}
    before, etag = _read(api)
    problem = assert_problem(
        api.request("PATCH", "/settings", json={"sms": {"second_factor": 1}}, headers={"If-Match": etag}),
        422,
        "validation",
    )
    assert any("second_factor" in e["field"] for e in problem["errors"])
    assert _read(api) == (before, etag)
