"""The password policy: NIST SP 800-63B 5.1.1.2 rules, each refusal with a reason to act on."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from keystead.errors import InvalidInput
from keystead.services.breached_passwords import BloomFilter, BreachedPasswords
from keystead.services.password_policy import BREACHED, PWNED, PasswordPolicy, offline_policy
from keystead.services.tenant_settings import PasswordPolicy as Rules
from keystead.services.tenant_settings import TenantSettings

GOOD = "violet tractor on the moor"
FRAKTUR = "".join(chr(0x1D51E + i) for i in range(8))  # MATHEMATICAL FRAKTUR SMALL A..H
FULLWIDTH = "".join(chr(ord(c) + 0xFEE0) for c in "Roadrunner")
REASONS = ("passwords are ", "a password must not contain ", BREACHED)
DEFAULT = Rules()


class FakeRange:
    """A range check that answers from a dict (the real one: tests/integration/test_hibp.py)."""

    def __init__(self, counts: dict[str, int | None]) -> None:
        self.counts = counts
        self.asked: list[str] = []

    def count(self, password: str) -> int | None:
        self.asked.append(password)
        return self.counts.get(password, 0)


def _policy(range_counts: dict[str, int | None] | None = None) -> tuple[PasswordPolicy, FakeRange]:
    fake = FakeRange(range_counts or {})
    return PasswordPolicy(range_check=fake), fake  # type: ignore[arg-type]


def test_the_defaults_follow_nist():
    assert (DEFAULT.min_length, DEFAULT.max_length) == (8, 1024)
    assert DEFAULT.blocklist == () and DEFAULT.check_breached and not DEFAULT.hibp_range_check
    assert offline_policy().refusal(GOOD, DEFAULT) is None


@pytest.mark.parametrize(
    "password",
    [
        "alllowercase words",
        "12345678901234567890x",
        "ÅngströmÜberfluß",
        "😀 emoji passphrase 😀",
        " spaced  out ",
    ],
)
def test_no_composition_rules(password: str):
    assert offline_policy().refusal(password, DEFAULT) is None


@pytest.mark.parametrize(
    ("password", "rules", "reason"),
    [
        ("seven!!", DEFAULT, "passwords are 8 to 1024 characters"),
        ("x" * 1025, DEFAULT, "passwords are 8 to 1024 characters"),
        ("eleven char", Rules(min_length=12), "passwords are 12 to 1024 characters"),
        ("y" * 65, Rules(max_length=64), "passwords are 8 to 64 characters"),
        ("a\x00b-long-password", DEFAULT, "a password must not contain NUL"),
        ("password", DEFAULT, BREACHED),
        ("Iloveyou1", DEFAULT, BREACHED),
        ("we love ACME forever", Rules(blocklist=("Acme",)), "a password must not contain the word 'acme'"),
    ],
)
def test_refusals_name_the_rule(password: str, rules: Rules, reason: str):
    with pytest.raises(InvalidInput) as caught:
        offline_policy().check(password, rules)
    assert caught.value.field == "password"
    assert caught.value.description.startswith(reason)


def test_lengths_count_code_points_not_bytes():
    # 8 characters of 4 UTF-8 bytes each: long enough; 1024 of them: not too long
    assert offline_policy().refusal("🐢🦊🐙🦉🐝🦀🐌🦋", DEFAULT) is None
    assert offline_policy().refusal("🐢" * 1024, DEFAULT) is None
    # compatibility forms are looked up as what they normalise to (NFKC): "abcdefgh"
    assert offline_policy().refusal(FRAKTUR, DEFAULT) == BREACHED


@pytest.mark.parametrize(
    ("password", "username", "email", "reason"),
    [
        ("margaretha77", "Margaretha77", None, "username"),
        ("my-margaretha-password", "margaretha", None, "username"),
        ("xx jdoe2001 yy", "someone", "JDoe2001@example.com", "name of the email address"),
        ("jdoe2001@example.com", "someone", "jdoe2001@example.com", "name of the email address"),
        ("bob", "bob", None, "passwords are"),
    ],
)
def test_the_username_and_email_are_refused(password: str, username: str, email: str | None, reason: str):
    refusal = offline_policy().refusal(
        password, Rules(min_length=8) if len(password) >= 8 else DEFAULT, username=username, email=email
    )
    assert refusal is not None and reason in refusal


def test_short_names_are_only_refused_as_the_whole_password():
    # a three-letter username inside a passphrase is no weakness worth refusing
    assert offline_policy().refusal("bob builds fences", DEFAULT, username="bob") is None
    assert offline_policy().refusal("Acme Corp rocks on", DEFAULT, context=["Acme Corp"]) is not None
    assert offline_policy().refusal("acm is not it, friend", DEFAULT, context=["Acme Corp"]) is None


def test_the_breached_check_can_be_turned_off_but_not_the_length():
    relaxed = Rules(check_breached=False)
    assert offline_policy().refusal("password", relaxed) is None
    assert offline_policy().refusal("passwor", relaxed) is not None


def test_is_breached_is_offline_and_ignores_the_tenants_rules():
    policy, fake = _policy({"password": 10})
    assert policy.is_breached("PASSWORD") and not policy.is_breached(GOOD)
    assert fake.asked == []


def test_the_range_check_runs_only_when_the_tenant_asks_and_online():
    policy, fake = _policy({GOOD: 3})
    assert policy.refusal(GOOD, DEFAULT) is None
    assert fake.asked == []
    on = Rules(hibp_range_check=True)
    assert policy.refusal(GOOD, on, online=False) is None
    assert fake.asked == []
    assert policy.refusal(GOOD, on) == PWNED
    assert fake.asked == [GOOD]


def test_an_unreachable_range_endpoint_lets_the_password_through_after_the_offline_list():
    policy, fake = _policy({GOOD: None})
    on = Rules(hibp_range_check=True)
    assert policy.refusal(GOOD, on) is None
    assert policy.refusal("password", on) == BREACHED
    assert fake.asked == [GOOD]  # the offline list answered first: no query for "password"


def test_a_custom_offline_list():
    own = BreachedPasswords(BloomFilter.build([b"hunter2hunter2"], 1e-6))
    policy = PasswordPolicy(breached=own)
    assert policy.refusal("Hunter2Hunter2", DEFAULT) == BREACHED
    assert policy.refusal("password", DEFAULT) is None


@pytest.mark.parametrize(
    ("policy", "field"),
    [
        ({"min_length": 7}, "password_policy.min_length"),
        ({"max_length": 63}, "password_policy.max_length"),
        ({"max_length": 1025}, "password_policy.max_length"),
        ({"min_length": 100, "max_length": 64}, "password_policy.max_length"),
        ({"blocklist": ["ab"]}, "password_policy.blocklist.0"),
        ({"blocklist": ["x" * 65]}, "password_policy.blocklist.0"),
        ({"blocklist": [f"word{i}" for i in range(101)]}, "password_policy.blocklist"),
        ({"blocklist": "acme"}, "password_policy.blocklist"),
        ({"check_breached": "yes"}, "password_policy.check_breached"),
        ({"hibp_range_check": 1}, "password_policy.hibp_range_check"),
        ({"composition": True}, "password_policy.composition"),
    ],
)
def test_bad_settings_are_refused_naming_the_field(policy: dict[str, object], field: str):
    from pydantic import ValidationError

    with pytest.raises(ValidationError) as caught:
        TenantSettings.model_validate({"password_policy": policy})
    assert ".".join(str(p) for p in caught.value.errors()[0]["loc"]) == field


def test_blocklist_words_are_normalised_and_deduplicated():
    rules = TenantSettings.model_validate({"password_policy": {"blocklist": ["Acme", " ACME ", FULLWIDTH]}})
    assert rules.password_policy.blocklist == ("acme", "roadrunner")


@settings(max_examples=200, deadline=None)
@given(password=st.text(max_size=80), username=st.text(max_size=20), email=st.text(max_size=40))
def test_any_input_is_a_reason_or_none_never_an_exception(password: str, username: str, email: str):
    reason = offline_policy().refusal(password, Rules(blocklist=("acme",)), username=username, email=email)
    assert reason is None or reason.startswith(REASONS), reason
