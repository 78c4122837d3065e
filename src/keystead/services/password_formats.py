"""Password hashes made elsewhere: recognised, checked at import, verified at login.

Keystead hashes with argon2id. Imported users may bring hashes of other schemes, kept as they
are until their next successful login upgrades them to argon2id. The stored strings are:

- argon2 (PHC): ``$argon2id$v=19$m=..,t=..,p=..$salt$hash`` and ``$argon2i$...``;
- bcrypt: ``$2a$``, ``$2b$``, ``$2y$`` + cost + 53 characters (Auth0, most web frameworks);
- PBKDF2 (PHC style): ``$pbkdf2-sha256$i=27500,l=64$<salt>$<hash>`` and ``$pbkdf2-sha512$...``,
  salt and hash in standard base64 without padding. Keycloak's credential JSON and passlib's
  ``$pbkdf2-sha256$29000$..`` are converted to this form at import.

Costs are bounded at import: a hash with absurd parameters would make each login of that user a
denial of service.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import re
from dataclasses import dataclass
from typing import Literal

import bcrypt
from argon2 import Type, extract_parameters
from argon2.exceptions import InvalidHashError

Scheme = Literal["argon2", "bcrypt", "pbkdf2"]

MAX_ARGON2_MEMORY_KIB = 1024 * 1024
MAX_ARGON2_TIME_COST = 64
MAX_ARGON2_PARALLELISM = 64
BCRYPT_COSTS = range(4, 18)
PBKDF2_ITERATIONS = range(1, 10_000_001)
PBKDF2_KEY_BYTES = range(16, 129)
MAX_SALT_BYTES = 1024
BCRYPT_MAX_BYTES = 72

_BCRYPT = re.compile(r"\$2[aby]\$(\d\d)\$[./A-Za-z0-9]{53}")
_PBKDF2 = re.compile(
    r"\$pbkdf2-(sha256|sha512)\$(?:i=(\d{1,9})(?:,l=(\d{1,4}))?|(\d{1,9}))"
    r"\$([A-Za-z0-9+/.]+={0,2})\$([A-Za-z0-9+/.]+={0,2})"
)
_ARGON2_TYPES = {Type.ID: "argon2id", Type.I: "argon2i"}


class HashFormatError(ValueError):
    """A hash Keystead cannot verify; the message says why (it never repeats the hash)."""


@dataclass(frozen=True, slots=True)
class Pbkdf2:
    digest: Literal["sha256", "sha512"]
    iterations: int
    salt: bytes
    key: bytes

    def encode(self) -> str:
        return f"$pbkdf2-{self.digest}$i={self.iterations},l={len(self.key)}${b64(self.salt)}${b64(self.key)}"

    def matches(self, password: str) -> bool:
        derived = hashlib.pbkdf2_hmac(
            self.digest, password.encode("utf-8"), self.salt, self.iterations, len(self.key)
        )
        return hmac.compare_digest(derived, self.key)


def scheme_of(stored: str) -> Scheme | None:
    """The scheme of a stored hash by its prefix, without checking the rest."""
    if stored.startswith("$argon2"):
        return "argon2"
    if stored.startswith(("$2a$", "$2b$", "$2y$")):
        return "bcrypt"
    if stored.startswith("$pbkdf2-"):
        return "pbkdf2"
    return None


def canonical(stored: str) -> str:
    """Check an imported hash and return the string to store; :class:`HashFormatError` if unusable."""
    scheme = scheme_of(stored)
    if scheme == "argon2":
        return _checked_argon2(stored)
    if scheme == "bcrypt":
        return _checked_bcrypt(stored)
    if scheme == "pbkdf2":
        return parse_pbkdf2(stored).encode()
    raise HashFormatError("unknown hash format: argon2 (PHC), bcrypt ($2a$/$2b$/$2y$) or $pbkdf2-sha256$/512")


def matches_foreign(stored: str, password: str) -> bool:
    """Verify a bcrypt or PBKDF2 hash (argon2 is verified by :class:`Passwords` itself)."""
    scheme = scheme_of(stored)
    try:
        if scheme == "bcrypt":
            # bcrypt only ever used the first 72 bytes; the library refuses longer input
            secret = password.encode("utf-8")[:BCRYPT_MAX_BYTES]
            return bcrypt.checkpw(secret, stored.encode("ascii"))
        if scheme == "pbkdf2":
            return parse_pbkdf2(stored).matches(password)
    except (ValueError, UnicodeEncodeError):
        return False
    return False


def parse_pbkdf2(stored: str) -> Pbkdf2:
    match = _PBKDF2.fullmatch(stored)
    if match is None:
        raise HashFormatError("malformed PBKDF2 hash: $pbkdf2-sha256$i=ITERATIONS,l=LENGTH$SALT$HASH")
    digest, iterations, length, bare_rounds, salt, key = match.groups()
    result = Pbkdf2(
        digest="sha256" if digest == "sha256" else "sha512",
        iterations=int(iterations or bare_rounds),
        salt=unb64(salt, "salt"),
        key=unb64(key, "hash"),
    )
    if length is not None and int(length) != len(result.key):
        raise HashFormatError("PBKDF2 l= does not match the length of the hash")
    return checked_pbkdf2(result)


def checked_pbkdf2(value: Pbkdf2) -> Pbkdf2:
    if value.iterations not in PBKDF2_ITERATIONS:
        raise HashFormatError(f"PBKDF2 iterations must be 1 to {PBKDF2_ITERATIONS[-1]}")
    if len(value.key) not in PBKDF2_KEY_BYTES:
        raise HashFormatError("PBKDF2 hash must be 16 to 128 bytes")
    if not 0 < len(value.salt) <= MAX_SALT_BYTES:
        raise HashFormatError(f"PBKDF2 salt must be 1 to {MAX_SALT_BYTES} bytes")
    return value


def argon2_phc(
    kind: str, version: int, memory_kib: int, time_cost: int, parallelism: int, salt: bytes, key: bytes
) -> str:
    """Build an argon2 PHC string from its parts (Keycloak stores them apart)."""
    encoded = f"${kind}$v={version}$m={memory_kib},t={time_cost},p={parallelism}${b64(salt)}${b64(key)}"
    return _checked_argon2(encoded)


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii").rstrip("=")


def unb64(text: str, what: str) -> bytes:
    """Standard base64, with or without padding; passlib's '.' for '+' is accepted."""
    text = text.replace(".", "+").rstrip("=")
    try:
        return base64.b64decode(text + "=" * (-len(text) % 4), validate=True)
    except (binascii.Error, ValueError):
        raise HashFormatError(f"{what} is not valid base64") from None


