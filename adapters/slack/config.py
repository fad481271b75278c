"""What a workspace admin must configure for Slack, checked once before the adapter starts."""

from __future__ import annotations

import re
from typing import Literal

from adapters.slack.settings import SlackSettings
from bot.config import ConfigError

APPS_PAGE = "https://api.slack.com/apps"
Mode = Literal["socket", "http"]

_WHERE_BOT_TOKEN = (
    f"copy the Bot User OAuth Token (xoxb-...) from {APPS_PAGE} → your app → OAuth & Permissions "
    "(install the app to the workspace first) into .env as SLACK_BOT_TOKEN=..."
)
_WHERE_APP_TOKEN = (
    f"create an App-Level Token with the connections:write scope at {APPS_PAGE} → your app → "
    "Basic Information → App-Level Tokens, and put it in .env as SLACK_APP_TOKEN=xapp-... "
    "(or leave SLACK_APP_TOKEN unset to use HTTP mode)"
)
_WHERE_SECRET = (
    f"copy the Signing Secret from {APPS_PAGE} → your app → Basic Information → App Credentials "
    "into .env as SLACK_SIGNING_SECRET=... (HTTP mode needs it because SLACK_APP_TOKEN is not set; "
    "set SLACK_APP_TOKEN to use Socket Mode instead)"
)
_SPACE = re.compile(r"\s")


def check_settings(settings: SlackSettings) -> Mode:
    """'socket' or 'http' for usable Slack settings; ConfigError naming the variable otherwise."""
    bot_token = settings.slack_bot_token
    if not bot_token:
        raise ConfigError(f"SLACK_BOT_TOKEN is not set; {_WHERE_BOT_TOKEN}")
    _check_token("SLACK_BOT_TOKEN", bot_token, "xoxb-", _WHERE_BOT_TOKEN)
    api_url = settings.slack_api_url
    if not re.match(r"^https?://[^\s/]+", api_url):
        raise ConfigError(
            f"SLACK_API_URL must be an http(s) URL such as https://slack.com/api/, not {api_url!r}"
        )
    if settings.slack_app_token:
        _check_token("SLACK_APP_TOKEN", settings.slack_app_token, "xapp-", _WHERE_APP_TOKEN)
        return "socket"
    secret = settings.slack_signing_secret
    if not secret:
        raise ConfigError(f"SLACK_SIGNING_SECRET is not set; {_WHERE_SECRET}")
    if _SPACE.search(secret):
        raise ConfigError(f"SLACK_SIGNING_SECRET contains spaces; {_WHERE_SECRET}")
    return "http"


def _check_token(name: str, token: str, prefix: str, where: str) -> None:
    if _SPACE.search(token):
        raise ConfigError(f"{name} contains spaces or a line break; {where}")
    if token.startswith(prefix):
        return
    kinds = {"xoxb-": "a bot token", "xoxp-": "a user token", "xapp-": "an app-level token"}
    found = next((kind for start, kind in kinds.items() if token.startswith(start)), None)
    said = f" (this looks like {found})" if found else ""
    raise ConfigError(f"{name} must start with {prefix}{said}; {where}")


def api_base_url(settings: SlackSettings) -> str:
    """SLACK_API_URL with the trailing slash the Web API client needs to join method names."""
    url = settings.slack_api_url
    return url if url.endswith("/") else url + "/"
