"""The sans-storage parts of passkeys: the relying party derived from an issuer, the ``amr``
values of an assertion, default and given names, and reading the challenge an answer names."""

from __future__ import annotations

import base64
import json

import pytest

from keystead.errors import InvalidInput
from keystead.ports.records import UserFactor
from keystead.services import passkey_credentials as pc
from keystead.services.passkey_challenges import (
    PasskeyRejected,
    RelyingParty,
    answered_challenge,
    parse_credential,
)


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


@pytest.mark.parametrize(
    ("issuer", "rp_id", "origin"),
    [
        ("https://login.example.com/t/acme", "login.example.com", "https://login.example.com"),
        ("http://localhost:8000/t/acme", "localhost", "http://localhost:8000"),
        ("https://id.acme.test", "id.acme.test", "https://id.acme.test"),
    ],
)
def test_the_relying_party_is_the_issuers_host(issuer: str, rp_id: str, origin: str) -> None:
    rp = RelyingParty.for_issuer(issuer, "Acme")
    assert (rp.id, rp.origin, rp.name) == (rp_id, origin, "Acme")


@pytest.mark.parametrize("issuer", ["ftp://x.example", "not a url", "https:///path"])
def test_a_bad_issuer_is_refused(issuer: str) -> None:
    with pytest.raises(ValueError):
        RelyingParty.for_issuer(issuer, "Acme")


def _factor(**data: object) -> UserFactor:
    return UserFactor("f", "t", "u", pc.KIND, "Passkey", "active", 0.0, data=dict(data))


def test_amr_tells_device_bound_from_synced_and_adds_mfa_with_user_verification() -> None:
    assert pc.amr(_factor(backup_eligible=False), user_verified=True) == ("hwk", "user", "mfa")
    assert pc.amr(_factor(backup_eligible=True), user_verified=True) == ("swk", "user", "mfa")
    assert pc.amr(_factor(backup_eligible=False), user_verified=False) == ("hwk", "user")


def test_names_default_to_the_first_free_one_and_are_checked() -> None:
    assert pc.label(None, set()) == "Passkey"
    assert pc.label("  ", {"Passkey", "Passkey 2"}) == "Passkey 3"
    assert pc.label(" My   phone ", set()) == "My phone"
    for bad, taken in (("x" * 101, set()), ("nul\x00name", set()), ("Phone", {"Phone"})):
        with pytest.raises(InvalidInput) as refused:
            pc.label(bad, taken)
        assert refused.value.field == "name"


def test_the_answered_challenge_is_read_from_client_data() -> None:
    client_data = _b64(json.dumps({"type": "webauthn.get", "challenge": _b64(b"\x01" * 32)}).encode())
    credential = parse_credential(json.dumps({"response": {"clientDataJSON": client_data}}))
    assert answered_challenge(credential) == b"\x01" * 32
    for broken in (
        "not json",
        json.dumps([1, 2]),
        json.dumps({"response": "x"}),
        json.dumps({"response": {"clientDataJSON": _b64(b"{not json")}}),
        json.dumps({"response": {"clientDataJSON": _b64(json.dumps({"type": "webauthn.get"}).encode())}}),
        json.dumps({"response": {"clientDataJSON": "A" * 5000}}),
    ):
        with pytest.raises(PasskeyRejected):
            answered_challenge(parse_credential(broken))
