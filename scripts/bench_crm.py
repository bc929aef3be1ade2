"""CRM benchmark: customer lists, the pool reclaim job and a large import (SQLite, or PostgreSQL).

1. 100k customers, 300k contacts (one phone each), 50k opportunities, 200k timeline events.
2. Customer list with filters and sort through the service (scope, keyset, masking, phones):
   page 1 and page 500, as a division head and as a rep (target p95 < 50 ms), next to
   page 500 by OFFSET measured in the same run (the baseline keyset pagination avoids).
3. ``reclaim_pool`` over the 100k customers (target < 5 s).
4. Import of a 50,000-row .xlsx of new customers with the row report (target < 60 s).
5. The import's write path alone: 50,000 customer rows as multi-row INSERTs (the baseline)
   and through ``crm.bulk`` (COPY on PostgreSQL), rolled back.

    python scripts/bench_crm.py [--scale 0.1] [--import-rows 50000]
                                [--postgres postgresql+psycopg://postgres@127.0.0.1/bench]
"""

from __future__ import annotations

import argparse
import io
import random
import statistics
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from openpyxl import Workbook
from rich.console import Console
from rich.table import Table
from sqlalchemy import Engine, insert, select, text
from sqlmodel import Session

from crm.bulk import insert_ids, insert_rows
from crm.customer_service import SORTS, CustomerFilter, customer_query, list_customers
from crm.customers import Contact, ContactPhone, Customer
from crm.importer import ImportOptions, import_table
from crm.org import Division, Role, User
from crm.pipeline import Opportunity, default_pipeline, stages_of
from crm.pool import default_pool
from crm.pool_jobs import reclaim_pool
from crm.timeline import TimelineEvent
from server.db import make_engine
from server.migrate import upgrade

NOW = datetime(2026, 3, 2, 2, 0, tzinfo=UTC)
REGIONS = ["浙江杭州", "浙江宁波", "江苏苏州", "江苏南京", "上海", "安徽合肥"]
TAGS = ["重点", "制造业", "港口", "老客户", "代理商", "政府"]
SURNAMES = "王李张刘陈杨赵黄周吴徐孙胡朱高林何郭马罗"


def _bulk(session: Session, model: type, rows: list[dict[str, Any]]) -> None:
    insert_rows(session, model, rows)
    session.commit()


def customer_rows(division_id: int, rep_ids: list[int], n: int, rng: random.Random) -> list[dict[str, Any]]:
    customers = []
    for i in range(n):
        owner = rng.choice(rep_ids) if rng.random() < 0.8 else None
        created = NOW - timedelta(days=rng.uniform(1, 730))
        owned = created + timedelta(days=rng.uniform(0, 200)) if owner else None
        owned = min(owned, NOW) if owned else None
        name = f"{rng.choice(REGIONS)}{rng.choice(SURNAMES)}氏{i}号贸易有限公司"
        customers.append(
            {
                "division_id": division_id,
                "owner_id": owner,
                "kind": "company",
                "name": name,
                "name_normalised": name[:-4],
                "grade": rng.choice("ABCD"),
                "source": rng.choice(["展会", "官网", "转介绍"]),
                "tags": rng.sample(TAGS, rng.randint(0, 2)),
                "address": "",
                "region": rng.choice(REGIONS),
                "note": "",
                "owned_since": owned,
                "released_at": None if owner else created,
                "last_activity_at": NOW - timedelta(days=rng.uniform(0, 120)) if rng.random() < 0.7 else None,
                "last_deal_at": NOW - timedelta(days=rng.uniform(0, 200)) if rng.random() < 0.3 else None,
                "created_at": created,
                "updated_at": created + timedelta(days=rng.uniform(0, 30)),
            }
        )
    return customers


