"""Helpers shared by the CRM route modules."""

from __future__ import annotations

from urllib.parse import quote

from fastapi import Response

from crm.exporter import Export
from crm.tabular import MEDIA_TYPES, TableFormat


def download(export: Export) -> Response:
    fmt = TableFormat(export.filename.rsplit(".", 1)[1])
    return Response(
        export.content,
        media_type=MEDIA_TYPES[fmt],
        headers={
            "Content-Disposition": f"attachment; filename*=UTF-8''{quote(export.filename)}",
            "X-Row-Count": str(export.rows),
        },
    )
