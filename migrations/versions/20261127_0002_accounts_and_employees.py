"""accounts and employees

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-27 21:40:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "accounts",
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("owner_id", sa.Integer(), nullable=False),
        sa.Column("id", sa.Integer(), sa.Identity(always=False), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column(
            "updated_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["owner_id"],
            ["users.id"],
            name=op.f("fk_accounts_owner_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_accounts")),
    )
    op.create_index("ix_accounts_name", "accounts", ["name", "id"], unique=False)
    op.create_index(
        "ix_accounts_owner_id_name", "accounts", ["owner_id", "name", "id"], unique=False
    )
    op.create_table(
        "employees",
        sa.Column("account_id", sa.Integer(), nullable=False),
        sa.Column("full_name", sa.String(length=200), nullable=False),
        sa.Column("email", sa.String(length=320), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=True),
        sa.Column("department", sa.String(length=100), nullable=True),
        sa.Column("hired_on", sa.Date(), nullable=True),
        sa.Column("is_active", sa.Boolean(), server_default=sa.text("true"), nullable=False),
        sa.Column("id", sa.Integer(), sa.Identity(always=False), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column(
            "updated_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["accounts.id"],
            name=op.f("fk_employees_account_id_accounts"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_employees")),
        sa.UniqueConstraint("account_id", "email", name=op.f("uq_employees_account_id")),
    )
    op.create_index(
        "ix_employees_account_id_created_at",
        "employees",
        ["account_id", "created_at", "id"],
        unique=False,
    )
    op.create_index(
        "ix_employees_account_id_department",
        "employees",
        ["account_id", "department"],
        unique=False,
    )
    op.create_index(
        "ix_employees_account_id_full_name",
        "employees",
        ["account_id", "full_name", "id"],
        unique=False,
    )
    op.create_index(
        "ix_employees_account_id_hired_on",
        "employees",
        ["account_id", "hired_on", "id"],
        unique=False,
    )
    op.create_index(
        "ix_employees_account_id_is_active",
        "employees",
        ["account_id", "is_active"],
        unique=False,
    )


def downgrade() -> None:
    op.drop_index("ix_employees_account_id_is_active", table_name="employees")
    op.drop_index("ix_employees_account_id_hired_on", table_name="employees")
    op.drop_index("ix_employees_account_id_full_name", table_name="employees")
    op.drop_index("ix_employees_account_id_department", table_name="employees")
    op.drop_index("ix_employees_account_id_created_at", table_name="employees")
    op.drop_table("employees")
    op.drop_index("ix_accounts_owner_id_name", table_name="accounts")
    op.drop_index("ix_accounts_name", table_name="accounts")
    op.drop_table("accounts")
