"""Password hashes of other systems (bcrypt, PBKDF2, argon2i) verified and upgraded to argon2id,
per-tenant argon2id parameters, and the checks an imported hash must pass."""

from __future__ import annotations

import base64
import hashlib
import os
from collections.abc import Iterator

import bcrypt
import pytest
from argon2 import PasswordHasher, Type, extract_parameters

from keystead.config import PasswordSettings
from keystead.services.password_formats import HashFormatError, canonical, scheme_of
from keystead.services.passwords import HashParams, Passwords

FAST = HashParams(time_cost=1, memory_kib=8192, parallelism=1)
OTHER = HashParams(time_cost=2, memory_kib=9216, parallelism=1)
PASSWORD = "correct horse battery"


@pytest.fixture(scope="module")
def passwords() -> Iterator[Passwords]:
    p = Passwords(PasswordSettings(workers=1, memory_kib=8192, time_cost=1))
    yield p
    p.close()


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode().rstrip("=")


def pbkdf2(digest: str, password: str = PASSWORD, iterations: int = 1000) -> str:
    salt = os.urandom(16)
    key = hashlib.pbkdf2_hmac(digest, password.encode(), salt, iterations, 64)
    return f"$pbkdf2-{digest}$i={iterations},l=64${b64(salt)}${b64(key)}"


def bcrypt_hash(prefix: str = "2b", password: str = PASSWORD) -> str:
    made = bcrypt.hashpw(password.encode(), bcrypt.gensalt(4)).decode()
    return f"${prefix}${made[4:]}"


def is_argon2id(stored: str | None, params: HashParams = FAST) -> bool:
    assert stored is not None
    p = extract_parameters(stored)
    return p.type is Type.ID and (p.time_cost, p.memory_cost, p.parallelism) == (
        params.time_cost,
        params.memory_kib,
        params.parallelism,
    )


FOREIGN = {
    "bcrypt-2a": lambda: bcrypt_hash("2a"),
    "bcrypt-2b": lambda: bcrypt_hash("2b"),
    "bcrypt-2y": lambda: bcrypt_hash("2y"),
    "pbkdf2-sha256": lambda: pbkdf2("sha256"),
    "pbkdf2-sha512": lambda: pbkdf2("sha512"),
    "argon2i": lambda: PasswordHasher(time_cost=1, memory_cost=8192, type=Type.I).hash(PASSWORD),
}


@pytest.mark.parametrize("kind", sorted(FOREIGN))
def test_foreign_hash_verifies_and_is_upgraded_to_argon2id(passwords: Passwords, kind: str) -> None:
    stored = canonical(FOREIGN[kind]())
    result = passwords.verify(stored, PASSWORD)
    assert result.ok
    assert is_argon2id(result.new_hash)
    assert passwords.verify(result.new_hash, PASSWORD) == passwords.verify(result.new_hash, PASSWORD)
    assert passwords.verify(result.new_hash, PASSWORD).new_hash is None


@pytest.mark.parametrize("kind", sorted(FOREIGN))
def test_foreign_hash_refuses_a_wrong_password(passwords: Passwords, kind: str) -> None:
    result = passwords.verify(canonical(FOREIGN[kind]()), PASSWORD + "!")
    assert not result.ok
    assert result.new_hash is None


def test_bcrypt_compares_the_first_72_bytes_like_every_bcrypt(passwords: Passwords) -> None:
    long = "é" * 50  # 100 bytes
    made = bcrypt.hashpw(long.encode()[:72], bcrypt.gensalt(4)).decode()
    assert passwords.verify(made, long).ok
    assert not passwords.verify(made, "é" * 30).ok


