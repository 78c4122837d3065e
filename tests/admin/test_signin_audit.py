"""Sign-in stage events are in the admin API's audit list, filterable by action, without the
password typed."""

from __future__ import annotations

from keystead.wiring import Keystead
from tests.admin.conftest import Api
from tests.support.factories import Factory
from tests.support.flow import Flow
from tests.support.stages import land, submit


def test_sign_in_outcomes_are_listed_by_the_admin_api(api: Api, keystead: Keystead, factory: Factory):
    user = factory.user(api.tenant, "bob")
    rp = factory.client(api.tenant, first_party=True)
    flow = Flow(api.http, api.tenant.name)
    page = land(flow.http, flow.start(flow.authorize_params(rp)))
    submit(flow.http, page, username="BOB", password="a wrong guess 123")
    submit(flow.http, page, username="bob", password="correct horse battery staple")

    failed = api.request("GET", "/audit-events", params={"action": "signin.password.failed"})
    succeeded = api.request("GET", "/audit-events", params={"action": "signin.password.succeeded"})

    assert failed.status_code == succeeded.status_code == 200
    [miss] = failed.json()["items"]
    assert miss["after"] == {"login": "BOB", "reason": "wrong_password"}
    assert miss["actor"] == "anonymous" and miss["target"] == user.id and miss["ip"]
    [hit] = succeeded.json()["items"]
    assert hit["actor"] == user.id and hit["after"] == {"login": "bob"}
    assert "a wrong guess" not in failed.text + succeeded.text
