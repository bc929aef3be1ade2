"""Device-agent benchmark against a simulated phone, the real adb server and a real server process.

1. A phone with 20,000 SMS, 10,000 calls and 300 call recordings (~1 MB each, ~300 MB):
   the agent's first full sync (capture + upload to the server), next to what adb itself
   takes to move the same data in the same run: ``adb pull`` of the recorder folder plus
   the same ``content query`` calls (target: sync ≤ 1.5× that baseline).
2. A second sync with nothing new (target < 1 s).
3. 20 phones (3 days of history each) synced at once (on this machine's cores).

    python scripts/bench_agent.py [--quick] [--phones 20]

``--quick``: 2,000 SMS, 1,000 calls, 30 recordings, 5 phones. The big phone is generated
once and kept under the temp folder (``fieldcrm-bench-agent``) for later runs. The simulated
phones run in processes of their own (``fieldcrm sim start``), as phones are devices of their
own: they do not share this process's interpreter with the agent.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TypeVar
from zoneinfo import ZoneInfo

import adbutils
import httpx
from rich.console import Console
from rich.table import Table
from sqlmodel import Session

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from capture import CALL_LOG_PROJECTION, CALL_LOG_URI, SMS_PROJECTION, SMS_URI, content_query_command  # noqa: E402
from crm.org import Division, Role, User  # noqa: E402
from device_agent.agent import Agent  # noqa: E402
from device_agent.collect.contacts import CONTACTS_URI, DATA_URI  # noqa: E402
from device_agent.config import AgentSettings  # noqa: E402
from device_agent.credentials import DeviceCredential  # noqa: E402
from device_agent.simulator.core import PhoneCore  # noqa: E402
from device_agent.simulator.fleet import generate_fleet  # noqa: E402
from device_agent.simulator.generate import generate_phone  # noqa: E402
from device_agent.sync import SyncReport, sync_many, sync_phone, upload_pending  # noqa: E402
from device_agent.uploader import RECORD_KINDS  # noqa: E402
from server.auth.models import TokenKind  # noqa: E402
from server.auth.secrets import hash_password  # noqa: E402
from server.auth.service import issue_user_token  # noqa: E402
from server.db import make_engine  # noqa: E402
from server.migrate import upgrade  # noqa: E402

SECRET = "bench-secret-key-0123456789abcdef0123456789"
TZ = ZoneInfo("Asia/Shanghai")
NOW = datetime(2025, 3, 12, 18, 0, tzinfo=TZ)
WAV_BYTES_PER_S = 32_000  # 16 kHz, 16-bit mono
console = Console()
T = TypeVar("T")


class Cpu:
    """CPU seconds (user + system) of this process (the agent), the adb CLI children, and the other
    processes of the run, read from ``/proc``: what each side spent during a measured phase."""

    def __init__(self, pids: dict[str, int]) -> None:
        self.pids = pids

    def sample(self) -> dict[str, float]:
        own = os.times()
        sample = {"agent": own.user + own.system, "adb cli": own.children_user + own.children_system}
        for name, pid in self.pids.items():
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            sample[name] = (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
        return sample

    def measure(self, work: Callable[[], T]) -> tuple[T, str]:
        """``work()`` and a line: CPU seconds per process during it, and the load average before it."""
        load = os.getloadavg()[0]
        before = self.sample()
        value = work()
        after = self.sample()
        spent = {k: after[k] - before[k] for k in after if after[k] - before[k] >= 0.005}
        return value, ", ".join(f"{k} {v:.2f}" for k, v in spent.items()) + f" CPU s; load {load:.1f}"


def adb_server_pid(port: int) -> int:
    """The adb server listening on ``port`` (``adb -L tcp:PORT fork-server …``)."""
    for proc in Path("/proc").iterdir():
        if proc.name.isdigit():
            try:
                args = (proc / "cmdline").read_bytes().split(b"\0")
            except OSError:
                continue
            if b"fork-server" in args and f"tcp:{port}".encode() in args:
                return int(proc.name)
    raise SystemExit(f"no adb server on port {port}")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def big_phone(cache: Path, sms: int, calls: int, recordings: int) -> Path:
    """A Xiaomi phone with the given history (cached: generating 300 MB of audio takes a while)."""
    path = cache / f"big-{sms}-{calls}-{recordings}"
    if (path / "phone.json").exists():
        return path
    shutil.rmtree(path, ignore_errors=True)
    generate_phone(path, seed=11, oem="xiaomi", days=0, now=NOW, recordings_enabled=False)
    core = PhoneCore(path)
    assert core.state.generator is not None
    core.state.generator.recording_format = "wav"
    rng = random.Random(11)
    numbers = [f"13{rng.randrange(10**9):09d}" for _ in range(800)]
    start = int((NOW - timedelta(days=365)).timestamp() * 1000)
    span = int(timedelta(days=364).total_seconds() * 1000)
    for i in range(sms):
        body = f"王总您好，第{i}号报价单已发出, 单价=12.5元，请查收。\n如有疑问请回电。"
        core.add_sms(
            rng.choice(numbers), body, sms_type=rng.choice((1, 2)), time_ms=start + rng.randrange(span)
        )
    recorded = set(rng.sample(range(calls), recordings))
    seconds = 1_000_000 / WAV_BYTES_PER_S
    for i in range(calls):
        core.add_call(
            rng.choice(numbers),
            rng.randrange(20, 600),
            call_type=rng.choice((1, 2, 3)),
            time_ms=start + rng.randrange(span),
            recording_seconds=seconds if i in recorded else None,
        )
    core.save()
    return path


class Server:
    """A fieldcrm server process (uvicorn, one worker) on its own SQLite database and data folder."""

    def __init__(self, folder: Path) -> None:
        folder.mkdir(parents=True)
        self.url = f"sqlite:///{folder / 'server.db'}"
        upgrade(self.url)
        self.admin_token = admin_token(self.url)
        port = free_port()
        env = {k: v for k, v in os.environ.items() if not k.startswith("FIELDCRM_")}
        env |= {"FIELDCRM_DATA_DIR": str(folder / "data"), "FIELDCRM_SECRET_KEY": SECRET,
                "FIELDCRM_DATABASE_URL": self.url, "FIELDCRM_LOG_LEVEL": "WARNING", "PYTHONPATH": str(ROOT)}
        self.process = subprocess.Popen(
            [sys.executable, "-m", "uvicorn", "server.asgi:app", "--port", str(port), "--log-level", "warning",
             "--no-access-log"], env=env, cwd=ROOT, stderr=subprocess.DEVNULL)
        self.base = f"http://127.0.0.1:{port}"
        for _ in range(200):
            try:
                if httpx.get(f"{self.base}/healthz").status_code == 200:
                    return
            except httpx.TransportError:
                time.sleep(0.1)
        self.stop()
        raise SystemExit("the server did not start")

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(timeout=30)


def admin_token(url: str) -> str:
    engine = make_engine(url)
    with Session(engine) as session:
        division = Division(name="Bench", code="BENCH")
        session.add(division)
        session.commit()
        admin = User(username="bench-admin", display_name="Bench", password_hash=hash_password("bench-password-1"),
                     role=Role.division_admin, division_id=division.id)
        session.add(admin)
        session.commit()
        token = issue_user_token(session, user=admin, kind=TokenKind.api, lifetime=timedelta(hours=4),
                                 now=datetime.now(UTC)).secret
    engine.dispose()
    return token


@dataclass(frozen=True)
class Served:
    address: str  # adb serial
    serial: str  # ro.serialno


class SimProcess:
    """The phones of ``state_dir`` (``phone-NN``) served by a ``fieldcrm sim start`` process."""

    def __init__(self, state_dir: Path) -> None:
        dirs = sorted(state_dir.glob("phone-*"))
        base = free_ports(len(dirs))
        self.process = subprocess.Popen(
            [sys.executable, "-m", "device_agent.simulator.cli", "start", "--state-dir", str(state_dir),
             "--base-port", str(base)], cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        self.phones = [Served(f"127.0.0.1:{base + i}", json.loads((d / "phone.json").read_text())["identity"]["serial"])
                       for i, d in enumerate(dirs)]
        for i in range(len(dirs)):
            wait_listening(base + i)

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(timeout=60)


def free_ports(count: int) -> int:
    """A first port with ``count`` free ports from it on."""
    while True:
        base = free_port()
        if base + count < 65000 and all(_free(base + i) for i in range(count)):
            return base


def _free(port: int) -> bool:
    with socket.socket() as sock:
        return sock.connect_ex(("127.0.0.1", port)) != 0


def wait_listening(port: int) -> None:
    for _ in range(600):
        if not _free(port):
            return
        time.sleep(0.1)
    raise SystemExit(f"no simulated phone listens on {port}")


def enrol(agent: Agent, phone: Served, token: str) -> None:
    with agent.api() as api:
        body = api.enrol({"serial": phone.serial}, admin_token=token, code=None)
    agent.credentials.put(DeviceCredential(phone.serial, body["device"]["id"], body["token"]))


def adb_baseline(port: int, phone: Served, into: Path) -> float:
    """``adb pull`` of the recorder folder plus the same ``content query`` calls (SMS, calls, contacts and
    their data rows), with the adb CLI."""
    adb = [adbutils.adb_path(), "-P", str(port), "-s", phone.address]
    started = time.perf_counter()
    queries = ((SMS_URI, SMS_PROJECTION), (CALL_LOG_URI, CALL_LOG_PROJECTION),
               (CONTACTS_URI, ("_id", "contact_last_updated_timestamp", "display_name")),
               (DATA_URI, ("_id", "contact_id", "mimetype", "data2", "data1")))
    for uri, projection in queries:
        command = content_query_command(uri, projection, where="_id > 0", sort="_id ASC")
        subprocess.run([*adb, "shell", command], check=True, stdout=subprocess.DEVNULL)
    subprocess.run(
        [*adb, "pull", "/sdcard/MIUI/sound_recorder/call_rec", str(into)],
        check=True,
        stdout=subprocess.DEVNULL,
    )
    return time.perf_counter() - started


def timed_sync(agent: Agent, serial: str) -> tuple[float, float, SyncReport]:
    """Wall time of a sync, and when capture (the last collector) was done."""
    started = time.perf_counter()
    captured = [0.0]

    def progress(_serial: str, _source: str, message: str) -> None:
        if message.startswith(("ok:", "refused:", "failed:", "cut:")):
            captured[0] = max(captured[0], time.perf_counter() - started)

    report = sync_phone(agent, serial, progress)
    return time.perf_counter() - started, captured[0], report


def new_agent(state_dir: Path, server: Server, adb_port: int, parallel: int = 4) -> Agent:
    return Agent.open(AgentSettings(server_url=server.base, state_dir=state_dir, adb_port=adb_port, min_free_bytes=0,
                                    parallel=parallel))


def warm(agent: Agent, server: Server, phone: Served) -> float:
    """A running server has loaded its modules; its very first requests are not the agent's cost."""
    enrol(agent, phone, server.admin_token)
    return timed_sync(agent, phone.address)[0]


