"""Management surface: tenant settings, user roles, free-text search tokens, import jobs,
indexes for created-range filters and a user's grants; bytewise (C) collation for the
normalised username/email on PostgreSQL so that prefix searches use the index. The search
tokens of the users that exist already are written here, in batches (the tokenizer is
keystead.adapters.sql.search, the one the application uses).

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-29 05:00:00.000000
"""

import sqlalchemy as sa
from alembic import op

from keystead.adapters.sql.search import user_tokens
from keystead.ports.records import User

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

BACKFILL_BATCH = 2_000


def _norm(length: int) -> sa.types.TypeEngine[str]:
    return sa.String(length).with_variant(sa.String(length, collation="C"), "postgresql")


def upgrade() -> None:
    with op.batch_alter_table("tenants") as batch:
        batch.add_column(sa.Column("settings", sa.JSON(), nullable=True))
    with op.batch_alter_table("users") as batch:
        batch.add_column(sa.Column("roles", sa.JSON(), nullable=True))
    if op.get_bind().dialect.name == "postgresql":
        op.execute('ALTER TABLE users ALTER COLUMN username_norm TYPE varchar(255) COLLATE "C"')
        op.execute('ALTER TABLE users ALTER COLUMN email_norm TYPE varchar(320) COLLATE "C"')
    op.create_index("ix_users_tenant_created", "users", ["tenant_id", "created_at", "id"])
    op.create_index("ix_grants_user", "grants", ["tenant_id", "user_id"])
    op.create_table(
        "user_search_tokens",
        sa.Column("tenant_id", sa.String(36), nullable=False),
        sa.Column("token", _norm(255), nullable=False),
        sa.Column("user_id", sa.String(36), nullable=False),
        sa.PrimaryKeyConstraint("tenant_id", "token", "user_id", name="pk_user_search_tokens"),
        sqlite_with_rowid=False,
    )
    op.create_index("ix_user_search_tokens_user", "user_search_tokens", ["user_id", "token"])
    _backfill_search_tokens(op.get_bind())
    op.create_table(
        "import_jobs",
        sa.Column("id", sa.String(36), nullable=False),
        sa.Column("tenant_id", sa.String(36), nullable=False),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("actor", sa.String(255), nullable=False),
        sa.Column("source", sa.String(255), nullable=True),
        sa.Column("total", sa.Integer(), nullable=False),
        sa.Column("created", sa.Integer(), nullable=False),
        sa.Column("unchanged", sa.Integer(), nullable=False),
        sa.Column("failed", sa.Integer(), nullable=False),
        sa.Column("errors", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.Double(), nullable=False),
        sa.Column("updated_at", sa.Double(), nullable=False),
        sa.Column("finished_at", sa.Double(), nullable=True),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenants.id"], name="fk_import_jobs_tenant_id_tenants", ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name="pk_import_jobs"),
    )
    op.create_index("ix_import_jobs_tenant_time", "import_jobs", ["tenant_id", "created_at", "id"])


def _backfill_search_tokens(conn: sa.Connection) -> None:
    """One batch of users at a time, in id order: memory stays flat whatever the user count."""
    fields = ("id", "tenant_id", "username", "email", "given_name", "family_name", "name")
    users = sa.table("users", *(sa.column(f) for f in fields))
    tokens = sa.table("user_search_tokens", sa.column("tenant_id"), sa.column("token"), sa.column("user_id"))
    after = ""
    while True:
        query = sa.select(users).where(users.c.id > after).order_by(users.c.id).limit(BACKFILL_BATCH)
        batch = conn.execute(query).mappings().all()
        if not batch:
            return
        rows = [
            {"tenant_id": row["tenant_id"], "token": token, "user_id": row["id"]}
            for row in batch
            for token in user_tokens(User(**row))
        ]
        if rows:
            conn.execute(tokens.insert(), rows)
        after = batch[-1]["id"]


def downgrade() -> None:
    op.drop_index("ix_import_jobs_tenant_time", table_name="import_jobs")
    op.drop_table("import_jobs")
    op.drop_index("ix_user_search_tokens_user", table_name="user_search_tokens")
    op.drop_table("user_search_tokens")
    op.drop_index("ix_grants_user", table_name="grants")
    op.drop_index("ix_users_tenant_created", table_name="users")
    with op.batch_alter_table("users") as batch:
        batch.drop_column("roles")
    with op.batch_alter_table("tenants") as batch:
        batch.drop_column("settings")
