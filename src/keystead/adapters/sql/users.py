"""Users: lookups by id and login, keyset pages with filters (free text through the search
tokens), compare-and-set updates; a user's search tokens change in the same transaction."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Connection, Select, bindparam, delete, func, or_, select, update
from sqlalchemy.exc import IntegrityError

from keystead.adapters.sql import tables as t
from keystead.adapters.sql._base import SqlBase
from keystead.adapters.sql._rows import to_record, to_row, to_values
from keystead.adapters.sql.search import WALK_WINDOW, plan_search, prefix_upper_bound, token_rows
from keystead.errors import Conflict
from keystead.ports.records import User


def normalize(value: str) -> str:
    return value.strip().casefold()


_USER_BY_ID = select(t.users).where(
    t.users.c.tenant_id == bindparam("tenant_id"), t.users.c.id == bindparam("id")
)
_USER_BY_LOGIN = (
    select(t.users)
    .where(
        t.users.c.tenant_id == bindparam("tenant_id"),
        or_(t.users.c.username_norm == bindparam("norm"), t.users.c.email_norm == bindparam("norm")),
    )
    .limit(2)
)
# Fields the search tokens are made of: changing one rewrites the user's tokens.
_SEARCHED = frozenset({"username", "email", "given_name", "family_name", "name"})


def _user_filters(filters: dict[str, Any]) -> list[Any]:
    c = t.users.c
    conditions: list[Any] = []
    if filters.get("email") is not None:
        conditions.append(c.email_norm == normalize(filters["email"]))
    if filters.get("username") is not None:
        conditions.append(c.username_norm == normalize(filters["username"]))
    if filters.get("username_prefix"):
        # A range rather than LIKE: SQLite's LIKE is case-insensitive and cannot use the index.
        prefix = normalize(filters["username_prefix"])
        conditions.append(c.username_norm >= prefix)
        if (upper := prefix_upper_bound(prefix)) is not None:
            conditions.append(c.username_norm < upper)
    if filters.get("status") is not None:
        conditions.append(c.status == filters["status"])
    if filters.get("created_after") is not None:
        conditions.append(c.created_at >= filters["created_after"])
    if filters.get("created_before") is not None:
        conditions.append(c.created_at < filters["created_before"])
    return conditions


class UserTables(SqlBase):
    def add_user(self, user: User) -> None:
        row = to_row(user)
        row["username_norm"] = normalize(user.username)
        row["email_norm"] = normalize(user.email) if user.email else None
        try:
            with self._write() as conn:
                conn.execute(t.users.insert(), row)
                _write_tokens(conn, user)
        except IntegrityError as exc:
            raise Conflict("username or email already in use") from exc

    def user_by_id(self, tenant_id: str, user_id: str) -> User | None:
        return self._one(User, _USER_BY_ID, {"tenant_id": tenant_id, "id": user_id})

    def user_by_login(self, tenant_id: str, login: str) -> User | None:
        norm = normalize(login)
        with self.engine.connect() as conn:
            rows = conn.execute(_USER_BY_LOGIN, {"tenant_id": tenant_id, "norm": norm}).mappings().all()
        # A username equal to another user's email is ambiguous: prefer the username match.
        rows = sorted(rows, key=lambda r: r["username_norm"] != norm)
        return to_record(User, rows[0]) if rows else None

    def list_users(self, tenant_id: str, *, after: str | None, limit: int) -> Sequence[User]:
        query = select(t.users).where(t.users.c.tenant_id == tenant_id)
        if after is not None:
            query = query.where(t.users.c.username_norm > after)
        query = query.order_by(t.users.c.username_norm).limit(limit)
        with self.engine.connect() as conn:
            return [to_record(User, r) for r in conn.execute(query).mappings()]

    def users_page(
        self, tenant_id: str, *, after: tuple[str, str] | None, limit: int, **filters: Any
    ) -> Sequence[User]:
        """Keyset pagination on ``(username_norm, id)``: never OFFSET, never a count. The
        position is a range start on the ``(tenant_id, username_norm)`` index, so a page deep in
        the list costs what the first one does."""
        c = t.users.c
        conditions = [*_user_filters(filters)]
        if after is not None:
            norm, user_id = after
            conditions += [c.username_norm >= norm, or_(c.username_norm > norm, c.id > user_id)]
        with self.engine.connect() as conn:
            if not filters.get("q"):
                return _page(
                    conn, _ordered(select(t.users).where(c.tenant_id == tenant_id, *conditions)), limit
                )
            search = plan_search(conn, tenant_id, filters["q"])
            if search is None:
                return []
            if search.words and not search.rare:
                window = _ordered(select(t.users).where(c.tenant_id == tenant_id, *conditions))
                inner = window.limit(WALK_WINDOW).subquery()
                query = select(inner).where(*search.probes(inner.c.id))
                found = _page(conn, query.order_by(inner.c.username_norm, inner.c.id), limit)
                if len(found) == limit:
                    return found
            tenant = c.tenant_id == tenant_id
            if search.words and conn.dialect.name == "sqlite":
                # Not an index term: without statistics SQLite would walk the username index
                # for the page order instead of starting from the rare word's users.
                tenant = (c.tenant_id + "") == tenant_id
            return _page(conn, _ordered(select(t.users).where(tenant, *conditions, *search.driven())), limit)

    def update_user(
        self, tenant_id: str, user_id: str, *, expected_updated_at: float | None = None, **fields: Any
    ) -> bool:
        values = to_values(fields)
        if "username" in fields:
            values["username_norm"] = normalize(fields["username"])
        if "email" in fields:
            values["email_norm"] = normalize(fields["email"]) if fields["email"] else None
        stmt = update(t.users).where(t.users.c.tenant_id == tenant_id, t.users.c.id == user_id)
        if expected_updated_at is not None:
            stmt = stmt.where(t.users.c.updated_at == expected_updated_at)
        try:
            with self._write() as conn:
                if conn.execute(stmt.values(**values)).rowcount != 1:
                    return False
                if _SEARCHED & fields.keys():
                    user = conn.execute(_USER_BY_ID, {"tenant_id": tenant_id, "id": user_id}).mappings().one()
                    _write_tokens(conn, to_record(User, user), replace=True)
                return True
        except IntegrityError as exc:
            raise Conflict("username or email already in use") from exc

    def delete_user(self, tenant_id: str, user_id: str) -> bool:
        with self._write() as conn:
            for table in (t.sessions, t.consents, t.grants, t.user_search_tokens):
                conn.execute(delete(table).where(table.c.tenant_id == tenant_id, table.c.user_id == user_id))
            stmt = delete(t.users).where(t.users.c.tenant_id == tenant_id, t.users.c.id == user_id)
            return conn.execute(stmt).rowcount == 1

    def count_users(self, tenant_id: str) -> int:
        query = select(func.count()).select_from(t.users).where(t.users.c.tenant_id == tenant_id)
        with self.engine.connect() as conn:
            return int(conn.execute(query).scalar_one())


def _write_tokens(conn: Connection, user: User, *, replace: bool = False) -> None:
    tokens = t.user_search_tokens
    if replace:
        conn.execute(delete(tokens).where(tokens.c.tenant_id == user.tenant_id, tokens.c.user_id == user.id))
    if rows := token_rows(user):
        conn.execute(tokens.insert(), rows)


def _ordered(query: Select[Any]) -> Select[Any]:
    return query.order_by(t.users.c.username_norm, t.users.c.id)


def _page(conn: Connection, query: Select[Any], limit: int) -> list[User]:
    return [to_record(User, r) for r in conn.execute(query.limit(limit)).mappings()]
