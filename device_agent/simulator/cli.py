"""`fieldcrm sim`: generate simulated phones, serve them for adb, stop them.

Also runnable as `python -m device_agent.simulator.cli`.
"""

from __future__ import annotations

import json
import os
import signal
import threading
import time
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import adbutils
import typer
from rich.console import Console
from rich.table import Table

from .fleet import DEFAULT_BASE_PORT, FleetError, PhoneFleet, generate_fleet, phone_dirs
from .generate import GenerateError
from .oem import OEMS
from .state import StateError

app = typer.Typer(help="Simulated Android phones that adb, adbutils and uiautomator2 drive like real ones.",
                  no_args_is_help=True)
console = Console()
PID_FILE = "sim.pid"
DEFAULT_STATE_DIR = Path("data/sim")


def _fail(message: str) -> typer.Exit:
    console.print(f"[red]error:[/red] {message}")
    return typer.Exit(2)


def _parse_now(now: str | None) -> datetime | None:
    if now is None:
        return None
    try:
        parsed = datetime.fromisoformat(now)
    except ValueError as exc:
        raise _fail(f"--now must be an ISO date-time, got {now!r}") from exc
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=ZoneInfo("Asia/Shanghai"))


def _parse_range(text: str) -> tuple[float, float]:
    try:
        low, _, high = text.partition("-")
        return float(low), float(high or low)
    except ValueError as exc:
        raise _fail(f"--recording-seconds must look like 2-4, got {text!r}") from exc


@app.command()
def generate(
    phones: int = typer.Option(3, help="How many phones."),
    state_dir: Path = typer.Option(DEFAULT_STATE_DIR, help="Folder for the phones (phone-NN/ each)."),
    seed: int = typer.Option(1, help="Same seed, same phones."),
    days: int = typer.Option(3, help="Days of history before --now."),
    brands: str = typer.Option("", help=f"Comma list to cycle through ({', '.join(OEMS)}); default a market mix."),
    now: str | None = typer.Option(None, help="End of the history (ISO date-time, Asia/Shanghai if naive)."),
    recording_seconds: str = typer.Option("2-4", help="Length range of each recording's audio, seconds."),
    recording_format: str | None = typer.Option(None, help="Force one audio format (mp3, m4a, amr, wav)."),
    force: bool = typer.Option(False, help="Replace phones already in the folder."),
) -> None:
    """Generate realistic phones (identity, contacts, SMS, calls with recordings, GPS days)."""
    if phone_dirs(state_dir) and not force:
        raise _fail(f"{state_dir} already holds phones; pass --force to replace them")
    brand_list = [b.strip().lower() for b in brands.split(",") if b.strip()] or None
    try:
        made = generate_fleet(state_dir, phones, seed=seed, brands=brand_list, days=days, now=_parse_now(now),
                              recording_seconds=_parse_range(recording_seconds), recording_format=recording_format)
    except (GenerateError, FleetError, ValueError) as exc:
        raise _fail(str(exc)) from exc
    console.print(f"generated {len(made)} phone(s) in {state_dir}")


def _table(fleet: PhoneFleet) -> Table:
    table = Table("adb serial", "ro.serialno", "brand", "model", "Android", "SMS", "calls", "fixes")
    for phone in fleet:
        s = phone.state
        table.add_row(phone.address, s.identity.serial, s.identity.brand, s.identity.model,
                      s.identity.android_release, str(len(s.sms)), str(len(s.calls)), str(len(s.fixes)))
    return table


@app.command()
def start(
    phones: int | None = typer.Option(None, help="Serve this many phones (generated first if missing)."),
    state_dir: Path = typer.Option(DEFAULT_STATE_DIR, help="Folder holding the phones."),
    base_port: int = typer.Option(DEFAULT_BASE_PORT, help="First TCP port; phone i listens on base+i."),
    connect: bool = typer.Option(False, help="`adb connect` each phone once it listens."),
    adb: str | None = typer.Option(None, help="adb binary for --connect (default: the one adbutils finds)."),
    speed: float = typer.Option(0.0, help="Run the phones' clocks at this multiple of wall time (0: frozen)."),
    seed: int = typer.Option(1, help="Seed when phones have to be generated."),
) -> None:
    """Serve the phones until stopped (Ctrl-C or `fieldcrm sim stop`)."""
    existing = len(phone_dirs(state_dir))
    if (phones or 1) > existing:
        try:
            generate_fleet(state_dir, (phones or 1) - existing, seed=seed, first=existing)
        except (GenerateError, FleetError) as exc:
            raise _fail(str(exc)) from exc
    try:
        fleet = PhoneFleet(state_dir, base_port=base_port, count=phones).start()
    except (FleetError, StateError) as exc:
        raise _fail(str(exc)) from exc
    except OSError as exc:
        raise _fail(f"cannot listen on ports from {base_port}: {exc.strerror}") from exc
    pid_file = state_dir / PID_FILE
    pid_file.write_text(json.dumps({"pid": os.getpid(), "phones": [p.address for p in fleet]}))
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    try:
        if speed > 0:
            for phone in fleet:
                phone.run_clock(speed=speed)
        console.print(_table(fleet))
        if connect:
            for answer in fleet.connect(adb or adbutils.adb_path()):
                console.print(answer)
        console.print("serving; stop with Ctrl-C or `fieldcrm sim stop`")
        stop.wait()
    finally:
        fleet.stop()
        pid_file.unlink(missing_ok=True)
        console.print("stopped; state saved")


@app.command("stop")
def stop_(
    state_dir: Path = typer.Option(DEFAULT_STATE_DIR, help="Folder the phones were started from."),
    disconnect: bool = typer.Option(True, help="`adb disconnect` the phones too."),
    adb: str | None = typer.Option(None, help="adb binary for the disconnect."),
    timeout: float = typer.Option(15.0, help="Seconds to wait for the phones to stop."),
) -> None:
    """Stop phones started with `start` from the same state folder."""
    pid_file = state_dir / PID_FILE
    try:
        info = json.loads(pid_file.read_text())
        pid = int(info["pid"])
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise _fail(f"no running phones recorded in {pid_file}") from exc
    if disconnect:
        client = adb or adbutils.adb_path()
        for address in info.get("phones", []):
            os.spawnvp(os.P_WAIT, client, [client, "disconnect", address])
    try:
        os.kill(pid, signal.SIGTERM)
    except ProcessLookupError:
        pid_file.unlink(missing_ok=True)
        console.print("phones were not running; cleaned up")
        return
    deadline = time.monotonic() + timeout
    while pid_file.exists() and time.monotonic() < deadline:
        time.sleep(0.1)
    if pid_file.exists():
        raise _fail(f"process {pid} did not stop within {timeout:.0f}s")
    console.print("stopped")


if __name__ == "__main__":
    app()
