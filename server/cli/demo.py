"""``fieldcrm demo``: server, scheduler, simulated phones behind a real adb server, the agent, seed data."""

from __future__ import annotations

import threading
from pathlib import Path

import typer
import uvicorn
from rich.table import Table
from sqlalchemy import Engine
from sqlmodel import Session

from crm.types import utcnow
from server.app import served_app
from server.cli.common import console, fail, ready_engine
from server.config import Settings
from server.demo import (
    DEMO_PASSWORD,
    EVERY_DAY,
    LEAVING_REP,
    OWNTRACKS,
    PHONE_BRANDS,
    PHONE_REPS,
    admin_token,
    delete_a_customer,
    demo_morning,
    enrolment_codes,
    every,
    seed_all_customers,
    seed_organisation,
)
from server.logs import get_logger, log_event
from server.scheduler import run_forever


def _tracker_apk(folder: Path) -> Path:
    """The tracker APK the agent installs (one the simulated phones accept)."""
    from device_agent.simulator import make_apk

    path = folder / "owntracks.apk"
    if not path.exists():
        folder.mkdir(parents=True, exist_ok=True)
        path.write_bytes(
            make_apk(
                OWNTRACKS,
                label="OwnTracks",
                version_name="2.4.12",
                version_code=420412,
                permissions=(
                    "android.permission.ACCESS_FINE_LOCATION",
                    "android.permission.ACCESS_COARSE_LOCATION",
                    "android.permission.ACCESS_BACKGROUND_LOCATION",
                    "android.permission.POST_NOTIFICATIONS",
                ),
            )
        )
    return path


logger = get_logger("demo")


class FieldDay:
    """Simulated phones on a dedicated adb server, provisioned and synced by the agent; their OwnTracks
    apps post the fixes to the server once configured."""

    def __init__(
        self, settings: Settings, engine: Engine, *, phones: int, speed: float, server_url: str
    ) -> None:
        from device_agent.simulator import PhoneFleet, generate_fleet
        from device_agent.simulator.adbserver import AdbServer

        self.settings, self.engine, self.speed, self.server_url = settings, engine, speed, server_url
        sim_dir = settings.data_dir / "sim"
        if not any(sim_dir.glob("phone-*")):
            generate_fleet(
                sim_dir,
                phones,
                seed=8,
                brands=PHONE_BRANDS,
                days=2,
                now=demo_morning(utcnow(), settings.time_zone),
                workdays=EVERY_DAY,
            )
        self.adb = AdbServer()  # the adb binary shipped in the adbutils wheel, on a free port
        self.fleet = PhoneFleet(sim_dir, base_port=0, count=min(phones, len(PHONE_REPS)))
        self.stop_event = threading.Event()

    def start(self) -> None:
        self.adb.start()
        self.fleet.start()
        for phone in self.fleet.phones:
            self.adb.connect(phone)
            phone.run_clock(speed=self.speed, catch_up=True)
        threading.Thread(target=self._agent, name="demo-agent", daemon=True).start()
        threading.Thread(target=self._customers, name="demo-customers", daemon=True).start()

    def _customers(self) -> None:
        """The reps' customers, from their phones' address books (captured calls re-link as they land)."""
        made = seed_all_customers(self.engine, self.fleet.phones, self.settings.default_region)
        log_event(logger, "demo.customers", customers=made)

    def _agent(self) -> None:
        from device_agent.agent import Agent
        from device_agent.config import AgentSettings
        from device_agent.provision.runner import provision_many
        from device_agent.provision.steps import Target
        from device_agent.sync import ready_serials, sync_many

        with Session(self.engine) as session:
            token = admin_token(session)
            codes = enrolment_codes(session, PHONE_REPS)
        agent = Agent.open(
            AgentSettings(
                server_url=self.server_url,
                state_dir=self.settings.data_dir / "agent",
                admin_token=token,
                adb_port=self.adb.port,
                tracker_apk=_tracker_apk(self.settings.data_dir / "agent"),
                verify_timeout_s=30,
                # The server runs in this process: a sync caught by its shutdown should give up at once
                # rather than keep the process waiting through a minute of upload retries.
                max_attempts=2,
                backoff_max_s=1.0,
            )
        )
        targets = [
            Target(phone.address, rep, codes[rep])
            for phone, rep in zip(self.fleet.phones, PHONE_REPS, strict=False)
        ]
        reports = provision_many(agent, targets, lambda *_: None)
        for report in reports:
            problems = {s.step: s.detail for s in report.steps if not s.status.ok}
            log_event(logger, "demo.provisioned", phone=report.adb_serial, ok=report.ok, problems=problems)
        synced_once = threading.Event()

        def sync_round() -> None:
            sync_many(agent, ready_serials(agent))
            if not synced_once.is_set():
                synced_once.set()
                self._rep_deletes_a_customer()

        every(20, sync_round, self.stop_event, "demo.sync")

    def _rep_deletes_a_customer(self) -> None:
        if LEAVING_REP in PHONE_REPS[: len(self.fleet.phones)]:
            phone = self.fleet.phones[PHONE_REPS.index(LEAVING_REP)]
            log_event(logger, "demo.contact_deleted", rep=LEAVING_REP, contact=delete_a_customer(phone))

    def stop(self) -> None:
        self.stop_event.set()
        self.fleet.stop()
        self.adb.stop()


def demo(
    data_dir: Path = typer.Option(Path("./demo-data"), help="Where the embedded database and files go."),
    host: str = typer.Option("127.0.0.1"),
    port: int = typer.Option(8000),
    phones: int = typer.Option(
        4, min=0, max=len(PHONE_REPS), help="Simulated phones (0: organisation only)."
    ),
    speed: float = typer.Option(
        20.0,
        min=1,
        max=600,
        help="How much faster than wall time the phones replay the day until they reach the present.",
    ),
) -> None:
    """A self-contained demo on the embedded database: server, scheduler, simulated phones, agent, seed data."""
    settings = Settings(
        dev_mode=True, data_dir=data_dir, database_url=None, tracking_hours="always", tracking_days="1-7"
    )
    engine = ready_engine(settings, migrate=True)
    with Session(engine, expire_on_commit=False) as session:
        logins = seed_organisation(session)
    server = uvicorn.Server(
        uvicorn.Config(served_app(settings, engine), host=host, port=port, log_level="warning")
    )
    threading.Thread(target=run_forever, args=(engine,), name="demo-scheduler", daemon=True).start()
    field = None
    if phones:
        field = FieldDay(settings, engine, phones=phones, speed=speed, server_url=f"http://{host}:{port}")
    table = Table(title=f"fieldcrm demo — password for every login: {DEMO_PASSWORD}")
    for column in ("login", "role", "division"):
        table.add_column(column)
    for login in logins:
        table.add_row(login.username, login.role, login.division or "all")
    console.print(table)
    console.print(f"[bold green]open http://{host}:{port}/[/]  (API docs: http://{host}:{port}/docs)")
    try:
        if field is not None:
            threading.Thread(target=_start_when_serving, args=(server, field), daemon=True).start()
        server.run()
    except OSError as exc:
        raise fail(f"cannot serve on {host}:{port}: {exc}") from exc
    finally:
        if field is not None:
            field.stop()


def _start_when_serving(server: uvicorn.Server, field: FieldDay) -> None:
    """The phones' trackers and the agent talk to the server, so they start once it listens."""
    while not server.started:
        if server.should_exit:
            return
        threading.Event().wait(0.1)
    field.start()
    console.print(
        f"[green]{len(field.fleet.phones)} simulated phones connected; the agent is provisioning them[/]"
    )
