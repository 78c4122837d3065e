"""A user's second factors through the admin API: listed without any secret, one removed or all
reset (audited, nothing else touched), and bad or foreign requests answered with problems that
change nothing."""

from __future__ import annotations

import pyotp
import pytest

from keystead.clock import FrozenClock
from keystead.ports.records import User
from keystead.services.factors import InvalidCode
from keystead.wiring import Keystead
from tests.admin.conftest import Api, assert_problem
from tests.support.factories import Factory

FIELDS = {"id", "kind", "name", "status", "created_at", "last_used_at", "remaining_codes", "locked_until"}


@pytest.fixture
def enrolled(
    api: Api, keystead: Keystead, factory: Factory, clock: FrozenClock
) -> tuple[User, str, list[str]]:
    """A user of ``api``'s tenant with an active TOTP factor and recovery codes; the seed and
    the codes."""
    user = factory.user(api.tenant)
    enrolment = keystead.factors.enrol_totp(api.tenant.id, user.id, name="Phone")
    seed = str(pyotp.parse_uri(enrolment.uri).secret)
    keystead.factors.activate_totp(
        api.tenant.id, user.id, enrolment.factor.id, pyotp.TOTP(seed).at(clock.now)
    )
    clock.advance(1)
    codes = list(keystead.factors.generate_recovery_codes(api.tenant.id, user.id).codes)
    return user, seed, codes


def test_list_shows_the_factors_and_no_secret(api: Api, keystead: Keystead, enrolled) -> None:
    user, seed, codes = enrolled
    keystead.factors.use_recovery_code(api.tenant.id, user.id, codes[0])

    response = api.request("GET", f"/users/{user.id}/factors")

    assert response.status_code == 200, response.text
    items = response.json()["items"]
    assert [set(i) for i in items] == [FIELDS, FIELDS]
    assert [(i["kind"], i["name"], i["status"], i["remaining_codes"]) for i in items] == [
        ("totp", "Phone", "active", None),
        ("recovery_codes", "Recovery codes", "active", 9),
    ]
    assert all(i["last_used_at"] and i["locked_until"] is None for i in items)
    stored = keystead.storage.factors_of_user(api.tenant.id, user.id)
    for secret in (seed, *codes, *(e["mac"] for e in stored[1].data["codes"])):
        assert secret not in response.text
    assert "secret" not in response.text and "mac" not in response.text


def test_a_locked_factor_shows_until_when(api: Api, keystead: Keystead, enrolled, clock: FrozenClock) -> None:
    user, _, _ = enrolled
    for _ in range(5):
        with pytest.raises(InvalidCode):
            keystead.factors.use_recovery_code(api.tenant.id, user.id, "22222-22222")

    items = api.request("GET", f"/users/{user.id}/factors").json()["items"]

    assert items[0]["locked_until"] is None
    assert items[1]["locked_until"] is not None and items[1]["locked_until"].endswith("Z")


def test_remove_one_factor_is_audited_and_leaves_the_others(api: Api, keystead: Keystead, enrolled) -> None:
    user, _, _ = enrolled
    totp, codes = api.request("GET", f"/users/{user.id}/factors").json()["items"]

    response = api.request("DELETE", f"/users/{user.id}/factors/{totp['id']}")

    assert response.status_code == 204
    assert [i["id"] for i in api.request("GET", f"/users/{user.id}/factors").json()["items"]] == [codes["id"]]
    events = api.request("GET", "/audit-events", params={"action": "user.factor.remove"}).json()["items"]
    assert len(events) == 1
    assert events[0]["target"] == user.id and events[0]["before"] == totp
    assert_problem(api.request("DELETE", f"/users/{user.id}/factors/{totp['id']}"), 404, "not-found")


def test_reset_removes_every_factor_of_the_user_only(
    api: Api, keystead: Keystead, factory: Factory, enrolled
) -> None:
    user, _, _ = enrolled
    bystander = factory.user(api.tenant)
    keystead.factors.generate_recovery_codes(api.tenant.id, bystander.id)

    response = api.request("DELETE", f"/users/{user.id}/factors")

    assert response.status_code == 204
    assert api.request("GET", f"/users/{user.id}/factors").json()["items"] == []
    assert len(api.request("GET", f"/users/{bystander.id}/factors").json()["items"]) == 1
    events = api.request("GET", "/audit-events", params={"action": "user.factors.reset"}).json()["items"]
    assert len(events) == 1
    assert events[0]["after"] == {"removed": 2}
    assert [f["kind"] for f in events[0]["before"]["factors"]] == ["totp", "recovery_codes"]
    assert not keystead.factors.has_second_factor(api.tenant.id, user.id)


def test_unknown_users_and_factors_are_404_and_change_nothing(api: Api, keystead: Keystead, enrolled) -> None:
    user, _, _ = enrolled

    assert_problem(api.request("GET", "/users/no-such-user/factors"), 404, "not-found")
    assert_problem(api.request("DELETE", "/users/no-such-user/factors"), 404, "not-found")
    assert_problem(api.request("DELETE", "/users/no-such-user/factors/x"), 404, "not-found")
    assert_problem(api.request("DELETE", f"/users/{user.id}/factors/no-such-factor"), 404, "not-found")
    assert len(keystead.storage.factors_of_user(api.tenant.id, user.id)) == 2
    assert api.request("GET", "/audit-events", params={"action": "user.factor.remove"}).json()["items"] == []


def test_a_malformed_id_is_a_validation_problem_naming_it(api: Api, keystead: Keystead, enrolled) -> None:
    user, _, _ = enrolled

    body = assert_problem(api.request("DELETE", f"/users/{user.id}/factors/{'x' * 65}"), 422, "validation")

    assert [e["field"] for e in body["errors"]] == ["factor_id"]
    assert len(keystead.storage.factors_of_user(api.tenant.id, user.id)) == 2


def test_another_tenants_admin_is_refused_and_changes_nothing(
    api: Api, other_api: Api, keystead: Keystead, enrolled
) -> None:
    user, _, _ = enrolled
    totp_id = keystead.storage.factors_of_user(api.tenant.id, user.id)[0].id

    # the other tenant's own path: the user is not there
    assert_problem(other_api.request("DELETE", f"/users/{user.id}/factors/{totp_id}"), 404, "not-found")
    assert_problem(other_api.request("DELETE", f"/users/{user.id}/factors"), 404, "not-found")
    # this tenant's path with the other tenant's token
    foreign = other_api.http.delete(
        f"{api.base}/users/{user.id}/factors", headers={"Authorization": f"Bearer {other_api.token}"}
    )
    assert_problem(foreign, 403, "forbidden")
    assert len(keystead.storage.factors_of_user(api.tenant.id, user.id)) == 2


def test_without_a_token_401(api: Api) -> None:
    response = api.http.get(f"{api.base}/users/x/factors")

    assert_problem(response, 401, "unauthorized")


def test_reset_without_factors_is_a_no_op_still_audited(api: Api, factory: Factory) -> None:
    user = factory.user(api.tenant)

    response = api.request("DELETE", f"/users/{user.id}/factors")

    assert response.status_code == 204
    events = api.request("GET", "/audit-events", params={"action": "user.factors.reset"}).json()["items"]
    assert [(e["target"], e["after"], e["before"]) for e in events] == [
        (user.id, {"removed": 0}, {"factors": []})
    ]
