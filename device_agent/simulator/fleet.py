"""PhoneFleet: many simulated phones in one process, one port each, one event loop."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

from .generate import generate_phone
from .loop import LoopThread
from .oem import DEFAULT_MIX
from .phone import SimulatedPhone
from .state import STATE_FILE

DEFAULT_BASE_PORT = 16500
RESERVED_PORTS = range(5555, 5586)


class FleetError(ValueError):
    """A fleet that cannot be started as asked."""


def phone_dirs(state_dir: Path) -> list[Path]:
    """Phone folders under state_dir (each holds a phone.json), in name order."""
    return sorted(p.parent for p in state_dir.glob(f"*/{STATE_FILE}"))


def generate_fleet(state_dir: Path, count: int, *, seed: int = 1, brands: list[str] | None = None,
                   days: int = 3, now: datetime | None = None, first: int = 0, **options: object) -> list[Path]:
    """Generate `count` phones as state_dir/phone-NN (numbering after `first` existing ones);
    brands cycle through the list (default: a market mix)."""
    if count < 1:
        raise FleetError("count must be at least 1")
    mix = brands or list(DEFAULT_MIX)
    made = []
    for i in range(first, first + count):
        phone_dir = state_dir / f"phone-{i + 1:02d}"
        generate_phone(phone_dir, seed=seed * 1000 + i, oem=mix[i % len(mix)], days=days, now=now,
                       **options)  # type: ignore[arg-type]
        made.append(phone_dir)
    return made


class PhoneFleet:
    """Phones from a state folder, served on base_port, base_port+1, ... (0: any free ports)."""

    def __init__(self, state_dir: Path, *, base_port: int = DEFAULT_BASE_PORT, host: str = "127.0.0.1",
                 count: int | None = None) -> None:
        dirs = phone_dirs(Path(state_dir))
        if not dirs:
            raise FleetError(f"no phones in {state_dir} (run `fieldcrm sim generate` first)")
        if count is not None:
            if count > len(dirs):
                raise FleetError(f"{state_dir} holds {len(dirs)} phones, {count} asked for")
            dirs = dirs[:count]
        ports = [0] * len(dirs) if base_port == 0 else list(range(base_port, base_port + len(dirs)))
        if any(p in RESERVED_PORTS for p in ports):
            raise FleetError("ports 5555-5585 are probed by the adb server as emulators; pick another base port")
        self._loop = LoopThread("sim-fleet")
        self.phones = [SimulatedPhone(d, port=p, host=host, loop=self._loop) for d, p in zip(dirs, ports, strict=True)]

    def start(self) -> PhoneFleet:
        try:
            for phone in self.phones:
                phone.start()
        except OSError:
            self.stop()
            raise
        return self

    def stop(self) -> None:
        for phone in self.phones:
            phone.stop()
        self._loop.stop()

    def __enter__(self) -> PhoneFleet:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def __iter__(self) -> Iterator[SimulatedPhone]:
        return iter(self.phones)

    def __len__(self) -> int:
        return len(self.phones)

    def connect(self, adb: str = "adb", server_port: int | None = None) -> list[str]:
        """`adb connect` every phone through the adb binary given; returns adb's answers."""
        prefix = [adb] + (["-P", str(server_port)] if server_port else [])
        return [subprocess.run([*prefix, "connect", phone.address], capture_output=True, text=True,
                               timeout=30).stdout.strip() for phone in self.phones]

    def advance(self, seconds: float) -> None:
        for phone in self.phones:
            phone.advance(seconds)
