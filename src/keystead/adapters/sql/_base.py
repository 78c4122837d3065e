"""What every table group shares: the engine, and writes serialised per process on SQLite.

SQLite allows one writer at a time; letting threads race for its lock means sleeping in its
busy handler. A process-wide lock around write transactions queues them instead (reads still run
concurrently in WAL mode). PostgreSQL needs no such lock.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import Connection, Engine


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
