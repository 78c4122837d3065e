"""The risk engine at sign-in: gather the signals of an attempt, decide, record, remember.

``assess`` runs after the first factor: it reads the user's baseline in one store round trip
(known device, known network, last place), takes the throttle counters the password check
already read (services/login.py ``AttemptCounts``), locates the address in the local GeoIP
database if one is configured, evaluates the tenant's policy with the client's override
(keystead.risk) and records the decision as an audit event ``risk.decision`` (signals, weights,
score, outcome, mode, client). ``remember`` runs when a sign-in ends with a session: it adds the
device, network and place to the baseline and returns the device cookie to set.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from keystead.ports.records import Client
from keystead.ports.risk import LastPlace, RiskStore, SignInMemory
from keystead.risk import Decision, RiskPolicy, Signals, evaluate, ip_is_risky
from keystead.risk.travel import speed_kmh
from keystead.services.audit import Actor, Audit
from keystead.services.geoip import Locator, NoGeoIp
from keystead.services.login import AttemptCounts
from keystead.services.risk_devices import DeviceIds
from keystead.services.risk_settings import RiskSettings, client_risk
from keystead.services.throttle import AttemptLimiter
from keystead.types import Clock

#: the audit action of a decision; its actor is the user signing in (via the client, from the
#: client's address), its target the user
DECISION_ACTION = "risk.decision"


@dataclass(frozen=True, slots=True)
class Attempt:
    """One sign-in attempt past its first factor, as the pages know it."""

    tenant_id: str
    user_id: str
    ip: str
    device_cookie: str | None
    breached: bool
    attempts: AttemptCounts


@dataclass(frozen=True, slots=True)
class Assessment:
    decision: Decision
    #: what the sign-in does: ``none`` (allowed, or simulate), ``second_factor`` (required),
    #: ``enrolment`` (no factor yet and the policy makes them enrol one), ``no_factor`` (a step-up
    #: the user cannot do: no factor and no enrolment; the sign-in goes on), ``denied``
    effect: str

    @property
    def denied(self) -> bool:
        return self.effect == "denied"

    @property
    def step_up(self) -> bool:
        return self.effect in ("second_factor", "enrolment")


class RiskService:
    def __init__(
        self,
        store: RiskStore,
        devices: DeviceIds,
        locator: Locator | None,
        audit: Audit,
        limiter: AttemptLimiter,
        clock: Clock,
        settings_for: Callable[[str], RiskSettings],
        has_second_factor: Callable[[str, str], bool],
    ) -> None:
        """``has_second_factor(tenant_id, user_id)`` is asked only when a step-up is enforced."""
        self._has_second_factor = has_second_factor
        self._store = store
        self._devices = devices
        self._locator = locator or NoGeoIp()
        self._audit = audit
        self._limiter = limiter
        self._clock = clock
        self._settings_for = settings_for

    def policy(self, tenant_id: str, client: Client | None) -> RiskPolicy:
        """The tenant's policy with the client's override."""
        policy = self._settings_for(tenant_id).policy()
        return client_risk(client.risk).apply(policy) if client is not None else policy

    def signals(self, attempt: Attempt, client: Client | None) -> Signals:
        device_id = self._devices.device_id(attempt.device_cookie)
        device_hash = self._devices.stored(attempt.tenant_id, device_id) if device_id else None
        network_hash = self._devices.network(attempt.tenant_id, attempt.ip)
        profile = self._store.risk_profile(attempt.tenant_id, attempt.user_id, device_hash, network_hash)
        now = self._clock()
        device = profile.device
        travel = None
        place = self._locator.locate(attempt.ip)
        if place is not None and profile.place is not None:
            last = profile.place
            travel = speed_kmh(
                (last.latitude, last.longitude, last.seen_at), (place.latitude, place.longitude, now)
            )
        return Signals(
            new_device=(device is None) if profile.has_devices else None,
            new_network=(not profile.network_known) if profile.has_networks and network_hash else None,
            account_failures=attempt.attempts.account_failures,
            ip_failures=attempt.attempts.ip_failures,
            ip_accounts=attempt.attempts.ip_accounts,
            breached_password=attempt.breached,
            days_since_mfa=(now - device.last_mfa_at) / 86400.0
            if device is not None and device.last_mfa_at is not None
            else None,
            travel_kmh=travel,
            sensitive_client=client_risk(client.risk).sensitive if client is not None else False,
        )

    def assess(self, attempt: Attempt, client: Client | None) -> Assessment | None:
        """The decision for ``attempt`` (recorded), or ``None`` when the policy's mode is
        ``never`` (nothing evaluated, nothing recorded)."""
        policy = self.policy(attempt.tenant_id, client)
        if policy.mode == "never":
            return None
        decision = evaluate(self.signals(attempt, client), policy)
        effect = _effect(
            decision, policy, lambda: self._has_second_factor(attempt.tenant_id, attempt.user_id)
        )
        self._audit.record(
            attempt.tenant_id,
            Actor(attempt.user_id, client.client_id if client else None, attempt.ip),
            DECISION_ACTION,
            attempt.user_id,
            after={
                **decision.to_dict(),
                "effect": effect,
                "client_id": client.client_id if client else None,
            },
        )
        return Assessment(decision, effect)

    def remember(
        self, tenant_id: str, user_id: str, ip: str, device_cookie: str | None, *, mfa: bool
    ) -> str | None:
        """Add this sign-in to the user's baseline; returns the device cookie to set (a new
        one when the browser had none or a forged one), or ``None`` when the tenant's risk mode
        is ``never`` (nothing is collected then)."""
        settings = self._settings_for(tenant_id)
        if settings.mode == "never":
            return None
        device_id = self._devices.device_id(device_cookie)
        cookie = device_cookie
        if device_id is None:
            device_id, cookie = self._devices.new_cookie()
        now = self._clock()
        place = self._locator.locate(ip)
        memory = SignInMemory(
            device_hash=self._devices.stored(tenant_id, device_id),
            network_hash=self._devices.network(tenant_id, ip),
            place=LastPlace(round(place.latitude, 1), round(place.longitude, 1), place.country, now)
            if place is not None
            else None,
            mfa=mfa,
            now=now,
            keep=settings.max_known,
            forget_before=now - settings.retention_days * 86400.0,
        )
        self._store.remember_sign_in(tenant_id, user_id, memory)
        return cookie

    def close(self) -> None:
        self._locator.close()

    def forget(self, tenant_id: str, user_id: str) -> None:
        self._store.forget_risk_profile(tenant_id, user_id)

    def ip_is_risky(self, tenant_id: str, ip: str) -> bool:
        """Before any password: whether the address's failures or the logins it tried are at the
        tenant's thresholds (two counter reads). For a bot check's ``when_risky`` mode."""
        policy = self._settings_for(tenant_id).policy()
        return ip_is_risky(self._limiter.ip_failures(ip), self._limiter.distinct_accounts(ip), policy)


def _effect(decision: Decision, policy: RiskPolicy, has_second_factor: Callable[[], bool]) -> str:
    if decision.enforced == "deny":
        return "denied"
    if decision.enforced == "step_up":
        if has_second_factor():
            return "second_factor"
        return "enrolment" if policy.enrol_on_step_up else "no_factor"
    return "none"
