"""The device cookie and the network of an address: what the risk engine recognises a user by.

The cookie holds a random 128-bit id and its HMAC (key ring, purpose ``risk-device-cookie``):
a forged or altered cookie is no device at all. The server stores only another HMAC of the id
(purpose ``risk-device``, per tenant), so a database leak gives no cookie. A network is the
address's /24 (IPv4) or /48 (IPv6), stored as an HMAC too: the address itself is never stored.
"""

from __future__ import annotations

import ipaddress
import secrets

from keystead.services.secrets import KeyRing

DEVICE_COOKIE = "ks_device"
#: browsers cap cookie lifetimes near 400 days (RFC 6265bis)
DEVICE_COOKIE_MAX_AGE = 400 * 86400
_COOKIE, _STORED, _NETWORK = "risk-device-cookie", "risk-device", "risk-network"


class DeviceIds:
    def __init__(self, ring: KeyRing) -> None:
        self._ring = ring

    def new_cookie(self) -> tuple[str, str]:
        """A new device: ``(id, cookie value)``."""
        device_id = secrets.token_hex(16)
        return device_id, f"{device_id}.{self._ring.mac(_COOKIE, device_id)[:32]}"

    def device_id(self, cookie: str | None) -> str | None:
        """The id in a cookie this server issued, else ``None``."""
        if not cookie or len(cookie) != 65 or cookie[32] != ".":
            return None
        device_id, signature = cookie[:32], cookie[33:]
        if any(c not in "0123456789abcdef" for c in device_id):
            return None
        if not secrets.compare_digest(signature, self._ring.mac(_COOKIE, device_id)[:32]):
            return None
        return device_id

    def stored(self, tenant_id: str, device_id: str) -> str:
        return self._ring.mac(_STORED, f"{tenant_id}:{device_id}")

    def network(self, tenant_id: str, ip: str) -> str | None:
        """The HMAC of the address's network, or ``None`` when it is not an address."""
        prefix = network_of(ip)
        return self._ring.mac(_NETWORK, f"{tenant_id}:{prefix}") if prefix is not None else None


def network_of(ip: str) -> str | None:
    """``203.0.113.0/24`` for an IPv4 address, the /48 for IPv6, ``None`` for anything else."""
    try:
        address = ipaddress.ip_address(ip.strip())
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    bits = 24 if address.version == 4 else 48
    return str(ipaddress.ip_network(f"{address}/{bits}", strict=False))
