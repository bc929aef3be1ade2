"""Customers, their contacts, and the phone numbers that link captured data to them."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, Column, Index, String, UniqueConstraint, text
from sqlmodel import Field, SQLModel

from crm import pool as _pool  # noqa: F401  (customer.pool_id refers to its table)
from crm.types import UTCDateTime, utcnow


class CustomerKind(StrEnum):
    company = "company"
    person = "person"


class Customer(SQLModel, table=True):
    """A company or person the division sells to; ``owner_id`` NULL means it sits in the public pool.

    ``owned_since`` is when the current owner got it, ``last_deal_at`` the last won deal or
    signed order; the pool rules measure their periods from these. ``pool_id`` names the
    pool it returns to (NULL: the division's default pool).
    """

    __tablename__ = "customer"
    __owner_column__ = "owner_id"
    __table_args__ = (
        Index("ix_customer_division_name", "division_id", "name", "id"),
        Index("ix_customer_division_created", "division_id", "created_at", "id"),
        Index("ix_customer_division_updated", "division_id", "updated_at", "id"),
        Index("ix_customer_owner_name", "owner_id", "name", "id"),
        # a division's customers in a box (the map's customer layer): one range read of the index,
        # the longitude, merge state and id taken from its entries. Partial (located customers
        # only), so that only a query bounding the latitude can use it: a plain division query
        # keeps the index that serves its order.
        Index(
            "ix_customer_division_position",
            "division_id", "lat", "lon", "merged_into_id", "id",
            postgresql_where=text("lat IS NOT NULL"),
            sqlite_where=text("lat IS NOT NULL"),
        ),
        # the few merged-away customers: linking leaves them out with one probe of this small index
        Index(
            "ix_customer_merged",
            "id",
            postgresql_where=text("merged_into_id IS NOT NULL"),
            sqlite_where=text("merged_into_id IS NOT NULL"),
        ),
    )

    id: int | None = Field(default=None, primary_key=True)
    division_id: int = Field(foreign_key="division.id", index=True)
    owner_id: int | None = Field(default=None, foreign_key="app_user.id", index=True)
    kind: CustomerKind = Field(default=CustomerKind.company, sa_type=String(16))
    name: str = Field(max_length=200)
    name_normalised: str = Field(default="", max_length=200, index=True)
    grade: str = Field(default="C", max_length=8)
    source: str = Field(default="", max_length=64)
    tags: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    address: str = Field(default="", max_length=300)
    lat: float | None = None
    lon: float | None = None
    geocell: int | None = Field(default=None, index=True)
    checkin_radius_m: float | None = None
    last_activity_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    merged_into_id: int | None = Field(default=None, foreign_key="customer.id")
    region: str = Field(default="", max_length=64, description="Province/city, for segments and reports.")
    note: str = Field(default="", max_length=2000)
    created_by_user_id: int | None = Field(default=None, foreign_key="app_user.id")
    owned_since: datetime | None = Field(default=None, sa_type=UTCDateTime)
    last_deal_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    pool_id: int | None = Field(default=None, foreign_key="customer_pool.id", index=True)
    released_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    reclaim_warned_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class Contact(SQLModel, table=True):
    __tablename__ = "contact"

    id: int | None = Field(default=None, primary_key=True)
    customer_id: int = Field(foreign_key="customer.id", index=True)
    division_id: int = Field(foreign_key="division.id", index=True)
    name: str = Field(max_length=100)
    title: str = Field(default="", max_length=100)
    email: str = Field(
        default="", max_length=200, description="The primary e-mail (all are in contact_email)."
    )
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    is_primary: bool = False
    note: str = Field(default="", max_length=1000)


class ContactPhone(SQLModel, table=True):
    """One phone number of a contact/customer; the same E.164 may belong to several (ambiguous)."""

    __tablename__ = "contact_phone"
    __table_args__ = (Index("ix_contact_phone_e164_customer", "e164", "customer_id"),)

    id: int | None = Field(default=None, primary_key=True)
    e164: str = Field(max_length=32)
    raw: str = Field(default="", max_length=64)
    customer_id: int = Field(foreign_key="customer.id", index=True)
    contact_id: int | None = Field(default=None, foreign_key="contact.id", index=True)
    division_id: int = Field(foreign_key="division.id", index=True)
    valid_from: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    valid_to: datetime | None = Field(default=None, sa_type=UTCDateTime)
    extra: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))


class ContactEmail(SQLModel, table=True):
    """One e-mail address of a contact; ``domain`` feeds duplicate detection."""

    __tablename__ = "contact_email"

    id: int | None = Field(default=None, primary_key=True)
    email: str = Field(max_length=200)
    domain: str = Field(max_length=200, index=True)
    customer_id: int = Field(foreign_key="customer.id", index=True)
    contact_id: int = Field(foreign_key="contact.id", index=True)
    division_id: int = Field(foreign_key="division.id", index=True)


class CustomerAddress(SQLModel, table=True):
    """An address of a customer; the primary one is mirrored on the customer row (map, check-ins)."""

    __tablename__ = "customer_address"

    id: int | None = Field(default=None, primary_key=True)
    customer_id: int = Field(foreign_key="customer.id", index=True)
    division_id: int = Field(foreign_key="division.id", index=True)
    label: str = Field(default="", max_length=50)
    address: str = Field(max_length=300)
    lat: float | None = None
    lon: float | None = None
    geocell: int | None = None
    is_primary: bool = False


class CustomerGrade(SQLModel, table=True):
    """A division's customer grades, best first; a division without rows uses A/B/C/D."""

    __tablename__ = "customer_grade"
    __table_args__ = (UniqueConstraint("division_id", "code", name="uq_customer_grade_division_code"),)

    id: int | None = Field(default=None, primary_key=True)
    division_id: int = Field(foreign_key="division.id", index=True)
    code: str = Field(max_length=8)
    label: str = Field(default="", max_length=50)
    position: int = 0
