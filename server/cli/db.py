import typer

from server.cli.common import console
from server.config import get_settings
from server.db import get_engine
from server.migrate import current_heads, script_heads, upgrade

app = typer.Typer(help="Database schema (Alembic migrations).", no_args_is_help=True)


@app.command("upgrade")
def db_upgrade() -> None:
    """Apply every pending migration."""
    settings = get_settings()
    get_engine(settings)  # creates the data dir for SQLite
    upgrade(settings.effective_database_url)
    console.print(f"[green]up to date[/] {settings.effective_database_url.split('@')[-1]}")


@app.command("current")
def db_current() -> None:
    """Show the schema revision of the database and of the code."""
    settings = get_settings()
    current = current_heads(get_engine(settings))
    expected = script_heads(settings.effective_database_url)
    console.print(f"database: {', '.join(sorted(current)) or '(empty)'}")
    console.print(f"code:     {', '.join(sorted(expected))}")
    if current != expected:
        console.print("[yellow]migrations pending: run `fieldcrm db upgrade`[/]")
        raise typer.Exit(1)
