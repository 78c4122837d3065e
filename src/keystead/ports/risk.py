"""What the risk engine remembers of each user, and the store port it reads and writes through
(adapters/sql/risk.py). Devices and networks are HMACs; no address is stored (docs/risk.md)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol


@dataclass(frozen=True, slots=True)
class KnownDevice:
    device_hash: str
    first_seen: float
    last_seen: float
    last_mfa_at: float | None = None


@dataclass(frozen=True, slots=True)
class LastPlace:
    """The coarse place (0.1 degree) of the user's last successful sign-in, when GeoIP knew it."""

    latitude: float
    longitude: float
    country: str | None
    seen_at: float


@dataclass(frozen=True, slots=True)
class RiskProfile:
    """One read per sign-in: this device and network as the store knows them, and the baseline."""

    device: KnownDevice | None  # this browser's device, if known
    has_devices: bool  # the user has any known device (else "new device" is unknown)
    network_known: bool
    has_networks: bool
    place: LastPlace | None


@dataclass(frozen=True, slots=True)
class SignInMemory:
    """What a successful sign-in adds to the user's baseline."""

    device_hash: str
    network_hash: str | None
    place: LastPlace | None
    mfa: bool  # the sign-in passed a second factor (the device's last MFA time moves)
    now: float
    keep: int  # devices and networks kept per user (the most recently seen)
    forget_before: float  # rows last seen before this are deleted (retention)


class RiskStore(Protocol):
    def risk_profile(
        self, tenant_id: str, user_id: str, device_hash: str | None, network_hash: str | None
    ) -> RiskProfile: ...

    def remember_sign_in(self, tenant_id: str, user_id: str, memory: SignInMemory) -> None: ...

    def forget_risk_profile(self, tenant_id: str, user_id: str) -> None:
        """Delete everything remembered of the user (an administrator's reset, an erasure)."""
        ...
