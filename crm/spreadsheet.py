"""Reading customer lists as people really keep them: .xlsx or CSV, a title row above the
header, merged header cells (a group header over sub-columns), blank rows, full-width
characters, numbers stored as numbers. Values come back as they were; cleaning is the
importer's job.
"""

from __future__ import annotations

import csv
import io
import zipfile
from collections.abc import Callable
from dataclasses import dataclass

from openpyxl import load_workbook
from openpyxl.utils.exceptions import InvalidFileException

from crm.errors import DomainError
from crm.names import clean_text

HEADER_SCAN_ROWS = 10
MAX_ROWS = 200_000


@dataclass(frozen=True)
class Sheet:
    headers: list[str]
    header_row: int  # 1-based, as the user sees it in Excel
    rows: list[tuple[int, list[object]]]  # (1-based row number, cell values)


def _is_blank(value: object) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def _read_xlsx(content: bytes) -> list[list[object]]:
    try:
        book = load_workbook(io.BytesIO(content), data_only=True)
    except (InvalidFileException, zipfile.BadZipFile, KeyError, ValueError) as exc:
        raise DomainError(f"not a readable .xlsx file: {exc}", field="file") from exc
    sheet = book.worksheets[0]
    grid = [list(row) for row in sheet.iter_rows(values_only=True)]
    for merged in sheet.merged_cells.ranges:  # a merged cell's value belongs to every cell it covers
        if merged.min_row > HEADER_SCAN_ROWS + 1:
            continue
        value = grid[merged.min_row - 1][merged.min_col - 1]
        for r in range(merged.min_row, min(merged.max_row, len(grid)) + 1):
            for c in range(merged.min_col, merged.max_col + 1):
                grid[r - 1][c - 1] = value
    return grid


def _read_csv(content: bytes) -> list[list[object]]:
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            text = content.decode(encoding)
            break
        except UnicodeDecodeError:
            continue
    else:
        raise DomainError("the CSV file is neither UTF-8 nor GB18030 text", field="file")
    try:
        dialect = csv.Sniffer().sniff(text[:4096], delimiters=",;\t")
    except csv.Error:
        dialect = csv.excel  # type: ignore[assignment]
    return [list(row) for row in csv.reader(io.StringIO(text), dialect)]


def read_sheet(content: bytes, filename: str, score: Callable[[str], bool]) -> Sheet:
    """Find the header row (the one of the first rows where most cells ``score`` as known
    column names, combining a merged group header above with its sub-headers) and return
    the rows below it."""
    name = filename.lower()
    if name.endswith(".xlsx"):
        grid = _read_xlsx(content)
    elif name.endswith((".csv", ".txt")):
        grid = _read_csv(content)
    else:
        raise DomainError("upload an .xlsx or .csv file", field="file")
    if len(grid) > MAX_ROWS:
        raise DomainError(f"at most {MAX_ROWS} rows per import", field="file")
    best, best_hits = None, 0
    for i in range(min(HEADER_SCAN_ROWS, len(grid))):
        names = _header_names(grid, i)
        hits = sum(1 for n in names if n and score(n))
        if hits > best_hits:
            best, best_hits = i, hits
    if best is None:
        raise DomainError("no header row with known column names in the first rows", field="file")
    rows = [(i + 1, row) for i, row in enumerate(grid) if i > best and not all(_is_blank(v) for v in row)]
    return Sheet(_header_names(grid, best), best + 1, rows)


def _header_names(grid: list[list[object]], index: int) -> list[str]:
    """Header texts of row ``index``; a cell under a merged group header reads "group/sub"
    when the sub-header alone is ambiguous (the importer tries both)."""
    row = grid[index]
    above = grid[index - 1] if index > 0 else []
    names = []
    for c, value in enumerate(row):
        text = clean_text(value)
        group = clean_text(above[c]) if c < len(above) else ""
        repeated = sum(1 for v in above if clean_text(v) == group) > 1 if group else False
        names.append(f"{group}/{text}" if repeated and text and group != text else text)
    return names
