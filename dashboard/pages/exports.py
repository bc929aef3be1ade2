"""Downloads of the lists (managers): customers, leads, opportunities and tickets as .xlsx or .csv
through ``GET /api/v1/{kind}/export``, which reads the scoped list, masks numbers per row,
neutralises formula-like cells and audits every download."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, Response

from crm.org import User
from crm.tabular import TableFormat
from dashboard.auth import page_roles
from dashboard.nav import MANAGERS
from dashboard.web import render

router = APIRouter(include_in_schema=False)
ManagerUser = Annotated[User, Depends(page_roles(*MANAGERS))]

EXPORT_KINDS = ("customers", "leads", "opportunities", "tickets")


@router.get("/export", response_class=HTMLResponse)
def export_page(request: Request, user: ManagerUser) -> Response:
    return render(request, "export.html", user=user, kinds=EXPORT_KINDS, formats=[str(f) for f in TableFormat])
