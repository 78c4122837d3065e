"""Passkeys (WebAuthn, library ``webauthn``): register several per user, sign in with one as a
second factor or without a password, name and list them.

Ceremonies: ``*_options`` issue a challenge (services.passkey_challenges: stored server-side,
single use, five minutes) and return the options JSON for ``navigator.credentials``; the answer
takes that challenge first, then the library checks type, challenge, origin, RP ID hash, user
presence (and user verification when required) and the signature. This module then enforces what
the library leaves to the relying party: the signature counter (a counter that does not increase,
when either side is non-zero, is refused and recorded on the passkey), the permanent backup
eligibility flag, and which user's credential it is. Updates are compare-and-set on the factor's
version, so two assertions racing from one counter value cannot both pass.

Every refusal is ``PasskeyRejected`` (its ``reason`` for logs and tests); the pages answer all
alike, so nothing tells an unknown credential from a wrong signature.
"""

from __future__ import annotations

import secrets
import uuid
from collections.abc import Mapping
from contextlib import suppress
from dataclasses import dataclass
from typing import Any

from webauthn import (
    generate_authentication_options,
    generate_registration_options,
    options_to_json,
    verify_registration_response,
)
from webauthn.helpers.exceptions import WebAuthnException
from webauthn.helpers.structs import (
    AttestationConveyancePreference,
    AuthenticatorSelectionCriteria,
    CredentialDeviceType,
    ResidentKeyRequirement,
    UserVerificationRequirement,
)

from keystead.errors import Conflict, InvalidInput, NotFound
from keystead.ports.records import User, UserFactor
from keystead.ports.stores import FactorStore, PasskeyStore
from keystead.services import passkey_credentials as pc
from keystead.services.factor_checks import Directory, FactorUse
from keystead.services.passkey_assertions import check_assertion
from keystead.services.passkey_challenges import (
    PASSWORDLESS,
    REGISTER,
    SECOND_FACTOR,
    TIMEOUT_MS,
    Challenges,
    PasskeyRejected,
    RelyingParty,
    b64url,
    from_b64url,
    parse_credential,
)
from keystead.services.passkey_management import PasskeyManagement
from keystead.services.secrets import KeyRing
from keystead.types import Clock

USER_HANDLE_BYTES = 32


@dataclass(frozen=True, slots=True)
class PasskeySignIn:
    """A passwordless sign-in: who, and the passkey as now stored with its ``amr``."""

    user: User
    use: FactorUse


