"""Recording ↔ call-log matching by device, number and time.

Recordings and call-log rows arrive in either order, so matching runs after each call
batch and after each recording: the still unmatched recordings and the calls without a
recording in a time window are paired, closest start times first. A recording whose
file name gave no number matches on time alone. A matched recording takes the call's
number and customer links, and its own timeline events give way to the call's event.
A recording whose call a manager set (or unset) by hand is left as it is.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import bindparam, delete, exists, select, update
from sqlmodel import Session

from crm.communications import RECORDING_TABLE, CapturedCall, Recording
from crm.timeline import TimelineEvent

Row = Mapping[str, Any]
_RECORDING, _CALL = Recording.__table__, CapturedCall.__table__
#: What pairing reads, built once: the columns it compares and those a matched recording takes.
_UNMATCHED_RECORDINGS = select(
    _RECORDING.c.id, _RECORDING.c.occurred_at, _RECORDING.c.number_e164, _RECORDING.c.number_raw
).where(
    _RECORDING.c.device_id == bindparam("device"),
    _RECORDING.c.call_id.is_(None),
    _RECORDING.c.call_set_by_hand.is_(False),
    _RECORDING.c.time_known.is_(True),
    _RECORDING.c.occurred_at.between(bindparam("lo"), bindparam("hi")),
)
_CALLS_WITHOUT_RECORDING = select(
    _CALL.c.id,
    _CALL.c.occurred_at,
    _CALL.c.number_e164,
    _CALL.c.number_raw,
    _CALL.c.number_kind,
    _CALL.c.link_status,
    _CALL.c.customer_id,
).where(
    _CALL.c.device_id == bindparam("device"),
    _CALL.c.occurred_at.between(bindparam("lo"), bindparam("hi")),
    ~exists().where(_RECORDING.c.call_id == _CALL.c.id),
)
#: A matched recording takes its call's number and links (one executemany for all pairs).
_TAKE_CALL = (
    update(_RECORDING)
    .where(_RECORDING.c.id == bindparam("recording"))
    .values(
        call_id=bindparam("call"),
        number_raw=bindparam("raw"),
        number_e164=bindparam("e164"),
        number_kind=bindparam("kind"),
        link_status=bindparam("status"),
        customer_id=bindparam("customer"),
    )
)


def _compatible(call: Row, recording: Row) -> bool:
    if recording["number_e164"] is not None:
        return recording["number_e164"] == call["number_e164"]
    return not recording["number_raw"] or recording["number_raw"] == call["number_raw"]


def choose_pairs(calls: list[Row], recordings: list[Row], tolerance: timedelta) -> list[tuple[Row, Row]]:
    """Greedy pairing, smallest time difference first; each call and recording used once."""
    candidates = [
        (abs(call["occurred_at"] - rec["occurred_at"]), call["id"], rec["id"], call, rec)
        for rec in recordings
        for call in calls
        if abs(call["occurred_at"] - rec["occurred_at"]) <= tolerance and _compatible(call, rec)
    ]
    candidates.sort(key=lambda c: c[:3])
    used_calls: set[int] = set()
    used_recordings: set[int] = set()
    pairs = []
    for _delta, call_id, rec_id, call, rec in candidates:
        if call_id not in used_calls and rec_id not in used_recordings:
            used_calls.add(call_id)
            used_recordings.add(rec_id)
            pairs.append((call, rec))
    return pairs


def match_recordings(
    session: Session, *, device_id: int, start: datetime, end: datetime, tolerance: timedelta
) -> int:
    """Pair the device's unmatched recordings and recording-less calls around ``[start, end]``."""
    connection = session.connection()
    window = {"device": device_id, "lo": start - tolerance, "hi": end + tolerance}
    recordings = connection.execute(_UNMATCHED_RECORDINGS, window).mappings().all()
    if not recordings:
        return 0
    calls = connection.execute(_CALLS_WITHOUT_RECORDING, window).mappings().all()
    pairs = choose_pairs(calls, recordings, tolerance)
    if not pairs:
        return 0
    connection.execute(
        _TAKE_CALL,
        [
            {
                "recording": rec["id"],
                "call": call["id"],
                "raw": rec["number_raw"] or call["number_raw"],
                "e164": call["number_e164"],
                "kind": call["number_kind"],
                "status": call["link_status"],
                "customer": call["customer_id"],
            }
            for call, rec in pairs
        ],
    )
    events = TimelineEvent.__table__
    connection.execute(
        delete(events).where(
            events.c.source_table == RECORDING_TABLE, events.c.source_id.in_([rec["id"] for _call, rec in pairs])
        )
    )
    return len(pairs)
