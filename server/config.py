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
    max_recording_batch_bytes: int = Field(
        default=64 * 1024 * 1024, description="Body limit of a batch of whole recordings (larger files go one by one)."
    )
    max_import_bytes: int = Field(default=50 * 1024 * 1024, description="Spreadsheet import upload limit.")
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
    # Location services (docs/locations.md)
    location_max_accuracy_m: float = Field(default=100.0, gt=0, description="Fixes less accurate are marked.")
    location_future_tolerance_s: float = Field(default=600.0, ge=0, description="Fixes further ahead are marked.")
    location_max_age_days: float = Field(default=7.0, gt=0, description="Fixes older on arrival are marked.")
    location_max_speed_mps: float = Field(default=70.0, gt=0, description="Implied speed above: a jump.")
    location_reject_mock: bool = Field(default=True, description="Mark fixes from a mock provider.")
    location_rejected_sources: str = Field(default="", description="Comma list of providers to mark, e.g. network.")
    tracking_hours: str = Field(default="07:00-21:00", description="Local HH:MM-HH:MM; 'always' tracks all day.")
    tracking_days: str = Field(default="1-6", description="ISO weekdays tracked, e.g. 1-5 or 1,2,3,4,5,6.")
    location_retention_days: int = Field(default=180, ge=1, description="Raw fixes older are deleted by a job.")
    stop_radius_m: float = Field(default=120.0, gt=0)
    stop_min_duration_s: float = Field(default=300.0, ge=0)
    track_gap_s: float = Field(default=900.0, gt=0, description="A longer silence is a tracking gap.")
    track_simplify_m: float = Field(default=10.0, ge=0, description="Douglas-Peucker tolerance for display.")
    long_idle_s: float = Field(default=5400.0, gt=0, description="A stop this long at no customer is an anomaly.")
    live_fresh_s: int = Field(default=300, gt=0, description="Live map: newer positions are fresh.")
    live_offline_s: int = Field(default=1800, gt=0, description="Live map: older positions are offline.")
    checkin_radius_m: float = Field(default=200.0, gt=0, description="Geofence when the customer has none.")
    checkin_max_accuracy_m: float = Field(default=100.0, gt=0)
    checkin_max_photo_bytes: int = Field(default=3 * 1024 * 1024, gt=0)
    dispatch_max_fix_age_s: float = Field(default=900.0, gt=0, description="Older positions are not dispatched.")
    dispatch_rank_by: str = Field(default="travel_time", description="travel_time or distance.")
    dispatch_visit_s: float = Field(default=2700.0, ge=0, description="A rep is busy this long after a check-in.")
    travel_detour_factor: float = Field(default=1.35, ge=1, description="Road distance / straight line.")
    travel_speed_mps: float = Field(default=8.3, gt=0, description="Average speed without a routing service.")
    osrm_url: str | None = Field(default=None, description="OSRM-compatible routing service for travel times.")
    osrm_profile: str = "driving"
    route_solver: str = Field(default="vroom", description="vroom, ortools or vroom+ortools.")
    route_time_limit_s: float = Field(default=2.0, gt=0, description="Solver time when a request gives none.")
    route_max_time_limit_s: float = Field(default=10.0, gt=0, description="Cap on any request's solver time.")
    route_max_concurrent: int = Field(default=2, ge=1, description="Plans solved at once; more get 429.")
    route_max_customers: int = Field(default=300, ge=1)
    office_lat: float | None = Field(default=None, ge=-90, le=90, description="Default start/end of a day route.")
    office_lon: float | None = Field(default=None, ge=-180, le=180)
    geocoder: str = Field(default="none", description="geopy service name (nominatim, arcgis, baiduv3, ...) or none.")
    geocoder_domain: str | None = Field(default=None, description="Provider host, e.g. a self-hosted Nominatim.")
    geocoder_scheme: str = "https"
    geocoder_api_key: str | None = None
    geocoder_user_agent: str = "fieldcrm"
    geocoder_coord_system: str = Field(default="wgs84", description="What the provider returns: wgs84/gcj02/bd09.")
    geocoder_min_delay_s: float = Field(default=1.0, ge=0, description="Pause between provider requests.")
    geocoder_timeout_s: float = Field(default=10.0, gt=0)
    geocoder_batch: int = Field(default=50, ge=1, description="Addresses geocoded per job run.")
    geocoder_retry_days: int = Field(default=30, ge=1, description="An address not found is retried after this.")
    crm_followup_days: int = Field(default=30, description="Open leads/opportunities need an activity this often.")
    public_base_url: str = Field(default="http://localhost:8000", description="Links sent to customers (surveys).")
    crm_outbox_dir: Path | None = Field(default=None, description="Outbox files of SMS/e-mail; default data_dir/outbox.")
    crm_sms_gateway_url: str | None = Field(default=None, description="HTTP SMS gateway; unset: the outbox file.")
    crm_sms_gateway_token: str = ""
    crm_smtp_host: str | None = Field(default=None, description="SMTP server for e-mail; unset: the outbox file.")
    crm_smtp_port: int = 587
    crm_smtp_user: str = ""
    crm_smtp_password: str = ""
    crm_smtp_from: str = "fieldcrm@localhost"
    crm_smtp_tls: bool = True
    # Commands to the device agent (docs/agent.md, "Remote commands")
    agent_command_lease_s: int = Field(
        default=60, ge=5, description="A claimed command whose agent stops renewing it this long is re-queued."
    )
    agent_command_queue_timeout_s: int = Field(
        default=600, ge=10, description="A command no agent claims this long fails."
    )

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
