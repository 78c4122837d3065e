"""The risk engine through the hosted pages (docs/risk.md): a known device is allowed, a new
device is decided by the policy, a new network after failures, a breached password and
impossible travel (a real .mmdb file) step up, simulate mode records and enforces nothing, a
high score is refused with the generic answer, and clients' ``mfa``/``minimum_acr`` apply. Every
decision is an audit event whose explanation is asserted."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pyotp
import pytest
from sqlalchemy import select

from keystead.adapters.sql import tables as t
from keystead.clock import FrozenClock
from keystead.config import Settings, load_settings
from keystead.flows.stages import ACR_MFA
from keystead.ports.records import Tenant, User
from keystead.services.risk import DECISION_ACTION
from keystead.services.risk_devices import DEVICE_COOKIE
from keystead.wiring import Keystead
from tests.conftest import FAST_PASSWORDS
from tests.support.factories import PASSWORD, Factory, RegisteredClient
from tests.support.flow import AuthResult, Flow, pkce_pair
from tests.support.mmdb import city, write_mmdb
from tests.support.stages import client_params, land, page_of, submit

T0 = 1_900_000_020.0
PARIS, SYDNEY, NOWHERE = "198.51.100.7", "203.0.113.9", "192.0.2.50"  # NOWHERE: not in the db
BREACHED = "monster123"


@pytest.fixture
def settings(db_url: str, tmp_path_factory: pytest.TempPathFactory) -> Settings:
    geo = write_mmdb(
        tmp_path_factory.mktemp("geoip") / "city.mmdb",
        {"198.51.100.0/24": city(48.86, 2.35, "FR"), "203.0.113.0/24": city(-33.87, 151.21, "AU")},
    )
    return load_settings(
        database={"url": db_url},
        passwords=FAST_PASSWORDS,
        server={"base_url": "http://testserver", "trusted_proxies": ["testclient"]},
        geoip_database=str(geo),
    )


def _settings(k: Keystead, tenant: Tenant, changes: dict[str, Any]) -> None:
    version = k.tenant_settings.read(tenant.id).version
    k.tenant_settings.update(tenant.id, changes, expected_version=version)


@pytest.fixture
def env(client, keystead: Keystead, factory: Factory, clock: FrozenClock):
    """Adaptive risk, and no second factor from the tenant's ``mfa`` (only risk asks for one)."""
    clock.now = T0
    tenant = factory.tenant()
    _settings(keystead, tenant, {"mfa": "never", "risk": {"mode": "adaptive"}})
    user = factory.user(tenant, "alice")
    rp = factory.client(tenant, first_party=True)
    return tenant, user, rp, Flow(client, tenant.name)


def _totp(k: Keystead, user: User, clock: FrozenClock) -> pyotp.TOTP:
    enrolment = k.factors.enrol_totp(user.tenant_id, user.id)
    totp = pyotp.TOTP(pyotp.parse_uri(enrolment.uri).secret)
    k.factors.activate_totp(user.tenant_id, user.id, enrolment.factor.id, totp.at(clock()))
    clock.now += 30
    return totp


def _sign_in(
    flow: Flow, rp: RegisteredClient, ip: str, username: str = "alice", password: str = PASSWORD, **extra: str
):
    flow.http.headers["X-Forwarded-For"] = ip
    verifier, challenge = pkce_pair()
    params = flow.authorize_params(rp, code_challenge=challenge, code_challenge_method="S256", **extra)
    page = land(flow.http, flow.start(params))
    assert page_of(page) == "login"
    return submit(flow.http, page, username=username, password=password), verifier


def _decisions(k: Keystead, tenant: Tenant, user: User) -> list[dict[str, Any]]:
    events = k.audit.page(tenant.id, action=DECISION_ACTION, target=user.id, limit=50)
    return [dict(e.after or {}) for e in events]


def _last(k: Keystead, tenant: Tenant, user: User) -> dict[str, Any]:
    return _decisions(k, tenant, user)[0]


