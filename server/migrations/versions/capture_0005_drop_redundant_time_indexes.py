"""capture: drop the (division_id, occurred_at) indexes of captured SMS and calls

``ix_captured_sms_activity`` and ``ix_captured_call_activity`` (crm_0010) begin with the same two
columns, so every query these served is served by them; each stored row paid for one more index.

Revision ID: capture_0005
Revises: capture_0004
Create Date: 2026-12-07 17:40:00.000000
"""

from collections.abc import Sequence

from alembic import op

revision: str = "capture_0005"
down_revision: str | Sequence[str] | None = "capture_0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = ("crm_0010",)

TABLES = ("captured_sms", "captured_call")


def upgrade() -> None:
    for table in TABLES:
        op.drop_index(f"ix_{table}_division_time", table_name=table)


def downgrade() -> None:
    for table in TABLES:
        op.create_index(f"ix_{table}_division_time", table, ["division_id", "occurred_at"], unique=False)
