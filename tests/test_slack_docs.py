"""The Slack manifests and README agree with what the adapter does."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from adapters.slack.app import EVENTS_PATH, SlackAdapter

HERE = Path(__file__).parent.parent / "adapters" / "slack"
MANIFESTS = ("manifest.yml", "manifest.http.yml")
README = (HERE / "README.md").read_text()
PLACEHOLDER = "https://papers.example.org" + EVENTS_PATH


def manifest(name: str) -> dict[str, Any]:
    """A manifest as Slack reads it."""
    parsed: dict[str, Any] = yaml.safe_load((HERE / name).read_text())
    return parsed


@pytest.mark.parametrize("name", MANIFESTS)
def test_every_scope_has_a_readme_line_saying_why(name: str) -> None:
    scopes = manifest(name)["oauth_config"]["scopes"]["bot"]
    assert scopes == [
        "commands",
        "chat:write",
        "reactions:read",
        "reactions:write",
        "channels:history",
        "groups:history",
        "users:read",
    ]
    for scope in scopes:
        assert re.search(rf"^\| `{re.escape(scope)}` \| \w", README, re.M), scope


@pytest.mark.parametrize("name", MANIFESTS)
def test_manifest_has_the_command_reaction_events_and_interactivity(name: str) -> None:
    app = manifest(name)
    assert app["settings"]["event_subscriptions"]["bot_events"][:2] == [
        "reaction_added",
        "reaction_removed",
    ]
    (command,) = app["features"]["slash_commands"]
    assert command["command"] == "/papers" and command["usage_hint"]
    assert app["settings"]["interactivity"]["is_enabled"] is True


def test_the_socket_mode_manifest_needs_no_url() -> None:
    app = manifest("manifest.yml")
    assert app["settings"]["socket_mode_enabled"] is True
    assert "url" not in app["features"]["slash_commands"][0]
    assert "request_url" not in app["settings"]["event_subscriptions"]


def test_the_http_manifest_sends_everything_to_the_events_path() -> None:
    app = manifest("manifest.http.yml")
    settings = app["settings"]
    assert settings["socket_mode_enabled"] is False
    assert app["features"]["slash_commands"][0]["url"] == PLACEHOLDER
    assert settings["event_subscriptions"]["request_url"] == PLACEHOLDER
    assert settings["interactivity"]["request_url"] == PLACEHOLDER
    same = {k: v for k, v in app.items() if k != "settings"}
    socket = manifest("manifest.yml")
    del same["features"]["slash_commands"][0]["url"]
    del same["oauth_config"]["redirect_urls"]
    assert same == {k: v for k, v in socket.items() if k != "settings"}


def test_the_http_manifest_serves_many_workspaces_too() -> None:
    # The redirect URL of the OAuth flow, and the events that delete a removed workspace's
    # tokens and pause its channels (the only ones the adapter handles beside reactions).
    app = manifest("manifest.http.yml")
    redirect = PLACEHOLDER.removesuffix(EVENTS_PATH) + "/slack/oauth_redirect"
    assert app["oauth_config"]["redirect_urls"] == [redirect]
    assert app["settings"]["event_subscriptions"]["bot_events"][2:] == [
        "app_uninstalled",
        "tokens_revoked",
    ]
    assert manifest("manifest.yml")["settings"]["event_subscriptions"]["bot_events"] == [
        "reaction_added",
        "reaction_removed",
    ]


def test_readme_says_which_manifest_to_choose() -> None:
    assert "manifest.http.yml" in README and "Which manifest" in README
    root = (HERE.parent.parent / "README.md").read_text()
    assert "adapters/slack/manifest.http.yml" in root


def test_readme_names_every_setting_the_adapter_reads() -> None:
    for name in (
        "SLACK_BOT_TOKEN",
        "SLACK_APP_TOKEN",
        "SLACK_SIGNING_SECRET",
        "SLACK_HTTP_HOST",
        "SLACK_HTTP_PORT",
        "SLACK_API_URL",
        "SEED_BOOKMARK_REACTION",
        "CONFIRM_BOOKMARKS",
        "BOOKMARK_EMOJI",
    ):
        assert name in README, name
    assert SlackAdapter.platform == "slack"
