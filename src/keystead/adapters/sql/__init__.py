"""SQLAlchemy 2 Core storage for SQLite and PostgreSQL, migrated by Alembic."""

from keystead.adapters.sql.engine import create_engine_for, upgrade
from keystead.adapters.sql.storage import SqlStorage

__all__ = ["SqlStorage", "create_engine_for", "upgrade"]
