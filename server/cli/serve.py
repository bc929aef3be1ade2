from __future__ import annotations

import typer
import uvicorn

from server.cli.common import checked_settings, fail, ready_engine


def serve(
    host: str = typer.Option("127.0.0.1", help="Address to listen on."),
    port: int = typer.Option(8000, help="Port to listen on."),
    workers: int = typer.Option(1, min=1, max=64, help="API worker processes (PostgreSQL only)."),
    migrate: bool = typer.Option(False, "--migrate", help="Apply pending migrations before serving."),
) -> None:
    """Run the API and web server."""
    settings = checked_settings()
    if workers > 1 and settings.is_sqlite:
        raise fail("--workers > 1 needs PostgreSQL (FIELDCRM_DATABASE_URL); SQLite serves one worker")
    engine = ready_engine(settings, migrate=migrate)
    from server.app import served_app  # the whole app; imported only when serving keeps `--help` fast

    if workers > 1:
        uvicorn.run("server.asgi:app", host=host, port=port, workers=workers, log_level="warning")
    else:
        uvicorn.run(served_app(settings, engine), host=host, port=port, log_level="warning")


def scheduler(migrate: bool = typer.Option(False, "--migrate")) -> None:
    """Run the scheduled jobs (pool reclaim, SLA escalation, reminders, retention). One runs at a time."""
    from server.scheduler import run_forever  # imports every job's module

    settings = checked_settings()
    run_forever(ready_engine(settings, migrate=migrate))