def _checked_argon2(stored: str) -> str:
    try:
        params = extract_parameters(stored)
    except (InvalidHashError, ValueError):
        raise HashFormatError("malformed argon2 hash (PHC string format expected)") from None
    if params.type not in _ARGON2_TYPES:
        raise HashFormatError("argon2d is not accepted for passwords: argon2id or argon2i")
    if params.memory_cost > MAX_ARGON2_MEMORY_KIB:
        raise HashFormatError(f"argon2 memory cost above {MAX_ARGON2_MEMORY_KIB} KiB")
    if params.time_cost > MAX_ARGON2_TIME_COST or params.parallelism > MAX_ARGON2_PARALLELISM:
        raise HashFormatError("argon2 time cost or parallelism too high")
    salt_and_key = stored.rsplit("$", 2)[1:]
    for part, what in zip(salt_and_key, ("salt", "hash"), strict=True):
        unb64(part, what)
    return stored


def _checked_bcrypt(stored: str) -> str:
    match = _BCRYPT.fullmatch(stored)
    if match is None:
        raise HashFormatError("malformed bcrypt hash: $2b$COST$ followed by 53 characters")
    if int(match.group(1)) not in BCRYPT_COSTS:
        raise HashFormatError(f"bcrypt cost must be {BCRYPT_COSTS[0]} to {BCRYPT_COSTS[-1]}")
    return stored
