"""Customer grades: configurable per division (best first); A/B/C/D when a division has none."""

from __future__ import annotations

from pydantic import Field
from sqlalchemy import delete, func
from sqlmodel import Session, select

from crm.access import scope
from crm.actors import acting_division, require_manager
from crm.config_audit import audit_config
from crm.customers import Customer, CustomerGrade
from crm.errors import Conflict, DomainError
from crm.names import clean_text
from crm.org import User
from crm.schemas import Input, View

DEFAULT_GRADES = ("A", "B", "C", "D")


def division_grades(session: Session, division_id: int) -> list[str]:
    rows = session.exec(
        select(CustomerGrade.code)
        .where(CustomerGrade.division_id == division_id)
        .order_by(CustomerGrade.position, CustomerGrade.id)
    ).all()
    return list(rows) or list(DEFAULT_GRADES)


def default_grade(session: Session, division_id: int) -> str:
    """C when the division has it, else its lowest grade."""
    grades = division_grades(session, division_id)
    return "C" if "C" in grades else grades[-1]


def check_grade(session: Session, division_id: int, grade: str, *, field: str = "grade") -> str:
    code = clean_text(grade).upper()
    allowed = division_grades(session, division_id)
    if code not in allowed:
        raise DomainError(
            f"unknown grade {grade!r}; this division uses {', '.join(allowed)}",
            field=field,
            code="grade.unknown",
            params={"grade": grade, "allowed": ", ".join(allowed)},
        )
    return code


class GradeIn(Input):
    code: str = Field(min_length=1, max_length=8)
    label: str = Field(default="", max_length=50)


class GradesIn(Input):
    grades: list[GradeIn] = Field(min_length=1, max_length=20, description="Best first.")


class GradeView(View):
    code: str
    label: str


def list_grades(session: Session, *, actor: User, division_id: int | None = None) -> list[GradeView]:
    """The division's grades, best first (A/B/C/D without labels when none are configured)."""
    division = acting_division(session, actor, division_id if division_id is not None else actor.division_id)
    rows = session.exec(
        scope(select(CustomerGrade), actor, CustomerGrade)
        .where(CustomerGrade.division_id == division)
        .order_by(CustomerGrade.position, CustomerGrade.id)
    ).all()
    if rows:
        return [GradeView(code=r.code, label=r.label) for r in rows]
    return [GradeView(code=code, label="") for code in DEFAULT_GRADES]


def set_grades(
    session: Session,
    *,
    actor: User,
    division_id: int,
    grades: list[tuple[str, str]],
    ip: str = "",
) -> list[str]:
    """Replace a division's grades with ``(code, label)`` pairs, best first; a grade that
    customers still have cannot be removed (regrade them first)."""
    require_manager(actor, division_id)
    codes = [clean_text(code).upper() for code, _label in grades]
    if not codes or any(not c or len(c) > 8 for c in codes) or len(set(codes)) != len(codes):
        raise DomainError(
            "grades must be 1–8 characters, unique, and at least one",
            field="grades",
            code="grade.list_invalid",
        )
    before = division_grades(session, division_id)
    removed = sorted(set(before) - set(codes))
    held = session.exec(
        select(Customer.grade, func.count())
        .where(
            Customer.division_id == division_id,
            Customer.grade.in_(removed),
            Customer.merged_into_id.is_(None),
        )
        .group_by(Customer.grade)
    ).all()
    if held:
        counts = ", ".join(f"{grade}: {n}" for grade, n in held)
        raise Conflict(
            f"customers still have the grades you remove ({counts}); regrade them first",
            field="grades",
            code="grade.still_held",
            params={"counts": counts},
        )
    session.execute(delete(CustomerGrade).where(CustomerGrade.division_id == division_id))
    for position, (code, (_c, label)) in enumerate(zip(codes, grades, strict=True)):
        session.add(CustomerGrade(division_id=division_id, code=code, label=label[:50], position=position))
    audit_config(
        session,
        actor=actor,
        action="grades.set",
        target_type="division",
        target_id=division_id,
        division_id=division_id,
        detail={
            "before": before,
            "after": [[c, label[:50]] for c, (_c, label) in zip(codes, grades, strict=True)],
        },
        ip=ip,
    )
    session.commit()
    return codes
