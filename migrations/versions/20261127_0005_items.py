"""items

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-27 21:40:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Trigram indexes make `q` (ILIKE '%...%') fast; the extension ships with PostgreSQL.
    op.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    op.create_table(
        "items",
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("description", sa.String(length=2000), nullable=True),
        sa.Column("category", sa.String(length=100), nullable=True),
        sa.Column("price", sa.Numeric(precision=12, scale=2), nullable=False),
        sa.Column("tax", sa.Numeric(precision=12, scale=2), nullable=True),
        sa.Column("image_file_id", sa.Integer(), nullable=True),
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
        sa.CheckConstraint("price >= 0", name=op.f("ck_items_price_non_negative")),
        sa.CheckConstraint("tax >= 0", name=op.f("ck_items_tax_non_negative")),
        sa.ForeignKeyConstraint(
            ["image_file_id"],
            ["files.id"],
            name=op.f("fk_items_image_file_id_files"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["owner_id"], ["users.id"], name=op.f("fk_items_owner_id_users"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_items")),
    )
    op.create_index("ix_items_category_price", "items", ["category", "price", "id"], unique=False)
    op.create_index("ix_items_created_at", "items", ["created_at", "id"], unique=False)
    op.create_index(
        "ix_items_description_trgm",
        "items",
        ["description"],
        unique=False,
        postgresql_using="gin",
        postgresql_ops={"description": "gin_trgm_ops"},
    )
    op.create_index(op.f("ix_items_image_file_id"), "items", ["image_file_id"], unique=False)
    op.create_index(
        "ix_items_name_trgm",
        "items",
        ["name"],
        unique=False,
        postgresql_using="gin",
        postgresql_ops={"name": "gin_trgm_ops"},
    )
    op.create_index(op.f("ix_items_owner_id"), "items", ["owner_id"], unique=False)
    op.create_index("ix_items_price", "items", ["price", "id"], unique=False)
    op.create_index("uq_items_lower_name", "items", [sa.literal_column("lower(name)")], unique=True)


def downgrade() -> None:
    # pg_trgm stays: other objects may use it, and it is harmless.
    op.drop_index("uq_items_lower_name", table_name="items")
    op.drop_index("ix_items_price", table_name="items")
    op.drop_index(op.f("ix_items_owner_id"), table_name="items")
    op.drop_index("ix_items_name_trgm", table_name="items")
    op.drop_index(op.f("ix_items_image_file_id"), table_name="items")
    op.drop_index("ix_items_description_trgm", table_name="items")
    op.drop_index("ix_items_created_at", table_name="items")
    op.drop_index("ix_items_category_price", table_name="items")
    op.drop_table("items")
