"""``fieldcrm agent ...``: the host-side device agent (see docs/agent.md)."""

from __future__ import annotations

import json
import signal
import sys
from pathlib import Path
from typing import Any

import typer
from rich.console import Console

from device_agent import logs
from device_agent.agent import Agent
from device_agent.config import AgentSettings, load_settings
from device_agent.display import RESULT_STYLE, Board, fleet_table
from device_agent.errors import AgentError
from device_agent.fleet import resolve, survey
from device_agent.provision.runner import decommission, provision_many, read_roster
from device_agent.provision.steps import STEPS, Target
from device_agent.sync import COLLECTORS, ready_serials, sync_many
from device_agent.watch import Watcher, WatchEvent

app = typer.Typer(help="The device agent: phones on this PC's USB hub (or Wi-Fi adb).", no_args_is_help=True)
console = Console()
err = Console(stderr=True)


def _fail(message: str, code: int = 1) -> typer.Exit:
    err.print(f"[bold red]error:[/] {message}")
    return typer.Exit(code)


@app.callback()
def main(
    ctx: typer.Context,
    server: str | None = typer.Option(None, "--server", help="Server URL (FIELDCRM_AGENT_SERVER_URL)."),
    state_dir: Path | None = typer.Option(None, "--state-dir", help="Agent data folder (FIELDCRM_AGENT_STATE_DIR)."),
    adb_port: int | None = typer.Option(None, "--adb-port", help="adb server port (FIELDCRM_AGENT_ADB_PORT)."),
    log_level: str = typer.Option("WARNING", "--log-level", help="Log level of the structured log on stderr."),
) -> None:
    logs.configure(log_level)
    ctx.obj = {"server_url": server, "state_dir": state_dir, "adb_port": adb_port}


def _agent(ctx: typer.Context, **overrides: Any) -> Agent:
    try:
        settings: AgentSettings = load_settings(**ctx.obj, **overrides)
        return Agent.open(settings)
    except AgentError as exc:
        raise _fail(str(exc)) from exc
    except ValueError as exc:
        raise _fail(f"invalid agent settings: {exc}") from exc


def _emit_json(value: Any) -> None:
    sys.stdout.write(json.dumps(value, ensure_ascii=False, default=str, indent=1) + "\n")


def _targets(agent: Agent, serial: str | None, all_: bool) -> list[str]:
    if all_ == bool(serial):
        raise _fail("give one SERIAL or --all")
    if all_:
        return ready_serials(agent)
    assert serial is not None
    adb_serial = resolve(agent, serial)
    if adb_serial is None:
        raise _fail(f"{serial} is not connected (see `fieldcrm agent devices`)")
    return [adb_serial]


@app.command()
def devices(ctx: typer.Context, as_json: bool = typer.Option(False, "--json", help="JSON for scripts.")) -> None:
    """What is connected: state, identity, battery, storage, enrolment, last sync."""
    agent = _agent(ctx)
    rows = survey(agent)
    if as_json:
        _emit_json([row.as_dict() for row in rows])
    else:
        console.print(fleet_table(rows))


@app.command()
def sync(
    ctx: typer.Context,
    serial: str | None = typer.Argument(None, help="adb serial or the phone's own serial."),
    all_: bool = typer.Option(False, "--all", help="Every ready phone."),
    as_json: bool = typer.Option(False, "--json", help="JSON for scripts."),
) -> None:
    """Capture what is new on the phones and upload it (plus anything left from earlier syncs)."""
    agent = _agent(ctx)
    serials = _targets(agent, serial, all_)
    columns = [name for name, _ in COLLECTORS]
    with Board(err, "Sync", columns, enabled=not as_json and err.is_terminal) as board:
        reports = sync_many(agent, serials, lambda s, source, message: board.set(s, source, message))
    if as_json:
        _emit_json([r.as_dict() for r in reports])
    else:
        for r in reports:
            style = RESULT_STYLE.get(r.result, "bold red")
            sent = ", ".join(f"{k} {v}" for k, v in r.uploaded.items()) or "nothing new"
            pending = sum(r.pending.values())
            console.print(f"{r.adb_serial} ({r.device or '?'}): [{style}]{r.result}[/] · uploaded {sent}"
                          + (f" · {pending} waiting" if pending else "") + (f" · {r.message}" if r.message else ""))
    if any(r.result not in ("ok", "partial") for r in reports):
        raise typer.Exit(1)


