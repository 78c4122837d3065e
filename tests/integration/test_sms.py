"""SMS codes: the per-number limit through the counters, the dev sender (no text in its log),
and Twilio's Messages API adapter against a local fake HTTP server (base URL configurable)."""

from __future__ import annotations

import base64
import logging
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs

import pytest

from keystead.adapters.sms.dev import DevSms
from keystead.adapters.sms.twilio import TwilioSms
from keystead.config import SmsSettings
from keystead.errors import ConfigurationError, InvalidInput
from keystead.ports.sms import SmsMessage
from keystead.services.email_sender import TooManyCodes
from keystead.services.one_time_codes import CodeRefused
from keystead.wiring import Keystead
from tests.support.factories import Factory

PHONE = "+15551230001"


@pytest.fixture
def env(keystead: Keystead, factory: Factory):
    tenant = factory.tenant()
    return keystead, tenant, factory.user(tenant, phone_number=PHONE)


def test_a_texted_code_works_once(env):
    keystead, tenant, user = env
    sms = keystead.messaging.sms_codes
    challenge = sms.send(tenant.id, user.id, PHONE, "handle")
    outbox = keystead.messaging.sms_outbox
    assert outbox is not None
    (message,) = outbox.messages(tenant.id)
    code = message.text.split()[0]
    assert message.to == PHONE and "Acme Corp" in message.text and code.isdigit()
    sms.check(tenant.id, user.id, challenge, code, "handle")
    with pytest.raises(CodeRefused):
        sms.check(tenant.id, user.id, challenge, code, "handle")


def test_texts_are_limited_per_number(env):
    keystead, tenant, user = env
    limit = keystead.settings.sms.per_number_per_window
    sms = keystead.messaging.sms_codes
    for _ in range(limit):
        sms.send(tenant.id, user.id, PHONE, "handle")
    with pytest.raises(TooManyCodes) as refused:
        sms.send(tenant.id, user.id, PHONE, "handle")
    assert refused.value.retry_after > 0
    sms.send(tenant.id, user.id, "+15551230002", "handle")  # another number is not affected
    assert len(keystead.messaging.sms_outbox.messages(tenant.id)) == limit + 1  # type: ignore[union-attr]


@pytest.mark.parametrize("number", ["5551230001", "+0123456789", "+1 555 123", "+1555abc0001", ""])
def test_a_number_not_in_e164_is_refused(env, number):
    keystead, tenant, user = env
    with pytest.raises(InvalidInput) as refused:
        keystead.messaging.sms_codes.send(tenant.id, user.id, number, "handle")
    assert refused.value.field == "phone_number"


def test_the_dev_sender_logs_no_text(caplog: pytest.LogCaptureFixture):
    with caplog.at_level(logging.DEBUG, logger="keystead.sms"):
        DevSms().send(SmsMessage(PHONE, "123987 is your Acme code"))
    assert "…01" in caplog.text and "123987" not in caplog.text and PHONE not in caplog.text


class _Twilio(BaseHTTPRequestHandler):
    received: list[dict[str, Any]] = []
    fail = 0

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        type(self).received.append(
            {"path": self.path, "auth": self.headers["Authorization"], "form": parse_qs(body.decode())}
        )
        status = 500 if type(self).fail > 0 else 201
        type(self).fail -= 1
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.end_headers()
        self.wfile.write(b'{"sid": "SM1", "status": "queued"}')

    def log_message(self, *args: Any) -> None:
        return None


@pytest.fixture
def twilio() -> Iterator[str]:
    _Twilio.received, _Twilio.fail = [], 0
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Twilio)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def _twilio(url: str) -> TwilioSms:
    settings = SmsSettings(
        provider="twilio",
        base_url=url,
        account_sid="AC123",
        auth_token="tok-secret",
        from_number="+15550000000",
    )
    return TwilioSms(settings, retries=2, retry_delay=0.01)


def test_twilio_receives_the_message(twilio: str):
    sender = _twilio(twilio)
    try:
        assert sender.send(SmsMessage(PHONE, "111222 is your Acme code"))
        assert sender.flush()
    finally:
        sender.close()
    (request,) = _Twilio.received
    assert request["path"] == "/2010-04-01/Accounts/AC123/Messages.json"
    assert request["auth"] == "Basic " + base64.b64encode(b"AC123:tok-secret").decode()
    assert request["form"] == {"To": [PHONE], "From": ["+15550000000"], "Body": ["111222 is your Acme code"]}
    assert sender.failures == 0


def test_twilio_errors_are_retried_then_logged_without_the_text(
    twilio: str, caplog: pytest.LogCaptureFixture
):
    _Twilio.fail = 10
    sender = _twilio(twilio)
    try:
        with caplog.at_level(logging.DEBUG, logger="keystead.delivery"):
            sender.send(SmsMessage(PHONE, "333444 is your Acme code"))
            assert sender.flush()
    finally:
        sender.close()
    assert len(_Twilio.received) == 3 and sender.failures == 1
    assert "could not deliver sms to …01 after 3 attempts" in caplog.text
    assert "333444" not in caplog.text and "tok-secret" not in caplog.text


def test_twilio_needs_its_credentials_in_production():
    from keystead.config import load_settings

    settings = load_settings(
        mode="production",
        secret_key="x" * 40,
        server={"base_url": "https://id.example.com"},
        database={"url": "postgresql://db/keystead"},
        sms={"provider": "twilio"},
    )
    with pytest.raises(ConfigurationError, match=r"sms\.provider twilio needs"):
        settings.check_production()
