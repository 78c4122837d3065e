"""Password expiry (tenant setting ``password_policy.max_age_days``, off by default): a password
older than the limit is changed at the next password sign-in, on the flow's change_password
page; the age counts from the last change (``users.password_changed_at``) on the injected clock."""

from __future__ import annotations

import pytest

from keystead.clock import FrozenClock
from keystead.services.password_expiry import DAY
from keystead.wiring import Keystead
from tests.integration.test_login_flow import _claims, _has_session, _password, _start
from tests.support.email_env import configure
from tests.support.factories import PASSWORD, Factory
from tests.support.flow import Flow
from tests.support.stages import page_of, submit

T0 = 1_900_000_020.0
NEW = "a quiet Lantern 42"


@pytest.fixture
def env(client, factory: Factory, clock: FrozenClock):
    clock.now = T0
    tenant = factory.tenant()
    user = factory.user(tenant, "alice")
    return tenant, user, factory.client(tenant, first_party=True), Flow(client, tenant.name)


def _changes(keystead: Keystead, tenant_id: str) -> list[str]:
    return [
        e.action for e in keystead.audit.page(tenant_id, limit=100) if e.action.endswith("password.changed")
    ]


def test_an_old_password_is_changed_at_the_next_sign_in(env, keystead: Keystead, clock: FrozenClock):
    tenant, user, rp, flow = env
    assert keystead.users.get(tenant.id, user.id).password_changed_at == T0
    configure(keystead, tenant, {"password_policy": {"max_age_days": 90}})
    clock.advance(90 * DAY - 1)
    page, verifier = _start(flow, rp)
    assert page_of(_password(flow, page)) == "client"  # a second before the limit
    flow.http.cookies.clear()
    clock.advance(1)
    page, verifier = _start(flow, rp)
    page = _password(flow, page)
    assert page_of(page) == "change_password" and 'id="password-expired"' in page.text
    assert not _has_session(flow)
    same = submit(flow.http, page, password="short", confirm="short")
    assert same.status_code == 400 and page_of(same) == "change_password"  # the policy applies
    done = submit(flow.http, page, password=NEW, confirm=NEW)
    assert _claims(flow, rp, done, verifier)["sub"] == user.id
    assert keystead.users.get(tenant.id, user.id).password_changed_at == clock()
    assert _changes(keystead, tenant.id) == ["signin.expired_password.changed"]
    flow.http.cookies.clear()
    page, _ = _start(flow, rp)
    assert page_of(_password(flow, page, "alice", NEW)) == "client"  # not asked again


def test_off_by_default(env, keystead: Keystead, clock: FrozenClock):
    tenant, _user, rp, flow = env
    assert keystead.tenant_settings.read(tenant.id).password_policy.max_age_days == 0
    clock.advance(3650 * DAY)
    page, _ = _start(flow, rp)
    assert page_of(_password(flow, page, "alice", PASSWORD)) == "client"


def test_a_user_without_a_recorded_change_counts_from_creation(env, keystead: Keystead, clock: FrozenClock):
    tenant, user, rp, flow = env
    keystead.storage.update_user(tenant.id, user.id, password_changed_at=None)  # set before 0009
    configure(keystead, tenant, {"password_policy": {"max_age_days": 30}})
    clock.advance(30 * DAY)
    page, _ = _start(flow, rp)
    assert page_of(_password(flow, page)) == "change_password"


def test_the_limit_is_bounded(env, keystead: Keystead):
    tenant, _user, _rp, _flow = env
    from keystead.errors import InvalidInput

    for bad in (-1, 3651, "90"):
        with pytest.raises(InvalidInput) as refused:
            configure(keystead, tenant, {"password_policy": {"max_age_days": bad}})
        assert refused.value.field == "password_policy.max_age_days"