def capture_alone(agent: Agent, server: Server, phone: Served) -> float:
    """The sync's first half, on a server of its own: capture into the outbox with the server unreachable."""
    enrol(agent, phone, server.admin_token)
    agent.settings.server_url, agent.settings.max_attempts = "http://127.0.0.1:9", 1
    started = time.perf_counter()
    assert sync_phone(agent, phone.address).result == "server"
    agent.settings.server_url, agent.settings.max_attempts = server.base, 8
    return time.perf_counter() - started


def capture_pairs(rounds: int, adb_port: int, phone: Served, work: Path, cpu: Cpu) -> list[tuple[float, str]]:
    """Baseline and capture alone back to back, ``rounds`` times: each capture's ratio to the baseline measured
    just before it (on a shared machine the load moves from one minute to the next), and the CPU line of the
    capture. Each capture starts from an empty agent state; the server is never reached."""
    pairs = []
    for i in range(rounds):
        baseline = adb_baseline(adb_port, phone, work / f"pair-{i}")
        agent = Agent.open(AgentSettings(server_url="http://127.0.0.1:9", state_dir=work / f"pair-agent-{i}",
                                         adb_port=adb_port, min_free_bytes=0, max_attempts=1))
        agent.credentials.put(DeviceCredential(phone.serial, 0, "fcd_unused"))
        started = time.perf_counter()
        result, line = cpu.measure(lambda agent=agent: sync_phone(agent, phone.address).result)
        assert result == "server", result
        pairs.append(((time.perf_counter() - started) / baseline, line))
        shutil.rmtree(work / f"pair-{i}")
        shutil.rmtree(work / f"pair-agent-{i}")
    return pairs


