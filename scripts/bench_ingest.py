"""Capture pipeline benchmark: ingestion through HTTP, linking, timeline pages (SQLite and PostgreSQL).

1. SMS and call batches of 1,000 POSTed to a real ``uvicorn`` server (one worker) → records/s,
   next to a raw DBAPI ``executemany`` of the very rows the server stored, into the same
   table (under a second phone), round by round so that both see the same machine
   (target: ratio ≥ 0.3; ≥ 20,000 records/s on SQLite). On SQLite also CPU µs per record.
   For scale, the same rows once more as one multi-row INSERT (a third phone): executemany
   runs one statement per row, and on tables with row triggers (the activity rollup's)
   SQLite opens a statement journal for each, so it is not the floor of the database work.
2. Linking: the pipeline's link step (phone-book query + resolve, batches of 1,000) for
   1M events against 100k contacts (target ≥ 50,000 events/s).
3. Timeline: first page and a page 10,000 events deep (keyset cursor) for a customer with
   100k events in a table of 10M events, through HTTP, requested in turn (target p95 < 20 ms).

    python scripts/bench_ingest.py [--quick] [--postgres postgresql+psycopg://postgres@127.0.0.1/bench]
        [--sections ingest,linking,timeline]

``--quick``: 10k contacts, 100k linking events, 1M timeline events (hot customer still 100k).
Numbers in the ingestion batches come from a rep's book of 2,000 customers (normalisation
results are cached per number, as on a real phone where the same customers recur).
The load average is printed with each section: the figures are only comparable within a run.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
from rich.console import Console
from rich.table import Table
from sqlalchemy import Engine, insert, text
from sqlmodel import Session

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from crm.communications import CapturedCall, CapturedSms  # noqa: E402
from crm.customers import ContactPhone, Customer  # noqa: E402
from crm.devices import Device  # noqa: E402
from crm.linking import load_phone_book  # noqa: E402
from crm.org import Division, Role, User  # noqa: E402
from crm.timeline import TimelineEvent  # noqa: E402
from server.auth.models import TokenKind  # noqa: E402
from server.auth.service import issue_device_token, issue_user_token  # noqa: E402
from server.db import make_engine  # noqa: E402
from server.migrate import upgrade  # noqa: E402
from server.timeline import encode_cursor  # noqa: E402

SECRET = "bench-secret-key-0123456789abcdef0123456789"
BATCH = 1000
NOW = datetime.now(UTC).replace(microsecond=0)
console = Console()


@dataclass
class Result:
    case: str
    value: float
    unit: str
    note: str = ""


def mobile(i: int) -> str:
    return f"139{i:08d}"


def timed(label: str, func: Callable[[], Any]) -> Any:
    start = time.perf_counter()
    value = func()
    console.log(f"{label}: {time.perf_counter() - start:.1f} s")
    return value


# --- setup ------------------------------------------------------------------------------------


def reset(url: str) -> None:
    if url.startswith("postgresql"):
        engine = make_engine(url, pool_size=1)
        with engine.begin() as conn:
            conn.execute(text("DROP SCHEMA IF EXISTS public CASCADE"))
            conn.execute(text("CREATE SCHEMA public"))
        engine.dispose()
    upgrade(url)


def seed_org(engine: Engine, contacts: int) -> dict[str, Any]:
    """A division, a rep with a phone, an executive, and ``contacts`` customers each with one number."""
    with Session(engine, expire_on_commit=False) as session:
        division = Division(name="Bench", code="BENCH")
        session.add(division)
        session.flush()
        rep = User(username="rep", password_hash="x", role=Role.rep, division_id=division.id)
        boss = User(username="boss", password_hash="x", role=Role.executive)
        session.add_all([rep, boss])
        session.flush()
        device = Device(serial="BENCH-1", division_id=division.id, rep_user_id=rep.id)
        raw_device = Device(serial="BENCH-RAW", division_id=division.id, rep_user_id=rep.id)
        multi_device = Device(serial="BENCH-MULTI", division_id=division.id, rep_user_id=rep.id)
        session.add_all([device, raw_device, multi_device])
        session.flush()
        device_token = issue_device_token(session, device=device, now=NOW)
        session.commit()
        user_token = issue_user_token(
            session, user=boss, kind=TokenKind.api, lifetime=timedelta(days=1), now=NOW
        )
        ids = {
            "division": division.id,
            "rep": rep.id,
            "device": device.id,
            "raw_device": raw_device.id,
            "multi_device": multi_device.id,
        }
    with engine.begin() as conn:
        for start in range(0, contacts, 10_000):
            chunk = range(start, min(contacts, start + 10_000))
            rows = [
                {
                    "division_id": ids["division"],
                    "owner_id": ids["rep"] if i % 3 else None,
                    "name": f"客户{i}",
                    "kind": "company",
                    "grade": "C",
                    "tags": [],
                    "created_at": NOW,
                    "updated_at": NOW,
                }
                for i in chunk
            ]
            conn.execute(insert(Customer), rows)
        first = conn.execute(text("SELECT min(id) FROM customer")).scalar_one()
        for start in range(0, contacts, 10_000):
            chunk = range(start, min(contacts, start + 10_000))
            rows = [
                {
                    "e164": "+86" + mobile(i),
                    "customer_id": first + i,
                    "division_id": ids["division"],
                    "valid_from": NOW,
                    "extra": {},
                }
                for i in chunk
            ]
            conn.execute(insert(ContactPhone), rows)
        conn.exec_driver_sql("ANALYZE")  # statistics, as a database in use has them
    return ids | {"device_token": device_token, "user_token": user_token.secret, "first_customer": first}


# --- 1. ingestion through HTTP vs raw executemany --------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start_server(url: str, data_dir: str) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("FIELDCRM_")}
    env |= {
        "FIELDCRM_DATA_DIR": data_dir,
        "FIELDCRM_SECRET_KEY": SECRET,
        "FIELDCRM_LOG_LEVEL": "WARNING",
        "FIELDCRM_DATABASE_URL": url,
        "PYTHONPATH": str(ROOT),
    }
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "uvicorn",
            "server.asgi:app",
            "--port",
            str(port),
            "--log-level",
            "warning",
            "--no-access-log",
        ],
        env=env,
        cwd=ROOT,
        stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            httpx.get(f"{base}/healthz", timeout=1)
            return server, base
        except httpx.TransportError:
            time.sleep(0.1)
    raise RuntimeError("server did not start")


def sms_batch(b: int, book: int) -> list[dict[str, Any]]:
    rng = random.Random(b)
    return [
        {
            "source_id": b * BATCH + i,
            "address": mobile(rng.randrange(book)),
            "type_code": rng.choice((1, 2)),
            "occurred_at": (NOW - timedelta(days=30, seconds=b * BATCH + i)).isoformat(),
            "body": f"王经理您好，第{b}-{i}条：明天上午十点到贵司，带上报价单。",
            "read": True,
            "thread_id": i % 50,
        }
        for i in range(BATCH)
    ]


def call_batch(b: int, book: int) -> list[dict[str, Any]]:
    rng = random.Random(-b)
    return [
        {
            "source_id": b * BATCH + i,
            "number": mobile(rng.randrange(book)),
            "type_code": rng.choice((1, 2, 3)),
            "occurred_at": (NOW - timedelta(days=60, seconds=b * BATCH + i)).isoformat(),
            "duration": rng.randrange(0, 600),
            "country_iso": "CN",
        }
        for i in range(BATCH)
    ]


def process_cpu(pid: int) -> float:
    """CPU seconds (user + system) a process has used so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def raw_rows(
    engine: Engine, model: Any, ids: list[int], device_ids: tuple[int, int]
) -> tuple[str, list[tuple[Any, ...]], str, list[Any]]:
    """The stored rows ``ids`` as a bare INSERT with its parameters under ``device_ids[0]``, and as
    one multi-row INSERT with its parameters under ``device_ids[1]`` (other phones, so that they go
    into the same table and indexes again without hitting the unique key)."""
    table = model.__table__
    columns = [c.name for c in table.columns if c.name != "id"]
    with engine.connect() as conn:
        rows = conn.exec_driver_sql(
            f"SELECT {', '.join(columns)} FROM {table.name} WHERE id IN ({', '.join(map(str, ids))})"
        ).all()
    at = columns.index("device_id")
    mark = "?" if engine.dialect.name == "sqlite" else "%s"
    group = f"({', '.join([mark] * len(columns))})"
    head = f"INSERT INTO {table.name} ({', '.join(columns)}) VALUES "
    single, multi = device_ids
    multi_params = [value for row in rows for value in (*row[:at], multi, *row[at + 1 :])]
    return (
        head + group,
        [(*row[:at], single, *row[at + 1 :]) for row in rows],
        head + ", ".join([group] * len(rows)),
        multi_params,
    )


