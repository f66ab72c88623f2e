"""Request, response and query models of the catalogue.

Money (`price`, `tax`, `min_price`, `max_price`) is accepted as a JSON number (read
exactly, as a decimal) or a plain decimal string (`"12.50"`: 1 to 10 digits, at most 2
decimals), must be finite, >= 0, with at most 2 decimals and 10 whole digits (it is
`NUMERIC(12,2)` in the database); it is always sent back as a string with
exactly two decimals (`"12.50"`), so no client ever parses it into a binary float.

`tax` is an absolute amount (not a rate): `price_with_tax = price + tax`, with a
missing tax counting as zero. It is computed when the item is read, never stored.
"""

import re
from datetime import datetime
from decimal import Decimal
from typing import Annotated, ClassVar, Literal, Self

from pydantic import (
    AfterValidator,
    BeforeValidator,
    ConfigDict,
    Field,
    PlainSerializer,
    StringConstraints,
    WithJsonSchema,
    computed_field,
    model_validator,
)

from backoffice.pagination import ListQuery, SortOrder
from backoffice.schemas import BodyId, Example, PatchModel, ReadModel, RequestModel


def money_string(value: Decimal) -> str:
    return f"{value:.2f}"


def without_negative_zero(value: Decimal) -> Decimal:
    """`-0` passes `ge=0`; adding zero makes it `0`, so it is never echoed as `"-0.00"`."""
    return value + 0


MONEY_PATTERN = r"^\d{1,10}(\.\d{1,2})?$"
MONEY_TEXT = re.compile(MONEY_PATTERN.replace("$", r"\Z"), re.ASCII)
MAX_MONEY = Decimal("9999999999.99")


def plain_decimal_text(value: object) -> object:
    """A string amount is 1 to 10 ASCII digits and at most 2 decimals, exactly what its
    schema's `pattern` says: Python's `Decimal` alone would also read `"1_000"`, `"1e2"`,
    `" 12.50\n"` or other scripts' digits (`"١٢"`)."""
    if isinstance(value, str) and not MONEY_TEXT.match(value):
        raise ValueError('must be a plain decimal like "12.50": 10 digits, 2 decimals at most')
    return value


MONEY_SCHEMA = {
    "anyOf": [
        {"type": "number", "minimum": 0, "maximum": float(MAX_MONEY), "multipleOf": 0.01},
        {"type": "string", "pattern": MONEY_PATTERN},
    ],
    "description": 'A decimal string like `"12.50"` or a number; >= 0, 10 digits and '
    "2 decimals at most",
    "examples": ["12.50"],
}
"""The rules below as JSON Schema: a number is read exactly (`1e-400` is no multiple of 0.01)."""

Money = Annotated[
    Decimal,
    Field(ge=0, max_digits=12, decimal_places=2, allow_inf_nan=False),
    WithJsonSchema(MONEY_SCHEMA),
    AfterValidator(without_negative_zero),
    BeforeValidator(plain_decimal_text),
]
MoneyOut = Annotated[Decimal, PlainSerializer(money_string, return_type=str)]
BLANKS = r"\t\n\x0b\x0c\r \x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000"
"""What the strip removes (Unicode White_Space; not `\\s`, which in Python also
matches the separators \\x1c-\\x1f that the strip keeps)."""
NOT_BLANK = {"pattern": f"^[^\\x00]*[^{BLANKS}\\x00][^\\x00]*$"}
"""Names and categories are stripped, so one of blanks only is empty (422): the schema
says so, beside the refused NUL every string's schema states, and a client or a fuzzer
generating from the document does not send one expecting a 201."""


def stripped_not_blank(text: str) -> str:
    """The text without its surrounding blanks; one of blanks only is refused (422)."""
    text = text.strip()
    if not text:
        raise ValueError("must not be blank")
    return text


Name = Annotated[
    str,
    # The length is the sent text's, before the strip, as the schema's maxLength says:
    # 201 characters with a leading blank are refused, whatever the strip leaves.
    StringConstraints(max_length=200),
    AfterValidator(stripped_not_blank),
    Field(json_schema_extra=NOT_BLANK),
]
Description = Annotated[str, Field(max_length=2000)]
Category = Annotated[
    str,
    StringConstraints(max_length=100),
    AfterValidator(stripped_not_blank),
    Field(json_schema_extra=NOT_BLANK),
]
FileRef = Annotated[BodyId, Field(description="A file the item's owner uploaded")]


class ItemCreate(RequestModel):
    """The whole item: `POST /items` and `PUT /items/{id}` (fields left out become null)."""

    name: Name
    description: Description | None = None
    category: Category | None = None
    price: Money
    tax: Money | None = None
    image_file_id: FileRef | None = None

    example: ClassVar[Example] = {
        "name": "Espresso cup",
        "description": "Porcelain, 90 ml, dishwasher safe",
        "category": "kitchen",
        "price": "12.50",
        "tax": "2.38",
        "image_file_id": 5,
    }


class ItemUpdate(PatchModel):
    """`PATCH /items/{id}`: only the fields sent change; `name` and `price` cannot be null."""

    not_nullable = frozenset({"name", "price"})

    name: Name | None = None
    description: Description | None = None
    category: Category | None = None
    price: Money | None = None
    tax: Money | None = None
    image_file_id: FileRef | None = None

    example: ClassVar[Example] = {"price": "11.90", "tax": "2.26"}


class ItemRead(ReadModel):
    id: int
    name: str
    description: str | None
    category: str | None
    price: MoneyOut
    tax: MoneyOut | None
    image_file_id: int | None
    owner_id: int
    created_at: datetime
    updated_at: datetime

    example: ClassVar[Example] = {
        "id": 7,
        "name": "Espresso cup",
        "description": "Porcelain, 90 ml, dishwasher safe",
        "category": "kitchen",
        "price": "12.50",
        "tax": "2.38",
        "price_with_tax": "14.88",
        "image_file_id": 5,
        "owner_id": 42,
        "created_at": "2025-03-14T09:26:53Z",
        "updated_at": "2025-03-15T17:02:11Z",
    }

    @computed_field  # type: ignore[prop-decorator]
    @property
    def price_with_tax(self) -> MoneyOut:
        """`price + tax` (tax is an amount; none counts as zero)."""
        return self.price + (self.tax or Decimal(0))


ItemSort = Literal["name", "price", "created_at"]


class ItemQuery(ListQuery):
    """The filters, order and page of `GET /items`; unknown parameters are 422."""

    model_config = ConfigDict(extra="forbid")

    q: Annotated[
        str | None,
        Field(
            min_length=1,
            max_length=200,
            description="Name or description contains this, ignoring case; % and _ are literal",
        ),
    ] = None
    category: Annotated[str | None, Field(min_length=1, max_length=100)] = None
    min_price: Money | None = None
    max_price: Money | None = None
    owner: Annotated[Literal["me"] | None, Field(description="`me`: only the caller's")] = None
    sort: Annotated[ItemSort, Field(description="Name sorts case-insensitively")] = "created_at"
    order: SortOrder = SortOrder.DESC

    @model_validator(mode="after")
    def _price_range(self) -> Self:
        if (
            self.min_price is not None
            and self.max_price is not None
            and self.min_price > self.max_price
        ):
            raise ValueError("min_price must not be greater than max_price")
        return self
