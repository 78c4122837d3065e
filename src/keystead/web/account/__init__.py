"""The end users' account page under ``{tenant base}/account`` (docs/account.md)."""

from __future__ import annotations

from starlette.routing import BaseRoute, Route

from keystead.web.account import auth, pages

GET, POST = ["GET"], ["POST"]


def routes() -> list[BaseRoute]:
    """Mounted at ``/account`` under the tenant's routes."""
    return [
        Route("/", pages.home, methods=GET),
        Route("/signin", auth.sign_in, methods=GET),
        Route("/callback", auth.callback, methods=GET),
        Route("/passkeys/options", pages.passkey_options, methods=POST),
        Route("/passkeys", pages.add_passkey, methods=POST),
        Route("/passkeys/{factor_id}/rename", pages.rename_passkey, methods=POST),
        Route("/factors/{factor_id}/remove", pages.remove_factor, methods=POST),
        Route("/totp", pages.totp_enrolment, methods=["GET", "POST"]),
        Route("/recovery-codes", pages.new_recovery_codes, methods=POST),
    ]
