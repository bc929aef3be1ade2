"""Duplicate detection on E.164 phone, normalised name and company e-mail domain.

A criterion that matches more than ``max_matches`` customers (a shared switchboard, a
generic name, a big group's domain) says nothing and is ignored. Detection looks at the
whole division, also at customers the actor cannot see (that is where duplicates hide);
for those the caller shows only that one exists and who owns it.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Collection, Iterable
from dataclasses import dataclass, field

from sqlalchemy import select
from sqlmodel import Session

from crm.customers import ContactEmail, ContactPhone, Customer

DEFAULT_MAX_MATCHES = 5


@dataclass
class Candidate:
    customer_id: int
    reasons: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class Probe:
    """What a new or changed customer would have."""

    name_normalised: str = ""
    phones: Collection[str] = ()
    domains: Collection[str] = ()


def _rank(
    groups: Iterable[tuple[str, Collection[int]]], *, excluded: Collection[int] = (), max_matches: int
) -> list[Candidate]:
    found: dict[int, Candidate] = {}
    for reason, matched in groups:
        ids = set(matched) - set(excluded)
        if 0 < len(ids) <= max_matches:
            for customer_id in ids:
                found.setdefault(customer_id, Candidate(customer_id)).reasons.append(reason)
    return sorted(found.values(), key=lambda c: (-len(c.reasons), c.customer_id))


def _criteria(probe: Probe) -> list[tuple[str, str, str]]:
    """(reason, kind, value) for every criterion the probe has."""
    items = [(f"phone:{p}", "phone", p) for p in sorted(set(probe.phones))]
    if len(probe.name_normalised) >= 2:
        items.append(("name", "name", probe.name_normalised))
    items += [(f"email_domain:{d}", "domain", d) for d in sorted(set(probe.domains))]
    return items


def find_duplicates(
    session: Session,
    *,
    division_id: int,
    probe: Probe,
    exclude_ids: Collection[int] = (),
    max_matches: int = DEFAULT_MAX_MATCHES,
) -> list[Candidate]:
    """Customers of the division that look like ``probe``, with the reasons, most reasons first."""
    live = (Customer.division_id == division_id, Customer.merged_into_id.is_(None))
    limit = max_matches + len(exclude_ids) + 1
    queries = {
        "phone": lambda v: (
            select(ContactPhone.customer_id)
            .join(Customer, Customer.id == ContactPhone.customer_id)
            .where(ContactPhone.e164 == v, ContactPhone.valid_to.is_(None), *live)
        ),
        "name": lambda v: select(Customer.id).where(Customer.name_normalised == v, *live),
        "domain": lambda v: (
            select(ContactEmail.customer_id)
            .join(Customer, Customer.id == ContactEmail.customer_id)
            .where(ContactEmail.domain == v, *live)
        ),
    }
    groups = [
        (reason, session.scalars(queries[kind](value).distinct().limit(limit)).all())
        for reason, kind, value in _criteria(probe)
    ]
    return _rank(groups, excluded=exclude_ids, max_matches=max_matches)


@dataclass
class DivisionIndex:
    """The division's phones, names and domains in memory, for bulk imports (one query each)."""

    phones: dict[str, set[int]] = field(default_factory=lambda: defaultdict(set))
    names: dict[str, set[int]] = field(default_factory=lambda: defaultdict(set))
    domains: dict[str, set[int]] = field(default_factory=lambda: defaultdict(set))

    @classmethod
    def load(cls, session: Session, division_id: int) -> DivisionIndex:
        index = cls()
        live = (Customer.division_id == division_id, Customer.merged_into_id.is_(None))
        for e164, customer_id in session.execute(
            select(ContactPhone.e164, ContactPhone.customer_id)
            .join(Customer, Customer.id == ContactPhone.customer_id)
            .where(ContactPhone.valid_to.is_(None), *live)
        ):
            index.phones[e164].add(customer_id)
        for name, customer_id in session.execute(select(Customer.name_normalised, Customer.id).where(*live)):
            if name:
                index.names[name].add(customer_id)
        for domain, customer_id in session.execute(
            select(ContactEmail.domain, ContactEmail.customer_id)
            .join(Customer, Customer.id == ContactEmail.customer_id)
            .where(*live)
        ):
            index.domains[domain].add(customer_id)
        return index

    def add(self, customer_id: int, probe: Probe) -> None:
        for e164 in probe.phones:
            self.phones[e164].add(customer_id)
        if probe.name_normalised:
            self.names[probe.name_normalised].add(customer_id)
        for domain in probe.domains:
            self.domains[domain].add(customer_id)

    def find(self, probe: Probe, *, max_matches: int = DEFAULT_MAX_MATCHES) -> list[Candidate]:
        maps = {"phone": self.phones, "name": self.names, "domain": self.domains}
        groups = [(reason, maps[kind].get(value, set())) for reason, kind, value in _criteria(probe)]
        return _rank(groups, max_matches=max_matches)
