"""Customers, their contacts, and the phone numbers that link captured data to them."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, Column, Index, String
from sqlmodel import Field, SQLModel

from crm.types import UTCDateTime, utcnow


class CustomerKind(StrEnum):
    company = "company"
    person = "person"


class Customer(SQLModel, table=True):
    """A company or person the division sells to; ``owner_id`` NULL means it sits in the public pool."""

    __tablename__ = "customer"
    __owner_column__ = "owner_id"

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


class Contact(SQLModel, table=True):
    __tablename__ = "contact"

    id: int | None = Field(default=None, primary_key=True)
    customer_id: int = Field(foreign_key="customer.id", index=True)
    division_id: int = Field(foreign_key="division.id", index=True)
    name: str = Field(max_length=100)
    title: str = Field(default="", max_length=100)
    email: str = Field(default="", max_length=200)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


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
