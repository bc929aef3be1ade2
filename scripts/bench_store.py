"""Moving verified recordings into the local store: a batch's files together (``put_many`` of the
batch, as a recording batch does) next to the same number of files one at a time (the baseline:
one sync wait after another), in the same run and on the same disk.

    python scripts/bench_store.py [--files 32] [--size-kib 1024] [--rounds 5] [--dir /var/lib/fieldcrm]

``--dir``: where to make the store (its disk is what is measured; default: the temp folder).
"""

from __future__ import annotations

import argparse
import hashlib
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

from rich.console import Console
from rich.table import Table

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from server.recordings.local import LocalStore


def staged_files(folder: Path, count: int, size: int) -> list[tuple[Path, str]]:
    folder.mkdir(parents=True, exist_ok=True)
    files = []
    for i in range(count):
        content = os.urandom(size)
        path = folder / f"{i}.part"
        path.write_bytes(content)
        files.append((path, hashlib.sha256(content).hexdigest()))
    return files


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--files", type=int, default=32)
    parser.add_argument("--size-kib", type=int, default=1024)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--dir", type=Path, default=None)
    args = parser.parse_args()
    root = Path(tempfile.mkdtemp(prefix="bench-store-", dir=args.dir))
    one_by_one: list[float] = []
    together: list[float] = []
    try:
        for round_ in range(args.rounds):
            for label, timings in (("single", one_by_one), ("batch", together)):
                files = staged_files(root / "staging" / f"{label}-{round_}", args.files, args.size_kib * 1024)
                store = LocalStore(root / label)
                start = time.perf_counter()
                if label == "single":
                    for file in files:
                        store.put_many([file])
                else:
                    store.put_many(files)
                timings.append(time.perf_counter() - start)
    finally:
        shutil.rmtree(root)
    table = Table(title=f"{args.files} files of {args.size_kib} KiB into the store (median of {args.rounds})")
    table.add_column("case")
    table.add_column("ms", justify="right")
    table.add_column("ms per file", justify="right")
    for case, timings in (("one at a time (baseline)", one_by_one), ("together (put_many)", together)):
        median = statistics.median(timings) * 1e3
        table.add_row(case, f"{median:.1f}", f"{median / args.files:.2f}")
    Console().print(table)


if __name__ == "__main__":
    main()
