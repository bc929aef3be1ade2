"""The phone's state file (phone.json): schema, load and save.

Files on the phone are not in this file: they live in `fs/` next to it,
mirroring device paths (`fs/storage/emulated/0/...` is `/sdcard/...`).
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Annotated, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

STATE_FILE = "phone.json"
FS_DIR = "fs"

Value = int | float | str | None


class StateError(ValueError):
    """A state file that cannot be used, with the reason."""


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Identity(_Model):
    oem: str
    brand: str
    manufacturer: str
    model: str
    device: str
    product: str
    android_release: str
    sdk: int = Field(ge=21, le=40)
    serial: str = Field(min_length=4, max_length=32, pattern=r"^[A-Za-z0-9]+$")
    imei: str = Field(pattern=r"^\d{15}$")
    build_id: str = "TKQ1.221114.001"
    abi: str = "arm64-v8a"


class Fix(_Model):
    """One location fix. `mock` marks a fix from a mock-location provider."""

    time_ms: int
    lat: float = Field(ge=-90, le=90)
    lon: float = Field(ge=-180, le=180)
    accuracy: float = Field(ge=0)
    altitude: float | None = None
    speed: float | None = None
    bearing: float | None = None
    provider: Literal["gps", "network", "fused"] = "gps"
    mock: bool = False


class Battery(_Model):
    level: int = Field(default=80, ge=0, le=100)
    scale: int = 100
    status: int = 3
    health: int = 2
    plugged: Literal["", "ac", "usb", "wireless"] = ""
    temperature: int = 290
    voltage: int = 3980
    technology: str = "Li-ion"


class Package(_Model):
    label: str
    version_name: str = "1.0"
    version_code: int = 1
    system: bool = False
    apk_path: str = ""
    launcher_activity: str | None = None
    requested_permissions: list[str] = []
    granted_permissions: list[str] = []
    appops: dict[str, str] = {}
    config: dict[str, object] | None = None
    first_install_ms: int = 0
    stopped: bool = False
    """Android's "stopped" state: set by a fresh install and `am force-stop`, cleared when the app is started."""


class Generator(_Model):
    """How new activity is made as the clock advances (see generate.py)."""

    seed: int
    home: tuple[float, float]
    recording_seconds: tuple[float, float] = (2.0, 4.0)
    recording_format: str | None = None
    recordings_enabled: bool = True
    workdays: list[Annotated[int, Field(ge=0, le=6)]] = Field(default=[0, 1, 2, 3, 4], min_length=1)
    """Weekdays (0 Monday ... 6 Sunday) the rep goes out to customers; other days they stay home."""


class PhoneState(_Model):
    schema_version: Literal[1] = 1
    identity: Identity
    own_number: str
    timezone: str = "Asia/Shanghai"
    boot_time_ms: int
    clock_ms: int
    contacts: list[dict[str, Value | list[dict[str, Value]]]] = []
    deleted_contacts: list[dict[str, int]] = []
    """Android's log of deleted contacts (``contact_id``, ``contact_deleted_timestamp``), SDK 18+."""
    sms: list[dict[str, Value]] = []
    calls: list[dict[str, Value]] = []
    fixes: list[Fix] = []
    battery: Battery = Battery()
    packages: dict[str, Package] = {}
    settings: dict[Literal["global", "secure", "system"], dict[str, str]] = {"global": {}, "secure": {}, "system": {}}
    deviceidle_whitelist: list[str] = []
    device_owner: str | None = None
    accounts: list[str] = []
    pm_grant_blocked: list[str] = []
    provider_access: dict[str, bool] = {}
    storage_total_bytes: int = 128 * 1024**3
    storage_system_bytes: int = 23 * 1024**3
    adb_authorized: bool = True
    generator: Generator | None = None


def load_state(path: Path) -> PhoneState:
    """Read a state file (JSON, or YAML by extension); StateError says what is wrong."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise StateError(f"cannot read {path}: {exc.strerror}") from exc
    try:
        raw = yaml.safe_load(text) if path.suffix in (".yaml", ".yml") else json.loads(text)
    except (json.JSONDecodeError, yaml.YAMLError) as exc:
        raise StateError(f"{path} is not valid {'YAML' if path.suffix != '.json' else 'JSON'}: {exc}") from exc
    try:
        return PhoneState.model_validate(raw)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(part) for part in first["loc"])
        raise StateError(f"{path}: {where}: {first['msg']} ({exc.error_count()} error(s))") from exc


def save_state(state: PhoneState, path: Path) -> None:
    """Write atomically so a crash never leaves half a state file."""
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_text(state.model_dump_json(indent=1), encoding="utf-8")
    os.replace(tmp, path)
