"""Dashboard benchmark: server time per page, live-map GeoJSON, and Chromium's first render of the live map.

    python scripts/bench_dashboard.py [--customers 100000] [--events 10000000] [--reps 2000]
                                      [--requests 40] [--postgres URL] [--no-browser]

Builds a database of that size (bulk inserts; SQLite file in a temp folder, or the given
PostgreSQL database, whose public schema is dropped), then times each page in-process
(server time: routing, queries, templates) against ``/healthz`` as the baseline, and
``GET /api/v1/locations/live`` with every rep positioned. With Chromium present it
also measures the time from navigation until all rep markers are on the live map.
Targets: pages < 300 ms p95, live GeoJSON < 50 ms, first render < 2 s.
"""

from __future__ import annotations

import argparse
import random
import shutil
import socket
import statistics
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from fastapi.testclient import TestClient
from sqlalchemy import insert, text
from sqlmodel import Session

from crm.customers import Customer
from crm.devices import Device
from crm.locations import RepPosition
from crm.org import Division, Role, User
from crm.timeline import TimelineEvent
from lbs.cells import cell_of
from server.app import create_app
from server.auth.models import TokenKind
from server.auth.secrets import hash_password
from server.auth.service import issue_user_token
from server.config import Settings
from server.db import make_engine
from server.migrate import upgrade

PASSWORD = "bench-password-123"
CENTER = (31.2304, 121.4737)
CHUNK = 20_000


def _chunks(rows_of, total: int):  # type: ignore[no-untyped-def]
    for start in range(0, total, CHUNK):
        yield [rows_of(i) for i in range(start, min(total, start + CHUNK))]


def build(engine, customers: int, events: int, reps: int) -> dict[str, int]:  # type: ignore[no-untyped-def]
    rng = random.Random(7)
    now = datetime.now(UTC)
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
        session.commit()
        div, head_id = division.id, head.id
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

        for rows in _chunks(customer, customers):
            conn.execute(insert(Customer), rows)
        first = conn.execute(text("SELECT min(id) FROM customer")).scalar_one()
    hot = first  # one customer carries a long history; the rest spread evenly
    with engine.begin() as conn:

        def event(i: int) -> dict:
            cid = hot if i % 10 == 0 else first + rng.randrange(customers)
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

        for rows in _chunks(event, events):
            conn.execute(insert(TimelineEvent), rows)
    return {"head": head_id, "rep": rep_ids[0], "customer": hot, "division": div}


def timed(client: TestClient, path: str, headers: dict[str, str], n: int) -> list[float]:
    client.get(path, headers=headers)  # warm
    out = []
    for _ in range(n):
        start = time.perf_counter()
        response = client.get(path, headers=headers)
        out.append((time.perf_counter() - start) * 1000)
        assert response.status_code == 200, (path, response.status_code, response.text[:200])
    return out


def first_render_ms(base_url: str, username: str, reps: int) -> float | None:
    executable = shutil.which("chromium")
    if executable is None:
        return None
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


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--customers", type=int, default=100_000)
    parser.add_argument("--events", type=int, default=1_000_000, help="timeline events (target: 10,000,000)")
    parser.add_argument("--reps", type=int, default=2000)
    parser.add_argument("--requests", type=int, default=40)
    parser.add_argument("--postgres", help="PostgreSQL URL (its public schema is dropped)")
    parser.add_argument("--no-browser", action="store_true")
    args = parser.parse_args()

    folder = Path(tempfile.mkdtemp(prefix="bench-dashboard-"))
    url = args.postgres or f"sqlite:///{folder / 'bench.db'}"
    if args.postgres:
        engine = make_engine(url)
        with engine.begin() as conn:
            conn.execute(text("DROP SCHEMA IF EXISTS public CASCADE"))
            conn.execute(text("CREATE SCHEMA public"))
    upgrade(url)
    engine = make_engine(url)
    started = time.perf_counter()
    ids = build(engine, args.customers, args.events, args.reps)
    print(
        f"built {args.customers:,} customers, {args.events:,} timeline events, {args.reps:,} reps "
        f"in {time.perf_counter() - started:.0f} s ({'PostgreSQL' if args.postgres else 'SQLite'})"
    )
    settings = Settings(
        dev_mode=True, data_dir=folder, database_url=url, tracking_hours="always", tracking_days="1-7"
    )
    app = create_app(settings, engine)
    with Session(engine) as session:
        head = session.get(User, ids["head"])
        rep = session.get(User, ids["rep"])
        tokens = {
            name: issue_user_token(
                session, user=user, kind=TokenKind.session, lifetime=timedelta(hours=1), now=datetime.now(UTC)
            ).secret
            for name, user in (("head", head), ("rep", rep))
        }
    cases = [
        ("baseline: /healthz", "/healthz", "head"),
        ("customer list", "/customers", "head"),
        ("customer list, search", "/customers?q=客户0999", "head"),
        ("customer 360 (long history)", f"/customers/{ids['customer']}", "head"),
        ("timeline page (API, 50 events)", f"/api/v1/customers/{ids['customer']}/timeline", "head"),
        ("live map page", "/map", "head"),
        (f"live GeoJSON ({args.reps} reps)", "/api/v1/locations/live", "head"),
        (
            "customer clusters (whole area)",
            "/map/customers.geojson?bbox=30.7,120.9,31.8,122.0&zoom=10",
            "head",
        ),
        ("replay page", f"/replay?rep={ids['rep']}", "head"),
        ("fleet page", "/fleet", "head"),
        ("rep page", "/rep", "rep"),
    ]
    print("\n| case | p50 ms | p95 ms | × baseline (p50) |\n|---|---|---|---|")
    with TestClient(app) as client:
        baseline = None
        for label, path, who in cases:
            client.cookies.set("fieldcrm_session", tokens[who])
            times = sorted(timed(client, path, {}, args.requests))
            p50, p95 = statistics.median(times), times[int(0.95 * (len(times) - 1))]
            baseline = baseline or p50
            print(f"| {label} | {p50:.1f} | {p95:.1f} | {p50 / baseline:.1f} |")
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
        with Session(engine) as session:
            user = session.get(User, ids["head"])
            user.password_hash = hash_password(PASSWORD)
            session.add(user)
            session.commit()
        ms = first_render_ms(f"http://127.0.0.1:{port}", "bench.head", args.reps)
        print(
            f"\nChromium: live map with {args.reps} markers rendered in "
            + (f"{ms:.0f} ms" if ms is not None else "— (no Chromium on this machine)")
        )
        server.should_exit = True
    shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
