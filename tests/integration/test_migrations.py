"""The migrations build exactly the schema the code declares (tables.py), on the test backend.

A column, index or constraint added to one and not the other fails here, before it fails in
production on a database that was migrated rather than created from the metadata.
"""

from __future__ import annotations

from typing import Any

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import create_engine

from keystead.adapters.sql.tables import metadata


def _differences(db_url: str) -> list[Any]:
    engine = create_engine(db_url)
    try:
        with engine.connect() as conn:
            context = MigrationContext.configure(
                conn, opts={"compare_type": True, "compare_server_default": False}
            )
            return list(compare_metadata(context, metadata))
    finally:
        engine.dispose()


def test_migrated_schema_matches_the_declared_tables(db_url: str) -> None:
    assert _differences(db_url) == []
