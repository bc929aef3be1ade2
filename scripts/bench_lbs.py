"""Location services over HTTP and SQL, each next to a baseline measured in the same run.

    python scripts/bench_lbs.py [--fixes 200000] [--batch 5000] [--repeat 3] [--seconds 10]
                                [--postgres URL] [--algorithms]  # also bench_lbs_algorithms.py --quick

Rows:
* fix ingestion through ``POST /api/v1/ingest/locations`` (a real `fieldcrm serve`), fixes/s,
  next to raw ``executemany`` of the same rows into the same table: the same statement and
  driver call on rows prepared beforehand, only the insert and commit timed (target ≥ 50,000
  fixes/s on SQLite and ≥ 0.3 × raw); the two alternate ``--repeat`` times and the best of
  each is compared (every run is printed);
* single-fix OwnTracks posts offered at 200 req/s from one phone (its ±10 min context grows
  to hundreds of fixes): achieved rate, p50/p99 latency, next to the bare route (an OwnTracks
  ``lwt`` message: same server, authentication and decoding, no fix stored) offered at the
  same rate;
* customers within 1 km / 10 nearest among 100,000 customers through the SQL cell index
  (target < 5 ms), next to a full-table scan with exact distances (PostgreSQL: after
  ``ANALYZE``, as autovacuum does after a bulk load).

The load average (``os.getloadavg``) is printed before and after each part: on a shared
machine the figures move with it.
"""

from __future__ import annotations

import argparse
import base64
import os
import random
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import numpy as np
from rich.console import Console
from rich.table import Table
from sqlalchemy import text
from sqlmodel import Session, select

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from crm.customers import Customer  # noqa: E402
from crm.devices import Device  # noqa: E402
from crm.geo import set_position  # noqa: E402
from crm.locations import LocationFix  # noqa: E402
from crm.org import Division, Role, User  # noqa: E402
from lbs.geo import haversine_np  # noqa: E402
from lbs.points import epoch_us  # noqa: E402
from lbs.simulate import random_sites  # noqa: E402
from server.auth.service import issue_device_token  # noqa: E402
from server.db import make_engine  # noqa: E402
from server.locations.bulk import Raw, db_time, db_times, insert_rows  # noqa: E402
from server.locations.ingest import FIX_COLUMNS  # noqa: E402
from server.locations.nearby import customers_within, nearest_customers  # noqa: E402
from server.migrate import upgrade  # noqa: E402

SECRET = "bench-secret-key-0123456789abcdef0123456789"
FIELDCRM = shutil.which("fieldcrm") or str(Path(sys.executable).parent / "fieldcrm")
CITY = (31.2304, 121.4737)
rows: list[tuple[str, str, str, str, str]] = []


@dataclass
class World:
    url: str
    engine: object
    tokens: list[str]
    devices: list[Device]
    head: User


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def make_world(url: str, devices: int, tag: str) -> World:
    upgrade(url)
    engine = make_engine(url)
    with Session(engine, expire_on_commit=False) as session:
        division = Division(name=f"Bench {tag} {os.getpid()}", code=f"B{tag}{os.getpid()}")
        session.add(division)
        session.flush()
        head = User(
            username=f"head{tag}{os.getpid()}",
            password_hash="x",
            role=Role.division_head,
            division_id=division.id,
        )
        session.add(head)
        tokens, rows_ = [], []
        for k in range(devices):
            rep = User(
                username=f"rep{tag}{os.getpid()}-{k}",
                password_hash="x",
                role=Role.rep,
                division_id=division.id,
            )
            session.add(rep)
            session.flush()
            device = Device(serial=f"BENCH-{tag}-{k}", division_id=division.id, rep_user_id=rep.id)
            session.add(device)
            session.flush()
            tokens.append(issue_device_token(session, device=device, now=datetime.now(UTC)))
            rows_.append(device)
        session.commit()
    return World(url, engine, tokens, rows_, head)


