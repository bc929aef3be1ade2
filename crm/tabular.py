"""Writing tables as CSV (UTF-8 with BOM, so Excel opens Chinese text correctly) or .xlsx."""

from __future__ import annotations

import csv
import io
import itertools
import re
from collections.abc import Iterable, Sequence
from enum import StrEnum

from openpyxl import Workbook

from crm.errors import DomainError


class TableFormat(StrEnum):
    csv = "csv"
    xlsx = "xlsx"


MEDIA_TYPES = {
    TableFormat.csv: "text/csv; charset=utf-8",
    TableFormat.xlsx: "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}


def table_format(name: str) -> TableFormat:
    try:
        return TableFormat(name.lower())
    except ValueError as exc:
        raise DomainError("format must be csv or xlsx", field="format", code="export.format") from exc


_PLAIN_SIGNED = re.compile(r"[+-][\d\s*.,+-]*")  # -5, +86 138****5678: a sign before digits only


def _safe(value: object) -> object:
    """Cells starting with = + - @ (or a tab/CR before one) would run as formulas in a spreadsheet
    (CSV injection); a sign followed by digits only (a number, a masked phone) cannot call anything."""
    if not isinstance(value, str) or not value:
        return value
    if value[0] in "=@\t\r" or (value[0] in "+-" and not _PLAIN_SIGNED.fullmatch(value)):
        return "'" + value
    return value


def write_table(headers: Sequence[str], rows: Iterable[Sequence[object]], fmt: TableFormat) -> bytes:
    if fmt is TableFormat.csv:
        text = io.StringIO()
        writer = csv.writer(text)
        writer.writerow(headers)
        for row in rows:
            writer.writerow(["" if v is None else _safe(v) for v in row])
        return ("\ufeff" + text.getvalue()).encode("utf-8")
    # The first row runs the query: one that fails (a filter the database refuses) must do so before
    # the write-only workbook opens its temporary file, which only a save would remove.
    remaining = iter(rows)
    first = next(remaining, None)
    book = Workbook(write_only=True)
    sheet = book.create_sheet("data")
    sheet.append(list(headers))
    for row in () if first is None else itertools.chain([first], remaining):
        sheet.append([_safe(v) for v in row])
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()
