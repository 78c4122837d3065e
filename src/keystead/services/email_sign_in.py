"""Passwordless sign-in by email: a code, a link, or both in one message.

``start`` answers the same whatever was typed: it counts the send against the login as typed,
looks the login up, and creates a challenge bound to the sign-in (the interaction handle) — for
an unknown login, an inactive account or one without a verified email too, with no user in it,
and the message is composed but not sent. So the page, its status and the work done are the
same, and no code can ever finish such a challenge. ``finish_code`` and ``finish_link`` spend
the challenge and return the user.

The link works only in the browser holding the sign-in (the web layer checks its interaction
cookie before calling ``finish_link``); the code works anywhere the sign-in page is open.
"""

from __future__ import annotations

from typing import Protocol

from keystead.ports.one_time_codes import OneTimeCode
from keystead.ports.records import User
from keystead.services.email_sender import EmailSender
from keystead.services.one_time_codes import SIGN_IN, CodeRefused, OneTimeCodes
from keystead.services.throttle import account_key


class LoginDirectory(Protocol):
    def user_by_login(self, tenant_id: str, login: str) -> User | None: ...
    def user_by_id(self, tenant_id: str, user_id: str) -> User | None: ...


class EmailSignIn:
    def __init__(self, codes: OneTimeCodes, sender: EmailSender, directory: LoginDirectory) -> None:
        self._codes = codes
        self._sender = sender
        self._directory = directory

    def start(self, tenant_id: str, login: str, binding: str, *, code: bool, link_base: str | None) -> str:
        """The challenge id; ``TooManyCodes`` past the send limit for this login as typed."""
        login = login.strip()[:320]
        self._sender.allow(f"{SIGN_IN}:{account_key(tenant_id, login)}")
        user = self._directory.user_by_login(tenant_id, login) if login else None
        eligible = user is not None and user.active and bool(user.email) and user.email_verified
        address = user.email if eligible and user is not None and user.email else login
        issued = self._codes.issue(
            tenant_id,
            user.id if eligible and user is not None else None,
            SIGN_IN,
            code=code,
            link=link_base is not None,
            address=address,
            binding=binding,
        )
        values = {
            "code": issued.code,
            "link": f"{link_base}{issued.link_token}" if link_base and issued.link_token else None,
            "minutes": self._sender.minutes,
        }
        if eligible:
            self._sender.send(tenant_id, "sign_in", address, values)
        else:
            self._sender.compose(tenant_id, "sign_in", address, values)
        return issued.id

    def finish_code(self, tenant_id: str, code_id: str, code: str, binding: str) -> User:
        return self._user(self._codes.check_code(tenant_id, code_id, code, purpose=SIGN_IN, binding=binding))

    def finish_link(self, tenant_id: str, token: str, binding: str) -> User:
        return self._user(self._codes.use_link(tenant_id, token, purpose=SIGN_IN, binding=binding))

    def _user(self, used: OneTimeCode) -> User:
        user = self._directory.user_by_id(used.tenant_id, used.user_id) if used.user_id else None
        if user is None or not user.active or not user.email:
            raise CodeRefused()
        if used.address_mac != self._codes.address_mac(used.tenant_id, user.email):
            raise CodeRefused()  # the address changed since the message was sent
        return user