class Passkeys(PasskeyManagement):
    def __init__(
        self, factors: FactorStore, store: PasskeyStore, directory: Directory, ring: KeyRing, clock: Clock
    ) -> None:
        super().__init__(factors, directory)
        self._store = store
        self._clock = clock
        self.challenges = Challenges(store, ring, clock)

    # registration
    def registration_options(self, tenant_id: str, user_id: str, rp: RelyingParty, binding: str) -> str:
        """``PublicKeyCredentialCreationOptions`` as JSON: the user's opaque handle, their
        passkeys excluded, a resident key and user verification preferred, attestation ``none``."""
        user = self._user(tenant_id, user_id)
        existing = self._passkeys(tenant_id, user_id)
        if len(existing) >= pc.MAX_PER_USER:
            raise InvalidInput("passkey", f"a user has at most {pc.MAX_PER_USER} passkeys; remove one first")
        options = generate_registration_options(
            rp_id=rp.id,
            rp_name=rp.name,
            user_id=from_b64url(self._handle(tenant_id, user_id)),
            user_name=user.username,
            user_display_name=user.name or user.username,
            challenge=self.challenges.issue(tenant_id, REGISTER, binding, user_id),
            timeout=TIMEOUT_MS,
            attestation=AttestationConveyancePreference.NONE,
            authenticator_selection=AuthenticatorSelectionCriteria(
                resident_key=ResidentKeyRequirement.PREFERRED,
                user_verification=UserVerificationRequirement.PREFERRED,
            ),
            exclude_credentials=[pc.descriptor(f) for f in existing],
        )
        return options_to_json(options)

    def register(
        self,
        tenant_id: str,
        user_id: str,
        rp: RelyingParty,
        binding: str,
        raw: str | Mapping[str, Any],
        *,
        name: str | None = None,
    ) -> FactorUse:
        """Verify the authenticator's answer to ``registration_options`` and store the passkey
        (``PasskeyRejected``; ``InvalidInput`` for a bad or taken ``name``)."""
        self._user(tenant_id, user_id)
        credential = parse_credential(raw)
        challenge = self.challenges.take(tenant_id, REGISTER, binding, user_id, credential)
        try:
            verified = verify_registration_response(
                credential=credential,
                expected_challenge=challenge,
                expected_rp_id=rp.id,
                expected_origin=rp.origin,
                require_user_presence=True,
            )
        except (WebAuthnException, KeyError, TypeError, ValueError) as exc:
            raise PasskeyRejected(f"registration: {exc}") from exc
        existing = [f for f in self._factors.factors_of_user(tenant_id, user_id) if f.kind == pc.KIND]
        if any(pc.credential_id(f) == verified.credential_id for f in existing):
            raise PasskeyRejected("this credential is already registered")
        transports = credential["response"].get("transports")
        factor = UserFactor(
            id=str(uuid.uuid4()),
            tenant_id=tenant_id,
            user_id=user_id,
            kind=pc.KIND,
            name=pc.label(name, {f.name for f in existing}),
            status="active",
            created_at=self._clock(),
            data=pc.new_data(
                credential=verified.credential_id,
                key=verified.credential_public_key,
                count=verified.sign_count,
                transports=[str(t) for t in transports] if isinstance(transports, list) else [],
                aaguid=verified.aaguid,
                backup_eligible=verified.credential_device_type == CredentialDeviceType.MULTI_DEVICE,
                backed_up=verified.credential_backed_up,
                user_verified=verified.user_verified,
            ),
        )
        try:
            self._factors.add_factor(factor)
        except Conflict as exc:
            raise InvalidInput("name", "another passkey has this name") from exc
        return FactorUse(factor, pc.amr(factor, user_verified=verified.user_verified))

    # authentication
    def authentication_options(
        self, tenant_id: str, rp: RelyingParty, binding: str, user_id: str | None
    ) -> str:
        """``PublicKeyCredentialRequestOptions`` as JSON. With ``user_id``, a second factor: the
        user's passkeys allowed, user verification preferred (``NotFound`` without any). Without,
        a passwordless sign-in: any discoverable credential, user verification required."""
        if user_id is None:
            challenge = self.challenges.issue(tenant_id, PASSWORDLESS, binding, None)
            options = generate_authentication_options(
                rp_id=rp.id,
                challenge=challenge,
                timeout=TIMEOUT_MS,
                allow_credentials=[],
                user_verification=UserVerificationRequirement.REQUIRED,
            )
            return options_to_json(options)
        passkeys = self._passkeys(tenant_id, user_id)
        if not passkeys:
            raise NotFound("no passkey")
        options = generate_authentication_options(
            rp_id=rp.id,
            challenge=self.challenges.issue(tenant_id, SECOND_FACTOR, binding, user_id),
            timeout=TIMEOUT_MS,
            allow_credentials=[pc.descriptor(f) for f in passkeys],
            user_verification=UserVerificationRequirement.PREFERRED,
        )
        return options_to_json(options)

    def verify_second_factor(
        self, tenant_id: str, user_id: str, rp: RelyingParty, binding: str, raw: str | Mapping[str, Any]
    ) -> FactorUse:
        """An assertion by one of ``user_id``'s passkeys, answering this binding's challenge."""
        credential = parse_credential(raw)
        challenge = self.challenges.take(tenant_id, SECOND_FACTOR, binding, user_id, credential)
        factor = self._factor_for(tenant_id, user_id, credential)
        return check_assertion(
            self._factors, self._clock, factor, rp, challenge, credential, require_uv=False
        )

    def sign_in(
        self, tenant_id: str, rp: RelyingParty, binding: str, raw: str | Mapping[str, Any]
    ) -> PasskeySignIn:
        """A passwordless sign-in: the user found by the credential's user handle, the
        credential among theirs, user verification required, the user active."""
        credential = parse_credential(raw)
        challenge = self.challenges.take(tenant_id, PASSWORDLESS, binding, None, credential)
        handle = credential["response"].get("userHandle")
        if not isinstance(handle, str) or not handle or len(handle) > 128:
            raise PasskeyRejected("no user handle")
        user_id = self._store.user_by_passkey_handle(tenant_id, handle)
        user = self._directory.user_by_id(tenant_id, user_id) if user_id else None
        if user is None or not user.active:
            raise PasskeyRejected("no active user has this user handle")
        factor = self._factor_for(tenant_id, user.id, credential)
        return PasskeySignIn(
            user,
            check_assertion(self._factors, self._clock, factor, rp, challenge, credential, require_uv=True),
        )

    # internals
    def _factor_for(self, tenant_id: str, user_id: str, credential: Mapping[str, Any]) -> UserFactor:
        raw_id = credential.get("rawId")
        if not isinstance(raw_id, str) or len(raw_id) > 1400:
            raise PasskeyRejected("no credential id")
        wanted = from_b64url(raw_id)
        factor = next((f for f in self._passkeys(tenant_id, user_id) if pc.credential_id(f) == wanted), None)
        if factor is None:
            raise PasskeyRejected("not a passkey of this user")
        return factor

    def _handle(self, tenant_id: str, user_id: str) -> str:
        """The user's WebAuthn user handle: 32 random bytes, made on first use."""
        handle = self._store.passkey_user_handle(tenant_id, user_id)
        if handle is not None:
            return handle
        with suppress(Conflict):  # a concurrent registration made it
            self._store.add_passkey_user_handle(
                tenant_id, user_id, b64url(secrets.token_bytes(USER_HANDLE_BYTES))
            )
        handle = self._store.passkey_user_handle(tenant_id, user_id)
        if handle is None:
            raise NotFound("no such user")
        return handle
