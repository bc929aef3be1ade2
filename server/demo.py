"""``fieldcrm demo``: a sample organisation, and a field day played by simulated phones.

The pieces are the real ones: simulated Android phones (``device_agent.simulator``) behind
the adb server shipped in the adbutils wheel, the device agent provisioning and syncing
them, the OwnTracks app of each simulated phone posting its fixes with the configuration
the agent imported into it, and the server ingesting what arrives. During the working day the
phones start ten minutes in the past (their earlier hours are history already on the phone);
outside it they replay the day from 09:00. Either way their clocks run at ``speed``× wall time
until they reach the present (a fix from the future would be refused), then keep to it; the demo's reps work every day of the week,
so they drive, visit customers, call and text whatever day the demo runs. After the first sync,
one rep deletes a customer's entry from the company phone, as a rep about to leave might: the next
sync raises the alert managers get for it.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Engine
from sqlmodel import Session, select

from crm.customer_service import (
    AddressIn,
    ContactIn,
    CustomerCreate,
    DuplicateFound,
    PhoneIn,
    create_customer,
)
from crm.customers import Customer
from crm.errors import DomainError
from crm.org import Division, Role, User
from crm.org_service import create_division, create_user
from crm.phones import parse_phone
from crm.types import utcnow
from server.auth.models import TokenKind
from server.auth.secrets import hash_password
from server.auth.service import issue_user_token
from server.enrolment import create_enrolment_code
from server.logs import get_logger, log_event

DEMO_PASSWORD = "fieldcrm-demo"

DIVISIONS = [("华东销售部", "EAST"), ("华南销售部", "SOUTH")]
USERS = [
    ("admin", "系统管理员", Role.sysadmin, None),
    ("boss", "集团总经理", Role.executive, None),
    ("east.head", "华东负责人", Role.division_head, "EAST"),
    ("east.admin", "华东运营", Role.division_admin, "EAST"),
    ("east.rep1", "张伟", Role.rep, "EAST"),
    ("east.rep2", "李娜", Role.rep, "EAST"),
    ("east.rep3", "王芳", Role.rep, "EAST"),
    ("south.head", "华南负责人", Role.division_head, "SOUTH"),
    ("south.rep1", "陈静", Role.rep, "SOUTH"),
]
# One simulated phone per rep, of several brands.
PHONE_REPS = ["east.rep1", "east.rep2", "east.rep3", "south.rep1"]
#: The rep who deletes a customer from the company phone once it has been synced (an alert for east.head).
LEAVING_REP = "east.rep3"
PHONE_BRANDS = ["xiaomi", "samsung", "huawei", "oppo"]
EVERY_DAY = (0, 1, 2, 3, 4, 5, 6)
OWNTRACKS = "org.owntracks.android"

logger = get_logger("demo")


@dataclass(frozen=True)
class DemoLogin:
    username: str
    role: Role
    division: str | None


def seed_organisation(session: Session) -> list[DemoLogin]:
    divisions = {d.code: d for d in session.exec(select(Division))}
    for name, code in DIVISIONS:
        if code not in divisions:
            divisions[code] = create_division(session, caller=None, name=name, code=code)
    existing = {u.username for u in session.exec(select(User))}
    password_hash = hash_password(DEMO_PASSWORD)
    for username, display, role, code in USERS:
        if username not in existing:
            create_user(
                session,
                caller=None,
                username=username,
                password_hash=password_hash,
                role=role,
                division_id=divisions[code].id if code else None,
                display_name=display,
            )
    return [DemoLogin(username, role, code) for username, _display, role, code in USERS]


def demo_morning(now: datetime, zone: str) -> datetime:
    """Where the phones' replay starts: ten minutes ago during the working day (so reps are live
    on the map within a minute), else 09:00 local of today (or of yesterday before 09:00)."""
    local = now.astimezone(ZoneInfo(zone))
    nine = local.replace(hour=9, minute=0, second=0, microsecond=0)
    if nine + timedelta(minutes=10) <= local <= nine.replace(hour=17, minute=30):
        return (local - timedelta(minutes=10)).replace(second=0, microsecond=0)
    return nine if local >= nine else nine - timedelta(days=1)


def _valid_numbers(numbers: list[dict[str, Any]], region: str) -> list[PhoneIn]:
    valid = []
    for entry in numbers:
        try:
            parse_phone(str(entry["number"]), region=region)
        except DomainError:
            continue  # a number the phone holds but no network would connect
        valid.append(PhoneIn(number=str(entry["number"])))
    return valid


def seed_customers(session: Session, *, rep: User, contacts: list[dict[str, Any]], region: str) -> int:
    """The rep's customers as their phone knows them (business contacts with a site), once."""
    if session.exec(select(Customer.id).where(Customer.owner_id == rep.id).limit(1)).first() is not None:
        return 0
    made = 0
    for contact in contacts:
        if contact.get("lat") is None or not contact.get("company"):
            continue  # family and colleagues: personal numbers, not customers
        person = str(contact["display_name"]).split()[0]
        data = CustomerCreate(
            name=str(contact["company"]),
            region=str(contact.get("place") or ""),
            tags=["演示"],
            contacts=[
                ContactIn(
                    name=person,
                    is_primary=True,
                    phones=_valid_numbers(contact["numbers"], region),  # type: ignore[arg-type]
                )
            ],
            addresses=[
                AddressIn(
                    address=str(contact.get("place") or contact["company"]),
                    lat=float(contact["lat"]),
                    lon=float(contact["lon"]),
                    is_primary=True,
                )
            ],
        )
        try:
            create_customer(session, actor=rep, data=data, now=utcnow(), region=region)
        except DuplicateFound:
            session.rollback()
            continue
        except DomainError as exc:
            session.rollback()
            log_event(logger, "demo.customer.skipped", customer=data.name, reason=exc.detail)
            continue
        made += 1
    return made


