"""Checking a WebAuthn assertion against a stored passkey (services.passkeys): the library
verifies type, challenge, origin, RP ID hash, user presence, user verification when required and
the signature; here, what it leaves to the relying party. The signature counter: when either the
stored or the new value is non-zero, the new one must be greater, else the assertion is refused
and the regression recorded on the passkey (a cloned authenticator?). The backup eligibility
flag is permanent; the backup state is kept. The update is a compare-and-set on the factor's
version: two assertions racing from one counter value cannot both pass."""

from __future__ import annotations

import logging
from typing import Any

from webauthn import verify_authentication_response
from webauthn.helpers.exceptions import WebAuthnException
from webauthn.helpers.structs import CredentialDeviceType

from keystead.errors import Conflict
from keystead.ports.records import UserFactor
from keystead.ports.stores import FactorStore
from keystead.services import passkey_credentials as pc
from keystead.services.factor_checks import MAX_RACES, FactorUse
from keystead.services.passkey_challenges import PasskeyRejected, RelyingParty
from keystead.types import Clock

log = logging.getLogger("keystead.passkeys")


def check_assertion(
    store: FactorStore,
    clock: Clock,
    factor: UserFactor,
    rp: RelyingParty,
    challenge: bytes,
    credential: dict[str, Any],
    *,
    require_uv: bool,
) -> FactorUse:
    try:
        verified = verify_authentication_response(
            credential=credential,
            expected_challenge=challenge,
            expected_rp_id=rp.id,
            expected_origin=rp.origin,
            credential_public_key=pc.public_key(factor),
            credential_current_sign_count=0,  # enforced below, against the stored value
            require_user_verification=require_uv,
        )
    except (WebAuthnException, KeyError, TypeError, ValueError) as exc:
        raise PasskeyRejected(f"assertion: {exc}") from exc
    eligible = verified.credential_device_type == CredentialDeviceType.MULTI_DEVICE
    for _ in range(MAX_RACES):
        current = store.factor_by_id(factor.tenant_id, factor.user_id, factor.id)
        if current is None:
            raise PasskeyRejected("the passkey was removed")
        if eligible != bool(current.data.get("backup_eligible")):
            raise PasskeyRejected("the backup eligibility flag changed")
        stored, new = pc.sign_count(current), verified.new_sign_count
        now = clock()
        if (new > 0 or stored > 0) and new <= stored:
            _record_regression(store, current, now)
            raise PasskeyRejected(f"signature counter {new} not above {stored}")
        data = {**current.data, "sign_count": new, "backed_up": verified.credential_backed_up}
        updated = store.update_factor(current, data=data, last_used_at=now)
        if updated is not None:
            return FactorUse(updated, pc.amr(updated, user_verified=verified.user_verified))
    raise Conflict("the passkey changed too often meanwhile; try again")


def _record_regression(store: FactorStore, factor: UserFactor, now: float) -> None:
    log.warning(
        "passkey %s of user %s: signature counter did not increase (cloned authenticator?)",
        factor.id,
        factor.user_id,
    )
    for _ in range(MAX_RACES):
        data = {
            **factor.data,
            "counter_regressions": int(factor.data.get("counter_regressions") or 0) + 1,
            "last_regression_at": now,
        }
        if store.update_factor(factor, data=data) is not None:
            return
        reread = store.factor_by_id(factor.tenant_id, factor.user_id, factor.id)
        if reread is None:
            return
        factor = reread