def track(n: int, start: datetime, seed: int) -> list[dict]:
    """A plausible moving track: a fix every 5 s, a few metres apart."""
    rng = random.Random(seed)
    lat, lon = CITY
    out = []
    for k in range(n):
        lat += rng.uniform(-1, 1) * 2e-5
        lon += rng.uniform(-1, 1) * 2e-5
        out.append(
            {
                "time": (start + timedelta(seconds=5 * k)).isoformat(),
                "lat": round(lat, 7),
                "lon": round(lon, 7),
                "accuracy_m": round(rng.uniform(3, 30), 1),
                "speed_mps": 1.2,
                "battery_pct": 80.0,
                "provider": "gps",
            }
        )
    return out


def serve(world: World, data_dir: str) -> tuple[subprocess.Popen, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("FIELDCRM_")}
    env |= {
        "FIELDCRM_DATA_DIR": data_dir,
        "FIELDCRM_SECRET_KEY": SECRET,
        "FIELDCRM_LOG_LEVEL": "WARNING",
        "FIELDCRM_DATABASE_URL": world.url,
        "FIELDCRM_TRACKING_HOURS": "always",
        "FIELDCRM_TRACKING_DAYS": "1-7",
        "FIELDCRM_INGEST_MAX_BATCH": "10000",
    }
    port = free_port()
    server = subprocess.Popen([FIELDCRM, "serve", "--port", str(port)], env=env, stderr=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while True:
        try:
            httpx.get(f"{base}/healthz", timeout=1)
            return server, base
        except httpx.TransportError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.1)


def bench_batches(world: World, base: str, total: int, batch: int) -> float:
    per_device = total // len(world.tokens)
    start = datetime.now(UTC) - timedelta(seconds=5 * per_device + 3600)
    payloads = []
    for k, token in enumerate(world.tokens):
        fixes = track(per_device, start, seed=k)
        payloads += [(token, fixes[i : i + batch]) for i in range(0, per_device, batch)]
    bodies = [
        (token, httpx.Request("POST", "/", json={"records": chunk}).content) for token, chunk in payloads
    ]
    sent = sum(len(chunk) for _, chunk in payloads)
    errors: list[str] = []

    def worker(items: list[tuple[str, bytes]]) -> None:
        with httpx.Client(base_url=base, timeout=120) as client:
            for token, body in items:
                r = client.post(
                    "/api/v1/ingest/locations",
                    content=body,
                    headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
                )
                if r.status_code != 200 or r.json()["accepted"] != body.count(b'"time"'):
                    errors.append(f"{r.status_code} {r.text[:200]}")

    # one client per device keeps each device's batches in order, as the agent does
    by_device = [[b for b in bodies if b[0] == t] for t in world.tokens]
    threads = [threading.Thread(target=worker, args=(items,)) for items in by_device]
    began = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.perf_counter() - began
    if errors:
        raise RuntimeError(errors[0])
    return sent / elapsed


def bench_raw(url: str, total: int, batch: int, tag: str) -> float:
    """The same rows through the driver's executemany into a fresh device's part of the table:
    rows prepared in the driver's form beforehand, only the inserts and commits timed."""
    world = make_world(url, 1, tag)
    device = world.devices[0]
    now = datetime.now(UTC)
    fixes = track(total, now - timedelta(seconds=5 * total + 3600), seed=99)
    with Session(world.engine) as session:  # type: ignore[arg-type]
        dialect = session.connection().dialect
        times = db_times(dialect, np.array([epoch_us(datetime.fromisoformat(f["time"])) for f in fixes]))
        received = db_time(dialect, now)
        values = [
            (device.id, device.division_id, device.rep_user_id, times[k], f["lat"], f["lon"], f["accuracy_m"],
             f["speed_mps"], None, None, f["battery_pct"], None, False, "dumpsys", "gps", "ok", received)
            for k, f in enumerate(fixes)
        ]
        session.commit()
        began = time.perf_counter()
        for i in range(0, total, batch):
            insert_rows(Raw.of(session), LocationFix.__table__, FIX_COLUMNS, values[i : i + batch])
            session.commit()
        return total / (time.perf_counter() - began)


