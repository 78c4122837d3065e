"""Emailed codes for a user already identified in the sign-in flow: the second factor (a user
with a verified email, in a tenant that allows it) and the ``verify_email`` required action.

Each send creates a challenge bound to the sign-in (the interaction handle) and to the address;
a code is checked against that challenge only. Confirming the email re-reads the user and writes
``email_verified`` with a compare-and-set on the user as read, and only if the address is still
the one the code was sent to.
"""

from __future__ import annotations

from typing import Protocol

from keystead.errors import NotFound, Stale
from keystead.ports.records import User
from keystead.services.email_sender import EmailSender
from keystead.services.one_time_codes import SECOND_FACTOR, VERIFY_EMAIL, CodeRefused, OneTimeCodes


class UserDirectory(Protocol):
    def user_by_id(self, tenant_id: str, user_id: str) -> User | None: ...


class EmailVerifier(Protocol):
    def update(
        self, tenant_id: str, user_id: str, *, expected: User | None = None, **changes: object
    ) -> User: ...


class EmailCodes:
    def __init__(
        self, codes: OneTimeCodes, sender: EmailSender, directory: UserDirectory, users: EmailVerifier
    ) -> None:
        self._codes = codes
        self._sender = sender
        self._directory = directory
        self._users = users

    def verified_email(self, tenant_id: str, user_id: str) -> str | None:
        user = self._directory.user_by_id(tenant_id, user_id)
        return user.email if user is not None and user.email and user.email_verified else None

    def unverified_email(self, tenant_id: str, user_id: str) -> str | None:
        user = self._directory.user_by_id(tenant_id, user_id)
        return user.email if user is not None and user.email and not user.email_verified else None

    # second factor
    def send_second_factor(self, tenant_id: str, user_id: str, binding: str) -> str:
        """Mail a code to the user's verified address; the challenge id. ``NotFound`` without
        one; ``TooManyCodes`` past the send limit."""
        address = self.verified_email(tenant_id, user_id)
        if address is None:
            raise NotFound("no verified email address")
        return self._send(tenant_id, user_id, SECOND_FACTOR, "email_code", address, binding)

    def check_second_factor(
        self, tenant_id: str, user_id: str, code_id: str, code: str, binding: str
    ) -> None:
        used = self._codes.check_code(tenant_id, code_id, code, purpose=SECOND_FACTOR, binding=binding)
        if used.user_id != user_id:
            raise CodeRefused()

    # verify_email required action
    def send_verification(self, tenant_id: str, user_id: str, binding: str) -> str:
        address = self.unverified_email(tenant_id, user_id)
        if address is None:
            raise NotFound("no email address to verify")
        return self._send(tenant_id, user_id, VERIFY_EMAIL, "verify_email", address, binding)

    def confirm_verification(
        self, tenant_id: str, user_id: str, code_id: str, code: str, binding: str
    ) -> User:
        used = self._codes.check_code(tenant_id, code_id, code, purpose=VERIFY_EMAIL, binding=binding)
        user = self._directory.user_by_id(tenant_id, user_id)
        if used.user_id != user_id or user is None or not user.email:
            raise CodeRefused()
        if used.address_mac != self._codes.address_mac(tenant_id, user.email):
            raise CodeRefused()  # the address changed since the code was sent
        try:
            return self._users.update(
                tenant_id, user_id, expected=user, email=user.email, email_verified=True
            )
        except Stale as exc:
            raise CodeRefused() from exc

    def _send(self, tenant_id: str, user_id: str, purpose: str, kind: str, address: str, binding: str) -> str:
        self._sender.allow(f"{purpose}:{tenant_id}:{user_id}")
        issued = self._codes.issue(tenant_id, user_id, purpose, address=address, binding=binding)
        self._sender.send(tenant_id, kind, address, {"code": issued.code, "minutes": self._sender.minutes})
        return issued.id