def populate(engine: Engine, scale: float, rng: random.Random) -> dict[str, Any]:
    n_customers, n_opps, n_events = int(100_000 * scale), int(50_000 * scale), int(200_000 * scale)
    with Session(engine, expire_on_commit=False) as session:
        division = Division(name="华东", code="EAST")
        session.add(division)
        session.flush()
        head = User(username="head", password_hash="x", role=Role.division_head, division_id=division.id)
        reps = [
            User(username=f"rep{i}", password_hash="x", role=Role.rep, division_id=division.id)
            for i in range(50)
        ]
        session.add_all([head, *reps])
        session.flush()
        pool = default_pool(session, division.id)  # type: ignore[arg-type]
        pipeline = default_pipeline(session, division.id)  # type: ignore[arg-type]
        stages = [s.id for s in stages_of(session, pipeline.id) if not s.is_lost and not s.is_won]  # type: ignore[arg-type]
        session.commit()
        rep_ids = [r.id for r in reps]
        customers = customer_rows(division.id, rep_ids, n_customers, rng)  # type: ignore[arg-type]
        _bulk(session, Customer, customers)
        ids = list(session.scalars(select(Customer.id).order_by(Customer.id)))
        contacts = [
            {
                "customer_id": cid,
                "division_id": division.id,
                "name": rng.choice(SURNAMES) + "经理",
                "title": "",
                "email": "",
                "created_at": NOW,
                "is_primary": k == 0,
                "note": "",
            }
            for cid in ids
            for k in range(3)
        ]
        _bulk(session, Contact, contacts)
        phones = [
            {
                "e164": f"+86139{n:08d}",
                "raw": "",
                "customer_id": cid,
                "contact_id": contact_id,
                "division_id": division.id,
                "valid_from": NOW,
                "extra": {},
            }
            for n, (contact_id, cid) in enumerate(session.execute(select(Contact.id, Contact.customer_id)))
        ]
        _bulk(session, ContactPhone, phones)
        _bulk(
            session,
            Opportunity,
            [
                {
                    "division_id": division.id,
                    "owner_id": rng.choice(rep_ids),
                    "customer_id": rng.choice(ids),
                    "pipeline_id": pipeline.id,
                    "stage_id": rng.choice(stages),
                    "name": f"商机{i}",
                    "amount": 10000,
                    "probability": 25,
                    "status": "open",
                    "lost_reason": "",
                    "created_at": NOW,
                    "updated_at": NOW,
                }
                for i in range(n_opps)
            ],
        )
        _bulk(
            session,
            TimelineEvent,
            [
                {
                    "customer_id": rng.choice(ids),
                    "division_id": division.id,
                    "occurred_at": NOW - timedelta(days=rng.uniform(0, 90)),
                    "kind": rng.choice(["call", "sms", "note"]),
                    "source_table": "bench",
                    "source_id": i,
                    "summary": "",
                    "data": {},
                    "created_at": NOW,
                }
                for i in range(n_events)
            ],
        )
        return {
            "division_id": division.id,
            "head": head,
            "rep": reps[0],
            "rep_ids": rep_ids,
            "pool": pool.id,
            "customers": len(ids),
        }


def timed(fn: Callable[[], Any], repeat: int) -> tuple[float, float]:
    samples = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        samples.append((time.perf_counter() - start) * 1000)
    samples.sort()
    return statistics.median(samples), samples[max(0, int(len(samples) * 0.95) - 1)]


def bench_lists(engine: Engine, world: dict[str, Any], table: Table, repeat: int) -> None:
    cases = [
        ("head: grade A/B, -updated", world["head"], CustomerFilter(grade=["A", "B"]), "-updated"),
        ("head: region 浙江, name", world["head"], CustomerFilter(region="浙江"), "name"),
        ("rep: own + pool, name", world["rep"], CustomerFilter(), "name"),
    ]
    with Session(engine, expire_on_commit=False) as session:
        for label, actor, filters, sort in cases:
            first = timed(
                lambda a=actor, f=filters, s=sort: list_customers(
                    session, actor=a, filters=f, sort=s, limit=20
                ),
                repeat,
            )
            cursor, pages = None, 0
            while pages < 499:
                page = list_customers(
                    session, actor=actor, filters=filters, sort=sort, cursor=cursor, limit=20
                )
                if page.next_cursor is None:
                    break
                cursor, pages = page.next_cursor, pages + 1
            deep = timed(
                lambda a=actor, f=filters, s=sort, c=cursor: list_customers(
                    session, actor=a, filters=f, sort=s, cursor=c, limit=20
                ),
                repeat,
            )
            order = SORTS[sort]
            columns = (
                (order.column.desc(), order.id_column.desc())
                if order.descending
                else (order.column, order.id_column)
            )
            offset_stmt = (
                customer_query(session, actor, filters).order_by(*columns).offset(pages * 20).limit(20)
            )
            offset = timed(lambda q=offset_stmt: list(session.exec(q)), repeat)
            table.add_row(f"list {label}: page 1", f"{first[0]:.1f} ms", f"{first[1]:.1f} ms", "p95 < 50 ms")
            table.add_row(
                f"list {label}: page {pages + 1} (keyset)",
                f"{deep[0]:.1f} ms",
                f"{deep[1]:.1f} ms",
                "p95 < 50 ms",
            )
            table.add_row(
                f"  baseline: page {pages + 1} by OFFSET (rows only)",
                f"{offset[0]:.1f} ms",
                f"{offset[1]:.1f} ms",
                "",
            )


