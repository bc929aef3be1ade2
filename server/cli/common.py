"""Helpers shared by the CLI commands."""

from __future__ import annotations

import typer
from rich.console import Console
from sqlalchemy import Engine

from server.config import InsecureSettingsError, Settings, get_settings
from server.db import get_engine
from server.migrate import pending_reason, upgrade

console = Console()
err_console = Console(stderr=True)


def fail(message: str, code: int = 1) -> typer.Exit:
    err_console.print(f"[bold red]error:[/] {message}")
    return typer.Exit(code)


def ready_engine(settings: Settings, *, migrate: bool) -> Engine:
    """The engine, with the schema at the latest revision (migrating only when asked)."""
    engine = get_engine(settings)
    reason = pending_reason(engine)
    if reason is not None:
        if not migrate:
            raise fail(f"{reason}. Run `fieldcrm db upgrade` first (or pass --migrate).")
        upgrade(settings.effective_database_url)
        console.print("[green]database migrated[/]")
    return engine


def checked_settings() -> Settings:
    settings = get_settings()
    try:
        settings.check_can_start()
    except InsecureSettingsError as exc:
        raise fail(str(exc)) from exc
    return settings