def _by_signal(decision: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {c["signal"]: c for c in decision["contributions"]}


def _fired(decision: dict[str, Any]) -> dict[str, int]:
    return {c["signal"]: c["weight"] for c in decision["contributions"] if c["weight"]}


def _new_browser(flow: Flow) -> None:
    flow.http.cookies.clear()


def _sign_out(flow: Flow) -> None:
    """The SSO session ends; the device cookie stays (the same browser)."""
    device = flow.http.cookies.get(DEVICE_COOKIE)
    flow.http.cookies.clear()
    if device:
        flow.http.cookies.set(DEVICE_COOKIE, device, domain="testserver.local", path=flow.base)


def _baseline(flow: Flow, rp: RegisteredClient, ip: str = PARIS) -> None:
    response, _ = _sign_in(flow, rp, ip)
    assert page_of(response) == "client"
    _sign_out(flow)


def test_the_first_sign_in_has_no_baseline_and_sets_the_device_cookie(env, keystead):
    tenant, user, rp, flow = env
    response, _ = _sign_in(flow, rp, PARIS)
    assert page_of(response) == "client"
    decision = _last(keystead, tenant, user)
    assert (decision["mode"], decision["outcome"], decision["effect"]) == ("adaptive", "allow", "none")
    by = _by_signal(decision)
    assert by["new_device"] == {
        "signal": "new_device",
        "observed": None,
        "weight": 0,
        "reason": "unknown (no known device yet)",
    }
    assert by["impossible_travel"]["observed"] is None
    cookie = next(h for h in response.headers.get_list("set-cookie") if h.startswith(f"{DEVICE_COOKIE}="))
    assert "HttpOnly" in cookie and "SameSite=lax" in cookie and f"Path={flow.base}" in cookie
    value = flow.http.cookies.get(DEVICE_COOKIE)
    assert value is not None and len(value) == 65
    with keystead.storage.engine.connect() as conn:
        rows = (
            conn.execute(select(t.risk_devices).where(t.risk_devices.c.user_id == user.id)).mappings().all()
        )
        networks = conn.execute(select(t.risk_networks.c.network_hash)).scalars().all()
        place = (
            conn.execute(select(t.risk_locations).where(t.risk_locations.c.user_id == user.id))
            .mappings()
            .one()
        )
    assert len(rows) == 1 and value[:32] not in rows[0]["device_hash"]  # only an HMAC of the id
    assert all("198.51.100" not in n for n in networks)
    assert (place["latitude"], place["longitude"], place["country"]) == (48.9, 2.4, "FR")  # 0.1 degree


def test_a_known_device_is_allowed(env, keystead):
    tenant, user, rp, flow = env
    _baseline(flow, rp)
    response, _ = _sign_in(flow, rp, PARIS)
    assert page_of(response) == "client"
    decision = _last(keystead, tenant, user)
    assert decision["outcome"] == "allow"
    by = _by_signal(decision)
    assert (by["new_device"]["observed"], by["new_device"]["reason"]) == (False, "a known device")
    assert (by["new_network"]["observed"], by["new_network"]["reason"]) == (False, "a known network")
    assert _fired(decision) == {"stale_mfa": 10}  # no second factor on this device yet
    assert decision["score"] == 10


def test_a_new_device_is_decided_by_the_policy(env, keystead, clock):
    tenant, user, rp, flow = env
    _totp(keystead, user, clock)
    _baseline(flow, rp)
    _new_browser(flow)
    response, _ = _sign_in(flow, rp, PARIS)
    assert page_of(response) == "client"  # 25 + 10 < 40
    assert _fired(_last(keystead, tenant, user)) == {"new_device": 25, "stale_mfa": 10}
    _settings(keystead, tenant, {"risk": {"weights": {"new_device": 50}}})
    _new_browser(flow)
    response, _ = _sign_in(flow, rp, PARIS)
    assert page_of(response) == "second_factor"
    decision = _last(keystead, tenant, user)
    assert (decision["outcome"], decision["effect"], decision["score"]) == ("step_up", "second_factor", 60)
    assert _by_signal(decision)["new_device"]["reason"] == "a device not seen before"


def test_a_new_network_after_failures_steps_up(env, keystead, clock):
    tenant, user, rp, flow = env
    totp = _totp(keystead, user, clock)
    _baseline(flow, rp)
    wrong, _ = _sign_in(flow, rp, NOWHERE, password="not the password")
    for _ in range(2):
        assert wrong.status_code == 400
        wrong = submit(flow.http, wrong, username="alice", password="still not it")
    page = submit(flow.http, wrong, username="alice", password=PASSWORD)
    assert page_of(page) == "second_factor"
    decision = _last(keystead, tenant, user)
    assert _fired(decision) == {"new_network": 20, "account_failures": 25, "stale_mfa": 10}
    assert _by_signal(decision)["account_failures"]["reason"] == "3 failed attempts on this login (>= 3)"
    assert _by_signal(decision)["impossible_travel"]["reason"].startswith("unknown")  # not in the db
    done = submit(flow.http, page, method="totp", code=totp.at(clock()))
    assert page_of(done) == "client"


def _breached_user(k: Keystead, tenant: Tenant) -> User:
    _settings(k, tenant, {"password_policy": {"check_breached": False}})
    user = k.users.create(tenant.id, "legacy", password=BREACHED)
    _settings(k, tenant, {"password_policy": {"check_breached": True}})
    return user


def test_a_breached_password_steps_up_before_the_change(env, keystead, clock):
    tenant, _, rp, flow = env
    legacy = _breached_user(keystead, tenant)
    totp = _totp(keystead, legacy, clock)
    page, _ = _sign_in(flow, rp, PARIS, "legacy", BREACHED)
    assert page_of(page) == "second_factor"
    decision = _last(keystead, tenant, legacy)
    assert _fired(decision) == {"breached_password": 45, "stale_mfa": 10}
    assert _by_signal(decision)["breached_password"]["reason"] == "the password is on the breached list"
    assert page_of(submit(flow.http, page, method="totp", code=totp.at(clock()))) == "change_password"


def test_impossible_travel_with_the_geoip_database_steps_up(env, keystead, clock):
    tenant, user, rp, flow = env
    _totp(keystead, user, clock)
    _baseline(flow, rp, PARIS)
    clock.now += 3600
    page, _ = _sign_in(flow, rp, SYDNEY)
    assert page_of(page) == "second_factor"
    decision = _last(keystead, tenant, user)
    travel = _by_signal(decision)["impossible_travel"]
    assert travel["weight"] == 60 and 16_000 < travel["observed"] < 17_500  # ~16,960 km in an hour
    assert travel["reason"].endswith("km/h from the last sign-in's place (> 1000)")
    assert _fired(decision) == {"new_network": 20, "impossible_travel": 60, "stale_mfa": 10}


def test_simulate_mode_records_and_enforces_nothing(env, keystead, clock):
    tenant, _, rp, flow = env
    _settings(keystead, tenant, {"risk": {"mode": "simulate"}})
    legacy = _breached_user(keystead, tenant)
    _totp(keystead, legacy, clock)
    page, _ = _sign_in(flow, rp, PARIS, "legacy", BREACHED)
    assert page_of(page) == "change_password"  # no second factor asked
    decision = _last(keystead, tenant, legacy)
    assert (decision["mode"], decision["outcome"], decision["enforced"], decision["effect"]) == (
        "simulate",
        "step_up",
        "allow",
        "none",
    )
    assert decision["score"] == 55


def _without_token(text: str) -> str:
    import re

    return re.sub(r'name="csrf_token" value="[^"]+"', "", text)


def test_a_score_past_deny_at_is_refused_like_a_wrong_password(env, keystead, clock):
    tenant, user, rp, flow = env
    _settings(keystead, tenant, {"risk": {"step_up_at": 20, "deny_at": 80}})
    _baseline(flow, rp, PARIS)
    clock.now += 3600
    denied, _ = _sign_in(flow, rp, SYDNEY)
    assert denied.status_code == 400 and page_of(denied) == "login"
    assert "The username or password is incorrect." in denied.text
    assert not any(c.name == "ks_session" for c in flow.http.cookies.jar)
    decision = _last(keystead, tenant, user)
    assert (decision["outcome"], decision["enforced"], decision["effect"], decision["score"]) == (
        "deny",
        "deny",
        "denied",
        90,
    )
    wrong = submit(flow.http, denied, username="alice", password="not the password")
    assert wrong.status_code == denied.status_code
    assert _without_token(wrong.text) == _without_token(denied.text)


def test_a_step_up_without_a_factor_goes_on_or_enrols_by_policy(env, keystead, factory):
    tenant, _, _, flow = env
    bob = factory.user(tenant, "bob")
    rp = factory.client(tenant, first_party=True, risk={"mode": "always"})
    page, _ = _sign_in(flow, rp, PARIS, "bob")
    assert page_of(page) == "client"
    assert _last(keystead, tenant, bob)["effect"] == "no_factor"
    _settings(keystead, tenant, {"risk": {"enrol_on_step_up": True}})
    _new_browser(flow)
    page, _ = _sign_in(flow, rp, PARIS, "bob")
    assert page_of(page) == "enrol_totp"
    assert (_last(keystead, tenant, bob)["effect"], _last(keystead, tenant, bob)["mode"]) == (
        "enrolment",
        "always",
    )


def test_a_sensitive_client_adds_its_weight(env, keystead, factory, clock):
    tenant, user, _, flow = env
    _totp(keystead, user, clock)
    rp = factory.client(tenant, first_party=True, risk={"sensitive": True, "step_up_at": 30})
    page, _ = _sign_in(flow, rp, PARIS)
    assert page_of(page) == "second_factor"
    decision = _last(keystead, tenant, user)
    assert _fired(decision) == {"sensitive_client": 20, "stale_mfa": 10}
    assert decision["client_id"] == rp.client_id and decision["thresholds"]["step_up"] == 30


def test_a_client_with_mfa_always_asks_for_the_second_factor(env, keystead, factory, clock):
    tenant, user, _, flow = env
    _settings(keystead, tenant, {"risk": {"mode": "never"}})
    totp = _totp(keystead, user, clock)
    strict = factory.client(tenant, first_party=True, mfa="always")
    page, verifier = _sign_in(flow, strict, PARIS)
    assert page_of(page) == "second_factor"
    assert _decisions(keystead, tenant, user) == []  # risk mode never: nothing evaluated or kept
    assert flow.http.cookies.get(DEVICE_COOKIE) is None
    done = submit(flow.http, page, method="totp", code=totp.at(clock()))
    params = client_params(done)
    tokens = flow.exchange(strict, AuthResult(done.headers["location"], params, verifier))
    assert tokens.status_code == 200
    factory.user(tenant, "carol")
    _new_browser(flow)
    page, _ = _sign_in(flow, strict, PARIS, "carol")
    assert page_of(page) == "enrol_totp"  # always, and no factor yet


def test_a_client_minimum_acr_steps_up_an_sso_session(env, keystead, factory, clock):
    tenant, user, rp, flow = env
    _settings(keystead, tenant, {"risk": {"mode": "never"}})
    totp = _totp(keystead, user, clock)
    page, _ = _sign_in(flow, rp, PARIS)
    assert page_of(page) == "client"  # password only: the tenant's mfa is never
    payments = factory.client(tenant, first_party=True, minimum_acr=ACR_MFA)
    verifier, challenge = pkce_pair()
    params = flow.authorize_params(payments, code_challenge=challenge, code_challenge_method="S256")
    step_up = land(flow.http, flow.start(params))
    assert page_of(step_up) == "second_factor"  # the session's password, then the code only
    done = submit(flow.http, step_up, method="totp", code=totp.at(clock()))
    from joserfc import jwt
    from joserfc.jwk import KeySet

    tokens = flow.exchange(payments, AuthResult(done.headers["location"], client_params(done), verifier))
    jwks = KeySet.import_key_set(flow.http.get(f"{flow.base}/jwks").json())
    claims = jwt.decode(tokens.json()["id_token"], jwks, algorithms=["ES256"]).claims
    assert claims["acr"] == ACR_MFA


def test_a_forged_device_cookie_is_a_new_device(env, keystead):
    tenant, user, rp, flow = env
    _baseline(flow, rp)
    flow.http.cookies.clear()
    forged = "0" * 32 + "." + "0" * 32
    flow.http.cookies.set(DEVICE_COOKIE, forged, domain="testserver.local", path=flow.base)
    _sign_in(flow, rp, PARIS)
    by = _by_signal(_last(keystead, tenant, user))
    assert by["new_device"]["observed"] is True
    assert flow.http.cookies.get(DEVICE_COOKIE) not in (None, forged)


def test_known_devices_are_bounded_per_user(env, keystead):
    tenant, user, rp, flow = env
    _settings(keystead, tenant, {"risk": {"max_known": 2}})
    for _ in range(4):
        _new_browser(flow)
        _sign_in(flow, rp, PARIS)
    with keystead.storage.engine.connect() as conn:
        count = len(conn.execute(select(t.risk_devices).where(t.risk_devices.c.user_id == user.id)).all())
    assert count == 2


def test_no_geoip_database_means_travel_is_unknown(keystead, tmp_path: Path):
    from keystead.services.geoip import NoGeoIp, open_locator

    assert isinstance(open_locator(None), NoGeoIp)
    bad = tmp_path / "broken.mmdb"
    bad.write_bytes(b"not a database")
    with pytest.raises(ValueError, match="not a readable MaxMind DB"):
        open_locator(str(bad))
    geo = open_locator(keystead.settings.geoip_database)
    place = geo.locate(SYDNEY)
    assert place is not None and place.country == "AU"
    assert (
        geo.locate(NOWHERE) is None and geo.locate("not-an-ip") is None and geo.locate("2001:db8::1") is None
    )


def _rows(k: Keystead, user: User) -> int:
    with k.storage.engine.connect() as conn:
        return sum(
            len(conn.execute(select(table).where(table.c.user_id == user.id)).all())
            for table in (t.risk_devices, t.risk_networks, t.risk_locations)
        )


def test_what_is_remembered_is_forgotten_on_request_and_with_the_user(env, keystead, factory):
    tenant, user, rp, flow = env
    _baseline(flow, rp, PARIS)
    assert _rows(keystead, user) == 3  # one device, one network, one place
    keystead.risk.forget(tenant.id, user.id)
    assert _rows(keystead, user) == 0
    bob = factory.user(tenant, "bob")
    _new_browser(flow)
    _sign_in(flow, rp, PARIS, "bob")
    assert _rows(keystead, bob) == 3
    keystead.users.delete(tenant.id, bob.id)
    assert _rows(keystead, bob) == 0


def test_ip_is_risky_reads_the_address_counters_before_any_password(env, keystead):
    tenant, _, _, _ = env
    limiter = keystead.login.limiter
    assert keystead.risk.ip_is_risky(tenant.id, NOWHERE) is False
    for n in range(5):
        limiter.attempted(f"{tenant.id}:someone{n}", NOWHERE)
    assert keystead.risk.ip_is_risky(tenant.id, NOWHERE) is True  # five logins tried
    assert keystead.risk.ip_is_risky(tenant.id, PARIS) is False


def test_a_client_minimum_acr_applies_to_a_first_factor_from_elsewhere(env, keystead, factory, clock):
    """An emailed code (``amr ["otp"]``, one factor) decided outside the password page: the
    interaction's client still asks for the second factor."""
    from keystead.flows.stages import FlowState
    from keystead.services.outcomes import ToInteraction
    from keystead.services.tokens import Issuer

    tenant, user, _, _ = env
    _totp(keystead, user, clock)
    payments = factory.client(tenant, first_party=True, minimum_acr=ACR_MFA)
    plain = factory.client(tenant, first_party=True)
    iss = Issuer(tenant.id, keystead.tenants.issuer(tenant))
    emailed = FlowState(user.id, clock(), amr=("otp",))
    for rp, expected in ((payments, "second_factor"), (plain, None)):
        params = {
            "client_id": rp.client_id,
            "redirect_uri": "https://rp.example.com/cb",
            "response_type": "code",
            "scope": "openid",
            "code_challenge": pkce_pair()[1],
            "code_challenge_method": "S256",
        }
        started = keystead.authorization.start(iss, {k: [v] for k, v in params.items()}, None)
        assert isinstance(started, ToInteraction)
        assert keystead.authorization.next_stage(iss, started.handle, emailed) == expected
        keystead.authorization.authenticated(iss, started.handle, emailed)
        if expected is not None:  # stored with the client's minimum: the stage page shows it
            assert keystead.authorization.pending(iss, started.handle, None).step == expected  # type: ignore[union-attr]
