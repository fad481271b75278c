"""Discord's settings: environment variables DISCORD_*, read once at start-up."""

from __future__ import annotations

from bot.config import CommaList, EnvSettings


class DiscordSettings(EnvSettings):
    """How to reach Discord. Discord starts when DISCORD_TOKEN is set."""

    discord_token: str | None = None
    discord_guild_ids: CommaList = ()
    discord_api_url: str | None = None
    discord_gateway_url: str | None = None

    @property
    def enabled(self) -> bool:
        """Discord starts when a token is set."""
        return bool(self.discord_token)

    @property
    def secrets(self) -> tuple[str | None, ...]:
        """Values the logs must never show."""
        return (self.discord_token,)