def http_vs_raw(
    engine: Engine,
    server: subprocess.Popen[bytes],
    base: str,
    seed: dict[str, Any],
    path: str,
    model: Any,
    batches: list[list[dict[str, Any]]],
) -> list[Result]:
    """Round by round, so that all see the same machine: POST a batch (timed, with the server's
    CPU time), then insert the rows the server stored with a bare ``executemany`` + commit (timed),
    then once more as one multi-row INSERT + commit (timed; the floor of the detail rows alone)."""
    headers = {"Authorization": f"Bearer {seed['device_token']}", "Content-Type": "application/json"}
    bodies = [json.dumps({"records": batch}, ensure_ascii=False).encode() for batch in batches]
    http_wall = server_cpu = raw_wall = raw_cpu = multi_wall = multi_cpu = 0.0
    raw = engine.raw_connection()
    try:
        cursor = raw.cursor()
        with httpx.Client(base_url=base, timeout=120) as client:
            for body in bodies:
                cpu, start = process_cpu(server.pid), time.perf_counter()
                response = client.post(f"/api/v1/ingest/{path}", content=body, headers=headers)
                http_wall += time.perf_counter() - start
                server_cpu += process_cpu(server.pid) - cpu
                if response.status_code != 200 or response.json()["accepted"] != BATCH:
                    raise RuntimeError(f"{path}: {response.status_code} {response.text[:300]}")
                ids = [result["id"] for result in response.json()["results"]]
                sql, rows, multi_sql, multi_params = raw_rows(
                    engine, model, ids, (seed["raw_device"], seed["multi_device"])
                )
                cpu, start = time.process_time(), time.perf_counter()
                cursor.executemany(sql, rows)
                raw.commit()
                raw_wall += time.perf_counter() - start
                raw_cpu += time.process_time() - cpu
                cpu, start = time.process_time(), time.perf_counter()
                cursor.execute(multi_sql, multi_params)
                raw.commit()
                multi_wall += time.perf_counter() - start
                multi_cpu += time.process_time() - cpu
    finally:
        raw.close()
    records = len(bodies) * BATCH
    rate, raw_rate, multi_rate = records / http_wall, records / raw_wall, records / multi_wall
    # SQLite runs inside the process that calls it: its CPU time is the whole cost. PostgreSQL's
    # own work happens in its server processes and is not counted here.
    cpu_note = engine.dialect.name == "sqlite"
    return [
        Result(
            f"{path}: HTTP batches of {BATCH}",
            rate,
            "records/s",
            f"{rate / raw_rate:.2f}× raw"
            + (f"; server CPU {server_cpu / records * 1e6:.0f} µs/record" if cpu_note else ""),
        ),
        Result(
            f"{path}: raw executemany, same rows",
            raw_rate,
            "records/s",
            "baseline, interleaved" + (f"; CPU {raw_cpu / records * 1e6:.0f} µs/record" if cpu_note else ""),
        ),
        Result(
            f"{path}: raw multi-row INSERT, same rows",
            multi_rate,
            "records/s",
            "detail rows only, one statement a batch"
            + (f"; CPU {multi_cpu / records * 1e6:.0f} µs/record" if cpu_note else ""),
        ),
    ]


