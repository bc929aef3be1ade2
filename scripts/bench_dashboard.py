"""Dashboard benchmark: server time per page, live-map GeoJSON, and Chromium's first render of the live map.

    python scripts/bench_dashboard.py [--customers 100000] [--events 10000000] [--reps 2000]
                                      [--scale 2000] [--requests 40] [--postgres URL]
                                      [--keep DIR] [--no-browser]

Builds a database of that size with bulk inserts (SQLite file in a temp folder or in ``--keep``
DIR, where a second run reuses it; or the given PostgreSQL database, whose public schema is
dropped): customers and their timeline, reps with phones and live positions, and for the CRM
pages ``--scale`` × 10 opportunities with stage history, × 2 tickets, × 100 calls and × 10 SMS
this month, × 10 check-ins, × 1 keyword alerts, plus one rep's day of fixes every 5 s for the
replay. Then times each page in-process (server time: routing, queries, templates) against
``/healthz`` as the baseline, the live GeoJSON with every rep positioned (and answered 304 when
unchanged), and with Chromium present the time from navigation until all rep markers are on the
live map (median of 5). Prints the load average before and after and per row, and the CPU time
per request next to the wall time (a busy machine stretches wall time, hardly CPU time). The
first reports view, with nothing rolled up yet, is timed on its own.
Targets: pages < 300 ms p95, live GeoJSON < 50 ms, first render < 2 s.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import socket
import statistics
import tempfile
import time
from datetime import UTC, datetime, timedelta
from datetime import time as dt_time
from decimal import Decimal
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from fastapi.testclient import TestClient
from sqlalchemy import insert, text
from sqlmodel import Session

from crm.activity_rollup import RepActivityDay, RepActivityRollup
from crm.communications import CaptureAlert, CapturedCall, CapturedSms
from crm.customers import Customer
from crm.devices import Device
from crm.locations import Checkin, LocationFix, RepPosition
from crm.org import Division, Role, User
from crm.pipeline import Opportunity, StageChange, default_pipeline, stages_of
from crm.tickets import Ticket
from crm.timeline import TimelineEvent
from lbs.cells import cell_of
from server.app import served_app
from server.auth.models import TokenKind
from server.auth.secrets import hash_password
from server.auth.service import issue_user_token
from server.config import Settings
from server.db import make_engine
from server.migrate import upgrade

PASSWORD = "bench-password-123"
CENTER = (31.2304, 121.4737)
ZONE = ZoneInfo("Asia/Shanghai")
CHUNK = 20_000


def _chunks(rows_of, total: int):  # type: ignore[no-untyped-def]
    for start in range(0, total, CHUNK):
        yield [rows_of(i) for i in range(start, min(total, start + CHUNK))]


def build_org(engine, reps: int, now: datetime, rng: random.Random) -> dict[str, Any]:  # type: ignore[no-untyped-def]
    """A division with its head, ``reps`` reps with a phone and a live position each."""
    with Session(engine) as session:
        division = Division(name="Bench", code="BENCH")
        session.add(division)
        session.flush()
        head = User(
            username="bench.head",
            display_name="Head",
            password_hash=hash_password(PASSWORD),
            role=Role.division_head,
            division_id=division.id,
        )
        session.add(head)
        pipeline = default_pipeline(session, division.id)  # type: ignore[arg-type]
        stages = [s.id for s in stages_of(session, pipeline.id)]  # type: ignore[arg-type]
        session.commit()
        div, head_id, pipeline_id = division.id, head.id, pipeline.id
    with engine.begin() as conn:
        conn.execute(
            insert(User),
            [
                {
                    "username": f"rep{i}",
                    "display_name": f"代表{i}",
                    "password_hash": "x",
                    "role": Role.rep,
                    "division_id": div,
                    "locale": "zh",
                    "is_active": True,
                    "created_at": now,
                }
                for i in range(reps)
            ],
        )
        rep_ids = [r[0] for r in conn.execute(text("SELECT id FROM app_user WHERE role = 'rep' ORDER BY id"))]
        conn.execute(
            insert(Device),
            [
                {
                    "serial": f"B{i:06d}",
                    "division_id": div,
                    "rep_user_id": rid,
                    "enrolled_at": now,
                    "status": {},
                }
                for i, rid in enumerate(rep_ids)
            ],
        )
        device_of = dict(conn.execute(text("SELECT rep_user_id, id FROM device")).all())
        positions = []
        for rid in rep_ids:
            lat, lon = CENTER[0] + rng.uniform(-0.3, 0.3), CENTER[1] + rng.uniform(-0.3, 0.3)
            at = now - timedelta(seconds=rng.uniform(0, 3600))
            positions.append(
                {
                    "rep_user_id": rid,
                    "division_id": div,
                    "device_id": device_of[rid],
                    "time": at,
                    "lat": lat,
                    "lon": lon,
                    "accuracy_m": 10.0,
                    "battery_pct": rng.uniform(5, 100),
                    "source": "owntracks",
                    "anchor_lat": lat,
                    "anchor_lon": lon,
                    "still_since": at - timedelta(minutes=rng.uniform(0, 30)),
                    "updated_at": at,
                }
            )
        conn.execute(insert(RepPosition), positions)
    return {
        "division": div,
        "head": head_id,
        "rep": rep_ids[0],
        "reps": rep_ids,
        "devices": device_of,
        "pipeline": pipeline_id,
        "stages": stages,
    }


def build_customers(
    engine, ids: dict[str, Any], customers: int, events: int, now: datetime, rng: random.Random
) -> None:  # type: ignore[no-untyped-def]
    """Customers (every fifth in the pool) and their timeline; one customer carries a long history."""
    rep_ids, div = ids["reps"], ids["division"]

    def customer(i: int) -> dict:
        lat, lon = CENTER[0] + rng.uniform(-0.5, 0.5), CENTER[1] + rng.uniform(-0.5, 0.5)
        return {
            "division_id": div,
            "owner_id": rep_ids[i % len(rep_ids)] if i % 5 else None,
            "kind": "company",
            "name": f"客户{i:06d}有限公司",
            "name_normalised": f"客户{i:06d}",
            "grade": "ABCD"[i % 4],
            "tags": [],
            "lat": lat,
            "lon": lon,
            "geocell": cell_of(lat, lon),
            "created_at": now,
            "updated_at": now - timedelta(seconds=i),
            "region": "上海",
        }

    with engine.begin() as conn:
        for rows in _chunks(customer, customers):
            conn.execute(insert(Customer), rows)
        first = conn.execute(text("SELECT min(id) FROM customer")).scalar_one()
    ids["customer"], ids["first_customer"], ids["customers"] = first, first, customers

    def event(i: int) -> dict:
        cid = first if i % 10 == 0 else first + rng.randrange(customers)
        return {
            "customer_id": cid,
            "division_id": div,
            "occurred_at": now - timedelta(minutes=i),
            "kind": "call" if i % 3 else "sms",
            "source_table": "captured_call",
            "source_id": i,
            "summary": "outgoing call, 1:05",
            "data": {"direction": "outgoing", "number": "+8613812345678"},
            "created_at": now,
        }

    with engine.begin() as conn:
        for rows in _chunks(event, events):
            conn.execute(insert(TimelineEvent), rows)


def _customer_of(ids: dict[str, Any], i: int) -> int:
    """The customer a generated CRM row ``i`` is about, spread over all customers."""
    return ids["first_customer"] + (i * 7919) % ids["customers"]


def build_crm(engine, ids: dict[str, Any], scale: int, now: datetime, rng: random.Random) -> None:  # type: ignore[no-untyped-def]
    """What the CRM pages read: opportunities with stage history, tickets, this month's captured calls and
    SMS, check-ins, keyword alerts; one day of fixes for the replayed rep."""
    div, reps, devices, stages = ids["division"], ids["reps"], ids["devices"], ids["stages"]
    open_stages, won, lost = stages[:4], stages[4], stages[5]

    def opportunity(i: int) -> dict:
        stage = stages[i % 6]
        closed = stage in (won, lost)
        return {
            "division_id": div,
            "owner_id": reps[i % len(reps)],
            "customer_id": _customer_of(ids, i),
            "pipeline_id": ids["pipeline"],
            "stage_id": stage,
            "name": f"商机{i}",
            "amount": Decimal(1000 + i % 50 * 1000),
            "probability": 50,
            "status": "won" if stage == won else "lost" if stage == lost else "open",
            "lost_reason": "价格" if stage == lost else "",
            "closed_at": now - timedelta(days=i % 20) if closed else None,
            "created_at": now - timedelta(days=i % 25),
            "updated_at": now,
        }

    with engine.begin() as conn:
        for rows in _chunks(opportunity, 10 * scale):
            conn.execute(insert(Opportunity), rows)
        opps = conn.execute(text("SELECT id, stage_id, created_at FROM opportunity")).all()
        history = [
            {
                "opportunity_id": oid,
                "division_id": div,
                "from_stage_id": None,
                "to_stage_id": open_stages[0],
                "occurred_at": now,
            }
            for oid, _stage, _at in opps
        ] + [
            {
                "opportunity_id": oid,
                "division_id": div,
                "from_stage_id": open_stages[0],
                "to_stage_id": stage,
                "occurred_at": now,
            }
            for oid, stage, _at in opps
            if stage != open_stages[0]
        ]
        for start in range(0, len(history), CHUNK):
            conn.execute(insert(StageChange), history[start : start + CHUNK])

        def ticket(i: int) -> dict:
            created = now - timedelta(hours=i % 72)
            return {
                "division_id": div,
                "customer_id": _customer_of(ids, i),
                "kind": ("complaint", "after_sales", "repair")[i % 3],
                "priority": ("low", "normal", "high", "urgent")[i % 4],
                "status": ("open", "in_progress", "resolved", "closed")[i % 4],
                "subject": f"工单{i}",
                "description": "",
                "assignee_id": reps[i % len(reps)],
                "respond_by": created + timedelta(hours=4),
                "resolve_by": created + timedelta(hours=24),
                "resolution": "",
                "escalation_level": 0,
                "created_at": created,
                "updated_at": created,
            }

        for rows in _chunks(ticket, 2 * scale):
            conn.execute(insert(Ticket), rows)

        month_start = now.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
        span = max(60.0, (now - month_start).total_seconds())

        def captured(i: int) -> dict:
            rep = reps[i % len(reps)]
            return {
                "device_id": devices[rep],
                "division_id": div,
                "rep_user_id": rep,
                "source_key": f"k{i}",
                "number_raw": "13812345678",
                "number_e164": "+8613812345678",
                "number_kind": "mobile",
                "occurred_at": month_start + timedelta(seconds=rng.uniform(0, span)),
                "direction": "outgoing",
                "link_status": "linked",
                "customer_id": _customer_of(ids, i),
                "received_at": now,
                "source_id": i,
                "type_code": 2,
            }

        for rows in _chunks(
            lambda i: captured(i) | {"type": "outgoing", "duration_s": 65, "answered": True}, 100 * scale
        ):
            conn.execute(insert(CapturedCall), rows)
        for rows in _chunks(lambda i: captured(i) | {"type": "sent", "body": "给您最低价"}, 10 * scale):
            conn.execute(insert(CapturedSms), rows)
        sms = [r[0] for r in conn.execute(text(f"SELECT id FROM captured_sms ORDER BY id LIMIT {scale}"))]
        conn.execute(
            insert(CaptureAlert),
            [
                {
                    "division_id": div,
                    "rep_user_id": reps[k % len(reps)],
                    "device_id": devices[reps[k % len(reps)]],
                    "source_table": "captured_sms",
                    "source_id": sid,
                    "keyword": "最低价",
                    "context": "给您最低价",
                    "occurred_at": now,
                    "status": "open",
                    "created_at": now,
                }
                for k, sid in enumerate(sms)
            ],
        )

        def checkin(i: int) -> dict:
            return {
                "division_id": div,
                "rep_user_id": reps[i % len(reps)],
                "customer_id": _customer_of(ids, i),
                "occurred_at": month_start + timedelta(seconds=rng.uniform(0, span)),
                "received_at": now,
                "lat": CENTER[0],
                "lon": CENTER[1],
                "status": "ok",
            }

        for rows in _chunks(checkin, 10 * scale):
            conn.execute(insert(Checkin), rows)

        # the replayed rep drives all day: a fix every 5 s from 08:00 to 20:00 local time
        rep = ids["rep"]
        day_start = datetime.combine(now.astimezone(ZONE).date(), dt_time(8), ZONE).astimezone(UTC)
        lat, lon = CENTER
        fixes = []
        for k in range(12 * 720):
            if k % 720 < 600:  # drive 50 min of each hour, then stay 10 min
                lat += rng.uniform(-1, 1) * 0.0002
                lon += 0.0003
            at = day_start + timedelta(seconds=5 * k)
            fixes.append(
                {
                    "device_id": devices[rep],
                    "division_id": div,
                    "rep_user_id": rep,
                    "time": at,
                    "lat": lat,
                    "lon": lon,
                    "accuracy_m": 8.0,
                    "source": "owntracks",
                    "status": "ok",
                    "received_at": at,
                }
            )
        for start in range(0, len(fixes), CHUNK):
            conn.execute(insert(LocationFix), fixes[start : start + CHUNK])


def build(engine, customers: int, events: int, reps: int, scale: int) -> dict[str, Any]:  # type: ignore[no-untyped-def]
    rng = random.Random(7)
    now = datetime.now(UTC)
    ids = build_org(engine, reps, now, rng)
    build_customers(engine, ids, customers, events, now, rng)
    build_crm(engine, ids, scale, now, rng)
    return ids


def timed(
    client: TestClient, path: str, n: int, *, revalidate: bool = False
) -> tuple[list[float], list[float], int]:
    """Wall and CPU times (ms) of ``n`` GETs, and how many were answered 304. CPU time is the whole
    process's (server and test client), which a busy machine does not inflate the way it does wall
    time. With ``revalidate`` each request sends the ETag of the previous answer (what a polling
    browser does)."""
    etag = client.get(path).headers.get("etag", "")  # warm
    wall, cpu, not_modified = [], [], 0
    for _ in range(n):
        headers = {"If-None-Match": etag} if revalidate else {}
        start, start_cpu = time.perf_counter(), time.process_time()
        response = client.get(path, headers=headers)
        wall.append((time.perf_counter() - start) * 1000)
        cpu.append((time.process_time() - start_cpu) * 1000)
        assert response.status_code in (200, 304), (path, response.status_code, response.text[:200])
        not_modified += response.status_code == 304
        etag = response.headers.get("etag", etag)
    return wall, cpu, not_modified


def first_render_ms(base_url: str, username: str, reps: int) -> float:
    """Navigation to the live map until every rep marker is on it (-1 without Chromium)."""
    executable = shutil.which("chromium")
    if executable is None:
        return -1.0
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=executable, args=["--headless", "--no-sandbox", "--disable-gpu"]
        )
        context = browser.new_context(viewport={"width": 1366, "height": 768}, base_url=base_url)
        context.route("**/*", lambda r: r.continue_() if r.request.url.startswith(base_url) else r.abort())
        page = context.new_page()
        page.goto("/login")
        page.fill("input[name=username]", username)
        page.fill("input[name=password]", PASSWORD)
        page.click("#login-form button[type=submit]")
        page.wait_for_url("**/map")
        start = time.perf_counter()
        page.goto("/map")
        while not page.evaluate(f"window.fieldcrmLive && window.fieldcrmLive.markers.size === {reps}"):
            page.wait_for_timeout(10)
        elapsed = (time.perf_counter() - start) * 1000
        browser.close()
        return elapsed


def cases(ids: dict[str, Any], reps: int) -> list[tuple[str, str, str]]:
    """(label, path, who) for every measured request; the first is the baseline."""
    start = (datetime.now(ZONE).date().replace(day=1)).isoformat()
    return [
        ("baseline: /healthz", "/healthz", "head"),
        ("customer list", "/customers", "head"),
        ("customer list, search", "/customers?q=客户0999", "head"),
        ("customer 360 (long history)", f"/customers/{ids['customer']}", "head"),
        ("timeline page (API, 50 events)", f"/api/v1/customers/{ids['customer']}/timeline", "head"),
        ("live map page", "/map", "head"),
        (f"live GeoJSON API ({reps} reps)", "/api/v1/locations/live", "head"),
        (f"live map data ({reps} reps, compact)", "/map/live.json", "head"),
        (f"live map data ({reps} reps), polled with its ETag", "/map/live.json", "head-etag"),
        (
            "customer clusters (whole area)",
            "/map/customers.geojson?bbox=30.7,120.9,31.8,122.0&zoom=10",
            "head",
        ),
        ("replay page (a day of fixes every 5 s)", f"/replay?rep={ids['rep']}", "head"),
        ("fleet page", "/fleet", "head"),
        ("rep page", "/rep", "rep"),
        ("pipeline board", "/pipeline", "head"),
        ("pipeline list", "/pipeline?view=list", "head"),
        ("public pool", "/pool", "head"),
        ("public pool (rep)", "/pool", "rep"),
        ("tickets", "/tickets", "head"),
        ("tickets, overdue", "/tickets?state=overdue", "head"),
        ("alerts", "/alerts", "head"),
        ("reports (month)", f"/reports?start={start}", "head"),
        ("reports (rep)", f"/reports?start={start}", "rep"),
    ]


def print_first_reports(client: TestClient, engine, token: str, path: str) -> None:  # type: ignore[no-untyped-def]
    """The reports page with nothing rolled up yet: it rolls up the finished days of the month first."""
    with engine.begin() as conn:
        conn.execute(RepActivityDay.__table__.delete())
        conn.execute(RepActivityRollup.__table__.delete())
    client.cookies.set("fieldcrm_session", token)
    start, start_cpu = time.perf_counter(), time.process_time()
    assert client.get(path).status_code == 200
    elapsed, cpu = (time.perf_counter() - start) * 1000, (time.process_time() - start_cpu) * 1000
    with engine.connect() as conn:
        days = conn.execute(text("SELECT count(*) FROM rep_activity_rollup")).scalar_one()
    print(f"reports (month), first view: {elapsed:.0f} ms ({cpu:.0f} ms CPU), rolling up {days} finished days")


def _load_or_build(args: argparse.Namespace, url: str, folder: Path) -> tuple[Any, dict[str, Any]]:  # type: ignore[no-untyped-def]
    saved = folder / "bench-ids.json"
    if args.keep and saved.exists() and not args.postgres:
        print(f"reusing the database in {folder} (migrated to the current schema)")
        started = time.perf_counter()
        upgrade(url)
        print(f"migrations: {time.perf_counter() - started:.0f} s")
        return make_engine(url), json.loads(saved.read_text())
    if args.postgres:
        engine = make_engine(url)
        with engine.begin() as conn:
            conn.execute(text("DROP SCHEMA IF EXISTS public CASCADE"))
            conn.execute(text("CREATE SCHEMA public"))
    upgrade(url)
    engine = make_engine(url)
    started = time.perf_counter()
    ids = build(engine, args.customers, args.events, args.reps, args.scale)
    print(
        f"built {args.customers:,} customers, {args.events:,} timeline events, {args.reps:,} reps, "
        f"{10 * args.scale:,} opportunities, {2 * args.scale:,} tickets, {100 * args.scale:,} calls "
        f"in {time.perf_counter() - started:.0f} s ({'PostgreSQL' if args.postgres else 'SQLite'})"
    )
    with engine.begin() as conn:
        conn.execute(text("ANALYZE"))
    ids = {k: v for k, v in ids.items() if k != "devices"}
    saved.write_text(json.dumps(ids))
    return engine, ids


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--customers", type=int, default=100_000)
    parser.add_argument("--events", type=int, default=1_000_000, help="timeline events (target: 10,000,000)")
    parser.add_argument("--reps", type=int, default=2000)
    parser.add_argument(
        "--scale", type=int, default=2000, help="CRM rows: 10× opportunities, 100× calls, ..."
    )
    parser.add_argument("--requests", type=int, default=40)
    parser.add_argument("--postgres", help="PostgreSQL URL (its public schema is dropped)")
    parser.add_argument("--keep", type=Path, help="SQLite folder kept between runs (built once, then reused)")
    parser.add_argument("--no-browser", action="store_true")
    args = parser.parse_args()

    folder = args.keep or Path(tempfile.mkdtemp(prefix="bench-dashboard-"))
    folder.mkdir(parents=True, exist_ok=True)
    url = args.postgres or f"sqlite:///{folder / 'bench.db'}"
    engine, ids = _load_or_build(args, url, folder)
    settings = Settings(
        dev_mode=True, data_dir=folder, database_url=url, tracking_hours="always", tracking_days="1-7"
    )
    app = served_app(settings, engine)  # as `fieldcrm serve` runs it: frozen out of the GC
    with Session(engine) as session:
        tokens = {
            name: issue_user_token(
                session,
                user=session.get(User, ids[name]),  # type: ignore[arg-type]
                kind=TokenKind.session,
                lifetime=timedelta(hours=1),
                now=datetime.now(UTC),
            ).secret
            for name in ("head", "rep")
        }
    print(f"load average before: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    with TestClient(app) as client:
        print_first_reports(client, engine, tokens["head"], cases(ids, args.reps)[-2][1])
        print("\n| case | p50 ms | p95 ms | CPU p50 ms | × baseline (p50) | load |\n|---|---|---|---|---|---|")
        baseline = None
        for label, path, who in cases(ids, args.reps):
            client.cookies.set("fieldcrm_session", tokens[who.split("-")[0]])
            times, cpu, not_modified = timed(client, path, args.requests, revalidate=who.endswith("-etag"))
            times.sort()
            p50, p95 = statistics.median(times), times[int(0.95 * (len(times) - 1))]
            baseline = baseline or p50
            note = f" ({not_modified}/{len(times)} answered 304)" if who.endswith("-etag") else ""
            print(
                f"| {label}{note} | {p50:.1f} | {p95:.1f} | {statistics.median(cpu):.1f} | {p50 / baseline:.1f} "
                f"| {os.getloadavg()[0]:.1f} |"
            )
    print(f"load average after: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    if not args.no_browser:
        import threading

        import uvicorn

        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            port = sock.getsockname()[1]
        server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
        threading.Thread(target=server.run, daemon=True).start()
        while not server.started:
            time.sleep(0.05)
        renders = sorted(
            first_render_ms(f"http://127.0.0.1:{port}", "bench.head", args.reps) for _ in range(5)
        )
        print(
            f"\nChromium: live map with {args.reps} markers rendered in "
            + (
                f"{statistics.median(renders):.0f} ms (median of 5; max {renders[-1]:.0f})"
                if renders[0] >= 0
                else "— (no Chromium on this machine)"
            )
        )
        server.should_exit = True
    if not args.keep:
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
