"""TOTP second factors (RFC 6238): six digits, 30-second steps, HMAC-SHA1 (what every
authenticator app reads from an ``otpauth://`` URI).

Enrolment stores a *pending* factor with a fresh 160-bit seed (RFC 4226 section 4 recommends
160 bits), encrypted with AES-GCM under the key ring with its tenant, user and factor id as
associated data (a ciphertext copied onto another row does not decrypt). The seed is shown
once, as an ``otpauth://`` URI, a QR code (SVG) and a grouped manual key; a valid code
activates the factor. A code is accepted one step either side of now (clock drift), and only
for a step later than the last one used, so a code (or an older one) never works twice.
"""

from __future__ import annotations

import base64
import hmac
import io
import secrets
import uuid
from contextlib import suppress
from dataclasses import dataclass, replace
from typing import Any

import pyotp
import segno

from keystead.errors import InvalidInput, NotFound
from keystead.ports.records import UserFactor
from keystead.services.factor_checks import (
    AMR,
    FactorLocked,
    FactorService,
    FactorUse,
    InvalidCode,
    Judge,
    locked_for,
)

KIND = "totp"
DIGITS = 6
PERIOD = 30
WINDOW = 1  # steps accepted either side of the current one
SEED_BYTES = 20  # 160 bits
DEFAULT_NAME = "Authenticator app"
MAX_NAME = 100
MAX_PER_USER = 10  # authenticators, pending ones included


@dataclass(frozen=True, slots=True)
class TotpEnrolment:
    """What the user sees once, to load the seed into an app: never stored in clear."""

    factor: UserFactor
    uri: str  # otpauth://totp/...
    manual_key: str  # the base32 seed in groups of four
    qr_svg: str  # an SVG document: no script, no style; serve it as image/svg+xml

    @property
    def qr_data_uri(self) -> str:
        """The QR code for ``<img src>`` (a strict CSP allows ``img-src data:``, not inline SVG
        script or style)."""
        return "data:image/svg+xml;base64," + base64.b64encode(self.qr_svg.encode()).decode("ascii")


def secret_context(factor: UserFactor) -> str:
    """AES-GCM associated data: the seed belongs to this tenant, user and factor only."""
    return f"keystead/factor/{factor.tenant_id}/{factor.user_id}/{factor.id}"


def qr_svg(uri: str) -> str:
    out = io.BytesIO()
    segno.make(uri, error="m").save(
        out, kind="svg", xmldecl=False, svgclass=None, lineclass=None, scale=4, border=4,
        title="TOTP QR code", nl=False,
    )  # fmt: skip
    return out.getvalue().decode("utf-8")


def normalise_code(code: str) -> str | None:
    digits = code.replace(" ", "").replace("-", "")
    return digits if len(digits) == DIGITS and digits.isascii() and digits.isdigit() else None


