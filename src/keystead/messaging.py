"""Emailed and texted codes and links, wired: the mailer (SMTP when ``smtp_url`` is set, else
the dev outbox), the SMS sender, the one-time code store and the services built on them.
Part of the app factory (wiring.py); docs/email-and-sms.md."""

from __future__ import annotations

import logging
from dataclasses import dataclass

from keystead.adapters.mail.outbox import DevOutbox
from keystead.adapters.mail.templates import JinjaMailTemplates
from keystead.adapters.sms.dev import DevSms
from keystead.adapters.sql import SqlStorage
from keystead.config import Settings
from keystead.ports.counters import Counters
from keystead.ports.mail import Mailer
from keystead.ports.sms import SmsSender
from keystead.services.email_codes import EmailCodes
from keystead.services.email_flow import EmailFlow
from keystead.services.email_sender import EmailSender
from keystead.services.email_sign_in import EmailSignIn
from keystead.services.lockout import Lockouts
from keystead.services.login_flow import LoginFlow
from keystead.services.one_time_codes import OneTimeCodes
from keystead.services.password_resets import PasswordResets
from keystead.services.secrets import KeyRing
from keystead.services.sms_codes import SmsCodes
from keystead.services.tenants import Tenants
from keystead.services.unlock_links import UnlockLinks
from keystead.services.users import Users
from keystead.types import Clock

log = logging.getLogger("keystead.mail")


@dataclass
class Messaging:
    mailer: Mailer
    #: the dev outbox when no SMTP server is configured (its page exists in dev mode only)
    outbox: DevOutbox | None
    sms: SmsSender
    sms_outbox: DevSms | None
    codes: OneTimeCodes
    sender: EmailSender
    email_codes: EmailCodes
    email_sign_in: EmailSignIn
    unlock_links: UnlockLinks
    sms_codes: SmsCodes
    email_flow: EmailFlow | None = None
    #: "Forgot your password?" (attached by wiring.py once sessions exist)
    password_resets: PasswordResets | None = None

    def close(self) -> None:
        self.mailer.close()
        self.sms.close()


def build_mailer(settings: Settings) -> tuple[Mailer, DevOutbox | None]:
    if settings.smtp_url is not None:
        from keystead.adapters.mail.smtp import SmtpMailer

        return SmtpMailer(settings.smtp_url.get_secret_value(), settings.mail), None
    if not settings.is_dev:
        log.warning("no smtp_url is set: mail (codes, sign-in and unlock links) is not delivered")
    outbox = DevOutbox(settings.mail.outbox_size)
    return outbox, outbox


def build_sms(settings: Settings) -> tuple[SmsSender, DevSms | None]:
    if settings.sms.provider == "twilio":
        from keystead.adapters.sms.twilio import TwilioSms

        m = settings.mail
        return TwilioSms(
            settings.sms, queue_size=m.queue_size, retries=m.retries, retry_delay=m.retry_delay_seconds
        ), None
    dev = DevSms(settings.mail.outbox_size)
    return dev, dev


def build_messaging(
    settings: Settings,
    storage: SqlStorage,
    ring: KeyRing,
    clock: Clock,
    counters: Counters,
    *,
    users: Users,
    tenants: Tenants,
    lockouts: Lockouts,
) -> Messaging:
    mailer, outbox = build_mailer(settings)
    sms, sms_outbox = build_sms(settings)
    codes = OneTimeCodes(storage, ring, clock, settings.codes)
    sender = EmailSender(mailer, JinjaMailTemplates(clock), counters, storage, settings.codes)

    def issuer_of(tenant_id: str) -> str | None:
        tenant = storage.tenant_by_id(tenant_id)
        return tenants.issuer(tenant) if tenant is not None else None

    unlock_links = UnlockLinks(codes, sender, storage, lockouts, issuer_of)
    lockouts.on_lock(unlock_links.on_lock)
    return Messaging(
        mailer=mailer,
        outbox=outbox,
        sms=sms,
        sms_outbox=sms_outbox,
        codes=codes,
        sender=sender,
        email_codes=EmailCodes(codes, sender, storage, users),
        email_sign_in=EmailSignIn(codes, sender, storage),
        unlock_links=unlock_links,
        sms_codes=SmsCodes(codes, sms, counters, storage, settings.sms, clock),
    )


def attach_flow(messaging: Messaging, flow: LoginFlow, storage: SqlStorage) -> None:
    messaging.email_flow = EmailFlow(flow, messaging.email_codes, messaging.sms_codes, storage)
