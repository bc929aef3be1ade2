"""Keyset (cursor) pagination: ``ORDER BY sort, id`` and ``WHERE (sort, id) > (last seen)``.

The cursor is opaque to clients (base64url JSON of the last row's sort value and id), so
page 500 costs what page 1 costs.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Generic, TypeVar

from sqlalchemy import Select, tuple_
from sqlalchemy.orm import InstrumentedAttribute

from crm.errors import DomainError

T = TypeVar("T")
MAX_LIMIT = 500


@dataclass(frozen=True)
class Page(Generic[T]):
    items: list[T]
    next_cursor: str | None


@dataclass(frozen=True)
class Sort:
    column: InstrumentedAttribute[Any]
    id_column: InstrumentedAttribute[Any]
    descending: bool = False


def _encode(value: Any, row_id: int) -> str:
    if isinstance(value, datetime):
        value = {"t": value.isoformat()}
    raw = json.dumps([value, row_id], ensure_ascii=False).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _decode(cursor: str) -> tuple[Any, int]:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        value, row_id = json.loads(raw)
        if isinstance(value, dict):
            value = datetime.fromisoformat(value["t"])
    except (binascii.Error, ValueError, TypeError, KeyError) as exc:
        raise DomainError("invalid cursor", field="cursor", code="paging.invalid_cursor") from exc
    if not isinstance(row_id, int):
        raise DomainError("invalid cursor", field="cursor", code="paging.invalid_cursor")
    return value, row_id


def keyset(statement: Select, sort: Sort, *, cursor: str | None, limit: int) -> Select:
    """Order ``statement`` by (sort, id), start after ``cursor``, fetch one row more than ``limit``."""
    if not 1 <= limit <= MAX_LIMIT:
        raise DomainError(
            f"limit must be 1..{MAX_LIMIT}",
            field="limit",
            code="paging.limit_range",
            params={"max": MAX_LIMIT},
        )
    key = tuple_(sort.column, sort.id_column)
    if cursor:
        bound = _decode(cursor)
        statement = statement.where(key < bound if sort.descending else key > bound)
    order = (sort.column.desc(), sort.id_column.desc()) if sort.descending else (sort.column, sort.id_column)
    return statement.order_by(*order).limit(limit + 1)


def page_of(rows: Sequence[T], sort: Sort, *, limit: int) -> Page[T]:
    """Cut the extra row fetched by :func:`keyset` and make the next cursor."""
    items = list(rows[:limit])
    if len(rows) <= limit or not items:
        return Page(items, None)
    last = items[-1]
    return Page(items, _encode(getattr(last, sort.column.key), getattr(last, sort.id_column.key)))


def pick_sort(sorts: dict[str, Sort], name: str) -> Sort:
    if name not in sorts:
        raise DomainError(
            f"sort must be one of {', '.join(sorts)}",
            field="sort",
            code="paging.unknown_sort",
            params={"allowed": ", ".join(sorts)},
        )
    return sorts[name]


def fetch_page(session: Any, statement: Select, sort: Sort, *, cursor: str | None, limit: int) -> Page[Any]:
    """Run ``statement`` as one keyset page of rows (model instances)."""
    rows = list(session.exec(keyset(statement, sort, cursor=cursor, limit=limit)))
    return page_of(rows, sort, limit=limit)