def upload_alone(agent: Agent, phone: Served, kinds: tuple[str, ...] | None = None) -> float:
    """The second half: the upload of that outbox alone (only ``kinds`` when given)."""
    started = time.perf_counter()
    flushed = upload_pending(agent, phone.serial, kinds)
    assert flushed.result == "ok", flushed
    assert kinds is not None or not flushed.pending, flushed
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--rounds", type=int, default=3, help="capture-alone runs, each next to its own baseline")
    parser.add_argument("--phones", type=int, default=None, help="phones synced at once (0: skip that part)")
    args = parser.parse_args()
    sms, calls, recordings = (2_000, 1_000, 30) if args.quick else (20_000, 10_000, 300)
    fleet_size = args.phones if args.phones is not None else (5 if args.quick else 20)
    cache = Path(tempfile.gettempdir()) / "fieldcrm-bench-agent"
    cache.mkdir(exist_ok=True)

    console.print(f"preparing a phone with {sms} SMS, {calls} calls, {recordings} recordings …")
    template = big_phone(cache, sms, calls, recordings)
    work = Path(tempfile.mkdtemp(prefix="bench-agent-"))
    servers = [Server(work / "server-a"), Server(work / "server-b")]
    adb_port = free_port()
    subprocess.run([adbutils.adb_path(), "-P", str(adb_port), "start-server"], check=True, capture_output=True)
    client = adbutils.AdbClient(port=adb_port)
    sims: list[SimProcess] = []
    rows: list[tuple[str, str, str, str, str]] = []
    try:
        shutil.copytree(template, work / "big" / "phone-01")
        sims.append(SimProcess(work / "big"))
        [phone] = sims[0].phones
        fleet_dir = cache / f"fleet-{fleet_size + 1}"
        if not fleet_dir.exists():
            generate_fleet(fleet_dir, fleet_size + 1, seed=5, days=3, now=NOW, recording_seconds=(2.0, 4.0))
        shutil.copytree(fleet_dir, work / "fleet")
        sims.append(SimProcess(work / "fleet"))
        *small, spare = sims[1].phones
        for p in (phone, *small, spare):
            client.connect(p.address, timeout=10)
        size = sum(p.stat().st_size for p in (work / "big" / "phone-01" / "fs").rglob("*") if p.is_file())
        cpu = Cpu({"server": servers[0].process.pid, "phone": sims[0].process.pid,
                   "adb server": adb_server_pid(adb_port)})
        baseline, baseline_cpu = min(cpu.measure(lambda i=i: adb_baseline(adb_port, phone, work / f"pulled-{i}"))
                                     for i in range(2))

        agent = new_agent(work / "agent-a", servers[0], adb_port, parallel=max(fleet_size, 4))
        cold = warm(agent, servers[0], spare)
        enrol(agent, phone, servers[0].admin_token)
        (first, captured, report), first_cpu = cpu.measure(lambda: timed_sync(agent, phone.address))
        assert report.result == "ok", report
        (second, _, again), second_cpu = cpu.measure(lambda: timed_sync(agent, phone.address))
        assert again.result == "ok" and not {k for k in again.uploaded if k in ("sms", "calls", "recording")}

        split = new_agent(work / "agent-b", servers[1], adb_port)
        warm(split, servers[1], spare)
        cpu.pids["server"] = servers[1].process.pid
        capture_only, capture_cpu = cpu.measure(lambda: capture_alone(split, servers[1], phone))
        records_only, records_cpu = cpu.measure(lambda: upload_alone(split, phone, RECORD_KINDS))
        files_only, files_cpu = cpu.measure(lambda: upload_alone(split, phone))
        pairs = sorted(capture_pairs(args.rounds, adb_port, phone, work, cpu))
        rows += [
            ("adb pull + content query (baseline)", f"{baseline:.1f} s", f"{size / 2**20:.0f} MB on the phone", "",
             baseline_cpu),
            ("first full sync (capture + upload)", f"{first:.1f} s", f"{first / baseline:.2f}× baseline", "≤ 1.5×",
             first_cpu),
            ("  capture done after", f"{captured:.1f} s", f"{captured / baseline:.2f}× baseline", "", ""),
            ("capture alone (server unreachable)", f"{capture_only:.1f} s", f"{capture_only / baseline:.2f}× baseline",
             "", capture_cpu),
            *(
                [(f"  {args.rounds} more, each next to its own baseline", "",
                  f"{pairs[len(pairs) // 2][0]:.2f}× median ({pairs[0][0]:.2f}–{pairs[-1][0]:.2f}×)", "",
                  pairs[len(pairs) // 2][1])]
                if pairs else []
            ),
            ("upload alone (outbox → server)", f"{records_only + files_only:.1f} s", "", "", ""),
            ("  records (contacts, SMS, calls, location)", f"{records_only:.1f} s",
             f"{sum(report.uploaded.get(k, 0) for k in RECORD_KINDS) / records_only:,.0f} records/s", "", records_cpu),
            ("  then recordings and device status", f"{files_only:.1f} s", f"{size / 2**20 / files_only:.0f} MB/s", "",
             files_cpu),
            ("second sync, nothing new", f"{second:.2f} s", "", "< 1 s", second_cpu),
        ]

        if small:
            for p in small:
                enrol(agent, p, servers[0].admin_token)
            cpu.pids = {"server": servers[0].process.pid, "phones": sims[1].process.pid,
                        "adb server": cpu.pids["adb server"]}
            started = time.perf_counter()
            reports, fleet_cpu = cpu.measure(lambda: sync_many(agent, [p.address for p in small]))
            together = time.perf_counter() - started
            records = sum(r.uploaded.get("sms", 0) + r.uploaded.get("calls", 0) for r in reports)
            files = sum(r.uploaded.get("recording", 0) for r in reports)
            ok = sum(r.result == "ok" for r in reports)
            rows.append((f"{fleet_size} phones at once ({os.cpu_count()} cores)", f"{together:.1f} s",
                         f"{ok}/{fleet_size} ok, {records} records, {files} recordings", "", fleet_cpu))
            rows.append(("  one of them alone (first sync, cold server)", f"{cold:.1f} s", "", "", ""))
            rows += [(f"  {r.adb_serial}: {r.result}", "", r.message[:60], "", "") for r in reports if r.result != "ok"]
    finally:
        for sim in sims:
            sim.stop()
        client.server_kill()
        for server in servers:
            server.stop()
        shutil.rmtree(work, ignore_errors=True)

    table = Table(title=f"Device agent ({sms} SMS, {calls} calls, {recordings} recordings)")
    for column in ("measure", "time", "compared", "target", "CPU during it"):
        table.add_column(column)
    for row in rows:
        table.add_row(*row)
    console.print(table)


if __name__ == "__main__":
    main()
