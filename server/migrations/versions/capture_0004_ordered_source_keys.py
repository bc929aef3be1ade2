"""capture: stored SMS and call rows keyed by time first (``server.ingest.keys.ordered_key``)

A stored row's key becomes its time in ms (11 hex digits) followed by the first 21 hex digits of
its HMAC key, so that a re-sent record still finds its row. The time is computed from the stored
``occurred_at`` exactly as ingestion computes it. What ``excluded_capture`` keeps of an excluded
SMS or call becomes those 21 hex digits (``keys.untimed_key``), as ingestion and purges now keep.

Revision ID: capture_0004
Revises: capture_0003
Create Date: 2026-12-07 17:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from alembic.util import CommandError

from crm.types import UTCDateTime
from server.ingest.keys import KEY_HEX_CHARS, TIME_HEX_CHARS, epoch_ms, ordered_key

revision: str = "capture_0004"
down_revision: str | Sequence[str] | None = "capture_0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TABLES = ("captured_sms", "captured_call")
CHUNK = 10_000


def upgrade() -> None:
    connection = op.get_bind()
    for name in TABLES:
        table = sa.table(
            name, sa.column("id", sa.Integer), sa.column("occurred_at", UTCDateTime), sa.column("source_key")
        )
        update = (
            table.update().where(table.c.id == sa.bindparam("row_id")).values(source_key=sa.bindparam("key"))
        )
        last = 0
        while True:
            rows = connection.execute(
                sa.select(table.c.id, table.c.occurred_at, table.c.source_key)
                .where(table.c.id > last)
                .order_by(table.c.id)
                .limit(CHUNK)
            ).all()
            if not rows:
                break
            connection.execute(
                update,
                [{"row_id": row_id, "key": ordered_key(epoch_ms(at), key)} for row_id, at, key in rows],
            )
            last = rows[-1][0]
    excluded = sa.table("excluded_capture", sa.column("source"), sa.column("source_key"))
    connection.execute(
        excluded.update()
        .where(excluded.c.source.in_(["sms", "call"]))
        .values(source_key=sa.func.substr(excluded.c.source_key, 1, KEY_HEX_CHARS - TIME_HEX_CHARS))
    )


def downgrade() -> None:
    """Refused: the keys' dropped HMAC digits cannot be restored (restore a backup instead)."""
    raise CommandError("capture_0004 cannot be downgraded: restore a backup taken before it")
