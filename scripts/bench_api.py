"""Authenticated GET of a small resource against `fieldcrm serve`, next to a bare FastAPI route.

Prints requests/s and p50/p99 latency for N concurrent clients on SQLite (and PostgreSQL when
--postgres URL is given), and the same load against a bare FastAPI route returning a constant,
measured in the same run. The ratio shows what our auth and DB layers cost.

    python scripts/bench_api.py [--clients 8] [--requests 3000] [--postgres postgresql+psycopg://...]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
from rich.console import Console
from rich.table import Table

SECRET = "bench-secret-key-0123456789abcdef0123456789"
FIELDCRM = shutil.which("fieldcrm") or str(Path(sys.executable).parent / "fieldcrm")


def bare_app():  # type: ignore[no-untyped-def]
    from fastapi import FastAPI

    app = FastAPI()

    @app.get("/constant")
    def constant() -> dict[str, str]:
        return {"username": "bench", "role": "rep"}

    return app


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_up(url: str) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            httpx.get(url, timeout=1)
            return
        except httpx.TransportError:
            time.sleep(0.1)
    raise RuntimeError(f"{url} did not come up")


async def load(url: str, headers: dict[str, str], clients: int, total: int) -> tuple[float, list[float]]:
    latencies: list[float] = []
    remaining = total

    async def worker(client: httpx.AsyncClient) -> None:
        nonlocal remaining
        while remaining > 0:
            remaining -= 1
            start = time.perf_counter()
            response = await client.get(url, headers=headers)
            latencies.append(time.perf_counter() - start)
            if response.status_code != 200:
                raise RuntimeError(f"{url}: {response.status_code} {response.text[:200]}")

    limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)
    async with httpx.AsyncClient(limits=limits, timeout=30) as client:
        await client.get(url, headers=headers)  # warm up
        start = time.perf_counter()
        await asyncio.gather(*(worker(client) for _ in range(clients)))
        elapsed = time.perf_counter() - start
    return total / elapsed, latencies


def pct(values: list[float], q: float) -> float:
    return statistics.quantiles(values, n=100)[q - 1] * 1000


def run_fieldcrm(database_url: str | None, clients: int, total: int) -> tuple[float, list[float]]:
    with tempfile.TemporaryDirectory() as tmp:
        env = {k: v for k, v in os.environ.items() if not k.startswith("FIELDCRM_")}
        env |= {"FIELDCRM_DATA_DIR": tmp, "FIELDCRM_SECRET_KEY": SECRET, "FIELDCRM_LOG_LEVEL": "WARNING"}
        if database_url:
            env["FIELDCRM_DATABASE_URL"] = database_url
        subprocess.run([FIELDCRM, "db", "upgrade"], env=env, check=True, capture_output=True)
        subprocess.run(
            [FIELDCRM, "division", "create", "Bench", f"B{os.getpid()}"], env=env, capture_output=True
        )
        user = f"bench{os.getpid()}"
        subprocess.run(
            [FIELDCRM, "user", "create", user, "--role", "executive", "--password", "bench-password"],
            env=env,
            check=True,
            capture_output=True,
        )
        port = free_port()
        server = subprocess.Popen(
            [FIELDCRM, "serve", "--port", str(port)], env=env, stderr=subprocess.DEVNULL
        )
        try:
            base = f"http://127.0.0.1:{port}"
            wait_up(f"{base}/healthz")
            token = httpx.post(
                f"{base}/api/v1/auth/login", json={"username": user, "password": "bench-password"}
            ).json()["access_token"]
            return asyncio.run(
                load(f"{base}/api/v1/auth/me", {"Authorization": f"Bearer {token}"}, clients, total)
            )
        finally:
            server.terminate()
            server.wait()


def run_bare(clients: int, total: int) -> tuple[float, list[float]]:
    port = free_port()
    code = (
        f"import uvicorn, scripts.bench_api as b; uvicorn.run(b.bare_app(), port={port}, log_level='warning')"
    )
    server = subprocess.Popen([sys.executable, "-c", code], cwd=Path(__file__).parent.parent)
    try:
        wait_up(f"http://127.0.0.1:{port}/constant")
        return asyncio.run(load(f"http://127.0.0.1:{port}/constant", {}, clients, total))
    finally:
        server.terminate()
        server.wait()


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--requests", type=int, default=3000)
    parser.add_argument("--postgres", help="PostgreSQL URL to measure as well (its schema gets migrated)")
    args = parser.parse_args()

    bare_rps, bare_lat = run_bare(args.clients, args.requests)
    rows = [("bare FastAPI constant", bare_rps, bare_lat)]
    rows.append(("fieldcrm GET /auth/me (SQLite)", *run_fieldcrm(None, args.clients, args.requests)))
    if args.postgres:
        rows.append(
            ("fieldcrm GET /auth/me (PostgreSQL)", *run_fieldcrm(args.postgres, args.clients, args.requests))
        )

    table = Table(title=f"API latency, {args.clients} concurrent clients, {args.requests} requests each")
    for column in ("case", "req/s", "p50 ms", "p99 ms", "× bare"):
        table.add_column(column, justify="right")
    for name, rps, lat in rows:
        table.add_row(
            name, f"{rps:,.0f}", f"{pct(lat, 50):.1f}", f"{pct(lat, 99):.1f}", f"{rps / bare_rps:.2f}"
        )
    Console().print(table)
    print("target: fieldcrm ≥ 0.5× bare")


if __name__ == "__main__":
    main()
