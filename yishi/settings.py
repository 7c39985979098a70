"""One settings model for every process (CLI, web, worker, tests).

Values come from ``YISHI_*`` environment variables (or a ``.env`` file); secrets never travel in
workflow or activity inputs. When ``temporal_address`` or ``database_url`` is empty, ``yishi up``
starts the embedded server for it and fills it in.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

PROJECT_DIR = Path(__file__).resolve().parent.parent


class Settings(BaseSettings):
    """Runtime configuration; every field maps to ``YISHI_<NAME>``."""

    model_config = SettingsConfigDict(env_prefix="YISHI_", env_file=".env", extra="ignore")

    data_dir: Path = Field(default=PROJECT_DIR / ".data", description="Embedded servers' data")
    database_url: str = Field(default="", description="PostgreSQL URL; empty = embedded server")
    temporal_address: str = Field(default="", description="host:port; empty = embedded dev server")
    temporal_namespace: str = "default"
    temporal_ui_url: str = Field(default="", description="Shown to operators; filled by `yishi up`")
    task_queue: str = "yishi"
    web_host: str = "127.0.0.1"
    web_port: int = 8000
    public_base_url: str = Field(default="", description="Base of personal links, e.g. https://yishi.example.cn")
    trusted_proxies: str = Field(
        default="127.0.0.1,::1",
        description="Peers (addresses or networks, comma-separated) whose X-Forwarded-For/-Proto are believed: "
        "the reverse proxy's address; '' trusts none (yishi/web/proxy.py)")
    session_hours: float = Field(default=12, gt=0, le=24 * 30, description="How long a console sign-in lasts")
    secret_key: SecretStr = Field(
        default=SecretStr(""), description="Signs sessions and CSRF tokens; generated into data_dir if empty"
    )
    log_level: str = "INFO"
    log_json: bool | None = Field(default=None, description="JSON logs; default: JSON unless on a terminal")
    otel_exporter: str = Field(default="", description="'' (off), 'console' or 'otlp'")
    otel_endpoint: str = ""
    db_pool_max: int = 10
    group_commit_max: int = Field(default=500, description="Most appends grouped into one transaction")
    proxy_limit: int = Field(default=3, description="Owners one proxy may represent")
    deem_silent: bool = Field(default=False, description="Silent-owner deeming (off by default)")
    deem_over_half: bool = Field(
        default=False, description="Deem only if the majority's own ballots exceed half the total (needs deem_silent)")
    holiday_file: Path | None = Field(default=None, description="Operator holiday file for uncovered years")
    default_lang: str = Field(default="zh", description="The language of a page without ?lang= or a cookie")
    languages: list[str] = Field(
        default=["zh_CN", "en"], description="Babel locales the site speaks; ?lang= takes each one's language code "
        "(zh, en, ug…). A locale other than en needs its catalog (docs/i18n.md)")
    locale_dirs: list[Path] = Field(
        default=[], description="Extra catalog folders (<dir>/<locale>/LC_MESSAGES/messages.po), searched first")
    bench_noop: bool = Field(default=False, description="Serve /_bench/noop (only `yishi bench` turns it on)")
    roll_max_rooms: int = Field(
        default=200_000, description="Rows a roll (or ballots file) may have: twice the 100,000 owners the project is "
        "built for (docs/security/hostile-files.md)")
    roll_parse_memory_mib: int = Field(default=1024, description="Address space of the child that parses an upload")
    roll_parse_timeout_s: float = Field(default=300.0, description="Wall-clock limit of one roll parse")
    body_idle_timeout_s: float = Field(default=15.0, description="A request body that sends nothing this long: 408")
    body_total_timeout_s: float = Field(default=120.0, description="A request body not complete this long: 408")
    worker_max_cached_workflows: int = Field(
        default=1000, description="Workflows the worker keeps in memory (sticky cache); the SDK's default")
    worker_max_concurrent_workflow_tasks: int | None = Field(default=None, description="None = the SDK's default")
    worker_max_concurrent_activities: int | None = Field(default=None, description="None = the SDK's default")
    topic_take_up: str = Field(default="5wd", description="Time the committee has to take up a topic (领题)")
    topic_feedback: str = Field(default="P7D", description="Feedback window after a topic's work is done")
    topic_photo_max_bytes: int = Field(default=5 * 1024 * 1024, description="Largest photo a topic takes")
    topic_photo_max_count: int = Field(default=6, description="Most photos per topic")
    intake_per_client: tuple[int, int] = Field(
        default=(3, 1200), description="Topics one device may raise: burst, then one per N seconds")
    intake_per_address: tuple[int, int] = Field(
        default=(10, 360), description="Topics from one address before proof of effort: burst, one per N seconds")
    intake_per_link: tuple[int, int] = Field(
        default=(300, 12), description="Topics one intake link takes: burst, then one per N seconds")
    meeting_remind_before: str = Field(default="PT24H", description="Meeting reminder to the parties before the start")
    meeting_confirm: str = Field(default="P3D", description="Window in which the parties confirm the minutes")
    meeting_vote_period: str = Field(default="P7D", description="How long a vote a meeting decides on stays open")
    series_ahead_weeks: int = Field(default=4, ge=1, le=8, description="How far ahead a series schedules meetings")
    intake_effort_bits: tuple[int, int] = Field(
        default=(18, 22), description="Proof-of-effort difficulty (leading zero bits): base and cap")
    histories_dir: Path | None = Field(
        default=None, description="Where closed runs' Temporal histories are kept (outside PostgreSQL); "
        "None = <data dir>/histories (activities/history_store.py)")
    history_sweep_seconds: float = Field(
        default=300, gt=0, description="How often the worker keeps the histories of runs closed since its last look")

    @property
    def histories_path(self) -> Path:
        """The kept histories' folder: ``histories_dir``, else ``<data dir>/histories``."""
        return self.histories_dir if self.histories_dir is not None else self.data_dir / "histories"

    @field_validator("trusted_proxies")
    @classmethod
    def _proxies_parse(cls, value: str) -> str:
        from yishi.web.proxy import parse_networks

        parse_networks(value)  # refuse a typo at start-up rather than trusting nobody (or everybody) silently
        return value

    @model_validator(mode="after")
    def _over_half_needs_deeming(self) -> Settings:
        if self.deem_over_half and not self.deem_silent:
            raise ValueError(
                "YISHI_DEEM_OVER_HALF 是沉默业主视为随多数的附加条件：请先设置 YISHI_DEEM_SILENT=true，或关闭它 / "
                "YISHI_DEEM_OVER_HALF is a condition on silent-owner deeming: set YISHI_DEEM_SILENT=true first, "
                "or turn it off")
        return self


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()
