"""Factories for divisions, users, customers and credentials used across the test suite."""

from __future__ import annotations

import itertools
from datetime import timedelta

from sqlmodel import Session

from crm.customers import Customer
from crm.org import ROLES_WITHOUT_DIVISION, Division, Role, User
from crm.types import utcnow
from server.auth.models import TokenKind
from server.auth.secrets import hash_password
from server.auth.service import issue_user_token

PASSWORD = "correct-horse-battery"
_PASSWORD_HASH = hash_password(PASSWORD)
_counter = itertools.count(1)


class Factory:
    def __init__(self, session: Session) -> None:
        self.session = session

    def division(self, name: str | None = None) -> Division:
        n = next(_counter)
        division = Division(name=name or f"Division {n}", code=f"D{n}")
        self.session.add(division)
        self.session.commit()
        return division

    def user(self, role: Role, division: Division | None = None, *, username: str | None = None) -> User:
        if role not in ROLES_WITHOUT_DIVISION and division is None:
            division = self.division()
        user = User(
            username=username or f"{role}-{next(_counter)}",
            display_name=f"{role} user",
            password_hash=_PASSWORD_HASH,
            role=role,
            division_id=None if role in ROLES_WITHOUT_DIVISION else division.id,  # type: ignore[union-attr]
        )
        self.session.add(user)
        self.session.commit()
        return user

    def token(self, user: User) -> str:
        issued = issue_user_token(
            self.session, user=user, kind=TokenKind.api, lifetime=timedelta(hours=1), now=utcnow()
        )
        return issued.secret

    def headers(self, user: User) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token(user)}"}

    def customer(self, division: Division, owner: User | None = None, *, name: str | None = None) -> Customer:
        customer = Customer(
            division_id=division.id,  # type: ignore[arg-type]
            owner_id=owner.id if owner else None,
            name=name or f"客户 {next(_counter)}",
        )
        self.session.add(customer)
        self.session.commit()
        return customer
