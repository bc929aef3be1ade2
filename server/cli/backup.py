from __future__ import annotations

from pathlib import Path

import typer

from server.backup import BackupError, create_backup, restore_backup
from server.cli.common import console, fail
from server.config import get_settings


def backup(
    destination: Path = typer.Argument(..., help="Archive to write, e.g. fieldcrm-2026-11-22.tar.gz"),
) -> None:
    """Back up the database and the data folder (recordings, files) into one archive."""
    try:
        summary = create_backup(get_settings(), destination)
    except BackupError as exc:
        raise fail(str(exc)) from exc
    console.print(f"[green]backup written[/] {summary.path} ({summary.backend}, {summary.files} files)")


def restore(
    source: Path = typer.Argument(
        ..., exists=True, dir_okay=False, help="Archive made by `fieldcrm backup`."
    ),
    yes: bool = typer.Option(False, "--yes", help="Confirm replacing the current database and files."),
) -> None:
    """Replace the database and data files with a backup's (stop the server first)."""
    if not yes:
        raise fail("restore replaces the current database and files; pass --yes to confirm")
    try:
        summary = restore_backup(get_settings(), source)
    except BackupError as exc:
        raise fail(str(exc)) from exc
    console.print(f"[green]restored[/] {summary.backend} database and {summary.files} files from {source}")
