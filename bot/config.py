"""Settings, read and validated once at start-up from the environment and `.env`."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Annotated, TypeVar
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, ValidationError, ValidationInfo, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from bot.models import clock_time

LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR")
CommaList = Annotated[tuple[str, ...], NoDecode]  # written as "a, b, c" in the environment
S = TypeVar("S", bound="EnvSettings")


class ConfigError(Exception):
    """A setting is missing or malformed; the message names the variable and how to fix it."""


class EnvSettings(BaseSettings):
    """Settings read from the environment and `.env`, each a variable of the same name.

    The core's are `Settings`; each platform adapter declares its own (adapters/<platform>/).
    """

    model_config = SettingsConfigDict(
        env_file=".env", env_file_encoding="utf-8", extra="ignore", case_sensitive=False
    )

    @field_validator("*", mode="before")
    @classmethod
    def _split_comma_lists(cls, value: object, info: ValidationInfo) -> object:
        field = cls.model_fields.get(info.field_name or "")
        wants_list = field is not None and NoDecode in field.metadata
        if wants_list and isinstance(value, str):
            return tuple(part.strip() for part in value.split(",") if part.strip())
        return value

    @classmethod
    def load(cls: type[S], **overrides: object) -> S:
        """The settings from the environment and `.env`, with explicit overrides; ConfigError
        naming the first bad variable."""
        try:
            return cls(**overrides)
        except ValidationError as exc:
            first = exc.errors()[0]
            name = str(first["loc"][0]).upper() if first["loc"] else "a setting"
            said = str(first["msg"]).removeprefix("Value error, ")
            raise ConfigError(f"{name}: {said} (see .env.example)") from exc


class Settings(EnvSettings):
    """The core's settings: storage, sources, digest defaults, bookmarks, the service."""

    # Storage
    papers_bot_db: Path = Field(Path("papers-bot.db"), description="SQLite database file")
    database_url: str | None = Field(
        None, description="postgresql://… : keep everything in PostgreSQL instead (replicas)"
    )

    # Sources
    papers_bot_sources: CommaList = Field(("hf",), description="sources to fetch: hf, arxiv")
    hf_api_url: str = Field("https://huggingface.co/api", description="Hugging Face API base")
    arxiv_api_url: str = Field("https://export.arxiv.org/api/query", description="arXiv API")
    arxiv_rss_url: str = Field("https://rss.arxiv.org/rss", description="arXiv RSS base")
    arxiv_categories: CommaList = Field(("cs.LG", "cs.CL"), description="arXiv categories")
    http_timeout: float = Field(30.0, gt=0, description="seconds per HTTP request")
    http_retries: int = Field(4, ge=0, le=10, description="retries on 5xx, 429, timeouts")

    # Digest defaults for new subscriptions
    digest_time: str = Field("09:00", description="HH:MM (9:00 and 0900 work too)")
    digest_timezone: str = Field("UTC", description="IANA zone for new subscriptions")
    digest_count: int = Field(5, ge=1, le=20)
    digest_lookback_days: int = Field(3, ge=1, le=30, description="how far back picks may go")
    catchup_grace_hours: float = Field(4.0, ge=0, description="late digests within this window")
    fetch_interval_minutes: int = Field(120, ge=5, description="Hugging Face re-fetch interval")

    # Bookmarks
    bookmark_emoji: CommaList = Field(("bookmark", "🔖"), description="reactions that save")
    seed_bookmark_reaction: bool = Field(True, description="bot adds 🔖 to each paper message")
    confirm_bookmarks: bool = Field(True, description="tell the user privately when saved")

    # Who may change a channel (subscribe, unsubscribe, settings, digest) beside workspace
    # admins and owners on Slack and members with Manage Channels on Discord
    admin_user_ids: CommaList = Field((), description="user ids that may change any channel")

    # Zotero: every save in a channel with a group library is added to it (see README)
    zotero_api_key: str | None = Field(None, description="Zotero API key with write access")
    zotero_group_id: str | None = Field(
        None, pattern=r"^\d+$", description="group library for channels that name none"
    )
    zotero_api_url: str = Field("https://api.zotero.org", description="Zotero Web API base")

    # Search
    semantic_search: str = Field(
        "auto", description="auto: search by meaning too when the semantic extra is installed; off"
    )

    # Service
    connect_retry_minutes: float = Field(
        30.0, ge=0, description="how long start-up retries an unreachable Slack or Discord"
    )
    digest_lease_seconds: float = Field(
        60.0, ge=1, description="a digest whose replica stopped renewing is taken over after this"
    )
    health_host: str = "127.0.0.1"
    health_port: int | None = Field(8080, ge=0, le=65535, description="'off' turns it off")
    log_level: str = Field("INFO", description=", ".join(LOG_LEVELS))

    @property
    def storage_target(self) -> str | Path:
        """Where the bot keeps its data: DATABASE_URL when set, else the SQLite file."""
        return self.database_url or self.papers_bot_db

    @property
    def storage_name(self) -> str:
        """The storage target as shown to people: a URL without its password."""
        return re.sub(r"(://[^:/@]*):[^@]*@", r"\1:***@", str(self.storage_target))

    @field_validator("zotero_group_id", mode="before")
    @classmethod
    def _group_unset(cls, value: object) -> object:
        # .env.example leaves it empty: no default group, as when it is absent
        return None if isinstance(value, str) and not value.strip() else value

    @field_validator("database_url", mode="before")
    @classmethod
    def _postgres_only(cls, value: object) -> object:
        if isinstance(value, str) and not value.strip():
            return None
        if isinstance(value, str) and not value.startswith(("postgresql://", "postgres://")):
            raise ValueError("use a postgresql://user:password@host/database URL")
        return value

    @field_validator("health_port", mode="before")
    @classmethod
    def _port_off(cls, value: object) -> object:
        return None if isinstance(value, str) and value.strip().lower() in ("", "off") else value

    @field_validator("digest_time")
    @classmethod
    def _time_of_day(cls, value: str) -> str:
        post_time = clock_time(value)
        if post_time is None:
            raise ValueError(f"{value!r} is not a time of day; use HH:MM, e.g. 09:00 or 17:30")
        return post_time

    @field_validator("log_level")
    @classmethod
    def _known_level(cls, value: str) -> str:
        level = value.strip().upper()
        if level not in LOG_LEVELS:
            raise ValueError(f"{value!r} is not a log level; use one of {', '.join(LOG_LEVELS)}")
        return level

    @field_validator("semantic_search")
    @classmethod
    def _semantic_mode(cls, value: str) -> str:
        value = value.strip().lower()
        if value not in ("auto", "off"):
            raise ValueError(f"{value!r} is not auto or off")
        return value

    @field_validator("papers_bot_sources")
    @classmethod
    def _known_sources(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        unknown = [name for name in value if name not in ("hf", "arxiv")]
        if unknown:
            raise ValueError(f"unknown source {unknown[0]!r}; use hf, arxiv or both")
        return value

    @field_validator("digest_timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(
                f"unknown time zone {value!r}; use an IANA name like Europe/Berlin"
            ) from None
        return value


def load_settings(**overrides: object) -> Settings:
    """The core settings (see EnvSettings.load)."""
    return Settings.load(**overrides)