def bench_ingest(url: str, engine: Engine, seed: dict[str, Any], batches: int) -> list[Result]:
    results = []
    with tempfile.TemporaryDirectory() as data_dir:
        server, base = start_server(url, data_dir)
        try:
            for path, make, model in (("sms", sms_batch, CapturedSms), ("calls", call_batch, CapturedCall)):
                warm = [make(10_000 + b, 2000) for b in range(3)]  # normalisation cache, connections
                http_vs_raw(engine, server, base, seed, path, model, warm)
                results += http_vs_raw(
                    engine, server, base, seed, path, model, [make(b, 2000) for b in range(batches)]
                )
        finally:
            server.terminate()
            server.wait()
    return results


# --- 2. linking ---------------------------------------------------------------------------------


def bench_linking(engine: Engine, seed: dict[str, Any], contacts: int, events: int) -> Result:
    rng = random.Random(7)
    unknown = contacts * 10
    numbers = [
        "+86" + mobile(rng.randrange(contacts) if rng.random() < 0.8 else unknown + rng.randrange(10**6))
        for _ in range(events)
    ]
    times = [NOW - timedelta(minutes=rng.randrange(10**6)) for _ in range(events)]
    linked = 0
    with Session(engine) as session:
        start, cpu = time.perf_counter(), time.process_time()
        for i in range(0, events, BATCH):
            chunk = numbers[i : i + BATCH]
            book = load_phone_book(session, set(chunk), [seed["division"]])
            for number, at in zip(chunk, times[i : i + BATCH], strict=True):
                link = book.resolve(division_id=seed["division"], e164=number, at=at, rep_user_id=seed["rep"])
                linked += link.primary is not None
        elapsed, cpu = time.perf_counter() - start, time.process_time() - cpu
    # with SQLite the database works in this process, so CPU time is the whole cost
    who = "CPU" if engine.dialect.name == "sqlite" else "client CPU"
    return Result(
        f"link {events:,} events vs {contacts:,} contacts",
        events / elapsed,
        "events/s",
        f"{linked / events:.0%} linked; {who} {cpu / events * 1e6:.1f} µs/event",
    )


