"""agent commands and presence

Revision ID: fleet_0001
Revises: 0001
Create Date: 2026-11-22 13:37:36.891143
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

import crm.types

revision: str = "fleet_0001"
down_revision: str | Sequence[str] | None = "0001"
branch_labels: str | Sequence[str] | None = ("fleet",)
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "agent_command",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("device_id", sa.Integer(), nullable=False),
        sa.Column("division_id", sa.Integer(), nullable=False),
        sa.Column("kind", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("state", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("requested_by_user_id", sa.Integer(), nullable=True),
        sa.Column("requested_at", crm.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("queued_at", crm.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("claimed_at", crm.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("claimed_by", sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
        sa.Column("lease_until", crm.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("finished_at", crm.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("message", sqlmodel.sql.sqltypes.AutoString(length=500), nullable=False),
        sa.Column("result", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(["device_id"], ["device.id"], name=op.f("fk_agent_command_device_id_device")),
        sa.ForeignKeyConstraint(
            ["division_id"], ["division.id"], name=op.f("fk_agent_command_division_id_division")
        ),
        sa.ForeignKeyConstraint(
            ["requested_by_user_id"],
            ["app_user.id"],
            name=op.f("fk_agent_command_requested_by_user_id_app_user"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_agent_command")),
    )
    with op.batch_alter_table("agent_command", schema=None) as batch_op:
        batch_op.create_index("ix_agent_command_device_state", ["device_id", "state", "id"], unique=False)
        batch_op.create_index(batch_op.f("ix_agent_command_division_id"), ["division_id"], unique=False)

    op.create_table(
        "agent_presence",
        sa.Column("device_id", sa.Integer(), nullable=False),
        sa.Column("division_id", sa.Integer(), nullable=False),
        sa.Column("adb_state", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("adb_serial", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("agent_host", sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
        sa.Column("reported_at", crm.types.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["device_id"], ["device.id"], name=op.f("fk_agent_presence_device_id_device")
        ),
        sa.ForeignKeyConstraint(
            ["division_id"], ["division.id"], name=op.f("fk_agent_presence_division_id_division")
        ),
        sa.PrimaryKeyConstraint("device_id", name=op.f("pk_agent_presence")),
    )
    with op.batch_alter_table("agent_presence", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_agent_presence_division_id"), ["division_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("agent_presence", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_agent_presence_division_id"))

    op.drop_table("agent_presence")
    with op.batch_alter_table("agent_command", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_agent_command_division_id"))
        batch_op.drop_index("ix_agent_command_device_state")

    op.drop_table("agent_command")
