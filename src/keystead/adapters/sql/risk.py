"""The risk engine's memory of users: known devices and networks (HMACs) and the last place.

``risk_profile`` reads all of it in one connection (four indexed lookups on primary keys);
``remember_sign_in`` upserts in one transaction, deletes the user's rows past the retention
period and, when it added a row, trims them to the ``keep`` most recent, so the tables stay small
whatever the traffic.
"""

from __future__ import annotations

from sqlalchemy import Connection, Table, delete, exists, literal, select, update

from keystead.adapters.sql import tables as t
from keystead.adapters.sql._base import SqlBase
from keystead.ports.risk import KnownDevice, LastPlace, RiskProfile, SignInMemory

_D, _N, _L = t.risk_devices.c, t.risk_networks.c, t.risk_locations.c


class RiskTables(SqlBase):
    def risk_profile(
        self, tenant_id: str, user_id: str, device_hash: str | None, network_hash: str | None
    ) -> RiskProfile:
        mine_d = (_D.tenant_id == tenant_id) & (_D.user_id == user_id)
        mine_n = (_N.tenant_id == tenant_id) & (_N.user_id == user_id)
        known = exists().where(mine_n, _N.network_hash == network_hash) if network_hash else None
        flags = select(
            exists().where(mine_d).label("has_devices"),
            exists().where(mine_n).label("has_networks"),
            (known if known is not None else literal(False)).label("network_known"),
        )
        with self.engine.connect() as conn:
            device = None
            if device_hash is not None:
                row = conn.execute(
                    select(_D.device_hash, _D.first_seen, _D.last_seen, _D.last_mfa_at).where(
                        mine_d, _D.device_hash == device_hash
                    )
                ).first()
                device = KnownDevice(*row) if row is not None else None
            has_devices, has_networks, network_known = conn.execute(flags).one()
            place_row = conn.execute(
                select(_L.latitude, _L.longitude, _L.country, _L.seen_at).where(
                    _L.tenant_id == tenant_id, _L.user_id == user_id
                )
            ).first()
        place = LastPlace(*place_row) if place_row is not None else None
        return RiskProfile(device, bool(has_devices), bool(network_known), bool(has_networks), place)

    def remember_sign_in(self, tenant_id: str, user_id: str, memory: SignInMemory) -> None:
        m = memory
        grew: list[Table] = []  # trimmed only when a row was added: a known device costs updates only
        with self._write() as conn:
            mine_d = (_D.tenant_id == tenant_id) & (_D.user_id == user_id)
            values: dict[str, float] = {"last_seen": m.now}
            if m.mfa:
                values["last_mfa_at"] = m.now
            changed = conn.execute(
                update(t.risk_devices).where(mine_d, _D.device_hash == m.device_hash).values(**values)
            ).rowcount
            if not changed:
                grew.append(t.risk_devices)
                conn.execute(
                    t.risk_devices.insert().values(
                        tenant_id=tenant_id,
                        user_id=user_id,
                        device_hash=m.device_hash,
                        first_seen=m.now,
                        last_seen=m.now,
                        last_mfa_at=m.now if m.mfa else None,
                    )
                )
            if m.network_hash is not None:
                mine_n = (_N.tenant_id == tenant_id) & (_N.user_id == user_id)
                changed = conn.execute(
                    update(t.risk_networks)
                    .where(mine_n, _N.network_hash == m.network_hash)
                    .values(last_seen=m.now)
                ).rowcount
                if not changed:
                    grew.append(t.risk_networks)
                    conn.execute(
                        t.risk_networks.insert().values(
                            tenant_id=tenant_id, user_id=user_id, network_hash=m.network_hash, last_seen=m.now
                        )
                    )
            if m.place is not None:
                mine_l = (_L.tenant_id == tenant_id) & (_L.user_id == user_id)
                place = {
                    "latitude": m.place.latitude,
                    "longitude": m.place.longitude,
                    "country": m.place.country,
                    "seen_at": m.place.seen_at,
                }
                if not conn.execute(update(t.risk_locations).where(mine_l).values(**place)).rowcount:
                    conn.execute(
                        t.risk_locations.insert().values(tenant_id=tenant_id, user_id=user_id, **place)
                    )
            for table in (t.risk_devices, t.risk_networks):  # retention: every sign-in
                c = table.c
                conn.execute(
                    delete(table).where(
                        c.tenant_id == tenant_id, c.user_id == user_id, c.last_seen < m.forget_before
                    )
                )
            for table in grew:
                _trim(
                    conn,
                    table,
                    "device_hash" if table is t.risk_devices else "network_hash",
                    tenant_id,
                    user_id,
                    m,
                )

    def forget_risk_profile(self, tenant_id: str, user_id: str) -> None:
        with self._write() as conn:
            for table in (t.risk_devices, t.risk_networks, t.risk_locations):
                conn.execute(delete(table).where(table.c.tenant_id == tenant_id, table.c.user_id == user_id))


def _trim(conn: Connection, table: Table, key: str, tenant_id: str, user_id: str, m: SignInMemory) -> None:
    """Keep the user's ``m.keep`` most recently seen rows."""
    c = table.c
    mine = (c.tenant_id == tenant_id) & (c.user_id == user_id)
    stale = select(c[key]).where(mine).order_by(c.last_seen.desc(), c[key].desc()).offset(m.keep).limit(1000)
    old = [row[0] for row in conn.execute(stale)]
    if old:
        conn.execute(delete(table).where(mine, c[key].in_(old)))
