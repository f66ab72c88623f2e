"""users.email_verified and pending_email, and the one-time link tokens

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-04 15:30:00

Users who exist before this revision count as verified: nobody ever had a link to
follow, and `REQUIRE_VERIFIED_EMAIL=true` must not lock every existing account out.
Users who register from now on start unverified. A reset or verification token is
stored as its SHA-256 digest, with the address it was mailed to.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Existing rows take the default of the ADD COLUMN (true); new rows the one set after.
    op.add_column(
        "users",
        sa.Column("email_verified", sa.Boolean(), server_default=sa.true(), nullable=False),
    )
    op.alter_column("users", "email_verified", server_default=sa.false())
    op.add_column("users", sa.Column("pending_email", sa.String(length=320), nullable=True))
    op.create_table(
        "one_time_tokens",
        sa.Column("id", sa.Integer(), sa.Identity(always=False), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=True),
        sa.Column("purpose", sa.String(length=16), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("email", sa.String(length=320), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("used_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint(
            "purpose IN ('password_reset', 'verify_email')", name=op.f("ck_one_time_tokens_purpose")
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_one_time_tokens_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_one_time_tokens")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_one_time_tokens_token_hash")),
    )
    op.create_index(
        "ix_one_time_tokens_email_purpose_created_at",
        "one_time_tokens",
        ["email", "purpose", "created_at"],
    )
    op.create_index("ix_one_time_tokens_user_id_purpose", "one_time_tokens", ["user_id", "purpose"])
    op.create_index("ix_one_time_tokens_expires_at", "one_time_tokens", ["expires_at"])


def downgrade() -> None:
    op.drop_table("one_time_tokens")
    op.drop_column("users", "pending_email")
    op.drop_column("users", "email_verified")
