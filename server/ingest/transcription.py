"""Transcribing recordings in the background (a scheduled job), then keyword alerts on the text.

Only recordings that arrived while a speech engine was configured wait for a transcript
(``transcript_status = pending``). A failure is noted on the recording (``failed`` with the
reason in ``problems``); the recording itself is never touched otherwise.
"""

from __future__ import annotations

import logging
from datetime import datetime
from functools import lru_cache
from pathlib import Path

from sqlmodel import Session, select

from capture.errors import TranscriberConfigError, TranscriptionError
from capture.transcribe import Transcriber, make_transcriber
from crm.communications import RECORDING_TABLE, Recording, TranscriptStatus
from server.config import Settings, get_settings
from server.ingest.alerts import alert_rows, matcher_for, write_alerts
from server.logs import get_logger, log_event
from server.recordings.store import RecordingStore, get_store

logger = get_logger("ingest")
BATCH = 20
ALERT_SOURCE_KEYS = ("id", "division_id", "rep_user_id", "device_id", "occurred_at")


@lru_cache(maxsize=4)
def _transcriber(engine: str, model_dir: Path | None) -> Transcriber:
    return make_transcriber(engine, model_dir)


def transcribe_one(
    session: Session, recording: Recording, transcriber: Transcriber, store: RecordingStore, now: datetime
) -> None:
    try:
        with store.local_path(recording.sha256) as path:
            transcript = transcriber.transcribe(path)
    except TranscriptionError as error:
        recording.transcript_status = TranscriptStatus.failed
        recording.problems = recording.problems | {"transcript": str(error)[:500]}
    else:
        recording.transcript_status = TranscriptStatus.done
        recording.transcript = transcript.text if transcript else ""
        recording.transcript_engine = transcript.engine if transcript else None
        matcher = matcher_for(session, recording.division_id) if recording.transcript else None
        if matcher is not None:
            source = {key: getattr(recording, key) for key in ALERT_SOURCE_KEYS}
            write_alerts(
                session,
                alert_rows(
                    matcher, recording.transcript or "", source_table=RECORDING_TABLE, source=source, now=now
                ),
            )
    session.add(recording)
    session.commit()


def transcribe_pending(session: Session, now: datetime, settings: Settings | None = None) -> int:
    """Transcribe up to ``BATCH`` waiting recordings; returns how many were processed."""
    settings = settings or get_settings()
    try:
        transcriber = _transcriber(settings.transcription_engine, settings.transcription_model_dir)
    except TranscriberConfigError as error:
        log_event(logger, "ingest.transcribe.unconfigured", logging.ERROR, error=str(error))
        return 0
    store = get_store(settings)
    pending = session.exec(
        select(Recording)
        .where(Recording.transcript_status == TranscriptStatus.pending)
        .order_by(Recording.id)
        .limit(BATCH)
    ).all()
    for recording in pending:
        transcribe_one(session, recording, transcriber, store, now)
    return len(pending)
