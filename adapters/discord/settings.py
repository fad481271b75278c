"""Discord's settings: environment variables DISCORD_*, read once at start-up."""

from __future__ import annotations

from pydantic import Field, field_validator

from bot.config import CommaList, EnvSettings


class DiscordSettings(EnvSettings):
    """How to reach Discord. Discord starts when DISCORD_TOKEN is set."""

    discord_token: str | None = None
    discord_guild_ids: CommaList = ()
    discord_api_url: str | None = None
    discord_gateway_url: str | None = None
    # Sharding (many servers): the total number of gateway shards, and the ones this process
    # runs (all of them when empty). Unset: one plain connection, as for a single server.
    discord_shard_count: int | None = Field(None, ge=1, le=4096)
    discord_shard_ids: CommaList = ()

    @field_validator("discord_shard_count", mode="before")
    @classmethod
    def _empty_is_unset(cls, value: object) -> object:
        # `DISCORD_SHARD_COUNT=` as .env.example writes it: not sharded.
        return None if isinstance(value, str) and not value.strip() else value

    @property
    def enabled(self) -> bool:
        """Discord starts when a token is set."""
        return bool(self.discord_token)

    @property
    def secrets(self) -> tuple[str | None, ...]:
        """Values the logs must never show."""
        return (self.discord_token,)
