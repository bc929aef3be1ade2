"""Setting a recording's call by hand: a manager of the recording's division moves a recording to
another call of the same phone, or unmatches it, when automatic matching (by number and time)
got it wrong. Audited; automatic matching leaves such a recording alone from then on.

The timeline follows: a call's event shows its recording (``server.timeline``), so moving a
recording moves it between call events; an unmatched recording gets its own events again
when its own number (the agent's, else the file name's) is linked (``crm.linking.sync_links``).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete, select, update
from sqlmodel import Session

from capture.recordings import parse_recording_name
from crm.access import get_visible, manages_division
from crm.actors import is_manager
from crm.audit import record_audit
from crm.communications import RECORDING_TABLE, CapturedCall, LinkStatus, Recording, RecordingUpload
from crm.errors import Conflict, Forbidden, NotFound
from crm.linking import load_phone_book, sync_links
from crm.org import User
from crm.timeline import TimelineEvent
from server.ingest.numbers import normalised


def set_recording_call(
    session: Session,
    *,
    actor: User,
    recording_id: int,
    call_id: int | None,
    region: str,
    now: datetime,
    ip: str = "",
) -> Recording:
    """Match the recording to ``call_id`` (a call of the same phone without a recording), or unmatch it
    (None); commits."""
    recording = get_visible(session, actor, Recording, recording_id)
    if recording is None:
        raise NotFound("no such recording")
    if not (is_manager(actor) and manages_division(actor, recording.division_id)):
        raise Forbidden("only a manager of the recording's division may change its call")
    previous = recording.call_id
    values = (
        _to_call(session, recording, call_id)
        if call_id is not None
        else _own_number(session, recording, region)
    )
    session.execute(
        update(Recording).where(Recording.id == recording.id).values(call_set_by_hand=True, **values)
    )
    if call_id is not None:  # the call's event shows it now, not events of its own
        session.execute(
            delete(TimelineEvent).where(
                TimelineEvent.source_table == RECORDING_TABLE, TimelineEvent.source_id == recording.id
            )
        )
    else:
        row = (
            session.execute(select(Recording.__table__).where(Recording.id == recording.id)).mappings().one()
        )
        if row["number_e164"] and row["link_status"] != LinkStatus.unlinkable:
            book = load_phone_book(session, [row["number_e164"]], [row["division_id"]])
            sync_links(session, RECORDING_TABLE, [row], book, now=now)
    record_audit(
        session,
        action="recording.call.set",
        actor_user_id=actor.id,
        target_type="recording",
        target_id=recording.id or "",
        division_id=recording.division_id,
        ip=ip,
        detail={"from_call_id": previous, "to_call_id": call_id},
    )
    session.commit()
    session.refresh(recording)
    return recording


def _to_call(session: Session, recording: Recording, call_id: int) -> dict[str, object]:
    call = session.get(CapturedCall, call_id)
    if call is None or call.device_id != recording.device_id:
        raise NotFound("no such call on the recording's phone", field="call_id")
    holder = session.execute(
        select(Recording.id).where(Recording.call_id == call_id, Recording.id != recording.id)
    ).first()
    if holder is not None:
        raise Conflict(f"the call already has recording {holder.id}: unmatch that one first", field="call_id")
    return {
        "call_id": call.id,
        "number_raw": recording.number_raw or call.number_raw,
        "number_e164": call.number_e164,
        "number_kind": call.number_kind,
        "link_status": call.link_status,
        "customer_id": call.customer_id,
    }


def _own_number(session: Session, recording: Recording, region: str) -> dict[str, object]:
    """The recording's own number, as when it arrived: the agent's, else the one in its file name."""
    if recording.call_id is None:
        raise Conflict("the recording is not matched to a call", field="call_id")
    meta = session.execute(
        select(RecordingUpload.meta).where(RecordingUpload.recording_id == recording.id)
    ).scalar()
    raw = (meta or {}).get("number") or parse_recording_name(
        recording.phone_path or recording.file_name
    ).number
    number = normalised(raw, region)
    return {
        "call_id": None,
        "number_raw": (raw or "")[:128],
        "number_e164": number.e164,
        "number_kind": number.kind.value,
        "link_status": LinkStatus.unlinked if number.linkable else LinkStatus.unlinkable,
        "customer_id": None,
    }