# --- 3. timeline --------------------------------------------------------------------------------


def generate_timeline(
    engine: Engine, seed: dict[str, Any], total: int, hot_events: int, contacts: int
) -> int:
    """Bulk SQL in chunks of a million rows, with the table's indexes dropped meanwhile and built
    once at the end (as a restore would). Every ``total // hot_events``-th row is the hot
    customer's, so its events are spread through the table and through time like a real
    customer's; the others cycle over the remaining customers."""
    hot = seed["first_customer"]
    division, rep, every = seed["division"], seed["rep"], total // hot_events
    epoch = int(NOW.timestamp())
    indexes = list(TimelineEvent.__table__.indexes)
    if engine.dialect.name == "sqlite":
        source = "WITH RECURSIVE s(n) AS (SELECT :first UNION ALL SELECT n + 1 FROM s WHERE n < :last) SELECT n FROM s"
        at = "datetime(:epoch - n * 7, 'unixepoch') || '.000000'"  # the format SQLAlchemy writes
        data = '\'{"direction": "incoming"}\''
    else:
        source = "SELECT n FROM generate_series(:first, :last) AS n"
        at = "to_timestamp(:epoch - n * 7)"
        data = 'CAST(\'{"direction": "incoming"}\' AS json)'
    insert_sql = text(
        "INSERT INTO timeline_event (customer_id, division_id, occurred_at, kind, source_table, source_id, "
        "actor_user_id, summary, data, created_at) "
        f"SELECT CASE WHEN n % {every} = 0 THEN {hot} ELSE {hot} + 1 + n % {contacts - 1} END, {division}, "
        f"{at}, CASE WHEN n % 2 = 0 THEN 'sms' ELSE 'call' END, "
        "CASE WHEN n % 2 = 0 THEN 'captured_sms' ELSE 'captured_call' END, n, "
        f"{rep}, 'summary ' || n, {data}, {at} FROM ({source}) AS g"
    )
    with engine.begin() as conn:
        for index in indexes:
            index.drop(conn)
    for first in range(1, total + 1, 1_000_000):
        last = min(total, first + 999_999)
        with engine.begin() as conn:
            conn.execute(insert_sql, {"first": first, "last": last, "epoch": epoch})
        console.log(f"timeline rows: {last:,}")
    with engine.begin() as conn:
        for index in indexes:
            index.create(conn)
    if engine.dialect.name == "postgresql":
        with engine.connect() as conn:
            conn.execution_options(isolation_level="AUTOCOMMIT").exec_driver_sql(
                "VACUUM ANALYZE timeline_event"
            )
    else:
        with engine.begin() as conn:
            conn.exec_driver_sql("ANALYZE")
    return hot


def deep_cursor(engine: Engine, customer: int, depth: int) -> str:
    with Session(engine) as session:
        row = session.execute(
            text(
                "SELECT occurred_at, id FROM timeline_event WHERE customer_id = :c "
                "ORDER BY occurred_at DESC, id DESC LIMIT 1 OFFSET :o"
            ),
            {"c": customer, "o": depth - 1},
        ).one()
    at = row[0] if isinstance(row[0], datetime) else datetime.fromisoformat(row[0])
    return encode_cursor(at if at.tzinfo else at.replace(tzinfo=UTC), row[1])


