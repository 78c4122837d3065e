"""SMS through Twilio's Messages API (``POST {base_url}/2010-04-01/Accounts/{sid}/Messages.json``,
form fields ``To``, ``From``, ``Body``; HTTP basic auth with the account SID and auth token), off
the request path through the same bounded queue and retries as mail. ``base_url`` is a setting
so tests talk to a local fake server. Neither the text nor the token is logged."""

from __future__ import annotations

import httpx

from keystead.adapters.background import BackgroundSender
from keystead.adapters.sms.dev import masked
from keystead.config import SmsSettings
from keystead.ports.sms import SmsMessage


class TwilioSms:
    def __init__(
        self, settings: SmsSettings, *, queue_size: int = 1000, retries: int = 3, retry_delay: float = 2.0
    ) -> None:
        if settings.auth_token is None:
            raise ValueError("sms.auth_token is required for twilio")
        self._settings = settings
        self._url = (
            f"{settings.base_url.rstrip('/')}/2010-04-01/Accounts/{settings.account_sid}/Messages.json"
        )
        self._http = httpx.Client(
            auth=(settings.account_sid, settings.auth_token.get_secret_value()),
            timeout=settings.timeout_seconds,
        )
        self._queue: BackgroundSender[SmsMessage] = BackgroundSender(
            "keystead-sms",
            self._deliver,
            describe,
            queue_size=queue_size,
            retries=retries,
            retry_delay=retry_delay,
        )

    def send(self, message: SmsMessage) -> bool:
        return self._queue.submit(message)

    def flush(self, timeout: float = 10.0) -> bool:
        return self._queue.flush(timeout)

    @property
    def failures(self) -> int:
        return self._queue.failures

    def close(self) -> None:
        self._queue.close()
        self._http.close()

    def _deliver(self, message: SmsMessage) -> None:
        response = self._http.post(
            self._url, data={"To": message.to, "From": self._settings.from_number, "Body": message.text}
        )
        response.raise_for_status()


def describe(message: SmsMessage) -> str:
    return f"sms to {masked(message.to)}"
