"""users.token_version, and emails in their one normal form

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-02 13:40:00

Access tokens carry the user's token version; bumping the column refuses every access
token issued before. Emails are now stored NFKC-normalised and case-folded, so look-alike
spellings (fullwidth letters, compatibility characters, NFD) are one account: existing
rows are brought to that form here. A row whose normal form another row already holds
is left as it is and named in a warning, for an operator to merge by hand.
"""

import logging
import unicodedata
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

logger = logging.getLogger("alembic.runtime.migration")


def normalize_email(email: str) -> str:
    """The form of this revision, frozen here: the app's function may change later."""
    return unicodedata.normalize("NFKC", unicodedata.normalize("NFKC", email.strip()).casefold())


def upgrade() -> None:
    op.add_column(
        "users",
        sa.Column("token_version", sa.Integer(), server_default=sa.text("0"), nullable=False),
    )
    conn = op.get_bind()
    rows = conn.execute(sa.text("SELECT id, email FROM users ORDER BY id")).all()
    taken = {email for _, email in rows}
    for user_id, email in rows:
        normal = normalize_email(email)
        if normal == email:
            continue
        if normal in taken:
            logger.warning(
                "user %s: email %r collides with %r; left unchanged", user_id, email, normal
            )
            continue
        conn.execute(
            sa.text("UPDATE users SET email = :email WHERE id = :id"),
            {"email": normal, "id": user_id},
        )
        taken.add(normal)


def downgrade() -> None:
    op.drop_column("users", "token_version")