def _admin(session: Session) -> User:
    # The executive: system admins see no positions, and the agent verifies provisioning on the live map.
    return session.exec(select(User).where(User.username == "boss")).one()


def admin_token(session: Session) -> str:
    """An API token for the agent: it looks up the reps and checks that each phone's fixes arrive."""
    issued = issue_user_token(
        session,
        user=_admin(session),
        kind=TokenKind.api,
        lifetime=timedelta(days=1),
        now=utcnow(),
        label="demo agent",
    )
    return issued.secret


def enrolment_codes(session: Session, usernames: list[str]) -> dict[str, str]:
    """A one-time enrolment code per rep's phone (the code carries the rep's division)."""
    admin, now = _admin(session), utcnow()
    codes = {}
    for rep in session.exec(select(User).where(User.username.in_(usernames))):
        codes[rep.username], _row = create_enrolment_code(
            session,
            admin=admin,
            division_id=rep.division_id,
            rep_user_id=rep.id,  # type: ignore[arg-type]
            lifetime=timedelta(days=1),
            ip="",
            now=now,
        )
    return codes


def every(seconds: float, work: Callable[[], object], stop: threading.Event, name: str) -> threading.Thread:
    """Run ``work`` now and then every ``seconds`` until ``stop`` is set (errors are logged, not fatal)."""

    def loop() -> None:
        while not stop.is_set():
            try:
                work()
            except Exception as exc:
                log_event(logger, f"{name}.error", error=repr(exc))
            stop.wait(seconds)

    thread = threading.Thread(target=loop, name=name, daemon=True)
    thread.start()
    return thread


def delete_a_customer(phone: Any) -> str | None:
    """Delete the first business contact (one the demo made a customer of) on a simulated phone; its name."""
    for contact in phone.state.contacts:
        if contact.get("lat") is not None and contact.get("company"):
            phone.core.delete_contact(int(contact["_id"]))
            return str(contact["display_name"])
    return None


def seed_all_customers(engine: Engine, phones: list[Any], region: str) -> int:
    with Session(engine, expire_on_commit=False) as session:
        reps = {u.username: u for u in session.exec(select(User).where(User.username.in_(PHONE_REPS)))}
        return sum(
            seed_customers(session, rep=reps[username], contacts=phone.state.contacts, region=region)
            for username, phone in zip(PHONE_REPS, phones, strict=False)
        )