def bench_reclaim(engine: Engine, world: dict[str, Any], table: Table) -> None:
    with Session(engine, expire_on_commit=False) as session:
        start = time.perf_counter()
        moved = reclaim_pool(session, NOW)
        elapsed = time.perf_counter() - start
    table.add_row(
        f"reclaim_pool over {world['customers']:,} customers ({moved:,} reclaimed)",
        f"{elapsed:.2f} s",
        "",
        "< 5 s",
    )


def bench_bulk_write(
    engine: Engine, world: dict[str, Any], table: Table, rows: int, rng: random.Random
) -> None:
    """The import's write path alone, rolled back: customer rows as multi-row ``INSERT ... RETURNING``
    statements of 1,000 rows (what SQLAlchemy builds; the baseline) and through ``crm.bulk.insert_ids``."""
    data = customer_rows(world["division_id"], world["rep_ids"], rows, rng)
    table_ = Customer.__table__  # type: ignore[attr-defined]

    def multi_row(session: Session) -> None:
        for i in range(0, len(data), 1000):
            session.scalars(insert(table_).returning(table_.c.id), data[i : i + 1000]).all()

    for label, write in (
        ("multi-row INSERT ... RETURNING (baseline)", multi_row),
        ("crm.bulk.insert_ids", lambda session: insert_ids(session, Customer, data)),
    ):
        with Session(engine) as session:
            start = time.perf_counter()
            write(session)
            elapsed = time.perf_counter() - start
            session.rollback()
        table.add_row(f"write {rows:,} customer rows: {label}", f"{elapsed:.2f} s", "", "")


def messy_xlsx(rows: int, rng: random.Random) -> bytes:
    book = Workbook(write_only=True)
    sheet = book.create_sheet("客户")
    sheet.append(["客户名称", "等级", "手机", "联系人", "标签", "地区", "备注"])
    for i in range(rows):
        # numbers stored as numbers, full-width text, and every 50th lost to scientific notation
        phone: object = 13000000000 + i if i % 3 else f"１３０{i:08d}"
        sheet.append(
            [
                f"导入客户{i}有限公司",
                rng.choice("ABCD"),
                phone if i % 50 else "1.3E+10",
                rng.choice(SURNAMES) + "总",
                rng.choice(TAGS),
                rng.choice(REGIONS),
                "",
            ]
        )
        if i % 1000 == 0:
            sheet.append([None] * 7)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def bench_import(engine: Engine, world: dict[str, Any], table: Table, rows: int, rng: random.Random) -> None:
    content = messy_xlsx(rows, rng)
    with Session(engine, expire_on_commit=False) as session:
        start = time.perf_counter()
        report = import_table(
            session,
            actor=world["head"],
            content=content,
            filename="客户.xlsx",
            options=ImportOptions(dry_run=False),
            now=NOW,
        )
        elapsed = time.perf_counter() - start
    table.add_row(
        f"import {rows:,}-row xlsx ({len(content) / 1e6:.1f} MB): {report.counts}",
        f"{elapsed:.1f} s",
        "",
        "< 60 s",
    )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--scale", type=float, default=1.0, help="fraction of the full data set (1 = 100k customers)"
    )
    parser.add_argument("--postgres", help="PostgreSQL URL (its public schema is dropped and recreated)")
    parser.add_argument("--repeat", type=int, default=30)
    parser.add_argument("--import-rows", type=int, help="rows of the imported .xlsx (default 50,000 x scale)")
    args = parser.parse_args()
    rng = random.Random(7)
    console = Console()
    if args.postgres:
        url = args.postgres
        setup = make_engine(url, pool_size=1)
        with setup.begin() as conn:
            conn.execute(text("DROP SCHEMA IF EXISTS public CASCADE"))
            conn.execute(text("CREATE SCHEMA public"))
        setup.dispose()
    else:
        url = f"sqlite:///{Path(tempfile.mkdtemp(prefix='fieldcrm-bench-crm-')) / 'bench.db'}"
    upgrade(url)
    engine = make_engine(url)
    start = time.perf_counter()
    world = populate(engine, args.scale, rng)
    if args.postgres:  # planner statistics, as autovacuum gives a live database after a bulk load
        with engine.begin() as conn:
            conn.execute(text("ANALYZE"))
    console.print(
        f"populated {world['customers']:,} customers in {time.perf_counter() - start:.0f} s ({engine.url.get_backend_name()})"
    )
    table = Table(title=f"CRM benchmark ({engine.url.get_backend_name()}, scale {args.scale})")
    for column in ("what", "p50 / time", "p95", "target"):
        table.add_column(column)
    bench_lists(engine, world, table, args.repeat)
    bench_reclaim(engine, world, table)
    rows = args.import_rows or int(50_000 * args.scale)
    bench_import(engine, world, table, rows, rng)
    bench_bulk_write(engine, world, table, rows, rng)
    console.print(table)


if __name__ == "__main__":
    main()
