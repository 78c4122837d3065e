"""Drive the sign-in flow's stages page by page (password, second factor, enrolment, password
change), reading each page's form the way a browser would."""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx

from tests.support.factories import REDIRECT_URI

_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')
_ACTION = re.compile(r'<form[^>]*action="([^"]+)"')
FORMS = {
    "login-form": "login",
    "second-factor-form": "second_factor",
    "enrol-form": "enrol_totp",
    "password-form": "change_password",
    "recovery-codes-form": "recovery_codes",
    "consent-form": "consent",
    "use-passkey": "second_factor",  # a user whose only second factor is a passkey
    "verify-email-form": "verify_email",
    "email-sign-in-form": "email_sign_in",
    "email-code-form": "email_code",
    "unlock-form": "unlock",
    "forgot-form": "forgot_password",
    "reset-form": "reset_password",
}


def land(http: httpx.Client, response: httpx.Response) -> httpx.Response:
    """Follow Keystead's own redirects; stop at a page or at the client."""
    for _ in range(6):
        if response.status_code in (302, 303) and response.headers["location"].startswith("/"):
            response = http.get(response.headers["location"])
        else:
            return response
    raise AssertionError("too many redirects")


def page_of(response: httpx.Response) -> str:
    """Which stage's page this is ("client" for a redirect to the client)."""
    if response.status_code == 303 and response.headers["location"].startswith(REDIRECT_URI):
        return "client"
    for form_id, name in FORMS.items():
        if f'id="{form_id}"' in response.text:
            return name
    raise AssertionError(f"not a flow page: {response.status_code} {response.text[:300]}")


def submit(http: httpx.Client, response: httpx.Response, **fields: Any) -> httpx.Response:
    """Post the page's form with ``fields`` and its CSRF token; follow to the next page."""
    action = _ACTION.search(response.text)
    csrf = _CSRF.search(response.text)
    assert action is not None and csrf is not None, response.text[:300]
    stage = re.search(r'name="stage" value="([a-z_]+)"', response.text)
    data = {"csrf_token": csrf.group(1), **({"stage": stage.group(1)} if stage else {}), **fields}
    return land(http, http.post(action.group(1).replace("&amp;", "&"), data=data))


def client_params(response: httpx.Response) -> dict[str, str]:
    assert page_of(response) == "client", response.text[:300]
    return {k: v[0] for k, v in parse_qs(urlsplit(response.headers["location"]).query).items()}


def manual_key(response: httpx.Response) -> str:
    match = re.search(r'id="manual-key">([A-Z2-7 ]+)<', response.text)
    assert match is not None, response.text[:500]
    return match.group(1).replace(" ", "")


def qr_url(response: httpx.Response) -> str:
    match = re.search(r'id="totp-qr" src="([^"]+)"', response.text)
    assert match is not None
    return match.group(1)


def recovery_codes(response: httpx.Response) -> list[str]:
    """The recovery codes a page shows (none after the first time)."""
    return re.findall(r'<li><code class="ks-code">([A-Z2-9]{5}-[A-Z2-9]{5})</code></li>', response.text)