class Totp(FactorService):
    def enrol(self, tenant_id: str, user_id: str, *, name: str | None = None) -> TotpEnrolment:
        """A pending TOTP factor with a new seed (an unfinished enrolment of the same name is
        replaced); ``InvalidInput`` (field ``name``) if an active one has that name."""
        tenant = self._directory.tenant_by_id(tenant_id)
        user = self._directory.user_by_id(tenant_id, user_id)
        if tenant is None or user is None:
            raise NotFound("no such user")
        label = self._name(tenant_id, user_id, name)
        seed = base64.b32encode(secrets.token_bytes(SEED_BYTES)).decode("ascii")
        factor = UserFactor(
            id=str(uuid.uuid4()),
            tenant_id=tenant_id,
            user_id=user_id,
            kind=KIND,
            name=label,
            status="pending",
            created_at=self._clock(),
            data={"last_step": None, "failures": 0, "locked_until": None},
        )
        factor = replace(factor, secret=self._encrypt(factor, seed))
        self._store.add_factor(factor, replace="pending")
        return _enrolment(factor, seed, user.username, tenant.display_name)

    def pending_enrolment(self, tenant_id: str, user_id: str, factor_id: str) -> TotpEnrolment:
        """An unfinished enrolment shown again (the sign-in flow's page, its QR image):
        ``NotFound`` unless ``factor_id`` is a pending TOTP factor of the user."""
        tenant = self._directory.tenant_by_id(tenant_id)
        user = self._directory.user_by_id(tenant_id, user_id)
        factor = self._store.factor_by_id(tenant_id, user_id, factor_id)
        if tenant is None or user is None or factor is None or factor.kind != KIND:
            raise NotFound("no such TOTP enrolment")
        if factor.status != "pending" or factor.secret is None:
            raise NotFound("no such TOTP enrolment")
        seed = self._ring.decrypt(factor.secret, context=secret_context(factor)).decode("ascii")
        return _enrolment(factor, seed, user.username, tenant.display_name)

    def activate(self, tenant_id: str, user_id: str, factor_id: str, code: str) -> FactorUse:
        """Confirm a pending enrolment with a code from the app; the code is then used."""
        factor = self._store.factor_by_id(tenant_id, user_id, factor_id)
        if factor is None or factor.kind != KIND:
            raise NotFound("no such TOTP factor")
        if factor.status != "pending":
            raise InvalidInput("factor_id", "this factor is already active")
        judge = self._judge(code, extra={"status": "active"})
        return FactorUse(self._attempts.attempt(tenant_id, user_id, factor_id, judge), AMR[KIND])

    def verify(self, tenant_id: str, user_id: str, code: str, *, factor_id: str | None = None) -> FactorUse:
        """Check a code against the user's active TOTP factor ``factor_id``, or any of them.
        ``InvalidCode`` (the failure counted) or ``FactorLocked``; ``NotFound`` with none."""
        factors = [
            f
            for f in self._store.factors_of_user(tenant_id, user_id)
            if f.kind == KIND and f.status == "active" and factor_id in (None, f.id)
        ]
        if not factors:
            raise NotFound("no active TOTP factor")
        now = self._clock()
        open_ = [f for f in factors if locked_for(f, now) == 0]
        if not open_:
            raise FactorLocked(min(locked_for(f, now) for f in factors))
        judge = self._judge(code)
        chosen = next((f for f in open_ if judge(f, now) is not None), None)
        if chosen is not None:  # the factor whose code it is consumes it
            return FactorUse(self._attempts.attempt(tenant_id, user_id, chosen.id, judge), AMR[KIND])
        for factor in open_:  # a wrong code counts against every factor it was tried on
            with suppress(InvalidCode):
                return FactorUse(self._attempts.attempt(tenant_id, user_id, factor.id, judge), AMR[KIND])
        raise InvalidCode()

    def _judge(self, code: str, extra: dict[str, Any] | None = None) -> Judge:
        digits = normalise_code(code)

        def judge(factor: UserFactor, now: float) -> dict[str, Any] | None:
            if digits is None or factor.secret is None:
                return None
            seed = self._ring.decrypt(factor.secret, context=secret_context(factor)).decode("ascii")
            totp = pyotp.TOTP(seed, digits=DIGITS, interval=PERIOD)
            current = int(now // PERIOD)
            matched = None
            for step in range(current - WINDOW, current + WINDOW + 1):
                # every candidate is compared (no early exit), in constant time
                if hmac.compare_digest(totp.generate_otp(step), digits):
                    matched = step
            last = factor.data.get("last_step")
            if matched is None or (isinstance(last, int) and matched <= last):
                return None
            return {"data": {**factor.data, "last_step": matched}, **(extra or {})}

        return judge

    def _encrypt(self, factor: UserFactor, seed: str) -> bytes:
        return self._ring.encrypt(seed.encode("ascii"), context=secret_context(factor))

    def _name(self, tenant_id: str, user_id: str, name: str | None) -> str:
        totps = [f for f in self._store.factors_of_user(tenant_id, user_id) if f.kind == KIND]
        taken = {f.name for f in totps if f.status == "active"}
        label = _label(name, taken)
        if label in taken:
            raise InvalidInput("name", "another authenticator has this name")
        if sum(1 for f in totps if f.status == "active" or f.name != label) >= MAX_PER_USER:
            raise InvalidInput("name", f"a user has at most {MAX_PER_USER} authenticators; remove one first")
        return label


def _label(name: str | None, taken: set[str]) -> str:
    """The name given, its spaces collapsed, or the first free default name."""
    if name is None:
        label, n = DEFAULT_NAME, 1
        while label in taken:
            n += 1
            label = f"{DEFAULT_NAME} {n}"
        return label
    label = " ".join(name.split())
    if not label or len(label) > MAX_NAME or not label.isprintable():
        raise InvalidInput("name", f"a name of 1 to {MAX_NAME} printable characters")
    return label


def _enrolment(factor: UserFactor, seed: str, username: str, issuer: str) -> TotpEnrolment:
    uri = pyotp.TOTP(seed, digits=DIGITS, interval=PERIOD).provisioning_uri(name=username, issuer_name=issuer)
    manual = " ".join(seed[i : i + 4] for i in range(0, len(seed), 4))
    return TotpEnrolment(factor, uri, manual, qr_svg(uri))
