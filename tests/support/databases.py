"""The database a test session runs on: a SQLite file, or a per-worker PostgreSQL database.

``KEYSTEAD_TEST_DATABASE=postgres`` selects PostgreSQL at ``KEYSTEAD_TEST_PG_URL`` (started by
``scripts/with-services.sh``); with ``CI=true`` a missing server is a failure, not a skip.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from keystead.adapters.sql import create_engine_for, upgrade


def database_url(tmp: Path) -> str:
    if os.environ.get("KEYSTEAD_TEST_DATABASE") == "postgres":
        url = _postgres_database()
    else:
        url = f"sqlite:///{tmp / 'keystead.db'}"
    engine = create_engine_for(url)
    upgrade(engine)
    engine.dispose()
    return url


def _postgres_database() -> str:
    base = os.environ.get("KEYSTEAD_TEST_PG_URL")
    if not base:
        message = "KEYSTEAD_TEST_DATABASE=postgres needs KEYSTEAD_TEST_PG_URL"
        if os.environ.get("CI") == "true":
            pytest.fail(message)
        pytest.skip(message)
    worker = os.environ.get("PYTEST_XDIST_WORKER", "main")
    name = f"keystead_{worker}"
    admin = create_engine(base, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}"'))
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    return base.rsplit("/", 1)[0] + f"/{name}"