def test_tenant_params_hash_and_judge_rehash(passwords: Passwords) -> None:
    stored = passwords.hash(PASSWORD, OTHER)
    assert is_argon2id(stored, OTHER)
    assert passwords.verify(stored, PASSWORD, OTHER) == passwords.verify(stored, PASSWORD, OTHER)
    assert passwords.verify(stored, PASSWORD, OTHER).new_hash is None
    # judged against the server's defaults, the same hash is outdated
    downgraded = passwords.verify(stored, PASSWORD)
    assert downgraded.ok and is_argon2id(downgraded.new_hash, FAST)
    upgraded = passwords.verify(passwords.hash(PASSWORD), PASSWORD, OTHER)
    assert upgraded.ok and is_argon2id(upgraded.new_hash, OTHER)


@pytest.mark.parametrize("stored", [None, "", "plain text", "$md5$abc", "$2b$04$short", "$pbkdf2-sha1$1$a$b"])
def test_absent_or_unknown_hash_fails_without_error(passwords: Passwords, stored: str | None) -> None:
    assert (
        passwords.verify(stored, PASSWORD) == passwords.verify(None, "x") == passwords.verify(None, PASSWORD)
    )
    assert not passwords.verify(stored, PASSWORD).ok


def test_passlib_pbkdf2_form_is_converted_to_the_canonical_one(passwords: Passwords) -> None:
    salt = os.urandom(12)
    key = hashlib.pbkdf2_hmac("sha256", PASSWORD.encode(), salt, 2000, 32)
    ab64 = lambda b: b64(b).replace("+", ".")  # noqa: E731
    stored = canonical(f"$pbkdf2-sha256$2000${ab64(salt)}${ab64(key)}")
    assert stored == f"$pbkdf2-sha256$i=2000,l=32${b64(salt)}${b64(key)}"
    assert passwords.verify(stored, PASSWORD).ok


@pytest.mark.parametrize(
    ("stored", "reason"),
    [
        ("5f4dcc3b5aa765d61d8327deb882cf99", "unknown hash format"),
        ("$argon2id$v=19$m=8192,t=1,p=1$c2FsdA", "malformed argon2"),
        ("$argon2id$v=19$m=4194304,t=1,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNoaGFzaA", "memory cost"),
        ("$argon2id$v=19$m=8192,t=1000,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNoaGFzaA", "time cost"),
        ("$argon2d$v=19$m=8192,t=1,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNoaGFzaA", "argon2d"),
        ("$2b$04$tooshort", "malformed bcrypt"),
        ("$2b$31$" + "a" * 53, "bcrypt cost"),
        ("$2x$04$" + "a" * 53, "unknown hash format"),
        ("$pbkdf2-sha256$i=1000,l=64$c2FsdA$%%%", "malformed PBKDF2"),
        ("$pbkdf2-sha256$i=1000,l=16$c2FsdA$" + b64(b"k" * 32), "l= does not match"),
        ("$pbkdf2-sha256$i=0,l=32$c2FsdA$" + b64(b"k" * 32), "iterations"),
        ("$pbkdf2-sha256$i=99999999,l=32$c2FsdA$" + b64(b"k" * 32), "iterations"),
        ("$pbkdf2-sha256$i=1000,l=8$c2FsdA$" + b64(b"k" * 8), "16 to 128 bytes"),
        ("$pbkdf2-md5$i=1000,l=32$c2FsdA$" + b64(b"k" * 32), "malformed PBKDF2"),
        ("$pbkdf2-sha256$i=1000,l=32$c2FsdA$" + b64(b"k" * 32) + "ab", "not valid base64"),
    ],
)
def test_unusable_hashes_are_refused_with_a_reason(stored: str, reason: str) -> None:
    with pytest.raises(HashFormatError, match=reason) as caught:
        canonical(stored)
    assert stored not in str(caught.value)


def test_scheme_is_told_by_prefix() -> None:
    assert scheme_of("$argon2id$x") == "argon2"
    assert scheme_of("$2y$10$x") == "bcrypt"
    assert scheme_of("$pbkdf2-sha512$x") == "pbkdf2"
    assert scheme_of("{SSHA}x") is None
