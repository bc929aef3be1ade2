"""Authenticated GET of a small resource against `fieldcrm serve`, next to a bare FastAPI route.

Prints requests/s and p50/p99 latency for N concurrent clients on SQLite (and PostgreSQL when
--postgres URL is given), and the same load against a bare FastAPI route returning a constant,
measured in the same run. The ratio shows what our auth and DB layers cost.

    python scripts/bench_api.py [--clients 8] [--seconds 5 --rounds 3] [--postgres postgresql+psycopg://...]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import NamedTuple
from urllib.parse import urlsplit

import httpx
from pydantic import BaseModel
from rich.console import Console
from rich.table import Table

SECRET = "bench-secret-key-0123456789abcdef0123456789"
FIELDCRM = shutil.which("fieldcrm") or str(Path(sys.executable).parent / "fieldcrm")


class Target(NamedTuple):
    pid: int
    url: str
    headers: dict[str, str]


class Result(BaseModel):
    rps: float
    latencies: list[float]
    cpu_per_request: float


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


async def _client(host: str, port: int, request: bytes, until: float, latencies: list[float]) -> None:
    """One keep-alive connection sending the same request until the deadline.

    A hand-rolled HTTP/1.1 loop on asyncio streams costs a few microseconds per request, so
    the load generator stays a small share of the 2 cores it shares with the server (an
    httpx client spent more CPU than the server it measured).
    """
    reader, writer = await asyncio.open_connection(host, port)
    try:
        while time.perf_counter() < until:
            start = time.perf_counter()
            writer.write(request)
            head = await reader.readuntil(b"\r\n\r\n")
            status = head[9:12]
            length = int(re.search(rb"(?i)content-length: *(\d+)", head).group(1))
            body = await reader.readexactly(length)
            latencies.append(time.perf_counter() - start)
            if status != b"200":
                raise RuntimeError(f"{request.splitlines()[0]!r}: {status!r} {body[:200]!r}")
    finally:
        writer.close()


async def load(url: str, headers: dict[str, str], clients: int, seconds: float) -> tuple[float, list[float]]:
    """Requests/s and latencies of ``clients`` concurrent connections over ``seconds``."""
    parts = urlsplit(url)
    lines = [f"GET {parts.path} HTTP/1.1", f"Host: {parts.netloc}"]
    lines += [f"{name}: {value}" for name, value in headers.items()]
    request = ("\r\n".join(lines) + "\r\n\r\n").encode()
    warm: list[float] = []
    await _client(parts.hostname, parts.port, request, time.perf_counter() + 0.5, warm)
    latencies: list[float] = []
    start = time.perf_counter()
    await asyncio.gather(
        *(_client(parts.hostname, parts.port, request, start + seconds, latencies) for _ in range(clients))
    )
    return len(latencies) / (time.perf_counter() - start), latencies


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process so far (Linux ``/proc``)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def measure(target: Target, clients: int, seconds: float) -> Result:
    """Load the server and note the CPU time its process spent per request."""
    before = cpu_seconds(target.pid)
    rps, latencies = asyncio.run(load(target.url, target.headers, clients, seconds))
    return Result(
        rps=rps, latencies=latencies, cpu_per_request=(cpu_seconds(target.pid) - before) / len(latencies)
    )


def pct(values: list[float], q: float) -> float:
    return statistics.quantiles(values, n=100)[q - 1] * 1000


@contextmanager
def fieldcrm_server(database_url: str | None) -> Iterator[Target]:
    """A migrated ``fieldcrm serve`` with one executive signed in."""
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
            yield Target(server.pid, f"{base}/api/v1/auth/me", {"Authorization": f"Bearer {token}"})
        finally:
            server.terminate()
            server.wait()


@contextmanager
def bare_server() -> Iterator[Target]:
    port = free_port()
    code = (
        f"import uvicorn, scripts.bench_api as b; uvicorn.run(b.bare_app(), port={port}, log_level='warning')"
    )
    server = subprocess.Popen([sys.executable, "-c", code], cwd=Path(__file__).parent.parent)
    try:
        wait_up(f"http://127.0.0.1:{port}/constant")
        yield Target(server.pid, f"http://127.0.0.1:{port}/constant", {})
    finally:
        server.terminate()
        server.wait()


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--seconds", type=float, default=5.0, help="load duration per case and round")
    parser.add_argument("--rounds", type=int, default=3, help="the cases take turns this many times")
    parser.add_argument("--postgres", help="PostgreSQL URL to measure as well (its schema gets migrated)")
    args = parser.parse_args()

    load_before = os.getloadavg()[0]
    with ExitStack() as stack:
        targets = {"bare FastAPI constant": stack.enter_context(bare_server())}
        targets["fieldcrm GET /auth/me (SQLite)"] = stack.enter_context(fieldcrm_server(None))
        if args.postgres:
            targets["fieldcrm GET /auth/me (PostgreSQL)"] = stack.enter_context(
                fieldcrm_server(args.postgres)
            )
        rounds: dict[str, list[Result]] = {name: [] for name in targets}
        for _ in range(args.rounds):
            for name, target in targets.items():
                rounds[name].append(measure(target, args.clients, args.seconds))
    best = {name: max(results, key=lambda r: r.rps) for name, results in rounds.items()}
    bare = best["bare FastAPI constant"]

    table = Table(
        title=f"API, {args.clients} concurrent clients, best of {args.rounds} alternating rounds of "
        f"{args.seconds:g} s (load average {load_before:.1f} → {os.getloadavg()[0]:.1f})"
    )
    for column in ("case", "req/s", "all rounds", "p50 ms", "p99 ms", "server CPU µs/req", "× bare"):
        table.add_column(column, justify="right")
    for name, result in best.items():
        table.add_row(
            name,
            f"{result.rps:,.0f}",
            " / ".join(f"{r.rps:,.0f}" for r in rounds[name]),
            f"{pct(result.latencies, 50):.1f}",
            f"{pct(result.latencies, 99):.1f}",
            f"{result.cpu_per_request * 1e6:,.0f}",
            f"{result.rps / bare.rps:.2f}",
        )
    Console().print(table)
    print("target: fieldcrm ≥ 0.5× bare (req/s). Server CPU is the uvicorn process only")
    print("(PostgreSQL's own backend process is not in it).")


if __name__ == "__main__":
    main()
