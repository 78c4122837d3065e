"""The risk engine's memory of users: known devices and networks (HMACs) and the last place.

``risk_profile`` reads all of it in one connection (three statements on primary keys);
``remember_sign_in`` upserts in one transaction, deletes the user's rows past the retention
period and, when it added a row, trims them to the ``keep`` most recent, so the tables stay
small whatever the traffic. Every statement is built once, with bound parameters (hot path).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import BindParameter, Connection, Table, bindparam, delete, exists, select, update

from keystead.adapters.sql import tables as t
from keystead.adapters.sql._base import SqlBase
from keystead.ports.risk import KnownDevice, LastPlace, RiskProfile, SignInMemory

_D, _N, _L = t.risk_devices.c, t.risk_networks.c, t.risk_locations.c
_T: BindParameter[str] = bindparam("p_tenant")
_U: BindParameter[str] = bindparam("p_user")
_MINE_D = (_D.tenant_id == _T) & (_D.user_id == _U)
_MINE_N = (_N.tenant_id == _T) & (_N.user_id == _U)
_MINE_L = (_L.tenant_id == _T) & (_L.user_id == _U)

_DEVICE = select(_D.device_hash, _D.first_seen, _D.last_seen, _D.last_mfa_at).where(
    _MINE_D, _D.device_hash == bindparam("p_device")
)
# a NULL network matches no row: "known" is then false
_FLAGS = select(
    exists().where(_MINE_D).label("has_devices"),
    exists().where(_MINE_N).label("has_networks"),
    exists().where(_MINE_N, _N.network_hash == bindparam("p_network")).label("network_known"),
)
_PLACE = select(_L.latitude, _L.longitude, _L.country, _L.seen_at).where(_MINE_L)
_SEEN = (
    update(t.risk_devices)
    .where(_MINE_D, _D.device_hash == bindparam("p_device"))
    .values(last_seen=bindparam("p_now"))
)
_SEEN_MFA = _SEEN.values(last_mfa_at=bindparam("p_now"))
_NETWORK_SEEN = (
    update(t.risk_networks)
    .where(_MINE_N, _N.network_hash == bindparam("p_network"))
    .values(last_seen=bindparam("p_now"))
)
_MOVED = (
    update(t.risk_locations)
    .where(_MINE_L)
    .values(
        latitude=bindparam("p_lat"),
        longitude=bindparam("p_lon"),
        country=bindparam("p_country"),
        seen_at=bindparam("p_at"),
    )
)
_EXPIRED = (
    delete(t.risk_devices).where(_MINE_D, _D.last_seen < bindparam("p_before")),
    delete(t.risk_networks).where(_MINE_N, _N.last_seen < bindparam("p_before")),
)


class RiskTables(SqlBase):
    def risk_profile(
        self, tenant_id: str, user_id: str, device_hash: str | None, network_hash: str | None
    ) -> RiskProfile:
        mine = {"p_tenant": tenant_id, "p_user": user_id}
        with self.engine.connect() as conn:
            device = None
            if device_hash is not None:
                row = conn.execute(_DEVICE, {**mine, "p_device": device_hash}).first()
                device = KnownDevice(*row) if row is not None else None
            flags = conn.execute(_FLAGS, {**mine, "p_network": network_hash}).one()
            place_row = conn.execute(_PLACE, mine).first()
        has_devices, has_networks, network_known = (bool(v) for v in flags)
        place = LastPlace(*place_row) if place_row is not None else None
        return RiskProfile(
            device, has_devices, network_known and network_hash is not None, has_networks, place
        )

    def remember_sign_in(self, tenant_id: str, user_id: str, memory: SignInMemory) -> None:
        m = memory
        mine: dict[str, Any] = {"p_tenant": tenant_id, "p_user": user_id, "p_now": m.now}
        owner = {"tenant_id": tenant_id, "user_id": user_id}
        grew: list[tuple[Table, str]] = []  # trimmed only when a row was added
        with self._write() as conn:
            seen = _SEEN_MFA if m.mfa else _SEEN
            if not conn.execute(seen, {**mine, "p_device": m.device_hash}).rowcount:
                grew.append((t.risk_devices, "device_hash"))
                conn.execute(
                    t.risk_devices.insert(),
                    {
                        **owner,
                        "device_hash": m.device_hash,
                        "first_seen": m.now,
                        "last_seen": m.now,
                        "last_mfa_at": m.now if m.mfa else None,
                    },
                )
            if (
                m.network_hash is not None
                and not conn.execute(_NETWORK_SEEN, {**mine, "p_network": m.network_hash}).rowcount
            ):
                grew.append((t.risk_networks, "network_hash"))
                conn.execute(
                    t.risk_networks.insert(), {**owner, "network_hash": m.network_hash, "last_seen": m.now}
                )
            if m.place is not None:
                p = m.place
                place = {"p_lat": p.latitude, "p_lon": p.longitude, "p_country": p.country, "p_at": p.seen_at}
                if not conn.execute(_MOVED, {**mine, **place}).rowcount:
                    conn.execute(
                        t.risk_locations.insert(),
                        {
                            **owner,
                            "latitude": p.latitude,
                            "longitude": p.longitude,
                            "country": p.country,
                            "seen_at": p.seen_at,
                        },
                    )
            for expired in _EXPIRED:  # retention: at every sign-in
                conn.execute(expired, {"p_tenant": tenant_id, "p_user": user_id, "p_before": m.forget_before})
            for table, key in grew:
                _trim(conn, table, key, tenant_id, user_id, m.keep)

    def forget_risk_profile(self, tenant_id: str, user_id: str) -> None:
        with self._write() as conn:
            for table in (t.risk_devices, t.risk_networks, t.risk_locations):
                conn.execute(delete(table).where(table.c.tenant_id == tenant_id, table.c.user_id == user_id))


def _trim(conn: Connection, table: Table, key: str, tenant_id: str, user_id: str, keep: int) -> None:
    """Keep the user's ``keep`` most recently seen rows."""
    c = table.c
    mine = (c.tenant_id == tenant_id) & (c.user_id == user_id)
    stale = select(c[key]).where(mine).order_by(c.last_seen.desc(), c[key].desc()).offset(keep).limit(1000)
    old = [row[0] for row in conn.execute(stale)]
    if old:
        conn.execute(delete(table).where(mine, c[key].in_(old)))
