"""A small organisation for CRM tests: two divisions with a head, an admin and two reps each."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

import pytest
from sqlmodel import Session

from crm.customer_service import ContactIn, CustomerCreate, PhoneIn, create_customer
from crm.customers import Customer
from crm.org import Division, Role, User
from tests.factories import Factory

NOW = datetime(2026, 3, 2, 2, 0, tzinfo=UTC)  # 10:00 in Shanghai, a Monday


@dataclass
class Org:
    a: Division
    b: Division
    head: User
    admin: User
    rep1: User
    rep2: User
    head_b: User
    rep_b: User
    executive: User
    sysadmin: User


@pytest.fixture
def org(factory: Factory) -> Org:
    a, b = factory.division("华东"), factory.division("华南")
    return Org(
        a=a,
        b=b,
        head=factory.user(Role.division_head, a),
        admin=factory.user(Role.division_admin, a),
        rep1=factory.user(Role.rep, a),
        rep2=factory.user(Role.rep, a),
        head_b=factory.user(Role.division_head, b),
        rep_b=factory.user(Role.rep, b),
        executive=factory.user(Role.executive),
        sysadmin=factory.user(Role.sysadmin),
    )


def make_customer(
    session: Session,
    actor: User,
    name: str,
    *,
    phone: str | None = None,
    email: str | None = None,
    now: datetime = NOW,
    **extra: object,
) -> Customer:
    contacts = []
    if phone or email:
        contacts = [
            ContactIn(
                name=f"{name}联系人",
                phones=[PhoneIn(number=phone)] if phone else [],
                emails=[email] if email else [],
            )
        ]
    data = CustomerCreate(name=name, contacts=contacts, allow_duplicate=True, **extra)  # type: ignore[arg-type]
    return create_customer(session, actor=actor, data=data, now=now)
