"""Settings: the only place that reads the environment (prefix ``FIELDCRM_``)."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from pydantic import Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

DEFAULT_SECRET = "dev-insecure-secret-change-me"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="FIELDCRM_", env_file=".env", extra="ignore")

    dev_mode: bool = Field(default=False, description="Allows the default secret key; never in production.")
    data_dir: Path = Field(default=Path("./data"), description="Embedded database, recordings, outbox files.")
    database_url: str | None = Field(
        default=None, description="SQLAlchemy URL; default is a SQLite file under the data dir."
    )
    secret_key: str = DEFAULT_SECRET
    default_region: str = Field(default="CN", description="Phone-number region for numbers without +CC.")
    time_zone: str = "Asia/Shanghai"
    max_body_bytes: int = Field(default=4 * 1024 * 1024, description="Request body limit outside uploads.")
    max_upload_bytes: int = Field(default=2 * 1024 * 1024 * 1024, description="Recording upload limit.")
    session_hours: int = 12
    api_token_days: int = 90
    login_attempts_per_minute: int = 10
    log_json: bool = False
    log_level: str = "INFO"
    ingest_max_batch: int = Field(default=5000, description="Most records in one ingestion batch.")
    ingest_max_clock_skew_s: int = Field(default=86400, description="How far in the future a record may be.")
    recording_match_tolerance_s: int = Field(default=120, description="Recording start vs call-log time.")
    transcription_engine: str = Field(default="none", description="Speech engine: none or vosk.")
    transcription_model_dir: Path | None = Field(default=None, description="Unpacked Vosk model directory.")

    @model_validator(mode="after")
    def _normalise(self) -> Settings:
        self.default_region = self.default_region.upper()
        return self

    @property
    def effective_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.data_dir / 'fieldcrm.db').resolve()}"

    @property
    def is_sqlite(self) -> bool:
        return self.effective_database_url.startswith("sqlite")

    @property
    def recordings_dir(self) -> Path:
        return self.data_dir / "recordings"

    def insecure_reasons(self) -> list[str]:
        """What makes these settings unfit for production (empty when they are fine)."""
        reasons = []
        if self.secret_key == DEFAULT_SECRET:
            reasons.append("FIELDCRM_SECRET_KEY is the built-in default")
        elif len(self.secret_key) < 32:
            reasons.append("FIELDCRM_SECRET_KEY is shorter than 32 characters")
        return reasons

    def check_can_start(self) -> None:
        if not self.dev_mode and (reasons := self.insecure_reasons()):
            raise InsecureSettingsError(
                "; ".join(reasons) + " (set it, or FIELDCRM_DEV_MODE=1 for development)"
            )


class InsecureSettingsError(RuntimeError):
    """Raised when the server would start with settings that are unsafe outside dev mode."""


@lru_cache
def get_settings() -> Settings:
    return Settings()
