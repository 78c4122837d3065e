"""Mail delivery: SMTP through aiosmtplib to a real SMTP server (aiosmtpd on 127.0.0.1), off the
request path (a bounded queue and a worker thread), retried, and logged without its body; the
tenant-branded templates; the dev outbox."""

from __future__ import annotations

import logging

import pytest

from keystead.adapters.mail.outbox import DevOutbox
from keystead.adapters.mail.smtp import SmtpMailer, SmtpServer
from keystead.adapters.mail.templates import JinjaMailTemplates
from keystead.config import MailSettings
from keystead.errors import ConfigurationError
from keystead.ports.mail import MailMessage
from tests.support.mail import free_port, html_of, smtp_sink, text_of

FAST = MailSettings(
    retries=2, retry_delay_seconds=0.01, timeout_seconds=5, from_address="Acme <no-reply@acme.test>"
)
SECRET_CODE = "493817"


def _message(to: str = "alice@example.com", kind: str = "email_code") -> MailMessage:
    return JinjaMailTemplates(lambda: 1.0).compose(
        kind, to, tenant_name="Acme Corp", values={"code": SECRET_CODE, "minutes": 10}, tenant_id="t1"
    )


def test_a_message_reaches_the_smtp_server_as_text_and_html():
    with smtp_sink() as sink:
        mailer = SmtpMailer(sink.url, FAST)
        try:
            assert mailer.send(_message()) is True
            assert mailer.flush()
            (received,) = sink.wait(1)
        finally:
            mailer.close()
    assert received["To"] == "alice@example.com"
    assert received["From"] == "Acme <no-reply@acme.test>"
    assert received["Subject"] == "Your Acme Corp verification code"
    assert received["Auto-Submitted"] == "auto-generated"
    assert SECRET_CODE in text_of(received) and SECRET_CODE in html_of(received)
    assert "Acme Corp" in html_of(received)


@pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS")
def test_the_url_credentials_log_in():
    with smtp_sink(login=("mailer", "p@ss:word")) as sink:
        url = f"smtp://mailer:p%40ss%3Aword@{sink.host}:{sink.port}"
        mailer = SmtpMailer(url, FAST)
        try:
            mailer.send(_message())
            sink.wait(1)
        finally:
            mailer.close()
    assert sink.logins == [("mailer", "p@ss:word")]


def test_sending_does_not_wait_for_the_server():
    with smtp_sink(hold=True) as sink:
        mailer = SmtpMailer(sink.url, FAST)
        try:
            assert mailer.send(_message()) is True  # returns while the server holds the message
            assert sink.messages == []
            sink.release.set()
            sink.wait(1)
        finally:
            mailer.close()


def test_a_full_queue_drops_the_message_with_an_error(caplog: pytest.LogCaptureFixture):
    settings = FAST.model_copy(update={"queue_size": 1})
    with smtp_sink(hold=True) as sink:
        mailer = SmtpMailer(sink.url, settings)
        try:
            with caplog.at_level(logging.ERROR, logger="keystead.delivery"):
                results = [mailer.send(_message(f"u{i}@example.com")) for i in range(4)]
            assert results[0] is True and False in results
            assert "queue is full" in caplog.text
            assert SECRET_CODE not in caplog.text and "u1@example.com" not in caplog.text
            sink.release.set()
        finally:
            mailer.close()


def test_a_server_that_is_down_is_retried_then_logged_without_the_body(caplog: pytest.LogCaptureFixture):
    mailer = SmtpMailer(f"smtp://127.0.0.1:{free_port()}", FAST)
    try:
        with caplog.at_level(logging.DEBUG):
            assert mailer.send(_message()) is True
            assert mailer.flush()
    finally:
        mailer.close()
    assert mailer.failures == 1
    errors = [r for r in caplog.records if r.levelno == logging.ERROR]
    assert len(errors) == 1 and "after 3 attempts" in errors[0].getMessage()
    assert "email_code mail to *@example.com" in errors[0].getMessage()
    assert SECRET_CODE not in caplog.text and "alice@" not in caplog.text


@pytest.mark.parametrize(
    ("url", "host", "port", "tls", "starttls", "user", "password"),
    [
        ("smtps://u:p@mail.example.com", "mail.example.com", 465, True, None, "u", "p"),
        ("smtp://u:p%2Fw@mail.example.com", "mail.example.com", 587, False, True, "u", "p/w"),
        ("smtp://mail.example.com:2525", "mail.example.com", 2525, False, True, None, None),
        ("smtp://127.0.0.1:25", "127.0.0.1", 25, False, None, None, None),
        ("smtp://localhost:1025", "localhost", 1025, False, None, None, None),
    ],
)
def test_the_smtp_url(url, host, port, tls, starttls, user, password):
    server = SmtpServer.from_url(url)
    assert (server.host, server.port, server.use_tls, server.start_tls) == (host, port, tls, starttls)
    assert (server.username, server.password) == (user, password)


@pytest.mark.parametrize(
    "url", ["http://mail.example.com", "smtp://", "smtp://host:99999", "mail.example.com"]
)
def test_a_bad_smtp_url_is_refused(url):
    with pytest.raises(ConfigurationError):
        SmtpServer.from_url(url)


def test_templates_are_branded_and_escaped():
    templates = JinjaMailTemplates(lambda: 5.0)
    message = templates.compose(
        "sign_in",
        "bob@example.com",
        tenant_name="<Acme & Co>",
        values={
            "code": "123456",
            "link": "https://id.example/x?token=a&b",
            "minutes": 10,
            "brand_color": "red;x",
        },
        tenant_id="t1",
    )
    assert message.subject == "Sign in to <Acme & Co>"
    assert "&lt;Acme &amp; Co&gt;" in message.html and "<Acme & Co>" not in message.html
    assert "<Acme & Co>" in message.text
    assert "https://id.example/x?token=a&amp;b" in message.html
    assert "#4f46e5" in message.html and "red;x" not in message.html  # an invalid colour is not used
    assert message.sent_at == 5.0 and message.tenant_id == "t1" and message.kind == "sign_in"


def test_every_template_needs_its_values():
    from jinja2 import UndefinedError

    with pytest.raises(UndefinedError):
        JinjaMailTemplates(lambda: 0.0).compose("unlock", "a@example.com", tenant_name="Acme", values={})
    with pytest.raises(ValueError, match="no mail template"):
        JinjaMailTemplates(lambda: 0.0).compose("nope", "a@example.com", tenant_name="Acme", values={})


def test_the_dev_outbox_keeps_recent_messages_per_tenant():
    outbox = DevOutbox(size=2)
    for to in ("a@example.com", "b@example.com", "c@example.com"):
        outbox.send(_message(to))
    assert [m.to for m in outbox.messages("t1")] == ["c@example.com", "b@example.com"]
    assert outbox.messages("other") == []