@app.command()
def provision(
    ctx: typer.Context,
    serial: str | None = typer.Argument(None, help="adb serial or the phone's own serial."),
    all_: bool = typer.Option(False, "--all", help="Every connected phone."),
    rep: str | None = typer.Option(None, "--rep", help="Username of the rep the phone belongs to."),
    roster: Path | None = typer.Option(None, "--roster", help="CSV with columns serial,rep[,code]."),
    code: str | None = typer.Option(None, "--code", help="One-time enrolment code instead of an admin token."),
    apk: Path | None = typer.Option(None, "--apk", help="Tracker APK (FIELDCRM_AGENT_TRACKER_APK)."),
    as_json: bool = typer.Option(False, "--json", help="JSON for scripts."),
) -> None:
    """Enrol, install and configure the tracker, grant permissions, verify — each step idempotent."""
    agent = _agent(ctx, tracker_apk=apk, enrolment_code=code)
    problems: list[str] = []
    if roster is not None:
        if serial or all_:
            raise _fail("--roster replaces SERIAL/--all")
        try:
            targets, problems = read_roster(agent, roster)
        except AgentError as exc:
            raise _fail(str(exc)) from exc
    else:
        if all_:
            targets = [Target(a.serial, rep) for a in agent.adb.devices()]
        else:
            targets = [Target(s, rep) for s in _targets(agent, serial, False)]
    for problem in problems:
        err.print(f"[yellow]roster:[/] {problem}")
    columns = [name for name, _, _ in STEPS]
    with Board(err, "Provisioning", columns, enabled=not as_json and err.is_terminal) as board:
        reports = provision_many(agent, targets, board.step)
    if as_json:
        _emit_json({"phones": [r.as_dict() for r in reports], "roster_problems": problems})
    else:
        for report in reports:
            console.print(f"[bold]{report.adb_serial}[/] ({report.device or '?'})")
            for step in report.steps:
                console.print(f"  {step.step:<12} {step.status.value:<15} {step.detail}")
    if problems or not all(r.ok for r in reports):
        raise typer.Exit(1)


@app.command("decommission")
def decommission_cmd(
    ctx: typer.Context,
    serial: str = typer.Argument(..., help="adb serial or the phone's own serial."),
    force: bool = typer.Option(False, "--force", help="Revoke even if the outbox cannot be emptied."),
    as_json: bool = typer.Option(False, "--json", help="JSON for scripts."),
) -> None:
    """Upload what is pending, revoke the phone's token, remove the tracker, forget the phone."""
    agent = _agent(ctx)
    report = decommission(agent, serial, force=force)
    if as_json:
        _emit_json(report.as_dict())
    else:
        for step in report.steps:
            console.print(f"  {step.step:<10} {step.status.value:<15} {step.detail}")
    if not all(s.status.ok or s.status.value == "needs a human" for s in report.steps):
        raise typer.Exit(1)


@app.command()
def outbox(ctx: typer.Context, as_json: bool = typer.Option(False, "--json", help="JSON for scripts.")) -> None:
    """What waits for upload, and what the server refused (kept for inspection)."""
    agent = _agent(ctx)
    pending, rejected = agent.store.pending_counts(), agent.store.rejected()
    if as_json:
        _emit_json({"pending": pending, "rejected": rejected})
        return
    console.print("pending: " + (", ".join(f"{k} {v}" for k, v in pending.items()) or "nothing"))
    for item in rejected:
        console.print(f"rejected {item['device']} {item['kind']} {item['item_key']}: {item['reason']}")


@app.command()
def watch(
    ctx: typer.Context,
    as_json: bool = typer.Option(False, "--json", help="JSON lines for scripts."),
    command_poll_s: float | None = typer.Option(
        None, "--command-poll-s", min=0, help="Ask the server for commands this often (FIELDCRM_AGENT_COMMAND_POLL_S; 0: never)."
    ),
) -> None:
    """Follow phones as they come and go; sync them when plugged in and every FIELDCRM_AGENT_SYNC_INTERVAL_S;
    run the sync / re-provision commands IT sends from the fleet page."""
    agent = _agent(ctx, command_poll_s=command_poll_s)

    def show(event: WatchEvent) -> None:
        if as_json:
            body = (event.row.as_dict() if event.row else event.sync.as_dict() if event.sync
                    else event.command.as_dict() if event.command else {})
            sys.stdout.write(json.dumps({"event": event.kind, "serial": event.adb_serial, "state": event.state,
                                         **body}, ensure_ascii=False, default=str) + "\n")
            sys.stdout.flush()
        elif event.sync is not None:
            r = event.sync
            style = RESULT_STYLE.get(r.result, "bold red")
            console.print(f"{event.adb_serial}: sync [{style}]{r.result}[/] "
                          f"{', '.join(f'{k} {v}' for k, v in r.uploaded.items())} {r.message}")
        elif event.command is not None:
            c = event.command
            style = {"done": "green", "failed": "bold red"}.get(c.state, "cyan")
            console.print(f"{event.adb_serial or c.device}: {c.kind} command {c.id} [{style}]{c.state}[/] {c.message}")
        elif event.row is not None:
            console.print(fleet_table([event.row]))
        else:
            console.print(f"{event.adb_serial}: {event.state}")

    watcher = Watcher(agent, show)
    signal.signal(signal.SIGTERM, lambda *_: watcher.stop.set())
    try:
        watcher.run()
    except KeyboardInterrupt:
        watcher.stop.set()
    except AgentError as exc:
        raise _fail(str(exc)) from exc
