"""Rich output for the CLI: a live per-phone board while work runs, tables for results."""

from __future__ import annotations

import threading
from collections.abc import Iterable

from rich.console import Console
from rich.live import Live
from rich.table import Table

from device_agent.fleet import PhoneRow
from device_agent.provision.results import Status

STATUS_STYLE = {
    Status.DONE: "green",
    Status.ALREADY: "cyan",
    Status.HUMAN: "bold yellow",
    Status.FAILED: "bold red",
    Status.RUNNING: "blue",
    Status.WAITING: "yellow",
    Status.SKIPPED: "dim",
}
RESULT_STYLE = {"ok": "green", "partial": "yellow", "gone": "yellow", "busy": "yellow"}


class Board:
    """One row per phone, one column per step or source; updated from worker threads."""

    def __init__(self, console: Console, title: str, columns: Iterable[str], *, enabled: bool = True) -> None:
        self.console = console
        self.title = title
        self.columns = list(columns)
        self.cells: dict[str, dict[str, str]] = {}
        self.enabled = enabled
        self._lock = threading.Lock()
        self._live: Live | None = None

    def __enter__(self) -> Board:
        if self.enabled:
            self._live = Live(self._table(), console=self.console, refresh_per_second=8, transient=False)
            self._live.__enter__()
        return self

    def __exit__(self, *exc: object) -> None:
        if self._live is not None:
            self._live.update(self._table())
            self._live.__exit__(None, None, None)

    def set(self, serial: str, column: str, text: str) -> None:
        with self._lock:
            self.cells.setdefault(serial, {})[column] = text
            if self._live is not None:
                self._live.update(self._table())

    def step(self, serial: str, step: str, status: Status, detail: str) -> None:
        style = STATUS_STYLE.get(status, "")
        text = f"[{style}]{status.value}[/]" if style else status.value
        self.set(serial, step, f"{text} {detail}" if status in (Status.WAITING, Status.HUMAN) else text)

    def _table(self) -> Table:
        table = Table(title=self.title, expand=False)
        table.add_column("phone", no_wrap=True)
        for column in self.columns:
            table.add_column(column, overflow="fold", max_width=36)
        for serial, cells in self.cells.items():
            table.add_row(serial, *(cells.get(c, "") for c in self.columns))
        return table


def fleet_table(rows: list[PhoneRow]) -> Table:
    table = Table(title="Phones")
    for column in ("adb serial", "state", "serial", "phone", "Android", "battery", "free", "enrolled",
                   "last sync", "pending"):
        table.add_column(column)
    for row in rows:
        state = row.state if row.state == "device" else f"[bold yellow]{row.state}[/]"
        table.add_row(
            row.adb_serial + (" (tcp)" if row.over_tcp else ""),
            state,
            row.device,
            f"{row.brand} {row.model}".strip(),
            row.android,
            "" if row.battery_pct is None else f"{row.battery_pct}%",
            "" if row.storage_free_gb is None else f"{row.storage_free_gb} GB",
            "no" if row.enrolled_as is None else f"device {row.enrolled_as}",
            f"{row.last_sync or 'never'}" + (f" ({row.last_result})" if row.last_result else ""),
            str(row.pending),
        )
    return table
