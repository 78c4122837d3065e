"""Cloudflare Turnstile and hCaptcha: the widget's token checked with the provider's siteverify
API (``POST secret, response, remoteip`` -> ``{"success": true|false, ...}``).

The verify URLs are server settings (``bot_check.turnstile_verify_url``/``hcaptcha_verify_url``)
so that tests use a local fake server and a tenant cannot aim the server elsewhere. Requests have
a short timeout (``bot_check.timeout_seconds``); a provider that is down, slow or answers
nonsense fails the check (closed): the login page asks again, nothing else happens.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass

import httpx

from keystead.config import BotCheckSettings

log = logging.getLogger(__name__)
#: The form field each widget fills with its token.
RESPONSE_FIELDS = {"turnstile": "cf-turnstile-response", "hcaptcha": "h-captcha-response"}
MAX_TOKEN_LENGTH = 4096


@dataclass(frozen=True, slots=True)
class CaptchaRefused(Exception):
    reason: str  # missing, rejected, unavailable

    def __str__(self) -> str:
        return f"captcha refused: {self.reason}"


class Captcha:
    def __init__(self, settings: BotCheckSettings) -> None:
        self._settings = settings
        self._client: httpx.Client | None = None
        self._lock = threading.Lock()

    def verify(self, provider: str, secret: str, token: str, ip: str, *, site_key: str | None = None) -> None:
        if not token or len(token) > MAX_TOKEN_LENGTH:
            raise CaptchaRefused("missing")
        url = (
            self._settings.turnstile_verify_url
            if provider == "turnstile"
            else self._settings.hcaptcha_verify_url
        )
        data = {"secret": secret, "response": token, "remoteip": ip}
        if provider == "hcaptcha" and site_key:
            data["sitekey"] = site_key
        try:
            response = self._http().post(url, data=data)
            body = response.json() if response.status_code == 200 else None
        except (httpx.HTTPError, ValueError) as exc:
            log.warning("the %s verify endpoint failed: %s", provider, type(exc).__name__)
            raise CaptchaRefused("unavailable") from None
        if not isinstance(body, dict):
            log.warning("the %s verify endpoint answered %s", provider, response.status_code)
            raise CaptchaRefused("unavailable")
        if body.get("success") is not True:
            raise CaptchaRefused("rejected")

    def close(self) -> None:
        if self._client is not None:
            self._client.close()

    def _http(self) -> httpx.Client:
        with self._lock:
            if self._client is None:
                self._client = httpx.Client(
                    timeout=httpx.Timeout(self._settings.timeout_seconds), follow_redirects=False
                )
            return self._client
