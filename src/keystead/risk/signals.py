"""What is known about one sign-in attempt once its first factor passed, as typed values.

``None`` means *unknown* (no baseline, no GeoIP database): an unknown signal is reported in the
explanation and contributes nothing. The values are observations, not judgements; the policy's
thresholds and weights turn them into a score (keystead.risk.engine).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Signals:
    #: the browser's device cookie is not one of the user's known devices (``None``: the user
    #: has no known device yet, so there is nothing to compare with)
    new_device: bool | None = None
    #: the address's network (/24 for IPv4, /48 for IPv6) is not one the user signed in from
    new_network: bool | None = None
    #: failed password attempts on this login in the throttle window, before this one
    account_failures: int = 0
    #: failed attempts from this address in the window (any account)
    ip_failures: int = 0
    #: distinct logins this address tried in the window (credential stuffing)
    ip_accounts: int = 0
    #: the password is on the breached/common list
    breached_password: bool = False
    #: days since this user last passed a second factor on this device (``None``: never)
    days_since_mfa: float | None = None
    #: speed (km/h) needed to travel from the last sign-in's place to this one (``None``: no
    #: GeoIP database, an address it does not locate, or no previous place)
    travel_kmh: float | None = None
    #: the client is marked sensitive (its risk policy)
    sensitive_client: bool = False
