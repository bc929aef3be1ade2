"""A ticket's SLA clock as the pages show it: which deadline matters now, time left or overdue."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from crm.tickets import OPEN_STATUSES, TicketView


@dataclass(frozen=True)
class SlaClock:
    """``target`` is ``respond`` or ``resolve`` for open tickets, ``resolved`` for finished ones."""

    target: str
    deadline: datetime
    seconds_left: float
    breached: bool

    @property
    def running(self) -> bool:
        return self.target != "resolved"


def sla_clock(ticket: TicketView, now: datetime) -> SlaClock:
    """Open tickets: the worst missed deadline, else the next one. Finished ones: met or missed."""
    if ticket.status not in OPEN_STATUSES:
        done = ticket.resolved_at or ticket.closed_at or now
        left = (ticket.resolve_by - done).total_seconds()
        return SlaClock("resolved", ticket.resolve_by, left, left < 0)
    deadlines = [("respond", ticket.respond_by)] if ticket.first_response_at is None else []
    deadlines.append(("resolve", ticket.resolve_by))
    missed = [d for d in deadlines if d[1] <= now]
    target, deadline = max(missed, key=lambda d: d[1]) if missed else min(deadlines, key=lambda d: d[1])
    left = (deadline - now).total_seconds()
    return SlaClock(target, deadline, left, left <= 0)
