"""What every table group shares: the engine, and writes serialised per process on SQLite.

SQLite allows one writer at a time; letting threads race for its lock means sleeping in its
busy handler. A process-wide lock around write transactions queues them instead (reads still run
concurrently in WAL mode). PostgreSQL needs no such lock.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

from sqlalchemy import Connection, Engine, Table
from sqlalchemy.exc import IntegrityError

from keystead.adapters.sql._rows import to_record
from keystead.errors import Conflict

R = TypeVar("R")


class SqlBase:
    engine: Engine
    _write_lock: threading.Lock | None = None

    def _bind(self, engine: Engine) -> None:
        self.engine = engine
        self._write_lock = threading.Lock() if engine.dialect.name == "sqlite" else None

    @contextmanager
    def _write(self) -> Iterator[Connection]:
        if self._write_lock is None:
            with self.engine.begin() as conn:
                yield conn
            return
        with self._write_lock, self.engine.begin() as conn:
            yield conn

    def _insert(self, table: Table, row: dict[str, Any], conflict: str) -> None:
        try:
            with self._write() as conn:
                conn.execute(table.insert(), row)
        except IntegrityError as exc:
            raise Conflict(conflict) from exc

    def _one(self, cls: type[R], query: Any, params: dict[str, Any] | None = None) -> R | None:
        with self.engine.connect() as conn:
            row = conn.execute(query, params or {}).mappings().first()
        return to_record(cls, row) if row is not None else None
