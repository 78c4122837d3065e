"""The built-in proof of work (services/proof_of_work.py): a solved challenge passes once;
unsolved, forged, another tenant's, eased, expired, replayed and malformed ones are refused."""

from __future__ import annotations

import hashlib

import pytest

from keystead.adapters.memory.counters import MemoryCounters
from keystead.clock import FrozenClock
from keystead.services.proof_of_work import PowRefused, ProofOfWork, leading_zero_bits, solve
from keystead.services.secrets import KeyRing

T0 = 1_900_000_000.0


@pytest.fixture
def pow_() -> tuple[ProofOfWork, FrozenClock]:
    clock = FrozenClock(T0)
    return ProofOfWork(
        KeyRing("a test master secret of enough length"), MemoryCounters(clock), clock, ttl=300
    ), clock


def _refused(
    pow: ProofOfWork, challenge: str, solution: str, *, tenant: str = "t1", difficulty: int = 8
) -> str:
    with pytest.raises(PowRefused) as refused:
        pow.verify(tenant, challenge, solution, difficulty=difficulty)
    return refused.value.reason


def test_a_solved_challenge_passes_once(pow_):
    pow, _ = pow_
    challenge = pow.challenge("t1", 8)
    solution = solve(challenge)
    assert leading_zero_bits(hashlib.sha256(f"{challenge}:{solution}".encode()).digest()) >= 8
    pow.verify("t1", challenge, solution, difficulty=8)
    assert _refused(pow, challenge, solution) == "replayed"


def test_an_unsolved_challenge_is_refused(pow_):
    pow, _ = pow_
    challenge = pow.challenge("t1", 12)
    good = int(solve(challenge))
    wrong = next(
        str(n)
        for n in range(good + 1, good + 100_000)
        if leading_zero_bits(hashlib.sha256(f"{challenge}:{n}".encode()).digest()) < 12
    )
    assert _refused(pow, challenge, wrong, difficulty=12) == "unsolved"
    pow.verify("t1", challenge, str(good), difficulty=12)  # the refusal did not spend it


def test_forged_eased_foreign_and_expired_challenges_are_refused(pow_):
    pow, clock = pow_
    challenge = pow.challenge("t1", 8)
    solution = solve(challenge)
    version, nonce, _bits, expires, mac = challenge.split(".")
    eased = f"{version}.{nonce}.1.{expires}.{mac}"
    assert _refused(pow, eased, solve(eased)) == "forged"  # the MAC covers the difficulty
    assert _refused(pow, challenge, solution, tenant="t2") == "forged"
    assert _refused(pow, challenge, solution, difficulty=9) == "too_easy"  # the tenant raised it
    clock.advance(301)
    assert _refused(pow, challenge, solution) == "expired"


@pytest.mark.parametrize(
    ("challenge", "solution"),
    [
        ("", "1"),
        ("v1.a.b.c", "1"),
        ("v2.a.8.1.m", "1"),
        ("v1.a.x.1.m", "1"),
        ("v1.a.8.1.m", "-1"),
        ("v1.a.8.1.m", "9" * 21),
    ],
)
def test_malformed_answers_are_refused(pow_, challenge, solution):
    pow, _ = pow_
    assert _refused(pow, challenge, solution) == "malformed"