def bench_owntracks(base: str, token: str, rate: float, seconds: float, kind: str) -> tuple[float, list[float]]:
    """Posts offered at ``rate`` for ``seconds``; ``kind`` ``location`` (a fix each, 1 s apart in
    fix time) or ``lwt`` (no fix). Achieved rate and per-request latencies."""
    auth = base64.b64encode(f"bench:{token}".encode()).decode()
    headers = {"Authorization": f"Basic {auth}", "Content-Type": "application/json"}
    total = int(rate * seconds)
    t0 = time.time() - 3600
    latencies: list[float] = []
    lock = threading.Lock()
    began = time.perf_counter()
    workers = 16

    def worker(k: int) -> None:
        with httpx.Client(base_url=base, timeout=30) as client:
            for i in range(k, total, workers):
                due = began + i / rate
                if (wait := due - time.perf_counter()) > 0:
                    time.sleep(wait)
                body = (
                    f'{{"_type":"{kind}","tid":"BE","tst":{int(t0 + i)},"lat":{31.23 + i * 1e-6:.7f},'
                    f'"lon":121.47,"acc":10,"batt":80}}'
                )
                start = time.perf_counter()
                r = client.post("/api/v1/trackers/owntracks", content=body, headers=headers)
                took = time.perf_counter() - start
                if r.status_code != 200:
                    raise RuntimeError(f"owntracks {r.status_code} {r.text[:200]}")
                with lock:
                    latencies.append(took)

    threads = [threading.Thread(target=worker, args=(k,)) for k in range(workers)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return total / (time.perf_counter() - began), latencies


def bench_nearby(world: World, count: int, queries: int) -> None:
    rng = np.random.default_rng(1)
    points = random_sites(CITY, 40_000, count, rng)
    with Session(world.engine, expire_on_commit=False) as session:  # type: ignore[arg-type]
        division = session.get(User, world.head.id).division_id  # type: ignore[union-attr]
        for i in range(0, count, 10_000):
            chunk = []
            for k, (lat, lon) in enumerate(points[i : i + 10_000]):
                c = Customer(division_id=division, name=f"C{i + k}")
                set_position(c, lat, lon)
                chunk.append(c)
            session.add_all(chunk)
            session.commit()
        if session.get_bind().dialect.name == "postgresql":
            # As autovacuum does after a bulk load; without statistics PostgreSQL guesses that a
            # division holds ~20 customers and reads the whole division to apply the scope.
            session.execute(text("ANALYZE customer"))
            session.commit()
        head = session.get(User, world.head.id)
        probes = random_sites(CITY, 35_000, queries, np.random.default_rng(2))
        before = load()

        def per_query(fn, probes=probes) -> list[float]:  # type: ignore[no-untyped-def]
            out = []
            for lat, lon in probes:
                began = time.perf_counter()
                fn(lat, lon)
                out.append(time.perf_counter() - began)
            return out

        within = per_query(
            lambda la, lo: customers_within(session, actor=head, lat=la, lon=lo, radius_m=1000)
        )
        nearest = per_query(lambda la, lo: nearest_customers(session, actor=head, lat=la, lon=lo, k=10))

        def scan(la: float, lo: float) -> None:
            got = session.execute(select(Customer.id, Customer.lat, Customer.lon)).all()
            d = haversine_np(la, lo, np.array([g[1] for g in got]), np.array([g[2] for g in got]))
            np.sort(d)[:10]

        full = per_query(scan, probes[:50])
        during = f"{before} → {load()}"
    for name, lat in (
        ("within 1 km (SQL cells)", within),
        ("10 nearest (SQL cells)", nearest),
        ("baseline: full scan + exact distances", full),
    ):
        rows.append(
            (
                f"{count:,} customers: {name}",
                f"{statistics.median(lat) * 1000:.2f} ms median",
                f"{pct(lat, 99):.2f} ms p99",
                "< 5 ms" if "SQL" in name else "",
                during,
            )
        )


def pct(values: list[float], q: int) -> float:
    return statistics.quantiles(values, n=100)[q - 1] * 1000 if len(values) > 1 else values[0] * 1000


def load() -> str:
    return "load " + " / ".join(f"{x:.1f}" for x in os.getloadavg())


def runs(rates: list[float]) -> str:
    return f"best of {len(rates)} ({' / '.join(f'{r:,.0f}' for r in rates)})"


def run(url: str, label: str, args: argparse.Namespace, data_dir: str) -> None:
    world = make_world(url, args.devices, "http")
    server, base = serve(world, data_dir)
    try:
        before = load()
        http_rates, raw_rates = [], []
        for k in range(args.repeat):  # alternated, so that both see the same load
            batch_world = world if k == 0 else make_world(url, args.devices, f"http{k}")
            http_rates.append(bench_batches(batch_world, base, args.fixes, args.batch))
            raw_rates.append(bench_raw(url, args.fixes, args.batch, f"raw{k}"))
        http_rate, raw_rate = max(http_rates), max(raw_rates)
        rows.append(
            (
                f"{label}: HTTP batch ingestion ({args.batch}/batch, {args.devices} phones)",
                f"{http_rate:,.0f} fixes/s",
                f"{http_rate / raw_rate:.2f} × raw; {runs(http_rates)}",
                "≥ 50,000/s, ≥ 0.3 ×",
                f"{before} → {load()}",
            )
        )
        rows.append((f"{label}: baseline raw executemany", f"{raw_rate:,.0f} fixes/s", runs(raw_rates), "", ""))
        for kind, name in (("lwt", "baseline: bare route (OwnTracks lwt, no fix)"),
                           ("location", "OwnTracks single-fix posts")):
            before = load()
            achieved, lat = bench_owntracks(base, world.tokens[0], args.rate, args.seconds, kind)
            rows.append(
                (
                    f"{label}: {name} @ {args.rate:.0f}/s",
                    f"{achieved:,.0f} req/s",
                    f"p50 {pct(lat, 50):.1f} ms, p99 {pct(lat, 99):.1f} ms",
                    f"{args.rate:.0f} req/s" if kind == "location" else "",
                    f"{before} → {load()}",
                )
            )
    finally:
        server.terminate()
        server.wait()
    bench_nearby(world, args.customers, args.queries)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--fixes", type=int, default=200_000)
    parser.add_argument("--batch", type=int, default=5000)
    parser.add_argument("--devices", type=int, default=4)
    parser.add_argument("--repeat", type=int, default=3, help="HTTP batch ingestion and its baseline, best of N")
    parser.add_argument("--rate", type=float, default=200.0)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--customers", type=int, default=100_000)
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--postgres", help="PostgreSQL URL to measure as well (its schema is migrated)")
    parser.add_argument("--algorithms", action="store_true", help="also run bench_lbs_algorithms.py --quick")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        run(f"sqlite:///{tmp}/bench.db", "SQLite", args, tmp)
        if args.postgres:
            run(args.postgres, "PostgreSQL", args, tmp)
    table = Table(title="Location services: HTTP and SQL")
    for column in ("case", "result", "vs baseline / latency", "target", "load average (1/5/15 min)"):
        table.add_column(column, justify="right")
    for row in rows:
        table.add_row(*row)
    Console(width=200).print(table)
    if args.algorithms:
        subprocess.run(
            [sys.executable, str(ROOT / "scripts" / "bench_lbs_algorithms.py"), "--quick"], check=True
        )


if __name__ == "__main__":
    main()
