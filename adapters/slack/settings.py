"""Slack's settings: environment variables SLACK_*, read once at start-up."""

from __future__ import annotations

from pydantic import Field

from bot.config import EnvSettings

# What the app asks each workspace for (adapters/slack/README.md says why each is needed).
BOT_SCOPES = (
    "commands,chat:write,reactions:read,reactions:write,channels:history,groups:history,users:read"
)


class SlackSettings(EnvSettings):
    """How to reach Slack. Slack starts when SLACK_BOT_TOKEN (one workspace) or
    SLACK_CLIENT_ID (many workspaces, installed through /slack/install) is set, and refuses to
    start when only part of them is."""

    slack_bot_token: str | None = None
    slack_app_token: str | None = None
    slack_signing_secret: str | None = None
    slack_client_id: str | None = None
    slack_client_secret: str | None = None
    slack_scopes: str = BOT_SCOPES
    slack_redirect_uri: str | None = None
    slack_http_host: str = "0.0.0.0"
    slack_http_port: int = Field(3000, ge=1, le=65535)
    slack_api_url: str = "https://slack.com/api/"
    slack_post_interval: float = Field(1.0, ge=0, description="seconds between posts to a channel")

    @property
    def enabled(self) -> bool:
        """Slack starts when any of its credentials is set; check_settings then names what is
        missing (an app token alone is not quietly ignored)."""
        return any(value for value in self.secrets) or bool(self.slack_client_id)

    @property
    def secrets(self) -> tuple[str | None, ...]:
        """Values the logs must never show."""
        return (
            self.slack_bot_token,
            self.slack_app_token,
            self.slack_signing_secret,
            self.slack_client_secret,
        )
