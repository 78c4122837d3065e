"""Impossible travel: the speed two sign-ins' places and times imply (great-circle distance)."""

from __future__ import annotations

import math

EARTH_KM = 6371.0
#: GeoIP places an address within tens to hundreds of km: nearer places count as no travel
NEAR_KM = 150.0
#: two sign-ins closer in time than this are taken as this far apart (no division by ~0)
MIN_HOURS = 0.25


def distance_km(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * EARTH_KM * math.asin(min(1.0, math.sqrt(a)))


def speed_kmh(before: tuple[float, float, float], after: tuple[float, float, float]) -> float:
    """km/h from ``before`` to ``after``, each ``(latitude, longitude, unix time)``; 0 within
    ``NEAR_KM``."""
    km = distance_km(before[0], before[1], after[0], after[1])
    if km < NEAR_KM:
        return 0.0
    hours = max(abs(after[2] - before[2]) / 3600.0, MIN_HOURS)
    return km / hours
