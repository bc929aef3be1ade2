"""Throughput of the simulated phone through the real adb server.

Prints one table:
  * `adb pull` of ~200 MB of recordings (WAV, so generation is quick), next to the
    same files copied over a plain local TCP socket in the same run (the transport limit);
  * `content query` of 20,000 SMS (rows/s, adb shell through the server);
  * 20 phones served at once from one process: every phone pulled and queried from
    its own thread; errors counted.

    python scripts/bench_sim.py [--adb PATH] [--megabytes 200] [--phones 20]
"""

from __future__ import annotations

import argparse
import shutil
import socket
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from device_agent.simulator import PhoneCore, PhoneFleet, SimulatedPhone, generate_fleet, generate_phone
from device_agent.simulator.adbserver import AdbServer, adb_binaries
from device_agent.simulator.oem import OEMS

NOW = datetime(2024, 5, 15, 19, 0, tzinfo=ZoneInfo("Asia/Shanghai"))
WAV_BYTES_PER_SECOND = 32_000
RECORDING_MB = 10
SMS_ROWS = 20_000
ROUNDS = 2


def make_bench_phone(root: Path, megabytes: int) -> Path:
    """A phone whose recorder folder holds `megabytes` of WAV recordings and 20,000 SMS."""
    phone_dir = root / "bench-phone"
    generate_phone(phone_dir, seed=99, oem="pixel", days=0, now=NOW, recordings_enabled=False)
    core = PhoneCore(phone_dir)
    assert core.state.generator is not None
    core.state.generator.recording_format = "wav"
    core.state.provider_access["sms"] = True
    seconds = RECORDING_MB * 1_000_000 / WAV_BYTES_PER_SECOND
    start = core.now_ms() - 86_400_000
    for i in range(max(1, megabytes // RECORDING_MB)):
        core.add_call(
            f"+86138{i:08d}",
            int(seconds),
            call_type=2,
            time_ms=start + i * 600_000,
            recording_seconds=seconds,
        )
    for i in range(SMS_ROWS):
        body = f"王经理您好, 报价={1000 + i}元,\n明天上午10点到 🙂" if i % 5 == 0 else f"收到, 第{i}条, a=b"
        core.add_sms(f"+86139{i % 500:08d}", body, sms_type=1 + i % 2, time_ms=start + i * 1000)
    core.save()
    return phone_dir


def folder_bytes(folder: Path) -> int:
    return sum(p.stat().st_size for p in folder.rglob("*") if p.is_file())


def socket_copy(files: list[Path], dest: Path) -> float:
    """Seconds to send the files over one loopback TCP connection and write them to dest."""
    server = socket.create_server(("127.0.0.1", 0))
    port = server.getsockname()[1]

    def send() -> None:
        conn, _ = server.accept()
        with conn:
            for path in files:
                with path.open("rb") as f:
                    conn.sendfile(f)

    sender = threading.Thread(target=send)
    sender.start()
    sizes = [p.stat().st_size for p in files]
    t0 = time.perf_counter()
    with socket.create_connection(("127.0.0.1", port)) as client:
        for path, size in zip(files, sizes, strict=True):
            with (dest / path.name).open("wb") as out:
                remaining = size
                while remaining:
                    chunk = client.recv(min(1 << 20, remaining))
                    if not chunk:
                        raise ConnectionError("socket copy ended early")
                    out.write(chunk)
                    remaining -= len(chunk)
    elapsed = time.perf_counter() - t0
    sender.join()
    server.close()
    return elapsed


def bench_single(adb: AdbServer, root: Path, megabytes: int) -> list[tuple[str, str, str]]:
    phone_dir = make_bench_phone(root, megabytes)
    rows = []
    with SimulatedPhone(phone_dir) as phone:
        device = adb.connect(phone)
        remote = "/sdcard/" + OEMS["pixel"].recorder_folder(phone.state.identity.sdk)
        folder = phone.core.fs.host_path(remote)
        files = sorted(folder.iterdir())
        total_mb = folder_bytes(folder) / 1e6
        base = pulled = float("inf")
        for attempt in range(ROUNDS):  # best of ROUNDS each, interleaved, so both see the same machine
            copy_dir = root / f"socket-copy-{attempt}"
            copy_dir.mkdir()
            base = min(base, socket_copy(files, copy_dir))
            shutil.rmtree(copy_dir)
            pull_dir = root / f"pulled-{attempt}"
            t0 = time.perf_counter()
            result = adb.run("-s", phone.address, "pull", remote, str(pull_dir), timeout=600)
            pulled = min(pulled, time.perf_counter() - t0)
            if result.returncode != 0 or folder_bytes(pull_dir) != folder_bytes(folder):
                raise SystemExit(f"adb pull failed: {result.stderr}")
            shutil.rmtree(pull_dir)
        rows.append((f"socket copy {total_mb:.0f} MB (baseline)", f"{total_mb / base:.0f} MB/s", "1.00x"))
        rows.append((f"adb pull {total_mb:.0f} MB", f"{total_mb / pulled:.0f} MB/s", f"{base / pulled:.2f}x"))
        t0 = time.perf_counter()
        out = device.shell("content query --uri content://sms", encoding=None)
        queried = time.perf_counter() - t0
        count = out.count(b"\nRow: ") + out.startswith(b"Row: ")
        if count != len(phone.state.sms):
            raise SystemExit(f"content query returned {count} rows, expected {len(phone.state.sms)}")
        rows.append(
            (f"content query {count} SMS ({len(out) / 1e6:.1f} MB)", f"{count / queried:,.0f} rows/s", "")
        )
        adb.disconnect(phone)
    return rows


def bench_fleet(adb: AdbServer, root: Path, phones: int) -> tuple[str, str, str]:
    generate_fleet(root / "fleet", phones, seed=5, days=1, now=NOW)
    errors = 0
    moved = 0
    rounds = 3
    with PhoneFleet(root / "fleet", base_port=0) as fleet:
        devices = [adb.connect(p) for p in fleet]

        def work(index: int) -> int:
            phone, device = fleet.phones[index], devices[index]
            got = 0
            for _ in range(rounds):
                if device.shell("echo ok") != "ok":
                    raise RuntimeError("shell")
                got += len(device.shell("content query --uri content://call_log/calls", encoding=None))
                folder = root / "fleet-pull" / str(index)
                folder.parent.mkdir(parents=True, exist_ok=True)
                result = adb.run("-s", phone.address, "pull", "/sdcard/", str(folder), timeout=300)
                if result.returncode != 0:
                    raise RuntimeError(result.stderr)
                got += folder_bytes(folder)
                shutil.rmtree(folder)
            return got

        t0 = time.perf_counter()
        with ThreadPoolExecutor(max_workers=phones) as pool:
            futures = [pool.submit(work, i) for i in range(phones)]
            for future in futures:
                try:
                    moved += future.result()
                except Exception as exc:
                    errors += 1
                    print(f"error: {exc!r}"[:300])
        elapsed = time.perf_counter() - t0
        for phone in fleet:
            adb.disconnect(phone)
    operations = phones * rounds * 3
    return (
        f"{phones} phones at once ({phones * rounds} pulls of /sdcard, {phones * rounds * 2} shells)",
        f"{operations / elapsed:.0f} ops/s, {moved / 1e6 / elapsed:.0f} MB/s",
        f"{errors} errors",
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--adb", default=adb_binaries()["bundled"], help="adb binary (default: the adbutils one)"
    )
    parser.add_argument("--megabytes", type=int, default=200)
    parser.add_argument("--phones", type=int, default=20)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-sim-") as tmp, AdbServer(args.adb) as adb:
        root = Path(tmp)
        rows = bench_single(adb, root, args.megabytes)
        rows.append(bench_fleet(adb, root, args.phones))
    width = max(len(r[0]) for r in rows)
    print(f"adb: {args.adb}")
    print(f"{'measure':<{width}}  {'throughput':>22}  {'vs socket':>10}")
    for name, value, ratio in rows:
        print(f"{name:<{width}}  {value:>22}  {ratio:>10}")


if __name__ == "__main__":
    main()
