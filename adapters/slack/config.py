"""What a workspace admin must configure for Slack, checked once before the adapter starts."""

from __future__ import annotations

import re
from typing import Literal

from adapters.slack.settings import SlackSettings
from bot.config import ConfigError

APPS_PAGE = "https://api.slack.com/apps"
Mode = Literal["socket", "http", "oauth"]

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
_WHERE_CLIENT = (
    f"copy the Client ID and Client Secret from {APPS_PAGE} → your app → Basic Information → "
    "App Credentials into .env as SLACK_CLIENT_ID=... and SLACK_CLIENT_SECRET=..."
)
_SPACE = re.compile(r"\s")


def check_settings(settings: SlackSettings) -> Mode:
    """'socket', 'http' (one workspace) or 'oauth' (many workspaces) for usable Slack
    settings; ConfigError naming the variable otherwise."""
    api_url = settings.slack_api_url
    if not re.match(r"^https?://[^\s/]+", api_url):
        raise ConfigError(
            f"SLACK_API_URL must be an http(s) URL such as https://slack.com/api/, not {api_url!r}"
        )
    if settings.slack_client_id:
        _check_oauth(settings)
        return "oauth"
    bot_token = settings.slack_bot_token
    if not bot_token:
        raise ConfigError(f"SLACK_BOT_TOKEN is not set; {_WHERE_BOT_TOKEN}")
    _check_token("SLACK_BOT_TOKEN", bot_token, "xoxb-", _WHERE_BOT_TOKEN)
    if settings.slack_app_token:
        _check_token("SLACK_APP_TOKEN", settings.slack_app_token, "xapp-", _WHERE_APP_TOKEN)
        return "socket"
    _check_secret(settings)
    return "http"


def _check_secret(settings: SlackSettings) -> None:
    secret = settings.slack_signing_secret
    if not secret:
        raise ConfigError(f"SLACK_SIGNING_SECRET is not set; {_WHERE_SECRET}")
    if _SPACE.search(secret):
        raise ConfigError(f"SLACK_SIGNING_SECRET contains spaces; {_WHERE_SECRET}")


def _check_oauth(settings: SlackSettings) -> None:
    # Many workspaces: each install brings its own token, and Slack reaches us over HTTP.
    many = "SLACK_CLIENT_ID is set, so papers-bot installs into many workspaces over HTTP"
    if settings.slack_bot_token or settings.slack_app_token:
        raise ConfigError(
            f"{many}: unset SLACK_BOT_TOKEN and SLACK_APP_TOKEN (each workspace's token comes "
            "from its install), or unset SLACK_CLIENT_ID for one workspace over Socket Mode"
        )
    if not settings.slack_client_secret:
        raise ConfigError(f"{many}, and SLACK_CLIENT_SECRET is not set; {_WHERE_CLIENT}")
    for name, value in (
        ("SLACK_CLIENT_ID", settings.slack_client_id or ""),
        ("SLACK_CLIENT_SECRET", settings.slack_client_secret),
    ):
        if _SPACE.search(value):
            raise ConfigError(f"{name} contains spaces; {_WHERE_CLIENT}")
    if not settings.slack_signing_secret:
        raise ConfigError(f"{many}, and SLACK_SIGNING_SECRET is not set; {_WHERE_SECRET}")
    _check_secret(settings)
    scopes = [scope.strip() for scope in settings.slack_scopes.split(",")]
    if "commands" not in scopes or "chat:write" not in scopes:
        raise ConfigError(
            f"SLACK_SCOPES must include commands and chat:write, not {settings.slack_scopes!r} "
            "(leave it unset for the scopes papers-bot needs)"
        )
    uri = settings.slack_redirect_uri
    if uri and not re.match(r"^https?://[^\s/]+/\S*$", uri):
        raise ConfigError(
            "SLACK_REDIRECT_URI must be the full public URL of /slack/oauth_redirect, such as "
            f"https://papers.example.org/slack/oauth_redirect, not {uri!r}"
        )


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
