"""Per-device tokens issued by the server, kept in one JSON file readable only by its owner (mode 600).

Tokens are never printed: :class:`DeviceCredential` hides the token from ``repr``.
"""

from __future__ import annotations

import fcntl
import json
import os
import stat
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path

from device_agent.errors import AgentError

FILE_MODE = 0o600


@dataclass(frozen=True)
class DeviceCredential:
    serial: str
    device_id: int
    token: str = field(repr=False)
    division_id: int | None = None
    rep_user_id: int | None = None
    enrolled_at: str = ""


class CredentialStore:
    """``{serial: credential}`` in a file written atomically with mode 600."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = threading.Lock()

    @contextmanager
    def _locked(self) -> Iterator[None]:
        """Serialise read-modify-write across threads and agent processes."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self._lock, open(self.path.with_suffix(".lock"), "a") as lock_file:
            fcntl.flock(lock_file, fcntl.LOCK_EX)
            yield

    def _read(self) -> dict[str, DeviceCredential]:
        if not self.path.exists():
            return {}
        mode = stat.S_IMODE(self.path.stat().st_mode)
        if mode & 0o077:
            raise AgentError(
                f"{self.path} is readable by others (mode {mode:o}); run `chmod 600 {self.path}`"
            )
        try:
            raw = json.loads(self.path.read_text(encoding="utf-8"))
            return {serial: DeviceCredential(**value) for serial, value in raw.items()}
        except (ValueError, TypeError) as exc:
            raise AgentError(f"{self.path} is not a credentials file: {exc}") from exc

    def _write(self, creds: dict[str, DeviceCredential]) -> None:
        tmp = self.path.with_suffix(".tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, FILE_MODE)
        try:
            os.fchmod(fd, FILE_MODE)
            with os.fdopen(fd, "w", encoding="utf-8") as out:
                json.dump({serial: asdict(c) for serial, c in creds.items()}, out, indent=1)
                out.flush()
                os.fsync(out.fileno())
        except BaseException:
            tmp.unlink(missing_ok=True)
            raise
        os.replace(tmp, self.path)

    def get(self, serial: str) -> DeviceCredential | None:
        with self._locked():
            return self._read().get(serial)

    def all(self) -> dict[str, DeviceCredential]:
        with self._locked():
            return self._read()

    def put(self, credential: DeviceCredential) -> None:
        with self._locked():
            creds = self._read()
            creds[credential.serial] = credential
            self._write(creds)

    def remove(self, serial: str) -> bool:
        with self._locked():
            creds = self._read()
            if creds.pop(serial, None) is None:
                return False
            self._write(creds)
            return True
