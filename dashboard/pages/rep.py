"""The rep's phone page: today's planned route, check-in with the browser's position, open tasks, and
the daily report drafted from the day's captured activity."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, Response
from sqlmodel import select

from crm.access import scope
from crm.customers import Customer
from crm.daily_reports import DailyReport
from crm.org import User
from dashboard.auth import page_roles
from dashboard.i18n import Translator, request_locale
from dashboard.nav import REPS
from dashboard.web import local_now, render
from server.deps import SessionDep
from server.locations.checkins import list_checkins
from server.locations.dispatch import list_tasks
from server.locations.plans import active_plan

router = APIRouter(include_in_schema=False)
RepUser = Annotated[User, Depends(page_roles(*REPS))]

# Figures of the daily report's ``stats`` shown above its text, in this order.
REPORT_STATS = (
    "calls",
    "calls_answered",
    "talk_time_s",
    "sms",
    "visits",
    "customers_contacted",
    "new_customers",
)


@router.get("/rep", response_class=HTMLResponse)
def rep_today(request: Request, session: SessionDep, user: RepUser) -> Response:
    today = local_now(request)
    midnight = today.replace(hour=0, minute=0, second=0, microsecond=0)
    plan = active_plan(session, actor=user, rep_id=user.id, day=today.date())  # type: ignore[arg-type]
    stops = plan.stops if plan else ()
    ids = {s.customer_id for s in stops}
    customers = {
        c.id: c for c in session.exec(scope(select(Customer).where(Customer.id.in_(ids)), user, Customer))
    }
    checkins = list_checkins(
        session, actor=user, rep_id=user.id, since=midnight, until=midnight + timedelta(days=1), limit=100
    )
    done = {c.customer_id for c in checkins}
    report = session.exec(
        scope(select(DailyReport), user, DailyReport).where(
            DailyReport.user_id == user.id, DailyReport.day == today.date()
        )
    ).first()
    t = Translator(request_locale(request, user))
    return render(
        request,
        "rep.html",
        user=user,
        plan=plan,
        stops=stops,
        customers=customers,
        done=done,
        checkins=checkins,
        checkin_names={
            c.id: c.name
            for c in session.exec(
                scope(
                    select(Customer).where(Customer.id.in_({c.customer_id for c in checkins})), user, Customer
                )
            )
        },
        tasks=list_tasks(session, actor=user, rep_id=user.id, open_only=True, limit=50),
        report=report,
        report_stats=REPORT_STATS,
        messages=t.messages("rep") | t.messages("checkin") | t.messages("report"),
    )
