"""crm: partial index of merged-away customers (linking leaves them out without reading customer rows)

Revision ID: crm_0011
Revises: crm_0010
Create Date: 2026-12-07 15:15:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "crm_0011"
down_revision: str | Sequence[str] | None = "crm_0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

MERGED = "merged_into_id IS NOT NULL"


def upgrade() -> None:
    op.create_index(
        "ix_customer_merged",
        "customer",
        ["id"],
        unique=False,
        postgresql_where=sa.text(MERGED),
        sqlite_where=sa.text(MERGED),
    )


def downgrade() -> None:
    op.drop_index("ix_customer_merged", table_name="customer")
