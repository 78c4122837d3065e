"""Passkeys (WebAuthn): pending ceremony challenges, single use, keyed by the challenge's SHA-256;
and each user's opaque WebAuthn user handle. The passkeys themselves are ``user_factors`` rows of
kind ``passkey``.

Revision ID: 0006_passkeys
Revises: 0005
Create Date: 2026-11-29 07:50:00.000000
"""

import sqlalchemy as sa
from alembic import op

revision = "0006_passkeys"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "passkey_challenges",
        sa.Column("id", sa.String(64), nullable=False),
        sa.Column("tenant_id", sa.String(36), nullable=False),
        sa.Column("purpose", sa.String(16), nullable=False),
        sa.Column("binding", sa.String(128), nullable=False),
        sa.Column("user_id", sa.String(36), nullable=True),
        sa.Column("created_at", sa.Double(), nullable=False),
        sa.Column("expires_at", sa.Double(), nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name="fk_passkey_challenges_user_id_users", ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name="pk_passkey_challenges"),
    )
    op.create_index(
        "ix_passkey_challenges_binding", "passkey_challenges", ["tenant_id", "binding", "purpose"]
    )
    op.create_index("ix_passkey_challenges_expiry", "passkey_challenges", ["tenant_id", "expires_at"])
    op.create_table(
        "passkey_user_handles",
        sa.Column("tenant_id", sa.String(36), nullable=False),
        sa.Column("user_id", sa.String(36), nullable=False),
        sa.Column("handle", sa.String(64), nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name="fk_passkey_user_handles_user_id_users", ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("tenant_id", "user_id", name="pk_passkey_user_handles"),
        sa.UniqueConstraint("tenant_id", "handle", name="uq_passkey_user_handles_handle"),
    )


def downgrade() -> None:
    op.drop_table("passkey_user_handles")
    op.drop_index("ix_passkey_challenges_expiry", table_name="passkey_challenges")
    op.drop_index("ix_passkey_challenges_binding", table_name="passkey_challenges")
    op.drop_table("passkey_challenges")
