"""Where an address is, from a local MaxMind DB file (GeoLite2/GeoIP2 City or compatible):
``KEYSTEAD_GEOIP_DATABASE``. Read from a memory map, never from the network; without a database
every place is unknown and the risk engine's impossible-travel signal contributes nothing."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

import maxminddb


@dataclass(frozen=True, slots=True)
class Place:
    latitude: float
    longitude: float
    country: str | None


class Locator(Protocol):
    def locate(self, ip: str) -> Place | None: ...

    def close(self) -> None: ...


class NoGeoIp:
    def locate(self, ip: str) -> Place | None:
        return None

    def close(self) -> None:
        return None


class MaxMindGeoIp:
    def __init__(self, path: str) -> None:
        self._reader = maxminddb.open_database(path, maxminddb.MODE_AUTO)

    def locate(self, ip: str) -> Place | None:
        """The address's place, or ``None`` (unknown, private, not an address, no coordinates)."""
        try:
            record: Any = self._reader.get(ip)
        except (ValueError, maxminddb.InvalidDatabaseError):
            return None
        if not isinstance(record, dict):
            return None
        location = record.get("location")
        if not isinstance(location, dict):
            return None
        lat, lon = location.get("latitude"), location.get("longitude")
        if not isinstance(lat, int | float) or not isinstance(lon, int | float):
            return None
        country = record.get("country")
        iso = country.get("iso_code") if isinstance(country, dict) else None
        return Place(float(lat), float(lon), iso if isinstance(iso, str) and len(iso) == 2 else None)

    def close(self) -> None:
        self._reader.close()


def open_locator(path: str | None) -> Locator:
    """The database at ``path``; none configured: every place unknown. A path that cannot be
    read is a configuration error (raised at start, not at the first sign-in)."""
    if not path:
        return NoGeoIp()
    try:
        return MaxMindGeoIp(path)
    except (OSError, maxminddb.InvalidDatabaseError, ValueError) as exc:
        raise ValueError(f"KEYSTEAD_GEOIP_DATABASE {path!r} is not a readable MaxMind DB: {exc}") from exc
