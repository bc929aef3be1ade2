"""Dates, durations and amounts as a user reads them: in the display zone, in their language."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

from dashboard.i18n import Translator


class Formatter:
    def __init__(self, t: Translator, zone: str) -> None:
        self.t = t
        self.zone = ZoneInfo(zone)

    def local(self, value: datetime) -> datetime:
        return value.astimezone(self.zone)

    def dt(self, value: datetime | None) -> str:
        return self.local(value).strftime("%Y-%m-%d %H:%M") if value else "—"

    def time(self, value: datetime | None) -> str:
        return self.local(value).strftime("%H:%M") if value else "—"

    def date(self, value: datetime | None) -> str:
        return self.local(value).strftime("%Y-%m-%d") if value else "—"

    def duration(self, seconds: float | None) -> str:
        """``1 h 05 min`` / ``1小时05分``; under a minute in seconds."""
        if seconds is None:
            return "—"
        total = round(seconds)
        if total < 60:
            return self.t("unit.seconds", n=total)
        hours, minutes = divmod(total // 60, 60)
        if hours:
            return self.t("unit.hours_minutes", h=hours, m=f"{minutes:02d}")
        return self.t("unit.minutes", n=minutes)

    def ago(self, value: datetime | None, now: datetime) -> str:
        if value is None:
            return self.t("time.never")
        return self.t("time.ago", span=self.duration(max(0.0, (now - value).total_seconds())))

    def distance(self, metres: float | None) -> str:
        if metres is None:
            return "—"
        return f"{metres / 1000:.1f} km" if metres >= 1000 else f"{round(metres)} m"

    def money(self, amount: Decimal | float | int | None) -> str:
        return "—" if amount is None else f"¥{amount:,.2f}"
