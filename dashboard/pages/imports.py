"""Import of customers, contacts or leads from a spreadsheet (managers): upload → preview (the column
mapping the importer found, row by row what would happen and why a row is refused) → import. The
page posts the file to ``POST /api/v1/import`` twice from ``import.js``: a dry run, then the commit."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, Response

from crm.importer import ALIASES, ImportKind
from crm.org import User
from dashboard.auth import page_roles
from dashboard.i18n import Translator, request_locale
from dashboard.lookups import visible_divisions
from dashboard.nav import MANAGERS
from dashboard.web import render
from server.deps import SessionDep, SettingsDep

router = APIRouter(include_in_schema=False)
ManagerUser = Annotated[User, Depends(page_roles(*MANAGERS))]


@router.get("/import", response_class=HTMLResponse)
def import_page(request: Request, session: SessionDep, settings: SettingsDep, user: ManagerUser) -> Response:
    t = Translator(request_locale(request, user))
    fields = {str(kind): list(ALIASES[kind]) for kind in ImportKind}
    return render(
        request,
        "import.html",
        user=user,
        kinds=list(ImportKind),
        fields=fields,
        divisions=visible_divisions(session, user) if user.division_id is None else [],
        max_bytes=settings.max_import_bytes,
        max_mb=round(settings.max_import_bytes / 1024 / 1024, 1),
        messages=t.messages("import"),
    )
