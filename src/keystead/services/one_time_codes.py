"""Short-lived, single-use, attempt-limited codes and links sent by email or SMS.

A *challenge* is one row (ports/one_time_codes.py) holding, as HMACs of the key ring (purpose
``one-time-code``), a 6-digit code and/or a link secret, the address it went to and the sign-in
(interaction) it belongs to. Each MAC binds its tenant, the challenge id and purpose, so a value
copied to another row matches nothing. A code is checked against its challenge only (the id
travels with the form), at most ``max_attempts`` times; a link token is ``{id}.{secret}``
(256 random bits, no attempt limit needed). Using either spends the challenge: a compare-and-set
on ``version`` lets exactly one of two concurrent uses win. Every refusal (unknown, expired,
used, wrong purpose or sign-in, wrong code) is one :class:`CodeRefused`.

Time comes from the injected clock; expired rows of the tenant are purged when a new one is made.
"""

from __future__ import annotations

import hmac
import re
import secrets
import uuid
from dataclasses import dataclass

from keystead.config import OneTimeCodeSettings
from keystead.errors import Conflict, KeysteadError
from keystead.ports.one_time_codes import OneTimeCode, OneTimeCodeStore
from keystead.services.secrets import KeyRing
from keystead.types import Clock

SECOND_FACTOR = "email_otp"
SIGN_IN = "sign_in"
UNLOCK = "unlock"
VERIFY_EMAIL = "verify_email"
SMS_OTP = "sms_otp"
PASSWORD_RESET = "password_reset"
PURPOSES = frozenset({SECOND_FACTOR, SIGN_IN, UNLOCK, VERIFY_EMAIL, SMS_OTP, PASSWORD_RESET})
MAC_PURPOSE = "one-time-code"
CODE_DIGITS = 6
#: Purged rows are kept this long past expiry (a late click still finds "expired", not "unknown").
PURGE_GRACE = 86400.0
MAX_RACES = 16
_ID = re.compile(r"^[0-9a-f]{32}$")


class CodeRefused(KeysteadError):
    """The code or link is not valid (unknown, expired, used, wrong, or too many attempts)."""

    def __init__(self, *, spent: bool = False) -> None:
        super().__init__("the code is not valid")
        #: The challenge accepts no more attempts (ask for a new code).
        self.spent = spent


@dataclass(frozen=True, slots=True)
class Issued:
    id: str
    code: str | None
    link_token: str | None
    expires_at: float


class OneTimeCodes:
    def __init__(
        self, store: OneTimeCodeStore, ring: KeyRing, clock: Clock, settings: OneTimeCodeSettings
    ) -> None:
        self._store = store
        self._ring = ring
        self._clock = clock
        self.settings = settings

    def issue(
        self,
        tenant_id: str,
        user_id: str | None,
        purpose: str,
        *,
        code: bool = True,
        link: bool = False,
        address: str | None = None,
        binding: str | None = None,
        ttl: float | None = None,
    ) -> Issued:
        """A new challenge; the code and link token are returned once, never stored."""
        if purpose not in PURPOSES:
            raise ValueError(f"unknown purpose {purpose!r}")
        now = self._clock()
        code_id = uuid.uuid4().hex
        value = f"{secrets.randbelow(10**CODE_DIGITS):0{CODE_DIGITS}d}" if code else None
        secret = secrets.token_urlsafe(32) if link else None
        lifetime = ttl if ttl is not None else self.settings.code_ttl
        self._store.purge_one_time_codes(tenant_id, now - PURGE_GRACE)
        self._store.add_one_time_code(
            OneTimeCode(
                id=code_id,
                tenant_id=tenant_id,
                user_id=user_id,
                purpose=purpose,
                code_mac=self._mac(tenant_id, code_id, purpose, "code", value) if value else None,
                link_mac=self._mac(tenant_id, code_id, purpose, "link", secret) if secret else None,
                address_mac=self.address_mac(tenant_id, address) if address else None,
                binding_mac=self._binding(tenant_id, binding) if binding else None,
                attempts=0,
                created_at=now,
                expires_at=now + lifetime,
            )
        )
        token = f"{code_id}.{secret}" if secret else None
        return Issued(code_id, value, token, now + lifetime)

    def check_code(
        self, tenant_id: str, code_id: str, code: str, *, purpose: str, binding: str | None = None
    ) -> OneTimeCode:
        """Spend the challenge if ``code`` is its code; else count the attempt and refuse."""
        entered = re.sub(r"[\s-]", "", code)[:32]
        for _ in range(MAX_RACES):
            row = self._live(tenant_id, code_id, purpose, binding)
            if row.attempts >= self.settings.max_attempts:
                raise CodeRefused(spent=True)
            expected = self._mac(tenant_id, row.id, purpose, "code", entered)
            if row.code_mac is None or not hmac.compare_digest(expected, row.code_mac):
                attempts = row.attempts + 1
                if self._store.update_one_time_code(row, attempts=attempts) is None:
                    continue
                raise CodeRefused(spent=attempts >= self.settings.max_attempts)
            used = self._store.update_one_time_code(row, used_at=self._clock())
            if used is not None:
                return used
        raise Conflict("the code changed too often meanwhile; try again")

    def peek_link(self, tenant_id: str, token: str, *, purpose: str) -> OneTimeCode:
        """The live challenge whose link token is ``token``, spending nothing (a link whose use
        depends on a later check, such as a new password passing the policy)."""
        code_id, _, secret = token.partition(".")
        return self._linked(self._live(tenant_id, code_id, purpose, None), secret)

    def use_link(
        self, tenant_id: str, token: str, *, purpose: str, binding: str | None = None
    ) -> OneTimeCode:
        """Spend the challenge whose link token is ``token``."""
        code_id, _, secret = token.partition(".")
        for _ in range(MAX_RACES):
            row = self._linked(self._live(tenant_id, code_id, purpose, binding), secret)
            used = self._store.update_one_time_code(row, used_at=self._clock())
            if used is not None:
                return used
        raise Conflict("the link changed too often meanwhile; try again")

    def _linked(self, row: OneTimeCode, secret: str) -> OneTimeCode:
        expected = self._mac(row.tenant_id, row.id, row.purpose, "link", secret[:128])
        if row.link_mac is None or not secret or not hmac.compare_digest(expected, row.link_mac):
            raise CodeRefused()
        return row

    def address_mac(self, tenant_id: str, address: str) -> str:
        return self._ring.mac(MAC_PURPOSE, f"{tenant_id}/address/{address.strip().casefold()}")

    def _live(self, tenant_id: str, code_id: str, purpose: str, binding: str | None) -> OneTimeCode:
        row = self._store.one_time_code(tenant_id, code_id) if _ID.match(code_id) else None
        if row is None or row.purpose != purpose or row.used_at is not None:
            raise CodeRefused()
        if row.expires_at <= self._clock():
            raise CodeRefused()
        if row.binding_mac is not None and (
            binding is None or not hmac.compare_digest(self._binding(tenant_id, binding), row.binding_mac)
        ):
            raise CodeRefused()
        return row

    def _mac(self, tenant_id: str, code_id: str, purpose: str, kind: str, value: str) -> str:
        return self._ring.mac(MAC_PURPOSE, f"{tenant_id}/{code_id}/{purpose}/{kind}/{value}")

    def _binding(self, tenant_id: str, binding: str) -> str:
        return self._ring.mac(MAC_PURPOSE, f"{tenant_id}/binding/{binding}")
