"""The built-in bot check: a proof of work the browser solves, no third party involved.

A challenge is ``v1.<nonce>.<difficulty>.<expires>.<mac>``: a random 128-bit nonce, the number
of leading zero bits wanted, the expiry (unix seconds), and an HMAC-SHA256 of the rest with the
key ring (purpose ``bot-pow``) bound to the tenant, so that nobody can mint or ease one and a
challenge of one tenant is worthless at another. The browser (a same-origin Web Worker,
``static/pow-worker.js``) finds a counter ``n`` such that ``SHA-256(challenge + ":" + n)`` starts
with ``difficulty`` zero bits, and posts both. The server checks the MAC, the tenant, the expiry,
that the difficulty is at least the tenant's current one, the hash (one SHA-256), and that the
challenge was not used before: its nonce is spent in the counters port (in process, or Redis
when the nodes share one), so a solved challenge works once.
"""

from __future__ import annotations

import hashlib
import math
import secrets
from dataclasses import dataclass

from keystead.ports.counters import Counters
from keystead.services.secrets import KeyRing
from keystead.types import Clock

PURPOSE = "bot-pow"
VERSION = "v1"
MAX_SOLUTION_LENGTH = 20


@dataclass(frozen=True, slots=True)
class PowRefused(Exception):
    reason: str  # malformed, forged, expired, too_easy, unsolved, replayed

    def __str__(self) -> str:
        return f"proof of work refused: {self.reason}"


class ProofOfWork:
    def __init__(self, ring: KeyRing, counters: Counters, clock: Clock, ttl: int = 300) -> None:
        self._ring = ring
        self._counters = counters
        self._clock = clock
        self._ttl = ttl

    def challenge(self, tenant_id: str, difficulty: int) -> str:
        nonce = secrets.token_hex(16)
        expires = math.ceil(self._clock() + self._ttl)
        body = f"{VERSION}.{nonce}.{difficulty}.{expires}"
        return f"{body}.{self._mac(tenant_id, body)}"

    def verify(self, tenant_id: str, challenge: str, solution: str, *, difficulty: int) -> None:
        """Accept a solved, genuine, live, hard enough, unused challenge; else :class:`PowRefused`."""
        parts = challenge.split(".")
        if (
            len(parts) != 5
            or parts[0] != VERSION
            or not (parts[2].isdigit() and parts[3].isdigit() and len(parts[2]) <= 2 and len(parts[3]) <= 12)
            or not solution.isdigit()
            or len(solution) > MAX_SOLUTION_LENGTH
        ):
            raise PowRefused("malformed")
        body, mac = challenge.rsplit(".", 1)
        if not self._ring.mac_matches(PURPOSE, f"{tenant_id}|{body}", mac):
            raise PowRefused("forged")
        _, nonce, bits, expires = parts[:4]
        if int(expires) <= self._clock():
            raise PowRefused("expired")
        if int(bits) < difficulty:
            raise PowRefused("too_easy")
        if leading_zero_bits(hashlib.sha256(f"{challenge}:{solution}".encode()).digest()) < int(bits):
            raise PowRefused("unsolved")
        # spent once, for as long as it could still be used
        if self._counters.hit(f"pow:{nonce}", self._ttl + 1).value != 1:
            raise PowRefused("replayed")

    def _mac(self, tenant_id: str, body: str) -> str:
        return self._ring.mac(PURPOSE, f"{tenant_id}|{body}")


def leading_zero_bits(digest: bytes) -> int:
    bits = 0
    for byte in digest:
        if byte:
            return bits + 8 - byte.bit_length()
        bits += 8
    return bits


def solve(challenge: str) -> str:
    """Find a solution (tests, and a reference for the JavaScript worker)."""
    bits = int(challenge.split(".")[2])
    n = 0
    while leading_zero_bits(hashlib.sha256(f"{challenge}:{n}".encode()).digest()) < bits:
        n += 1
    return str(n)
