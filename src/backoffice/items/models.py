"""The `items` table: the catalogue.

Indexes follow the API's filters and sorts:
- `uq_items_lower_name`: unique on `lower(name)` (case-insensitive uniqueness, enforced
  by the database; also serves `sort=name`, which orders by `lower(name)`);
- `ix_items_name_trgm` / `ix_items_description_trgm`: pg_trgm GIN for `q`
  (`ILIKE '%...%'` on either column: a BitmapOr of the two);
- `ix_items_category_price` (category, price, id): the category filter, alone or with a
  price range, sorted by price;
- `ix_items_price` (price, id) and `ix_items_created_at` (created_at, id): the other
  sorts and price ranges, the id making ties stable;
- `ix_items_owner_id` (`owner=me`, and the cascade when a user goes) and
  `ix_items_image_file_id` (the `SET NULL` when an image file is deleted).
"""

from decimal import Decimal

from sqlalchemy import CheckConstraint, ForeignKey, Index, Numeric, String, func
from sqlalchemy.orm import Mapped, mapped_column

from backoffice.models import Base, IdMixin, TimestampMixin

Money = Numeric(12, 2)


class Item(IdMixin, TimestampMixin, Base):
    __tablename__ = "items"
    __table_args__ = (
        CheckConstraint("price >= 0", name="price_non_negative"),
        CheckConstraint("tax >= 0", name="tax_non_negative"),
        Index(
            "ix_items_name_trgm",
            "name",
            postgresql_using="gin",
            postgresql_ops={"name": "gin_trgm_ops"},
        ),
        Index(
            "ix_items_description_trgm",
            "description",
            postgresql_using="gin",
            postgresql_ops={"description": "gin_trgm_ops"},
        ),
        Index("ix_items_category_price", "category", "price", "id"),
        Index("ix_items_price", "price", "id"),
        Index("ix_items_created_at", "created_at", "id"),
    )

    name: Mapped[str] = mapped_column(String(200))
    description: Mapped[str | None] = mapped_column(String(2000))
    category: Mapped[str | None] = mapped_column(String(100))
    price: Mapped[Decimal] = mapped_column(Money)
    tax: Mapped[Decimal | None] = mapped_column(Money)
    image_file_id: Mapped[int | None] = mapped_column(
        ForeignKey("files.id", ondelete="SET NULL"), index=True
    )
    owner_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)


# Declared after the class: the expression needs the mapped column.
Index("uq_items_lower_name", func.lower(Item.name), unique=True)
