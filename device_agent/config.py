"""Agent settings (prefix ``FIELDCRM_AGENT_``); the only place the agent reads the environment.

These are settings of the office PC that runs the agent, not of the server.
"""

from __future__ import annotations

from pathlib import Path

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


class AgentSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="FIELDCRM_AGENT_", env_file=".env", extra="ignore")

    server_url: str = Field(default="http://127.0.0.1:8000", description="Base URL of the fieldcrm server.")
    tracker_url: str | None = Field(
        default=None, description="URL the phones' tracker posts to; default: the server URL + /api/v1/trackers/owntracks."
    )
    state_dir: Path = Field(default=Path("./agent-data"), description="Outbox, credentials, staged recordings.")
    admin_token: str | None = Field(default=None, description="An admin API token (fcu_…) for enrolment.")
    enrolment_code: str | None = Field(default=None, description="A one-time enrolment code (fce_…).")
    adb_host: str = "127.0.0.1"
    adb_port: int = Field(default=5037, description="Port of the adb server (ANDROID_ADB_SERVER_PORT).")
    tcp_devices: list[str] = Field(default_factory=list, description="host:port of phones reached over Wi-Fi.")
    tracker_apk: Path | None = Field(default=None, description="Tracker APK installed by `provision`.")
    tracker_package: str = "org.owntracks.android"
    tracker_permissions: list[str] = Field(
        default_factory=lambda: [
            "android.permission.ACCESS_FINE_LOCATION",
            "android.permission.ACCESS_COARSE_LOCATION",
            "android.permission.ACCESS_BACKGROUND_LOCATION",
            "android.permission.POST_NOTIFICATIONS",
        ]
    )
    capture_contacts: bool = Field(
        default=True, description="Read the phones' contacts (off where company policy does not allow it)."
    )
    extra_recording_folders: list[str] = Field(
        default_factory=list, description="Folders under /sdcard to scan besides the OEM recorder folders."
    )
    batch_size: int = Field(default=2000, ge=1, le=5000, description="Records per upload request.")
    chunk_bytes: int = Field(default=4 * 1024 * 1024, ge=64 * 1024, description="Recording upload chunk size.")
    upload_workers: int = Field(default=3, ge=1, le=16, description="Recording uploads at once per phone.")
    recording_batch_bytes: int = Field(
        default=16 * 1024 * 1024,
        ge=0,
        description="Recordings up to chunk_bytes go several to a request, up to this many bytes (0: one by one).",
    )
    recording_batch_files: int = Field(default=32, ge=1, le=100, description="Recordings per batch request.")
    max_attempts: int = Field(default=8, ge=1, description="Upload attempts per request within one sync.")
    backoff_s: float = Field(default=0.5, ge=0, description="First retry delay; doubles each attempt.")
    backoff_max_s: float = Field(default=30.0, ge=0)
    http_timeout_s: float = Field(default=60.0, gt=0)
    min_free_bytes: int = Field(
        default=200 * 1024 * 1024, ge=0, description="Host free space kept in reserve; pulls stop below it."
    )
    sync_interval_s: int = Field(default=900, ge=10, description="How often `watch` syncs connected phones.")
    verify_timeout_s: float = Field(default=120.0, ge=0, description="How long provisioning waits for a fix.")
    auth_timeout_s: float = Field(default=60.0, ge=0, description="How long provisioning waits for the RSA prompt.")
    parallel: int = Field(default=4, ge=1, le=64, description="Phones synced at once.")
    command_poll_s: float = Field(
        default=3.0, ge=0, description="How often `watch` asks the server for commands per phone (0: never)."
    )

    @field_validator("server_url")
    @classmethod
    def _strip_slash(cls, value: str) -> str:
        return value.rstrip("/")

    @property
    def owntracks_url(self) -> str:
        return self.tracker_url or f"{self.server_url}/api/v1/trackers/owntracks"

    @property
    def database_path(self) -> Path:
        return self.state_dir / "agent.db"

    @property
    def credentials_path(self) -> Path:
        return self.state_dir / "credentials.json"

    @property
    def staging_dir(self) -> Path:
        return self.state_dir / "staging"


def load_settings(**overrides: object) -> AgentSettings:
    """Settings from the environment, with explicit values (e.g. CLI options) taking precedence."""
    return AgentSettings(**{k: v for k, v in overrides.items() if v is not None})
