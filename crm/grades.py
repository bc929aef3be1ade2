"""Customer grades: configurable per division (best first); A/B/C/D when a division has none."""

from __future__ import annotations

from sqlalchemy import delete
from sqlmodel import Session, select

from crm.actors import require_manager
from crm.customers import CustomerGrade
from crm.errors import DomainError
from crm.names import clean_text
from crm.org import User

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
        raise DomainError(f"unknown grade {grade!r}; this division uses {', '.join(allowed)}", field=field)
    return code


def set_grades(
    session: Session, *, actor: User, division_id: int, grades: list[tuple[str, str]]
) -> list[str]:
    """Replace a division's grades with ``(code, label)`` pairs, best first."""
    require_manager(actor, division_id)
    codes = [clean_text(code).upper() for code, _label in grades]
    if not codes or any(not c or len(c) > 8 for c in codes) or len(set(codes)) != len(codes):
        raise DomainError("grades must be 1–8 characters, unique, and at least one", field="grades")
    session.execute(delete(CustomerGrade).where(CustomerGrade.division_id == division_id))
    for position, (code, (_c, label)) in enumerate(zip(codes, grades, strict=True)):
        session.add(CustomerGrade(division_id=division_id, code=code, label=label[:50], position=position))
    session.commit()
    return codes
