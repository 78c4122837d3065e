"""Recovery codes: ten single-use codes for when the authenticator is lost (NIST SP 800-63B
"look-up secrets").

A code is ten characters from a 32-letter alphabet without 0/O and 1/I (50 random bits), shown
once as ``XXXXX-XXXXX``; input is read case-insensitively, with or without spaces and dashes.
Only an HMAC-SHA256 of each code is stored, under a key derived from the master secret (purpose
``recovery-code``) and bound to its tenant, user and set: a database dump alone neither shows
nor lets anyone test a code. A slow password hash would add nothing against guessing 50 random
bits and would cost a full hash for each of ten codes per attempt (docs/mfa.md).

Each set is one factor (kind ``recovery_codes``, always ``active``); generating a new set
replaces the old one in the same transaction. Using a code marks it used by a compare-and-set,
so two concurrent uses of one code cannot both succeed.
"""

from __future__ import annotations

import hmac
import secrets
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from keystead.errors import Conflict, NotFound
from keystead.ports.records import UserFactor
from keystead.services.factor_checks import (
    AMR,
    MAX_RACES,
    FactorService,
    FactorUse,
    Judge,
)

KIND = "recovery_codes"
NAME = "Recovery codes"
COUNT = 10
LENGTH = 10
ALPHABET = "23456789ABCDEFGHJKLMNPQRSTUVWXYZ"  # 32 letters: no 0, O, 1 or I
PURPOSE = "recovery-code"


@dataclass(frozen=True, slots=True)
class RecoveryCodes:
    """A new set: ``codes`` are shown to the user once and never stored."""

    factor: UserFactor
    codes: tuple[str, ...]


def remaining(factor: UserFactor) -> int:
    """How many codes of the set are still unused."""
    return sum(1 for entry in factor.data.get("codes", ()) if entry.get("used_at") is None)


def normalise(code: str) -> str | None:
    letters = "".join(code.split()).replace("-", "").upper()
    if len(letters) != LENGTH or any(c not in ALPHABET for c in letters):
        return None
    return letters


def _new_code() -> str:
    letters = "".join(secrets.choice(ALPHABET) for _ in range(LENGTH))
    return f"{letters[:5]}-{letters[5:]}"


class RecoveryCodeService(FactorService):
    def generate(self, tenant_id: str, user_id: str) -> RecoveryCodes:
        """A new set of ten codes; the user's previous set (used or not) stops working."""
        if self._directory.user_by_id(tenant_id, user_id) is None:
            raise NotFound("no such user")
        for _ in range(MAX_RACES):
            try:
                return self._replace_set(tenant_id, user_id)
            except Conflict:  # a concurrent generation inserted its set first: replace that one
                continue
        raise Conflict("the recovery codes changed too often meanwhile; try again")

    def _replace_set(self, tenant_id: str, user_id: str) -> RecoveryCodes:
        factor_id = str(uuid.uuid4())
        codes = tuple(_new_code() for _ in range(COUNT))
        macs = [self._mac(tenant_id, user_id, factor_id, normalise(code) or "") for code in codes]
        factor = UserFactor(
            id=factor_id,
            tenant_id=tenant_id,
            user_id=user_id,
            kind=KIND,
            name=NAME,
            status="active",
            created_at=self._clock(),
            data={
                "codes": [{"mac": mac, "used_at": None} for mac in macs],
                "failures": 0,
                "locked_until": None,
            },
        )
        self._store.add_factor(factor, replace="any")
        return RecoveryCodes(factor, codes)

    def current(self, tenant_id: str, user_id: str) -> UserFactor | None:
        return next((f for f in self._store.factors_of_user(tenant_id, user_id) if f.kind == KIND), None)

    def use(self, tenant_id: str, user_id: str, code: str) -> FactorUse:
        """Spend one code: ``InvalidCode`` (counted) if it is wrong or used, ``FactorLocked``
        after too many wrong codes, ``NotFound`` if the user has no recovery codes."""
        factor = self.current(tenant_id, user_id)
        if factor is None:
            raise NotFound("no recovery codes")
        used = self._attempts.attempt(tenant_id, user_id, factor.id, self._judge(code))
        return FactorUse(used, AMR[KIND])

    def _judge(self, code: str) -> Judge:
        letters = normalise(code)

        def judge(factor: UserFactor, now: float) -> dict[str, Any] | None:
            if letters is None:
                return None
            mac = self._mac(factor.tenant_id, factor.user_id, factor.id, letters)
            entries: Sequence[dict[str, Any]] = factor.data.get("codes", [])
            found = None
            for index, entry in enumerate(entries):
                # every entry is compared (no early exit), in constant time
                if hmac.compare_digest(str(entry.get("mac", "")), mac) and entry.get("used_at") is None:
                    found = index
            if found is None:
                return None
            spent = [dict(e, used_at=now) if i == found else dict(e) for i, e in enumerate(entries)]
            return {"data": {**factor.data, "codes": spent}}

        return judge

    def _mac(self, tenant_id: str, user_id: str, factor_id: str, letters: str) -> str:
        return self._ring.mac(PURPOSE, f"{tenant_id}/{user_id}/{factor_id}/{letters}")