def bench_timeline(url: str, engine: Engine, seed: dict[str, Any], hot: int, repeat: int) -> list[Result]:
    """Both pages requested in turn (so that both see the same machine), after a few warm-up requests."""
    cases = {"first page": {}, "page 10,000 deep": {"cursor": deep_cursor(engine, hot, 10_000)}}
    latencies: dict[str, list[float]] = {label: [] for label in cases}
    with tempfile.TemporaryDirectory() as data_dir:
        server, base = start_server(url, data_dir)
        try:
            headers = {"Authorization": f"Bearer {seed['user_token']}"}
            with httpx.Client(base_url=base, headers=headers, timeout=30) as client:
                for i in range(repeat + 5):
                    for label, params in cases.items():
                        start = time.perf_counter()
                        response = client.get(
                            f"/api/v1/customers/{hot}/timeline", params=params | {"limit": 50}
                        )
                        if i >= 5:
                            latencies[label].append((time.perf_counter() - start) * 1000)
                        if response.status_code != 200 or len(response.json()["events"]) != 50:
                            raise RuntimeError(f"timeline: {response.status_code} {response.text[:300]}")
        finally:
            server.terminate()
            server.wait()
    return [
        Result(
            f"timeline {label} (50 events)",
            statistics.quantiles(values, n=100)[94],
            "ms p95",
            f"p50 {statistics.median(values):.1f} ms",
        )
        for label, values in latencies.items()
    ]


SECTIONS = ("ingest", "linking", "timeline")


def load() -> str:
    return ", ".join(f"{value:.1f}" for value in os.getloadavg())


def run(url: str, label: str, args: argparse.Namespace) -> list[Result]:
    contacts = 10_000 if args.quick else 100_000
    events = 100_000 if args.quick else 1_000_000
    total = 1_000_000 if args.quick else 10_000_000
    console.rule(label)
    timed("migrate", lambda: reset(url))
    engine = make_engine(url)
    seed = timed(f"{contacts:,} customers and contacts", lambda: seed_org(engine, contacts))
    results: list[Result] = []
    sections = args.sections.split(",")
    if "ingest" in sections:
        results += timed(f"ingestion (load {load()})", lambda: bench_ingest(url, engine, seed, args.batches))
    if "linking" in sections:
        results.append(
            timed(f"linking (load {load()})", lambda: bench_linking(engine, seed, contacts, events))
        )
    if "timeline" in sections:
        hot = timed(
            f"generate {total:,} timeline events",
            lambda: generate_timeline(engine, seed, total, 100_000, contacts),
        )
        results += timed(
            f"timeline (load {load()})", lambda: bench_timeline(url, engine, seed, hot, args.repeat)
        )
    engine.dispose()
    return [Result(f"[{label}] {r.case}", r.value, r.unit, r.note) for r in results]


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--quick", action="store_true", help="smaller data sets for routine runs")
    parser.add_argument("--batches", type=int, default=20, help="measured HTTP batches per source")
    parser.add_argument("--repeat", type=int, default=200, help="timeline requests per case")
    parser.add_argument("--postgres", help="PostgreSQL URL to measure as well (its schema is dropped!)")
    parser.add_argument("--skip-sqlite", action="store_true")
    parser.add_argument(
        "--sections", default=",".join(SECTIONS), help=f"comma-separated: {', '.join(SECTIONS)}"
    )
    args = parser.parse_args()
    results: list[Result] = []
    with tempfile.TemporaryDirectory() as tmp:
        if not args.skip_sqlite:
            results += run(f"sqlite:///{tmp}/bench.db", "SQLite", args)
        if args.postgres:
            results += run(args.postgres, "PostgreSQL", args)
    table = Table(
        title=f"Capture pipeline ({'quick' if args.quick else 'full'} run, {os.cpu_count()} CPUs, "
        f"load average now {load()})"
    )
    for column in ("case", "value", "unit", "note"):
        table.add_column(column, justify="right" if column == "value" else "left")
    for r in results:
        table.add_row(r.case, f"{r.value:,.1f}" if r.value < 100 else f"{r.value:,.0f}", r.unit, r.note)
    console.print(table)
    console.print(
        "targets: HTTP ≥ 0.3× raw and ≥ 20,000 records/s (SQLite); linking ≥ 50,000 events/s; "
        "timeline p95 < 20 ms"
    )


if __name__ == "__main__":
    main()
