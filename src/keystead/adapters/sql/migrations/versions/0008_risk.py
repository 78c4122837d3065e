"""The risk engine: per-client ``mfa``, ``minimum_acr`` and ``risk`` override columns, and each
user's known devices, known networks (HMACs only) and coarse last sign-in place (docs/risk.md).

Revision ID: 0008_risk
Revises: 0007_one_time_codes
Create Date: 2026-11-29 08:00:00.000000
"""

import sqlalchemy as sa
from alembic import op

revision = "0008_risk"
down_revision = "0007_one_time_codes"
branch_labels = None
depends_on = None


def _user_fk(table: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        ["user_id"], ["users.id"], name=f"fk_{table}_user_id_users", ondelete="CASCADE"
    )


def upgrade() -> None:
    with op.batch_alter_table("clients") as batch:
        batch.add_column(sa.Column("mfa", sa.String(16), nullable=True))
        batch.add_column(sa.Column("minimum_acr", sa.String(64), nullable=True))
        batch.add_column(sa.Column("risk", sa.JSON(), nullable=True))
    op.create_table(
        "risk_devices",
        sa.Column("tenant_id", sa.String(36), nullable=False),
        sa.Column("user_id", sa.String(36), nullable=False),
        sa.Column("device_hash", sa.String(64), nullable=False),
        sa.Column("first_seen", sa.Double(), nullable=False),
        sa.Column("last_seen", sa.Double(), nullable=False),
        sa.Column("last_mfa_at", sa.Double(), nullable=True),
        _user_fk("risk_devices"),
        sa.PrimaryKeyConstraint("tenant_id", "user_id", "device_hash", name="pk_risk_devices"),
    )
    op.create_table(
        "risk_networks",
        sa.Column("tenant_id", sa.String(36), nullable=False),
        sa.Column("user_id", sa.String(36), nullable=False),
        sa.Column("network_hash", sa.String(64), nullable=False),
        sa.Column("last_seen", sa.Double(), nullable=False),
        _user_fk("risk_networks"),
        sa.PrimaryKeyConstraint("tenant_id", "user_id", "network_hash", name="pk_risk_networks"),
    )
    op.create_table(
        "risk_locations",
        sa.Column("tenant_id", sa.String(36), nullable=False),
        sa.Column("user_id", sa.String(36), nullable=False),
        sa.Column("latitude", sa.Double(), nullable=False),
        sa.Column("longitude", sa.Double(), nullable=False),
        sa.Column("country", sa.String(2), nullable=True),
        sa.Column("seen_at", sa.Double(), nullable=False),
        _user_fk("risk_locations"),
        sa.PrimaryKeyConstraint("tenant_id", "user_id", name="pk_risk_locations"),
    )


def downgrade() -> None:
    op.drop_table("risk_locations")
    op.drop_table("risk_networks")
    op.drop_table("risk_devices")
    with op.batch_alter_table("clients") as batch:
        batch.drop_column("risk")
        batch.drop_column("minimum_acr")
        batch.drop_column("mfa")
