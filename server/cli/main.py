"""The ``fieldcrm`` command.

Only the invoked subcommand's module is imported: the agent, the simulator and the web app each
pull in heavy libraries, and ``fieldcrm user create`` or ``fieldcrm --help`` should not wait for them.
"""

from __future__ import annotations

import importlib
import sys
from typing import NamedTuple

import typer
from rich.console import Console
from rich.table import Table

HELP = "fieldcrm: CRM for field-sales teams whose company phones capture their own work."


class Entry(NamedTuple):
    target: str  # "module:attribute": a typer app, or a typer-annotated function
    summary: str


COMMANDS: dict[str, Entry] = {
    "serve": Entry("server.cli.serve:serve", "Run the API and web server."),
    "scheduler": Entry(
        "server.cli.serve:scheduler", "Run the scheduled jobs; one scheduler is active at a time."
    ),
    "db": Entry("server.cli.db:app", "Database schema (Alembic migrations)."),
    "user": Entry("server.cli.org:user_app", "Users."),
    "division": Entry("server.cli.org:division_app", "Divisions (版块)."),
    "agent": Entry(
        "device_agent.cli:app", "Host-side agent: phones over adb, provisioning, capture, upload."
    ),
    "sim": Entry("device_agent.simulator.cli:app", "Simulated Android phones for tests and the demo."),
    "demo": Entry("server.cli.demo:demo", "Self-contained demo on the embedded database."),
    "backup": Entry("server.cli.backup:backup", "Back up the database and data folder into one archive."),
    "restore": Entry("server.cli.backup:restore", "Restore a backup (server stopped)."),
}


def command_app(name: str) -> typer.Typer:
    """A ``fieldcrm`` app holding just the named subcommand (imported now)."""
    module_name, attribute = COMMANDS[name].target.split(":")
    target = getattr(importlib.import_module(module_name), attribute)
    root = typer.Typer(help=HELP, pretty_exceptions_show_locals=False)
    root.callback()(lambda: None)  # keep `fieldcrm NAME ...` a group even with one subcommand
    if isinstance(target, typer.Typer):
        root.add_typer(target, name=name, help=COMMANDS[name].summary)
    else:
        root.command(name)(target)
    return root


def print_overview(console: Console) -> None:
    console.print(f"Usage: fieldcrm COMMAND [ARGS]...\n\n{HELP}\n")
    table = Table(box=None, show_header=False, padding=(0, 2))
    for name, entry in COMMANDS.items():
        table.add_row(f"[bold cyan]{name}[/]", entry.summary)
    console.print(table)
    console.print("\nRun `fieldcrm COMMAND --help` for a command's options.")


def app(argv: list[str] | None = None) -> None:
    args = sys.argv[1:] if argv is None else argv
    if not args or args[0] in ("-h", "--help"):
        print_overview(Console())
        raise SystemExit(0)
    if args[0] not in COMMANDS:
        print_overview(Console(stderr=True))
        Console(stderr=True).print(f"\n[bold red]error:[/] no such command {args[0]!r}")
        raise SystemExit(2)
    command_app(args[0])(args=args, prog_name="fieldcrm")


if __name__ == "__main__":
    app()
