"""Slack's settings: environment variables SLACK_*, read once at start-up."""

from __future__ import annotations

from pydantic import Field

from bot.config import EnvSettings


class SlackSettings(EnvSettings):
    """How to reach Slack. Slack starts when SLACK_BOT_TOKEN is set."""

    slack_bot_token: str | None = None
    slack_app_token: str | None = None
    slack_signing_secret: str | None = None
    slack_http_host: str = "0.0.0.0"
    slack_http_port: int = Field(3000, ge=1, le=65535)
    slack_api_url: str = "https://slack.com/api/"
    slack_post_interval: float = Field(1.0, ge=0, description="seconds between posts to a channel")

    @property
    def enabled(self) -> bool:
        """Slack starts when a bot token is set."""
        return bool(self.slack_bot_token)

    @property
    def secrets(self) -> tuple[str | None, ...]:
        """Values the logs must never show."""
        return (self.slack_bot_token, self.slack_app_token, self.slack_signing_secret)
