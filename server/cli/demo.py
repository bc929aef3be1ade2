from __future__ import annotations

from pathlib import Path

import typer
import uvicorn
from rich.table import Table
from sqlmodel import Session

from server.app import create_app
from server.cli.common import console, ready_engine
from server.config import Settings
from server.demo import DEMO_PASSWORD, seed_organisation


def demo(
    data_dir: Path = typer.Option(Path("./demo-data"), help="Where the embedded database and files go."),
    host: str = typer.Option("127.0.0.1"),
    port: int = typer.Option(8000),
) -> None:
    """Start a self-contained demo on the embedded database: sample organisation, then the server."""
    settings = Settings(dev_mode=True, data_dir=data_dir, database_url=None)
    engine = ready_engine(settings, migrate=True)
    with Session(engine, expire_on_commit=False) as session:
        logins = seed_organisation(session)
    table = Table(title=f"fieldcrm demo — password for every login: {DEMO_PASSWORD}")
    for column in ("login", "role", "division"):
        table.add_column(column)
    for login in logins:
        table.add_row(login.username, login.role, login.division or "all")
    console.print(table)
    console.print(f"[bold green]open http://{host}:{port}/[/]  (API docs: http://{host}:{port}/docs)")
    uvicorn.run(create_app(settings, engine), host=host, port=port, log_level="warning")
