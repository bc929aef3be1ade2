"""capture: phone-book entries deleted on the phone keep their row, marked with ``deleted_at``

Revision ID: capture_0006
Revises: capture_0005
Create Date: 2026-12-07 19:40:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import crm.types

revision: str = "capture_0006"
down_revision: str | Sequence[str] | None = "capture_0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("captured_contact", schema=None) as batch_op:
        batch_op.add_column(sa.Column("deleted_at", crm.types.UTCDateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("captured_contact", schema=None) as batch_op:
        batch_op.drop_column("deleted_at")
