"""customer position index for nearby queries

Revision ID: lbs_0002
Revises: lbs_0001
Create Date: 2026-11-23 12:40:00.000000
"""

from collections.abc import Sequence

from alembic import op

revision: str = "lbs_0002"
down_revision: str | Sequence[str] | None = "lbs_0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index(
        "ix_customer_geocell_position", "customer", ["geocell", "lat", "lon", "merged_into_id", "id"], unique=False
    )


def downgrade() -> None:
    op.drop_index("ix_customer_geocell_position", table_name="customer")
