"""Communications captured on company phones (SMS, calls, recordings) and what surrounds them:
the quarantine of rejected records, the exclusion list, keyword rules and the alerts they raise.

Captured rows belong to the division of the phone that captured them and to its rep
(``rep_user_id``, the access-scope owner column). ``customer_id`` is the preferred linked
customer; the full set of linked customers is the set of ``timeline_event`` rows whose
``source_table``/``source_id`` point at the row (see ``crm/linking.py``).
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, Column, ColumnElement, Index, String, Text, UniqueConstraint
from sqlmodel import Field, SQLModel

from crm.types import UTCDateTime, utcnow

SMS_TABLE = "captured_sms"
CALL_TABLE = "captured_call"
RECORDING_TABLE = "recording"


class LinkStatus(StrEnum):
    linked = "linked"  # exactly one customer had the number at the time
    ambiguous = "ambiguous"  # several customers had it; linked to all of them
    unlinked = "unlinked"  # a subscriber number nobody has (yet); re-linked when a contact appears
    unlinkable = "unlinkable"  # hidden, service or invalid number: never linked


class CaptureSource(StrEnum):
    sms = "sms"
    call = "call"
    recording = "recording"
    device_status = "device_status"
    contact = "contact"


class CapturedBase(SQLModel):
    """Columns every captured communication has."""

    id: int | None = Field(default=None, primary_key=True)
    device_id: int = Field(foreign_key="device.id")
    division_id: int = Field(foreign_key="division.id")
    rep_user_id: int | None = Field(default=None, foreign_key="app_user.id", index=True)
    source_key: str = Field(
        max_length=64, description="Idempotency key, unique per device (docs/ingestion.md)."
    )
    number_raw: str = Field(default="", max_length=128)
    number_e164: str | None = Field(default=None, max_length=32)
    number_kind: str = Field(default="invalid", sa_type=String(16))
    occurred_at: datetime = Field(sa_type=UTCDateTime)
    direction: str = Field(sa_type=String(16))
    link_status: LinkStatus = Field(default=LinkStatus.unlinked, sa_type=String(16))
    customer_id: int | None = Field(default=None, foreign_key="customer.id", index=True)
    received_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class CapturedSms(CapturedBase, table=True):
    __tablename__ = SMS_TABLE
    __owner_column__ = "rep_user_id"
    __table_args__ = (
        UniqueConstraint("device_id", "source_key", name="uq_captured_sms_device_key"),
        Index("ix_captured_sms_e164", "number_e164"),
    )

    source_id: int = Field(description="The phone's _id (reused after a factory reset).")
    thread_id: int | None = None
    type: str = Field(sa_type=String(16))
    type_code: int
    sent_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    body: str = Field(default="", sa_type=Text)
    subject: str | None = Field(default=None, max_length=500)
    read: bool | None = None
    seen: bool | None = None
    status: int | None = None
    subscription_id: int | None = None
    service_center: str | None = Field(default=None, max_length=64)
    locked: bool | None = None
    error_code: int | None = None
    raw: dict[str, Any] | None = Field(default=None, sa_column=Column(JSON, nullable=True))


class CapturedCall(CapturedBase, table=True):
    __tablename__ = CALL_TABLE
    __owner_column__ = "rep_user_id"
    __table_args__ = (
        UniqueConstraint("device_id", "source_key", name="uq_captured_call_device_key"),
        Index("ix_captured_call_e164", "number_e164"),
        Index("ix_captured_call_device_time", "device_id", "occurred_at"),
    )

    source_id: int = Field(description="The phone's _id (reused after a factory reset).")
    type: str = Field(sa_type=String(24))
    type_code: int
    duration_s: int = 0
    answered: bool = False
    name: str | None = Field(default=None, max_length=200)
    number_type: int | None = None
    number_label: str | None = Field(default=None, max_length=100)
    country_iso: str | None = Field(default=None, max_length=8)
    geocoded_location: str | None = Field(default=None, max_length=200)
    presentation: str | None = Field(default=None, sa_type=String(16))
    subscription_id: str | None = Field(default=None, max_length=128)
    raw: dict[str, Any] | None = Field(default=None, sa_column=Column(JSON, nullable=True))


CONTACT_TABLE = "captured_contact"


class CapturedContact(SQLModel, table=True):
    """An entry of the phone book of a company phone, in its latest version (one row per phone ``_id``).

    Owned by the phone's rep. Its numbers are :class:`CapturedContactNumber` rows, replaced when
    the entry changes; numbers on the exclusion list are not stored, only counted.
    """

    __tablename__ = CONTACT_TABLE
    __owner_column__ = "rep_user_id"
    __table_args__ = (UniqueConstraint("device_id", "source_id", name="uq_captured_contact_device_source"),)

    id: int | None = Field(default=None, primary_key=True)
    device_id: int = Field(foreign_key="device.id")
    division_id: int = Field(foreign_key="division.id", index=True)
    rep_user_id: int | None = Field(default=None, foreign_key="app_user.id", index=True)
    source_id: int = Field(description="The phone's contact _id.")
    name: str | None = Field(default=None, max_length=200)
    company: str | None = Field(default=None, max_length=200)
    content_key: str = Field(max_length=64, description="Keyed hash of name, company and numbers.")
    version: int = Field(default=1, description="How many different contents the phone has sent.")
    phone_updated_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    excluded_numbers: int = Field(default=0, description="Numbers not stored: on the exclusion list.")
    received_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    changed_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    deleted_at: datetime | None = Field(
        default=None,
        sa_type=UTCDateTime,
        description="Deleted on the phone (its clock when known): kept, with its numbers, out of the phone book.",
    )


class CapturedContactNumber(SQLModel, table=True):
    """One number of a phone-book entry (device, division and rep repeated for look-ups by number)."""

    __tablename__ = "captured_contact_number"
    __owner_column__ = "rep_user_id"
    __table_args__ = (
        Index("ix_captured_contact_number_division_e164", "division_id", "number_e164"),
        Index("ix_captured_contact_number_device_e164", "device_id", "number_e164"),
    )

    id: int | None = Field(default=None, primary_key=True)
    contact_id: int = Field(foreign_key="captured_contact.id", index=True)
    device_id: int = Field(foreign_key="device.id")
    division_id: int = Field(foreign_key="division.id")
    rep_user_id: int | None = Field(default=None, foreign_key="app_user.id")
    position: int = 0
    number_raw: str = Field(max_length=64)
    number_e164: str | None = Field(default=None, max_length=32)
    number_kind: str = Field(default="invalid", sa_type=String(16))
    type: int | None = None
    label: str | None = Field(default=None, max_length=100)


class TranscriptStatus(StrEnum):
    none = "none"  # no speech engine configured when the recording arrived
    pending = "pending"
    done = "done"  # transcript holds the text (empty when nothing was recognised)
    failed = "failed"


class Recording(CapturedBase, table=True):
    """A call recording; its bytes live in the content-addressed store under ``sha256``.

    ``source_key`` is the SHA-256. ``occurred_at`` is the start time (file name, agent, or
    the upload time when neither knows). ``call_id`` is set once matched to its call-log entry.
    """

    __tablename__ = RECORDING_TABLE
    __owner_column__ = "rep_user_id"
    __table_args__ = (
        UniqueConstraint("device_id", "source_key", name="uq_recording_device_key"),
        Index("ix_recording_e164", "number_e164"),
        Index("ix_recording_device_time", "device_id", "occurred_at"),
        Index("ix_recording_division_time", "division_id", "occurred_at"),
    )

    sha256: str = Field(max_length=64, index=True)
    size_bytes: int
    file_name: str = Field(max_length=255)
    phone_path: str = Field(default="", max_length=1024)
    oem: str = Field(default="unknown", sa_type=String(16))
    contact_name: str | None = Field(default=None, max_length=255)
    time_known: bool = Field(default=True, description="False when occurred_at is only the upload time.")
    call_id: int | None = Field(default=None, foreign_key="captured_call.id", index=True)
    call_set_by_hand: bool = Field(
        default=False,
        sa_column_kwargs={"server_default": "0"},
        description="A manager set call_id (or unmatched it): automatic matching leaves it alone.",
    )
    duration_s: float | None = None
    audio_format: str | None = Field(default=None, max_length=32)
    transcript_status: TranscriptStatus = Field(default=TranscriptStatus.none, sa_type=String(16))
    transcript: str | None = Field(default=None, sa_type=Text)
    transcript_engine: str | None = Field(default=None, max_length=64)
    problems: dict[str, str] = Field(
        default_factory=dict,
        sa_column=Column(JSON, nullable=False),
        description="Enrichment failures by step (duration, transcript); the recording is kept.",
    )


class UploadStatus(StrEnum):
    open = "open"
    complete = "complete"


class RecordingUpload(SQLModel, table=True):
    """A resumable upload of one recording file: ``received`` bytes are on disk in the staging area."""

    __tablename__ = "recording_upload"
    __scope__ = "org"
    __table_args__ = (Index("ix_recording_upload_device_sha", "device_id", "sha256"),)

    id: int | None = Field(default=None, primary_key=True)
    device_id: int = Field(foreign_key="device.id")
    division_id: int = Field(foreign_key="division.id", index=True)
    sha256: str = Field(max_length=64)
    size_bytes: int
    received: int = 0
    status: UploadStatus = Field(default=UploadStatus.open, sa_type=String(16))
    meta: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    recording_id: int | None = Field(default=None, foreign_key="recording.id")
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class QuarantinedRecord(SQLModel, table=True):
    """A record the server refused, kept with the reason (never silently dropped)."""

    __tablename__ = "ingest_quarantine"
    __owner_column__ = "rep_user_id"
    __table_args__ = (
        UniqueConstraint("device_id", "source", "payload_hash", name="uq_ingest_quarantine_payload"),
    )

    id: int | None = Field(default=None, primary_key=True)
    device_id: int = Field(foreign_key="device.id")
    division_id: int = Field(foreign_key="division.id", index=True)
    rep_user_id: int | None = Field(default=None, foreign_key="app_user.id")
    source: CaptureSource = Field(sa_type=String(16))
    source_id: str | None = Field(default=None, max_length=64)
    reason: str = Field(max_length=500)
    field: str | None = Field(default=None, max_length=100)
    payload: str = Field(sa_type=Text, description="The record as received, as ASCII JSON.")
    payload_hash: str = Field(max_length=64)
    received_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, index=True)


class ExclusionKind(StrEnum):
    staff = "staff"
    personal = "personal"


class ExcludedNumber(SQLModel, table=True):
    """A number whose communications are not captured (staff lines, a rep's declared personal numbers).

    ``division_id`` NULL applies to every division.
    """

    __tablename__ = "capture_exclusion"
    __scope__ = "org"
    __owner_column__ = "user_id"
    __table_args__ = (Index("ix_capture_exclusion_e164", "e164"),)

    id: int | None = Field(default=None, primary_key=True)
    e164: str = Field(max_length=32)
    division_id: int | None = Field(default=None, foreign_key="division.id", index=True)
    kind: ExclusionKind = Field(sa_type=String(16))
    user_id: int | None = Field(default=None, foreign_key="app_user.id", description="Whose number it is.")
    label: str = Field(default="", max_length=100)
    from_profile: bool = Field(
        default=False,
        sa_column_kwargs={"server_default": "0"},
        description="The phone number of user_id's profile: kept in step with it, not edited here.",
    )
    created_by_user_id: int | None = Field(default=None, foreign_key="app_user.id")
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class ExcludedCapture(SQLModel, table=True):
    """That an excluded record arrived: no number, no content, only its key (for idempotency) and day."""

    __tablename__ = "excluded_capture"
    __scope__ = "org"
    __table_args__ = (UniqueConstraint("device_id", "source", "source_key", name="uq_excluded_capture_key"),)

    id: int | None = Field(default=None, primary_key=True)
    device_id: int = Field(foreign_key="device.id")
    division_id: int = Field(foreign_key="division.id", index=True)
    source: CaptureSource = Field(sa_type=String(16))
    source_key: str = Field(max_length=64)
    received_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class KeywordRule(SQLModel, table=True):
    """A division's keyword; a division without any rule row uses ``capture.keywords.DEFAULT_KEYWORDS``."""

    __tablename__ = "keyword_rule"
    __scope__ = "org"
    __table_args__ = (UniqueConstraint("division_id", "keyword", name="uq_keyword_rule_division_keyword"),)

    id: int | None = Field(default=None, primary_key=True)
    division_id: int = Field(foreign_key="division.id", index=True)
    keyword: str = Field(max_length=100)
    is_active: bool = True
    created_by_user_id: int | None = Field(default=None, foreign_key="app_user.id")
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class AlertStatus(StrEnum):
    open = "open"
    acknowledged = "acknowledged"


class AlertKind(StrEnum):
    keyword = "keyword"  # a keyword rule matched an SMS body or a transcript
    contact_deleted = "contact_deleted"  # a customer's entry was deleted from a company phone


class CaptureAlert(SQLModel, table=True):
    """For the division's managers: a keyword found in an SMS body or a transcript, or a customer's
    entry deleted from a company phone's phone book (``source_table`` is then ``captured_contact``
    and ``keyword`` empty)."""

    __tablename__ = "capture_alert"
    __owner_column__ = "rep_user_id"
    __table_args__ = (
        UniqueConstraint("source_table", "source_id", "keyword", name="uq_capture_alert_source_keyword"),
        Index("ix_capture_alert_division_status", "division_id", "status", "id"),
    )

    id: int | None = Field(default=None, primary_key=True)
    division_id: int = Field(foreign_key="division.id")
    rep_user_id: int | None = Field(default=None, foreign_key="app_user.id")
    device_id: int = Field(foreign_key="device.id")
    source_table: str = Field(max_length=32)
    source_id: int
    keyword: str = Field(max_length=100)
    context: str = Field(max_length=500, description="The matched text with characters around it.")
    occurred_at: datetime = Field(sa_type=UTCDateTime)
    status: AlertStatus = Field(default=AlertStatus.open, sa_type=String(16))
    acknowledged_by_user_id: int | None = Field(default=None, foreign_key="app_user.id")
    acknowledged_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)

    @property
    def kind(self) -> AlertKind:
        return AlertKind.contact_deleted if self.source_table == CONTACT_TABLE else AlertKind.keyword


def alerts_of_kind(kind: AlertKind) -> ColumnElement[bool]:
    """The SQL condition of :attr:`CaptureAlert.kind` being ``kind``."""
    from_contacts = CaptureAlert.source_table == CONTACT_TABLE  # type: ignore[arg-type]
    return from_contacts if kind is AlertKind.contact_deleted else ~from_contacts
