"""Sales-ops configuration (managers of a division, executives): pipeline stages, lost reasons,
public-pool rules and monthly targets. The pages read through the ``crm`` services and the access
scope; every change goes through the REST API (``settings.js``), which checks the role, audits and
refuses with a coded error that the page words in the user's language."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy import func
from sqlmodel import Session, select

from crm.access import scope
from crm.lost_reasons import list_lost_reasons
from crm.org import Division, Role, User
from crm.pipeline import Opportunity
from crm.pipeline_config import list_pipelines
from crm.pool_service import list_pools
from crm.targets import Target, TargetMetric
from dashboard.auth import page_roles
from dashboard.i18n import Translator, request_locale
from dashboard.lookups import user_names, visible_divisions, visible_reps
from dashboard.nav import MANAGERS
from dashboard.web import error_page, local_now, render
from server.deps import SessionDep

router = APIRouter(include_in_schema=False)
ManagerUser = Annotated[User, Depends(page_roles(*MANAGERS))]
DivisionQuery = Annotated[int | None, Query(alias="division", ge=1)]

SECTIONS = ("pipelines", "lost-reasons", "pools", "targets")
CLAIM_ROLES = (Role.rep, Role.division_head, Role.division_admin, Role.executive)
POOL_LIMITS = ("reclaim_no_followup_days", "reclaim_no_deal_days", "warn_days_before",
               "daily_claim_cap", "holding_capacity", "cooldown_days")  # fmt: skip
# limits that may be left empty (no limit); the others always have a value
POOL_OPTIONAL = {"reclaim_no_followup_days", "reclaim_no_deal_days", "daily_claim_cap", "holding_capacity"}


def _division(session: Session, user: User, wanted: int | None) -> tuple[Division | None, list[Division]]:
    """The division the page configures (one the user sees; executives pick), and the choices."""
    divisions = visible_divisions(session, user)
    if wanted is None:
        own = next((d for d in divisions if d.id == user.division_id), None)
        return own or (divisions[0] if divisions else None), divisions
    return next((d for d in divisions if d.id == wanted), None), divisions


def _page(
    request: Request, session: Session, user: User, section: str, wanted: int | None, **context: Any
) -> Response:
    division, divisions = _division(session, user, wanted)
    if division is None and not divisions:  # an organisation without divisions yet
        return render(request, "settings_none.html", user=user)
    if division is None:
        return error_page(request, user, 404)
    builder = BUILDERS[section]
    t = Translator(request_locale(request, user))
    return render(
        request,
        f"settings_{section.replace('-', '_')}.html",
        user=user,
        section=section,
        sections=SECTIONS,
        division=division,
        divisions=divisions,
        messages=t.messages("settings"),
        **builder(session, user, division, **context),
    )


def _stage_counts(session: Session, user: User, stage_ids: list[int]) -> dict[int, int]:
    if not stage_ids:
        return {}
    stmt = scope(select(Opportunity.stage_id, func.count()), user, Opportunity)
    return dict(
        session.exec(stmt.where(Opportunity.stage_id.in_(stage_ids)).group_by(Opportunity.stage_id)).all()
    )


def _pipelines(session: Session, user: User, division: Division) -> dict[str, Any]:
    pipelines = list_pipelines(session, actor=user, division_id=division.id)
    counts = _stage_counts(session, user, [s.id for p in pipelines for s in p.stages])
    return {"pipelines": pipelines, "held": counts}


def _lost_reasons(session: Session, user: User, division: Division) -> dict[str, Any]:
    return {"reasons": list_lost_reasons(session, actor=user, division_id=division.id)}


def _pools(session: Session, user: User, division: Division) -> dict[str, Any]:
    pools = [p for p in list_pools(session, actor=user) if p.division_id == division.id]
    return {"pools": pools, "limits": POOL_LIMITS, "optional": POOL_OPTIONAL, "claim_roles": CLAIM_ROLES}


def _targets(session: Session, user: User, division: Division, month: date) -> dict[str, Any]:
    rows = session.exec(
        scope(select(Target), user, Target)
        .where(Target.division_id == division.id, Target.month == month)
        .order_by(Target.user_id.is_not(None), Target.user_id, Target.metric)
    ).all()
    reps = [r for r in visible_reps(session, user) if r.division_id == division.id]
    return {
        "targets": rows,
        "names": user_names(session, user, (r.user_id for r in rows)),
        "reps": reps,
        "metrics": list(TargetMetric),
        "month": month,
    }


BUILDERS = {"pipelines": _pipelines, "lost-reasons": _lost_reasons, "pools": _pools, "targets": _targets}


@router.get("/settings")
def settings_home(_user: ManagerUser) -> Response:
    return RedirectResponse("/settings/pipelines", status_code=303)


def _section_page(section: str) -> Callable[..., Response]:
    def page(
        request: Request, session: SessionDep, user: ManagerUser, division: DivisionQuery = None
    ) -> Response:
        return _page(request, session, user, section, division)

    return page


for _section in ("pipelines", "lost-reasons", "pools"):
    router.add_api_route(
        f"/settings/{_section}", _section_page(_section), methods=["GET"], response_class=HTMLResponse
    )


@router.get("/settings/targets", response_class=HTMLResponse)
def targets_page(
    request: Request,
    session: SessionDep,
    user: ManagerUser,
    division: DivisionQuery = None,
    month: str | None = Query(default=None, pattern=r"^\d{4}-\d{2}$"),
) -> Response:
    first = local_now(request).date().replace(day=1)
    if month is not None:
        year, number = (int(part) for part in month.split("-"))
        if not 1 <= number <= 12 or not 2000 <= year <= 2100:
            return error_page(request, user, 400)
        first = date(year, number, 1)
    return _page(request, session, user, "targets", division, month=first)
