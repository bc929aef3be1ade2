"""crm: daily per-rep activity rollup with change triggers; covering indexes for counting activity
(calls, SMS, visit events, customers created, check-ins by division and time)

Revision ID: crm_0010
Revises: crm_0009
Create Date: 2026-11-22 14:00:00.000000

``rep_activity_rollup.changes`` of a rolled-up day goes up by one whenever a captured call or SMS,
or a visit/check-in timeline event, of that day is inserted, deleted or changed in a counted
column (crm.activity_rollup reads a day's totals only while nothing changed since they were
stored). The visit kinds are crm.activity_rollup.VISIT_KINDS.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import crm.types

revision: str = "crm_0010"
down_revision: str | Sequence[str] | None = "crm_0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = ("capture_0001", "lbs_0001")

VISITS = "('visit', 'checkin')"
# table → the columns whose change changes the day's totals
COUNTED = {
    "captured_call": ("occurred_at", "division_id", "rep_user_id", "duration_s"),
    "captured_sms": ("occurred_at", "division_id", "rep_user_id"),
    "timeline_event": ("occurred_at", "division_id", "actor_user_id", "customer_id", "kind"),
}


def _touch(at: str) -> str:
    return f"UPDATE rep_activity_rollup SET changes = changes + 1 WHERE end_at > {at} AND start_at <= {at}"


def _sqlite_triggers() -> None:
    for table, columns in COUNTED.items():
        visit_new = f" WHEN NEW.kind IN {VISITS}" if table == "timeline_event" else ""
        visit_old = f" WHEN OLD.kind IN {VISITS}" if table == "timeline_event" else ""
        op.execute(
            f"CREATE TRIGGER trg_{table}_activity_insert AFTER INSERT ON {table}{visit_new} "
            f"BEGIN {_touch('NEW.occurred_at')}; END"
        )
        op.execute(
            f"CREATE TRIGGER trg_{table}_activity_delete AFTER DELETE ON {table}{visit_old} "
            f"BEGIN {_touch('OLD.occurred_at')}; END"
        )
        either = (
            f" WHEN OLD.kind IN {VISITS} OR NEW.kind IN {VISITS}" if table == "timeline_event" else ""
        )
        op.execute(
            f"CREATE TRIGGER trg_{table}_activity_update AFTER UPDATE OF {', '.join(columns)} ON {table}{either} "
            f"BEGIN {_touch('OLD.occurred_at')}; {_touch('NEW.occurred_at')}; END"
        )


def _postgresql_triggers() -> None:
    op.execute(
        "CREATE FUNCTION rep_activity_touch(at timestamptz) RETURNS void LANGUAGE sql AS "
        f"$$ {_touch('at')} $$"
    )
    for table, columns in COUNTED.items():
        old = f"OLD.kind IN {VISITS}" if table == "timeline_event" else "TRUE"
        new = f"NEW.kind IN {VISITS}" if table == "timeline_event" else "TRUE"
        op.execute(
            f"CREATE FUNCTION {table}_activity_changed() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
            f"IF TG_OP <> 'INSERT' AND {old} THEN PERFORM rep_activity_touch(OLD.occurred_at); END IF; "
            f"IF TG_OP <> 'DELETE' AND {new} THEN PERFORM rep_activity_touch(NEW.occurred_at); END IF; "
            "RETURN NULL; END $$"
        )
        op.execute(
            f"CREATE TRIGGER trg_{table}_activity AFTER INSERT OR DELETE OR UPDATE OF {', '.join(columns)} "
            f"ON {table} FOR EACH ROW EXECUTE FUNCTION {table}_activity_changed()"
        )


def upgrade() -> None:
    op.create_table(
        "rep_activity_rollup",
        sa.Column("zone", sa.String(length=64), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("start_at", crm.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("end_at", crm.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("changes", sa.Integer(), nullable=False),
        sa.Column("rolled_changes", sa.Integer(), nullable=True),
        sa.PrimaryKeyConstraint("zone", "day", name=op.f("pk_rep_activity_rollup")),
    )
    op.create_index(op.f("ix_rep_activity_rollup_end_at"), "rep_activity_rollup", ["end_at"], unique=False)
    op.create_table(
        "rep_activity_day",
        sa.Column("zone", sa.String(length=64), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("division_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("calls", sa.Integer(), nullable=False),
        sa.Column("talk_time_s", sa.Integer(), nullable=False),
        sa.Column("sms", sa.Integer(), nullable=False),
        sa.Column("visits", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["division_id"], ["division.id"], name=op.f("fk_rep_activity_day_division_id_division")
        ),
        sa.ForeignKeyConstraint(["user_id"], ["app_user.id"], name=op.f("fk_rep_activity_day_user_id_app_user")),
        sa.PrimaryKeyConstraint("zone", "day", "division_id", "user_id", name=op.f("pk_rep_activity_day")),
    )
    op.create_index(
        "ix_captured_call_activity",
        "captured_call",
        ["division_id", "occurred_at", "rep_user_id", "duration_s"],
        unique=False,
    )
    op.create_index(
        "ix_captured_sms_activity", "captured_sms", ["division_id", "occurred_at", "rep_user_id"], unique=False
    )
    op.create_index(
        "ix_customer_division_created_by",
        "customer",
        ["division_id", "created_at", "created_by_user_id", "merged_into_id"],
        unique=False,
    )
    op.create_index(
        "ix_checkin_division_time_rep", "checkin", ["division_id", "occurred_at", "rep_user_id"], unique=False
    )
    op.create_index(
        "ix_timeline_event_kind_time",
        "timeline_event",
        ["kind", "occurred_at", "division_id", "actor_user_id", "customer_id"],
        unique=False,
    )
    if op.get_bind().dialect.name == "postgresql":
        _postgresql_triggers()
    else:
        _sqlite_triggers()


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        for table in COUNTED:
            op.execute(f"DROP TRIGGER trg_{table}_activity ON {table}")
            op.execute(f"DROP FUNCTION {table}_activity_changed()")
        op.execute("DROP FUNCTION rep_activity_touch(timestamptz)")
    else:
        for table in COUNTED:
            for event in ("insert", "delete", "update"):
                op.execute(f"DROP TRIGGER trg_{table}_activity_{event}")
    op.drop_index("ix_timeline_event_kind_time", table_name="timeline_event")
    op.drop_index("ix_checkin_division_time_rep", table_name="checkin")
    op.drop_index("ix_customer_division_created_by", table_name="customer")
    op.drop_index("ix_captured_sms_activity", table_name="captured_sms")
    op.drop_index("ix_captured_call_activity", table_name="captured_call")
    op.drop_table("rep_activity_day")
    op.drop_index(op.f("ix_rep_activity_rollup_end_at"), table_name="rep_activity_rollup")
    op.drop_table("rep_activity_rollup")
