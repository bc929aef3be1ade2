"""crm: covering partial index of a division's located customers by position (the map's customer clusters)

Revision ID: crm_0012
Revises: crm_0011
Create Date: 2026-12-07 16:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

LOCATED = "lat IS NOT NULL"

revision: str = "crm_0012"
down_revision: str | Sequence[str] | None = "crm_0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index(
        "ix_customer_division_position",
        "customer",
        ["division_id", "lat", "lon", "merged_into_id", "id"],
        unique=False,
        postgresql_where=sa.text(LOCATED),
        sqlite_where=sa.text(LOCATED),
    )


def downgrade() -> None:
    op.drop_index("ix_customer_division_position", table_name="customer")
