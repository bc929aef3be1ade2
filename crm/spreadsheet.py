"""Reading customer lists as people really keep them: .xlsx or CSV, a title row above the
header, merged header cells (a group header over sub-columns), blank rows, full-width
characters, numbers stored as numbers. Values come back as they were; cleaning is the
importer's job.
"""

from __future__ import annotations

import csv
import io
import re
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from typing import BinaryIO

from openpyxl import load_workbook
from openpyxl.utils.cell import column_index_from_string
from openpyxl.utils.exceptions import InvalidFileException

from capture.text import decode_text
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


_MERGE_REF = re.compile(rb'<mergeCell ref="([A-Z]+)(\d+):([A-Z]+)(\d+)"')


def _merged_ranges(archive: BinaryIO, worksheet_path: str) -> list[tuple[int, int, int, int]]:
    """(min_row, min_col, max_row, max_col) of the sheet's merged cells, read from its XML
    (openpyxl's fast read-only mode does not report them)."""
    archive.seek(0)
    with zipfile.ZipFile(archive) as zipped:
        xml = zipped.read(worksheet_path.lstrip("/"))
    return [
        (int(r1), column_index_from_string(c1.decode()), int(r2), column_index_from_string(c2.decode()))
        for c1, r1, c2, r2 in _MERGE_REF.findall(xml)
    ]


def _read_xlsx(content: BinaryIO) -> list[list[object]]:
    try:
        book = load_workbook(content, read_only=True, data_only=True)
        sheet = book.worksheets[0]
        grid = [list(row) for row in sheet.iter_rows(values_only=True)]
        book.close()
        merged = _merged_ranges(content, sheet._worksheet_path)  # type: ignore[union-attr]
    except (InvalidFileException, zipfile.BadZipFile, KeyError, ValueError) as exc:
        raise DomainError(
            f"not a readable .xlsx file: {exc}",
            field="file",
            code="import.xlsx_unreadable",
            params={"reason": str(exc)},
        ) from exc
    width = max((len(row) for row in grid), default=0)
    for row in grid:
        row.extend([None] * (width - len(row)))
    for min_row, min_col, max_row, max_col in merged:  # a merged cell's value belongs to every cell it covers
        if min_row > HEADER_SCAN_ROWS + 1 or min_row > len(grid):
            continue
        value = grid[min_row - 1][min_col - 1]
        for r in range(min_row, min(max_row, len(grid)) + 1):
            for c in range(min_col, min(max_col, width) + 1):
                grid[r - 1][c - 1] = value
    return grid


def _read_csv(content: BinaryIO) -> list[list[object]]:
    content.seek(0)
    text = decode_text(content.read())
    if text is None:
        raise DomainError(
            "the CSV file is neither UTF-8 nor GB18030 text", field="file", code="import.csv_encoding"
        )
    try:
        dialect = csv.Sniffer().sniff(text[:4096], delimiters=",;\t")
    except csv.Error:
        dialect = csv.excel  # type: ignore[assignment]
    return [list(row) for row in csv.reader(io.StringIO(text, newline=""), dialect)]


def read_sheet(content: bytes | BinaryIO, filename: str, score: Callable[[str], bool]) -> Sheet:
    """Find the header row (the one of the first rows where most cells ``score`` as known
    column names, combining a merged group header above with its sub-headers) and return
    the rows below it. ``content`` is the file's bytes or a seekable binary file (an upload
    spooled to disk is read from there, not copied into memory)."""
    name = filename.lower()
    source = io.BytesIO(content) if isinstance(content, bytes) else content
    if name.endswith(".xlsx"):
        grid = _read_xlsx(source)
    elif name.endswith((".csv", ".txt")):
        grid = _read_csv(source)
    else:
        raise DomainError("upload an .xlsx or .csv file", field="file", code="import.file_type")
    if len(grid) > MAX_ROWS:
        raise DomainError(
            f"at most {MAX_ROWS} rows per import",
            field="file",
            code="import.too_many_rows",
            params={"max": MAX_ROWS},
        )
    best, best_hits = None, 0
    for i in range(min(HEADER_SCAN_ROWS, len(grid))):
        names = _header_names(grid, i)
        hits = sum(1 for n in names if n and score(n))
        if hits > best_hits:
            best, best_hits = i, hits
    if best is None:
        raise DomainError(
            "no header row with known column names in the first rows", field="file", code="import.no_header"
        )
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
