"""Codes sent by text message, rate-limited per phone number.

``send(tenant_id, user_id, phone, binding)`` counts the message against the number in the
attack-protection counters (at most ``sms.per_number_per_window`` per ``sms.window_seconds``:
SMS costs money and is a classic toll-fraud target), creates a one-time code challenge
(purpose ``sms_otp``, bound to the sign-in) and queues the text; ``check`` spends it. The number
must be E.164. The text names the tenant and never goes to a log.
"""

from __future__ import annotations

import math
import re
from typing import Protocol

from keystead.config import SmsSettings
from keystead.errors import InvalidInput
from keystead.ports.counters import Counters
from keystead.ports.records import Tenant
from keystead.ports.sms import SmsMessage, SmsSender
from keystead.services.email_sender import TooManyCodes
from keystead.services.one_time_codes import SMS_OTP, CodeRefused, OneTimeCodes
from keystead.types import Clock

E164 = re.compile(r"^\+[1-9][0-9]{6,14}$")


class TenantDirectory(Protocol):
    def tenant_by_id(self, tenant_id: str) -> Tenant | None: ...


class SmsCodes:
    def __init__(
        self,
        codes: OneTimeCodes,
        sender: SmsSender,
        counters: Counters,
        tenants: TenantDirectory,
        settings: SmsSettings,
        clock: Clock,
    ) -> None:
        self._codes = codes
        self._sender = sender
        self._counters = counters
        self._tenants = tenants
        self._settings = settings
        self._clock = clock

    def send(self, tenant_id: str, user_id: str, phone: str, binding: str) -> str:
        """The challenge id. ``InvalidInput("phone_number")`` for a number not in E.164;
        ``TooManyCodes`` past the per-number limit (nothing sent, nothing stored)."""
        if not E164.match(phone):
            raise InvalidInput("phone_number", "an E.164 number such as +15551234567")
        count = self._counters.hit(f"smssend:{phone}", self._settings.window_seconds)
        if count.value > self._settings.per_number_per_window:
            raise TooManyCodes(math.ceil(count.ttl))
        issued = self._codes.issue(tenant_id, user_id, SMS_OTP, address=phone, binding=binding)
        tenant = self._tenants.tenant_by_id(tenant_id)
        name = tenant.display_name if tenant else "Keystead"
        minutes = max(1, self._codes.settings.code_ttl // 60)
        text = f"{issued.code} is your {name} code. It expires in {minutes} minutes. Do not share it."
        self._sender.send(SmsMessage(phone, text, tenant_id=tenant_id, sent_at=self._clock()))
        return issued.id

    def check(self, tenant_id: str, user_id: str, code_id: str, code: str, binding: str) -> None:
        used = self._codes.check_code(tenant_id, code_id, code, purpose=SMS_OTP, binding=binding)
        if used.user_id != user_id:
            raise CodeRefused()
