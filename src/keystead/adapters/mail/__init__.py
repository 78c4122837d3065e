"""Outgoing mail: SMTP (aiosmtplib) through a bounded background queue, the dev outbox, and the
message templates. See docs/email-and-sms.md."""
