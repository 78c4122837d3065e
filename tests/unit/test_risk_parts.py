"""The pieces around the risk engine: the flow's step-up and client rules (``mfa_required``),
the flow state's round trip, the device cookie and networks, and travel speeds."""

from __future__ import annotations

import pytest

from keystead.flows.stages import ACR_MFA, ACR_PASSWORD, Facts, FlowState, default_flow, mfa_required
from keystead.risk.travel import distance_km, speed_kmh
from keystead.services.risk_devices import DeviceIds, network_of
from keystead.services.secrets import KeyRing

STATE = FlowState("u1", 1.0)


def _facts(
    mode: str = "when_enrolled", factor: bool = True, acr: tuple[str, ...] = (), **state: object
) -> Facts:
    return Facts(mfa_mode=mode, acr_values=acr, has_second_factor=factor, state=FlowState("u1", 1.0, **state))  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("facts", "required"),
    [
        (_facts("never", step_up=True), True),  # a risk step-up the user can do
        (_facts("never", factor=False, step_up=True), False),  # no factor, no enrolment: goes on
        (_facts("never", factor=False, step_up=True, step_up_enrol=True), True),
        (_facts("never", minimum_acr=ACR_MFA), True),  # the client's minimum is not voluntary
        (_facts("never", minimum_acr=ACR_PASSWORD), False),
        (_facts("never", client_mfa="always"), True),  # the client's mode replaces the tenant's
        (_facts("always", client_mfa="never"), False),
        (_facts("always", client_mfa="never", acr=(ACR_MFA,)), False),
        (_facts("when_enrolled", factor=False), False),
    ],
)
def test_mfa_required_by_risk_and_by_client(facts: Facts, required: bool) -> None:
    assert mfa_required(facts) is required


def test_the_next_stage_follows_a_step_up() -> None:
    flow = default_flow()
    assert flow.next(_facts("never", step_up=True)).name == "second_factor"  # type: ignore[union-attr]
    assert flow.next(_facts("never", factor=False, step_up=True, step_up_enrol=True)).name == "enrol_totp"  # type: ignore[union-attr]
    assert flow.next(_facts("never", factor=False, step_up=True)) is None


def test_the_flow_state_round_trips_with_its_new_fields_and_reads_old_ones() -> None:
    state = FlowState("u1", 2.0, step_up=True, step_up_enrol=True, client_mfa="always", minimum_acr=ACR_MFA)
    assert FlowState.from_dict(state.to_dict()) == state
    old = {"user_id": "u1", "auth_time": 2.0, "amr": ["pwd"]}  # an interaction stored before
    assert FlowState.from_dict(old) == FlowState("u1", 2.0)
    assert FlowState.from_dict({**old, "client_mfa": "sometimes"}).client_mfa is None


def test_device_cookies_verify_only_their_own_signature() -> None:
    ids, other = DeviceIds(KeyRing("k" * 32)), DeviceIds(KeyRing("x" * 32))
    device_id, cookie = ids.new_cookie()
    assert ids.device_id(cookie) == device_id and len(cookie) == 65
    assert other.device_id(cookie) is None  # another server's key
    tampered = ("0" if cookie[0] != "0" else "1") + cookie[1:]
    for bad in (None, "", tampered, cookie[:-1], cookie + "0", "Z" * 32 + cookie[32:]):
        assert ids.device_id(bad) is None
    assert ids.stored("t1", device_id) != ids.stored("t2", device_id)  # per tenant
    assert device_id not in ids.stored("t1", device_id)


@pytest.mark.parametrize(
    ("ip", "network"),
    [
        ("203.0.113.77", "203.0.113.0/24"),
        ("2001:db8:1234:5678::1", "2001:db8:1234::/48"),
        ("::ffff:198.51.100.9", "198.51.100.0/24"),
        ("testclient", None),
        ("", None),
    ],
)
def test_networks_are_the_24_or_the_48(ip: str, network: str | None) -> None:
    assert network_of(ip) == network


def test_a_network_is_stored_as_an_hmac_per_tenant() -> None:
    ids = DeviceIds(KeyRing("k" * 32))
    a, b = ids.network("t1", "203.0.113.7"), ids.network("t1", "203.0.113.200")
    assert a == b and a is not None and "203.0.113" not in a
    assert ids.network("t2", "203.0.113.7") != a and ids.network("t1", "nope") is None


def test_travel_speeds() -> None:
    paris, sydney = (48.86, 2.35), (-33.87, 151.21)
    assert 16_900 < distance_km(*paris, *sydney) < 17_000
    assert speed_kmh((*paris, 0.0), (*sydney, 3600.0)) == pytest.approx(distance_km(*paris, *sydney))
    assert speed_kmh((*paris, 0.0), (48.9, 2.5, 60.0)) == 0.0  # nearer than GeoIP's precision
    # two sign-ins a minute apart count as 15 minutes apart
    assert speed_kmh((*paris, 0.0), (*sydney, 60.0)) == pytest.approx(distance_km(*paris, *sydney) * 4)
