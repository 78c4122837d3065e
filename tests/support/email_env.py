"""Fixtures for the email tests through the hosted pages: the wired app sends real SMTP to an
aiosmtpd sink on 127.0.0.1; helpers read the codes and links out of the received mail.
Import the fixtures into a test module: ``from tests.support.email_env import sink, settings``."""

from __future__ import annotations

from collections.abc import Iterator
from email.message import EmailMessage
from typing import Any

import pytest

from keystead.config import Settings, load_settings
from keystead.ports.records import Tenant
from keystead.wiring import Keystead
from tests.conftest import FAST_PASSWORDS
from tests.support.mail import Sink, smtp_sink


@pytest.fixture
def sink() -> Iterator[Sink]:
    with smtp_sink() as running:
        yield running


@pytest.fixture
def settings(db_url: str, sink: Sink) -> Settings:
    return load_settings(
        database={"url": db_url},
        passwords=FAST_PASSWORDS,
        server={"base_url": "http://testserver"},
        smtp_url=sink.url,
        mail={"retry_delay_seconds": 0.01, "from_address": "Acme <no-reply@acme.test>"},
        throttle={"account_failures_before_delay": 3, "account_failures_before_lockout": 3},
    )


@pytest.fixture(autouse=True)
def _close_mail(keystead: Keystead) -> Iterator[None]:
    yield
    keystead.messaging.close()


def mails(keystead: Keystead, sink: Sink, count: int) -> list[EmailMessage]:
    """The first ``count`` messages the sink received (after the queue drained)."""
    assert keystead.messaging.mailer.flush(timeout=10)  # type: ignore[attr-defined]
    received = sink.wait(count)
    assert len(received) == count, [m["Subject"] for m in received]
    return received


def configure(keystead: Keystead, tenant: Tenant, changes: dict[str, Any]) -> None:
    version = keystead.tenant_settings.read(tenant.id).version
    keystead.tenant_settings.update(tenant.id, changes, expected_version=version)
