"""Bulk user inserts for imports: one transaction per batch, duplicates skipped, search tokens
written for the inserted users only.

PostgreSQL: the batch is copied (``COPY``) into a temporary table, moved into ``users`` with
``INSERT ... SELECT ... ON CONFLICT DO NOTHING RETURNING id``, and the tokens of the users that
went in are copied straight into ``user_search_tokens``: three round trips per batch whatever
its size. SQLite: multi-row ``INSERT ... ON CONFLICT DO NOTHING RETURNING id`` statements and
one ``executemany`` for the tokens, under the process write lock.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from operator import attrgetter
from typing import Any

from sqlalchemy import JSON, Connection

from keystead.adapters.sql import tables as t
from keystead.adapters.sql._base import SqlBase
from keystead.adapters.sql.search import user_tokens
from keystead.adapters.sql.users import normalize
from keystead.ports.records import User

_COLUMNS: tuple[str, ...] = tuple(c.name for c in t.users.columns)
# A row's values in column order, read off the record in one call (the norms are filled after).
_FIELDS_OF = attrgetter(*(c.removesuffix("_norm") for c in _COLUMNS))
_USERNAME_NORM = _COLUMNS.index("username_norm")
_EMAIL_NORM = _COLUMNS.index("email_norm")
_JSON_POSITIONS = tuple(i for i, c in enumerate(t.users.columns) if isinstance(c.type, JSON))
_COLUMN_LIST = ", ".join(_COLUMNS)
# Statements built from the schema's column names only; every value is a bound parameter or COPY data.
_SQLITE_ROW = "(" + ", ".join("?" * len(_COLUMNS)) + ")"
_SQLITE_INSERT = f"INSERT INTO users ({_COLUMN_LIST}) VALUES {{rows}} ON CONFLICT DO NOTHING RETURNING id"  # noqa: S608
_PG_COPY_USERS = f"COPY _bulk_users ({_COLUMN_LIST}) FROM STDIN"
_PG_MOVE_USERS = f"INSERT INTO users ({_COLUMN_LIST}) SELECT {_COLUMN_LIST} FROM _bulk_users ON CONFLICT DO NOTHING RETURNING id"  # noqa: S608
# SQLite binds at most 250,000 variables per statement (3.40 as built by CPython); stay far below.
_SQLITE_ROWS_PER_STATEMENT = 500


class BulkUserTables(SqlBase):
    def add_users_bulk(self, tenant_id: str, users: Sequence[User]) -> list[int]:
        """Insert ``users`` of ``tenant_id`` in one transaction; skip those whose username or
        email (case-insensitive) is taken in the tenant or earlier in the batch, or whose id
        exists; return the indexes in ``users`` of the rows inserted, in order."""
        for user in users:
            if user.tenant_id != tenant_id:
                raise ValueError(f"user {user.id} belongs to tenant {user.tenant_id}, not {tenant_id}")
        candidates = _first_of_each(users)
        if not candidates:
            return []
        rows = [_row(users[i]) for i in candidates]
        with self._write() as conn:
            if conn.dialect.name == "postgresql":
                inserted = _insert_postgresql(conn, rows)
            else:
                inserted = _insert_sqlite(conn, rows)
            kept = [i for i in candidates if users[i].id in inserted]
            tokens = [(tenant_id, tok, users[i].id) for i in kept for tok in user_tokens(users[i])]
            if conn.dialect.name == "postgresql":
                _copy_tokens_postgresql(conn, tokens)
            elif tokens:
                conn.exec_driver_sql(
                    "INSERT INTO user_search_tokens (tenant_id, token, user_id) VALUES (?, ?, ?)", tokens
                )
        return kept


def _first_of_each(users: Sequence[User]) -> list[int]:
    """The indexes of users whose id, username and email do not repeat an earlier one's."""
    ids: set[str] = set()
    names: set[str] = set()
    emails: set[str] = set()
    keep: list[int] = []
    for i, user in enumerate(users):
        name = normalize(user.username)
        email = normalize(user.email) if user.email else None
        if user.id in ids or name in names or (email is not None and email in emails):
            continue
        ids.add(user.id)
        names.add(name)
        if email is not None:
            emails.add(email)
        keep.append(i)
    return keep


def _row(user: User) -> tuple[Any, ...]:
    values = list(_FIELDS_OF(user))
    values[_USERNAME_NORM] = normalize(user.username)
    values[_EMAIL_NORM] = normalize(user.email) if user.email else None
    for i in _JSON_POSITIONS:
        if (value := values[i]) is not None:
            values[i] = json.dumps(list(value) if isinstance(value, tuple) else value)
    return tuple(values)


def _chunks(rows: list[tuple[Any, ...]], size: int) -> Iterator[list[tuple[Any, ...]]]:
    for start in range(0, len(rows), size):
        yield rows[start : start + size]


def _insert_sqlite(conn: Connection, rows: list[tuple[Any, ...]]) -> set[str]:
    inserted: set[str] = set()
    for chunk in _chunks(rows, _SQLITE_ROWS_PER_STATEMENT):
        sql = _SQLITE_INSERT.format(rows=", ".join([_SQLITE_ROW] * len(chunk)))
        params = tuple(v for row in chunk for v in row)
        inserted.update(conn.exec_driver_sql(sql, params).scalars())
    return inserted


def _insert_postgresql(conn: Connection, rows: list[tuple[Any, ...]]) -> set[str]:
    raw = conn.connection.driver_connection
    assert raw is not None
    with raw.cursor() as cur:
        cur.execute("CREATE TEMPORARY TABLE _bulk_users (LIKE users) ON COMMIT DROP")
        with cur.copy(_PG_COPY_USERS) as copy:
            for row in rows:
                copy.write_row(row)
        cur.execute(_PG_MOVE_USERS)
        inserted = {r[0] for r in cur.fetchall()}
        cur.execute("DROP TABLE _bulk_users")
    return inserted


def _copy_tokens_postgresql(conn: Connection, tokens: list[tuple[str, str, str]]) -> None:
    if not tokens:
        return
    raw = conn.connection.driver_connection
    assert raw is not None
    with (
        raw.cursor() as cur,
        cur.copy("COPY user_search_tokens (tenant_id, token, user_id) FROM STDIN") as copy,
    ):
        for row in tokens:
            copy.write_row(row)
