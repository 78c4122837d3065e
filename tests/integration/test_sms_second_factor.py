"""A texted code as the second factor through the hosted pages (tenant ``sms.second_factor``,
a verified phone number), with the dev SMS sender: the code works once, wrong codes are refused,
and the page is offered only for a verified number after a password."""

from __future__ import annotations

import pyotp
import pytest

from keystead.clock import FrozenClock
from keystead.flows.stages import ACR_MFA
from keystead.ports.records import User
from keystead.wiring import Keystead
from tests.integration.test_login_flow import _claims, _has_session, _password, _start
from tests.support.email_env import configure
from tests.support.factories import Factory
from tests.support.flow import Flow
from tests.support.stages import land, page_of, submit

T0 = 1_900_000_020.0


def _verified_phone(keystead: Keystead, user: User, number: str = "+1 (555) 123-0001") -> None:
    keystead.storage.update_user(user.tenant_id, user.id, phone_number=number, phone_number_verified=True)


def _texts(keystead: Keystead, tenant_id: str) -> list[str]:
    outbox = keystead.messaging.sms_outbox
    assert outbox is not None
    return [m.text.split()[0] for m in outbox.messages(tenant_id)]  # newest first


@pytest.fixture
def env(client, factory: Factory, keystead: Keystead, clock: FrozenClock):
    clock.now = T0
    tenant = factory.tenant()
    configure(keystead, tenant, {"sms": {"second_factor": True}, "mfa": "always"})
    user = factory.user(tenant, "alice")
    _verified_phone(keystead, user)
    return tenant, user, factory.client(tenant, first_party=True), Flow(client, tenant.name)


def test_a_texted_code_is_the_second_factor(env, keystead: Keystead):
    tenant, _user, rp, flow = env
    page, verifier = _start(flow, rp)
    page = _password(flow, page)
    assert page_of(page) == "second_factor" and 'id="phone-number">•••01<' in page.text
    assert not _has_session(flow)
    (code,) = _texts(keystead, tenant.id)
    wrong = f"{(int(code) + 1) % 1_000_000:06d}"
    refused = submit(flow.http, page, method="sms", code=wrong)
    assert refused.status_code == 400 and "That code is not valid" in refused.text
    claims = _claims(flow, rp, submit(flow.http, page, method="sms", code=code), verifier)
    assert claims["acr"] == ACR_MFA
    assert claims["amr"] == ["pwd", "sms", "mfa"]  # RFC 8176 §2


def test_a_new_text_replaces_the_code_and_a_reload_sends_none(env, keystead: Keystead):
    tenant, _user, rp, flow = env
    page, _ = _start(flow, rp)
    page = _password(flow, page)
    assert page_of(flow.http.get(str(page.url))) == "second_factor"
    assert len(_texts(keystead, tenant.id)) == 1
    resent = submit(flow.http, page, method="sms_resend")
    newest, first = _texts(keystead, tenant.id)
    if newest != first:
        assert submit(flow.http, resent, method="sms", code=first).status_code == 400
    assert page_of(submit(flow.http, resent, method="sms", code=newest)) == "client"


def test_an_authenticator_user_may_choose_a_text(env, keystead: Keystead, clock: FrozenClock):
    tenant, user, rp, flow = env
    enrolment = keystead.factors.enrol_totp(tenant.id, user.id)
    totp = pyotp.TOTP(pyotp.parse_uri(enrolment.uri).secret)
    keystead.factors.activate_totp(tenant.id, user.id, enrolment.factor.id, totp.at(clock()))
    page, _ = _start(flow, rp)
    page = _password(flow, page)
    assert 'id="use-sms"' in page.text and _texts(keystead, tenant.id) == []
    by_sms = land(flow.http, flow.http.get(page.url.copy_add_param("method", "sms")))
    assert 'name="method" value="sms"' in by_sms.text
    (code,) = _texts(keystead, tenant.id)
    assert page_of(submit(flow.http, by_sms, method="sms", code=code)) == "client"


def test_no_text_for_an_unverified_number(env, keystead: Keystead, factory: Factory):
    tenant, _user, rp, flow = env
    bob = factory.user(tenant, "bob")
    keystead.storage.update_user(tenant.id, bob.id, phone_number="+15551230002", phone_number_verified=False)
    page, _ = _start(flow, rp)
    page = _password(flow, page, "bob")
    assert page_of(page) == "enrol_totp"
    forced = submit(flow.http, page, stage="second_factor", method="sms", code="123456")
    assert forced.status_code == 409
    assert _texts(keystead, tenant.id) == []


def test_the_texts_per_number_are_limited(env, keystead: Keystead):
    tenant, _user, rp, flow = env
    page, _ = _start(flow, rp)
    page = _password(flow, page)
    limit = keystead.settings.sms.per_number_per_window
    statuses = [submit(flow.http, page, method="sms_resend").status_code for _ in range(limit)]
    assert statuses[: limit - 1] == [200] * (limit - 1) and statuses[-1] == 429
    assert len(_texts(keystead, tenant.id)) == limit
