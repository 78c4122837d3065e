"""The bot check before a password is checked (docs/bot-check.md).

The tenant setting ``bot_check`` (services/tenant_settings.py: ``BotCheck``) says when (``off``,
``always``, ``when_risky``) and how (``pow``: the built-in proof of work; ``turnstile``;
``hcaptcha``). The login page asks :meth:`BotCheck.required` whether to show a challenge and
:meth:`BotCheck.challenge` for it; the login form's answer goes to :meth:`BotCheck.verify` before
the password is looked at: a failure raises :class:`BotCheckFailed` (the page shows the form
again with a message; no password attempt is counted) and is audited
(``signin.bot_check.refused``).

**Risky.** ``when_risky`` asks only addresses that look like an attack: by default, the
throttle's counters for the address (failures in the window >= ``risky_ip_failures``, or
distinct logins tried >= ``risky_distinct_accounts``). Another signal (the risk engine) can
replace it with :meth:`BotCheck.use_risk_signal` -- a ``(tenant_id, ip) -> bool``.
"""

from __future__ import annotations

import base64
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from keystead.services.captcha import RESPONSE_FIELDS, Captcha, CaptchaRefused
from keystead.services.login_settings import BotCheck as BotCheckSetting
from keystead.services.proof_of_work import PowRefused, ProofOfWork
from keystead.services.secrets import KeyRing, b64
from keystead.services.signin_events import SignInEvents
from keystead.services.throttle import AttemptLimiter

POW_CHALLENGE_FIELD = "bot_pow_challenge"
POW_SOLUTION_FIELD = "bot_pow_solution"
SEAL_CONTEXT = "bot-check-secret"
RiskSignal = Callable[[str, str], bool]


@dataclass(frozen=True, slots=True)
class BotCheckFailed(Exception):
    provider: str
    reason: str

    @property
    def message(self) -> str:
        """What the login page says."""
        if self.reason == "unavailable":
            return "We could not complete the security check. Try again in a moment."
        if self.reason == "expired":
            return "The security check expired. Submit the form again."
        return "Please complete the security check, then sign in again."

    def __str__(self) -> str:
        return f"bot check failed ({self.provider}: {self.reason})"


@dataclass(frozen=True, slots=True)
class BotChallenge:
    """What the login page shows: the provider, its site key, or a proof-of-work challenge."""

    provider: str
    site_key: str | None = None
    pow_challenge: str | None = None
    difficulty: int = 0


class BotCheck:
    def __init__(
        self,
        ring: KeyRing,
        pow: ProofOfWork,
        captcha: Captcha,
        limiter: AttemptLimiter,
        events: SignInEvents | None = None,
    ) -> None:
        self._ring = ring
        self._pow = pow
        self._captcha = captcha
        self._limiter = limiter
        self._events = events
        self._risky: RiskSignal | None = None

    def use_risk_signal(self, risky: RiskSignal) -> None:
        """Decide ``when_risky`` with ``risky(tenant_id, ip)`` instead of the throttle counters."""
        self._risky = risky

    def required(self, tenant_id: str, config: BotCheckSetting, ip: str) -> bool:
        if config.mode == "always":
            return True
        if config.mode == "when_risky":
            if self._risky is not None:
                return self._risky(tenant_id, ip)
            return self.risky_by_counters(config, ip)
        return False

    def risky_by_counters(self, config: BotCheckSetting, ip: str) -> bool:
        """The address failed often, or tried many logins, in the throttle's window."""
        return (
            self._limiter.ip_failures(ip) >= config.risky_ip_failures
            or self._limiter.distinct_accounts(ip) >= config.risky_distinct_accounts
        )

    def challenge(self, tenant_id: str, config: BotCheckSetting) -> BotChallenge:
        if config.provider == "pow":
            return BotChallenge(
                "pow",
                pow_challenge=self._pow.challenge(tenant_id, config.difficulty),
                difficulty=config.difficulty,
            )
        return BotChallenge(config.provider, site_key=config.site_key)

    def verify(self, tenant_id: str, config: BotCheckSetting, form: Mapping[str, str], ip: str) -> None:
        """Check the form's answer to the challenge; :class:`BotCheckFailed` (audited) if wrong."""
        try:
            if config.provider == "pow":
                self._pow.verify(
                    tenant_id,
                    form.get(POW_CHALLENGE_FIELD, ""),
                    form.get(POW_SOLUTION_FIELD, ""),
                    difficulty=config.difficulty,
                )
            else:
                secret = self.unseal(tenant_id, config.secret_sealed)
                token = form.get(RESPONSE_FIELDS[config.provider], "")
                self._captcha.verify(config.provider, secret, token, ip, site_key=config.site_key)
        except (PowRefused, CaptchaRefused) as refused:
            if self._events is not None:
                self._events.bot_check_refused(tenant_id, ip, provider=config.provider, reason=refused.reason)
            raise BotCheckFailed(config.provider, refused.reason) from None

    def seal(self, tenant_id: str, secret: str) -> str:
        return b64(self._ring.encrypt(secret.encode(), context=f"{SEAL_CONTEXT}|{tenant_id}"))

    def unseal(self, tenant_id: str, sealed: str | None) -> str:
        if sealed is None:
            raise CaptchaRefused("unavailable")
        try:
            return self._ring.decrypt(_unb64(sealed), context=f"{SEAL_CONTEXT}|{tenant_id}").decode()
        except Exception:
            raise CaptchaRefused("unavailable") from None

    def close(self) -> None:
        self._captcha.close()


def form_fields(provider: str) -> tuple[str, ...]:
    """The form fields that carry the answer of ``provider``'s challenge."""
    if provider == "pow":
        return (POW_CHALLENGE_FIELD, POW_SOLUTION_FIELD)
    return (RESPONSE_FIELDS[provider],)


def _unb64(value: str) -> bytes:
    return base64.urlsafe_b64decode(value + "=" * (-len(value) % 4))
