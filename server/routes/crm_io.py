"""Import of customers, contacts and leads (.xlsx/CSV, dry run, row report); exports of the other lists."""

from __future__ import annotations

import json
from typing import Annotated

from fastapi import APIRouter, Depends, File, Form, Request, UploadFile
from pydantic import ValidationError

from crm.errors import DomainError
from crm.importer import ImportOptions, ImportReport, import_table
from crm.types import utcnow
from server.deps import CurrentUser, SessionDep, SettingsDep, client_ip

router = APIRouter(prefix="/api/v1", tags=["import and export"])


def _options(options: Annotated[str, Form(max_length=10_000)] = "{}") -> ImportOptions:
    try:
        return ImportOptions.model_validate(json.loads(options))
    except (json.JSONDecodeError, ValidationError) as exc:
        raise DomainError(f"invalid import options: {exc}"[:500], field="options") from exc


@router.post("/import", response_model=ImportReport)
def post_import(
    request: Request,
    session: SessionDep,
    user: CurrentUser,
    settings: SettingsDep,
    file: Annotated[UploadFile, File()],
    options: Annotated[ImportOptions, Depends(_options)],
) -> ImportReport:
    """Upload a file with ``options`` (JSON: kind, mapping, dry_run, all_or_nothing, division_id, owner_id)."""
    return import_table(
        session,
        actor=user,
        content=file.file.read(),
        filename=file.filename or "",
        options=options,
        now=utcnow(),
        region=settings.default_region,
        ip=client_ip(request),
    )
