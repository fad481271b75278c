"""Settings, read and validated once at start-up from the environment and `.env`."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, ValidationError, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

CommaList = Annotated[tuple[str, ...], NoDecode]


class ConfigError(Exception):
    """A setting is missing or malformed; the message names the variable and how to fix it."""


class Settings(BaseSettings):
    """Every setting papers-bot reads. Each is an environment variable of the same name."""

    model_config = SettingsConfigDict(
        env_file=".env", env_file_encoding="utf-8", extra="ignore", case_sensitive=False
    )

    # Storage
    papers_bot_db: Path = Field(Path("papers-bot.db"), description="SQLite database file")

    # Sources
    papers_bot_sources: CommaList = Field(("hf",), description="sources to fetch: hf, arxiv")
    hf_api_url: str = Field("https://huggingface.co/api", description="Hugging Face API base")
    arxiv_api_url: str = Field("https://export.arxiv.org/api/query", description="arXiv API")
    arxiv_rss_url: str = Field("https://rss.arxiv.org/rss", description="arXiv RSS base")
    arxiv_categories: CommaList = Field(("cs.LG", "cs.CL"), description="arXiv categories")
    http_timeout: float = Field(30.0, gt=0, description="seconds per HTTP request")
    http_retries: int = Field(4, ge=0, le=10, description="retries on 5xx, 429, timeouts")

    # Digest defaults for new subscriptions
    digest_time: str = Field("09:00", pattern=r"^([01]\d|2[0-3]):[0-5]\d$")
    digest_timezone: str = Field("UTC", description="IANA zone for new subscriptions")
    digest_count: int = Field(5, ge=1, le=20)
    digest_lookback_days: int = Field(3, ge=1, le=30, description="how far back picks may go")
    catchup_grace_hours: float = Field(4.0, ge=0, description="late digests within this window")
    fetch_interval_minutes: int = Field(120, ge=5, description="Hugging Face re-fetch interval")

    # Bookmarks
    bookmark_emoji: CommaList = Field(("bookmark", "🔖"), description="reactions that save")
    seed_bookmark_reaction: bool = Field(True, description="bot adds 🔖 to each paper message")
    confirm_bookmarks: bool = Field(True, description="tell the user privately when saved")

    # Slack
    slack_bot_token: str | None = None
    slack_app_token: str | None = None
    slack_signing_secret: str | None = None
    slack_http_host: str = "0.0.0.0"
    slack_http_port: int = Field(3000, ge=1, le=65535)
    slack_api_url: str = "https://slack.com/api/"
    slack_post_interval: float = Field(1.0, ge=0, description="seconds between posts to a channel")

    # Discord
    discord_token: str | None = None
    discord_guild_ids: CommaList = ()
    discord_api_url: str | None = None
    discord_gateway_url: str | None = None

    # Service
    health_host: str = "127.0.0.1"
    health_port: int | None = Field(8080, ge=0, le=65535, description="'off' turns it off")
    log_level: str = "INFO"

    @field_validator(
        "papers_bot_sources",
        "arxiv_categories",
        "bookmark_emoji",
        "discord_guild_ids",
        mode="before",
    )
    @classmethod
    def _split_commas(cls, value: object) -> object:
        if isinstance(value, str):
            return tuple(part.strip() for part in value.split(",") if part.strip())
        return value

    @field_validator("health_port", mode="before")
    @classmethod
    def _port_off(cls, value: object) -> object:
        return None if isinstance(value, str) and value.strip().lower() in ("", "off") else value

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

    @property
    def slack_enabled(self) -> bool:
        """Slack starts when a bot token is set."""
        return bool(self.slack_bot_token)

    @property
    def discord_enabled(self) -> bool:
        """Discord starts when a token is set."""
        return bool(self.discord_token)


def load_settings(**overrides: object) -> Settings:
    """Settings from the environment and `.env`, with explicit overrides; ConfigError if invalid."""
    try:
        return Settings(**overrides)  # type: ignore[arg-type]
    except ValidationError as exc:
        first = exc.errors()[0]
        name = str(first["loc"][0]).upper() if first["loc"] else "a setting"
        raise ConfigError(f"{name}: {first['msg']} (see .env.example)") from exc
