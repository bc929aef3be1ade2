"""Money columns: exact decimals with two places (CNY yuan)."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

from sqlalchemy import Numeric, func
from sqlalchemy.sql.elements import ColumnElement

MONEY = Numeric(14, 2)
ZERO = Decimal("0.00")


def money(value: Decimal | int | float | str) -> Decimal:
    return Decimal(str(value)).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)


def money_sum(column: ColumnElement) -> ColumnElement:
    """SUM that comes back as a Decimal on every backend (SQLite sums NUMERIC as REAL)."""
    return func.coalesce(func.sum(column), 0, type_=MONEY)
