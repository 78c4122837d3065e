"""Recovery codes shown once after an authenticator app is set up in the sign-in flow: ten
codes, a text download, "I have saved them"; a reload shows none; the codes sign in later."""

from __future__ import annotations

from urllib.parse import unquote

import pyotp
import pytest

from keystead.clock import FrozenClock
from keystead.wiring import Keystead
from tests.support.factories import PASSWORD, Factory
from tests.support.flow import Flow
from tests.support.stages import land, manual_key, page_of, recovery_codes, submit

T0 = 1_900_000_020.0


@pytest.fixture
def enrolled_page(client, factory: Factory, keystead: Keystead, clock: FrozenClock):
    """alice has just set up an authenticator app in the flow (the tenant requires MFA)."""
    clock.now = T0
    tenant = factory.tenant()
    user = factory.user(tenant, "alice")
    rp = factory.client(tenant, first_party=True)
    version = keystead.tenant_settings.read(tenant.id).version
    keystead.tenant_settings.update(tenant.id, {"mfa": "always"}, expected_version=version)
    flow = Flow(client, tenant.name)
    page = submit(
        client, land(client, flow.start(flow.authorize_params(rp))), username="alice", password=PASSWORD
    )
    assert page_of(page) == "enrol_totp"
    totp = pyotp.TOTP(manual_key(page))
    return tenant, user, rp, flow, totp, submit(client, page, code=totp.at(clock()))


def test_ten_codes_are_shown_once_with_a_download_and_no_cache(enrolled_page, keystead: Keystead):
    tenant, user, _rp, flow, _totp, page = enrolled_page
    assert page_of(page) == "recovery_codes"
    codes = recovery_codes(page)
    assert len(codes) == len(set(codes)) == 10
    assert page.headers["cache-control"] == "no-store"
    download = page.text.split('id="download-codes" href="', 1)[1].split('"', 1)[0]
    assert download.startswith("data:text/plain;charset=utf-8,")
    text = unquote(download.split(",", 1)[1])
    assert all(code in text for code in codes) and "Acme Corp" in text
    assert 'download="recovery-codes.txt"' in page.text
    [summary] = [f for f in keystead.factors.list_factors(tenant.id, user.id) if f.kind == "recovery_codes"]
    assert summary.remaining_codes == 10

    again = land(flow.http, flow.http.get(str(page.url)))  # a reload: never shown again
    assert page_of(again) == "recovery_codes" and recovery_codes(again) == []
    assert "already shown" in again.text
    # and no new set was made behind the user's back
    [same] = [f for f in keystead.factors.list_factors(tenant.id, user.id) if f.kind == "recovery_codes"]
    assert same.id == summary.id


def test_i_have_saved_them_continues_and_a_code_signs_in_later(enrolled_page, keystead: Keystead, clock):
    _tenant, _user, rp, flow, _totp, page = enrolled_page
    codes = recovery_codes(page)
    done = submit(flow.http, page)
    assert page_of(done) == "client"

    flow.http.cookies.clear()
    clock.now += 60
    login = land(flow.http, flow.start(flow.authorize_params(rp)))
    second = submit(flow.http, login, username="alice", password=PASSWORD)
    assert page_of(second) == "second_factor"
    assert page_of(submit(flow.http, second, method="recovery", code=codes[3].lower())) == "client"


def test_the_codes_page_cannot_be_skipped_by_posting_another_stage(enrolled_page):
    _tenant, _user, _rp, flow, _totp, page = enrolled_page
    skipped = submit(flow.http, page, stage="change_password", password="x", confirm="x")
    assert skipped.status_code == 409 and page_of(skipped) == "recovery_codes"


def test_a_user_who_already_had_a_factor_sees_no_codes_page(
    client, factory: Factory, keystead: Keystead, clock
):
    clock.now = T0
    tenant = factory.tenant()
    user = factory.user(tenant, "bob")
    rp = factory.client(tenant, first_party=True)
    enrolment = keystead.factors.enrol_totp(tenant.id, user.id)
    totp = pyotp.TOTP(pyotp.parse_uri(enrolment.uri).secret)
    keystead.factors.activate_totp(tenant.id, user.id, enrolment.factor.id, totp.at(clock()))
    clock.now += 30
    flow = Flow(client, tenant.name)
    page = submit(
        client, land(client, flow.start(flow.authorize_params(rp))), username="bob", password=PASSWORD
    )
    assert page_of(submit(client, page, method="totp", code=totp.at(clock()))) == "client"
