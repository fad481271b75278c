"""Slack settings are checked before start-up, naming the variable and where to get it."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from adapters.slack.app import SlackAdapter
from adapters.slack.config import check_settings
from adapters.slack.settings import SlackSettings
from bot.config import ConfigError, load_settings
from bot.core import PapersBot
from bot.storage import open_storage
from tests.slack_fake import SlackFake
from tests.slack_harness import SECRET

CORE = load_settings(_env_file=None)


def slack_settings(**values: Any) -> SlackSettings:
    base: dict[str, Any] = {
        "slack_bot_token": "xoxb-1-2-abc",
        "slack_app_token": None,
        "slack_signing_secret": SECRET,
    }
    return SlackSettings(_env_file=None, **{**base, **values})  # type: ignore[call-arg]


@pytest.mark.parametrize(
    ("values", "expected"),
    [
        ({"slack_bot_token": None}, "SLACK_BOT_TOKEN is not set"),
        (
            {"slack_bot_token": "xoxp-1-2"},
            "SLACK_BOT_TOKEN must start with xoxb- (this looks like a user token)",
        ),
        ({"slack_bot_token": "xoxb-1 2"}, "SLACK_BOT_TOKEN contains spaces"),
        ({"slack_app_token": "xoxb-1-2"}, "SLACK_APP_TOKEN must start with xapp-"),
        ({"slack_signing_secret": None}, "SLACK_SIGNING_SECRET is not set"),
        ({"slack_api_url": "slack.com/api"}, "SLACK_API_URL must be an http(s) URL"),
    ],
)
def test_bad_settings_name_the_variable_and_where_to_get_it(
    values: dict[str, Any], expected: str
) -> None:
    with pytest.raises(ConfigError) as error:
        check_settings(slack_settings(**values))
    message = str(error.value)
    assert expected in message
    assert "https://api.slack.com/apps" in message or "SLACK_API_URL" in message


@pytest.mark.parametrize(
    "values",
    [
        {"slack_app_token": "xapp-1-A-2-x"},
        {"slack_signing_secret": SECRET},
        {"slack_client_secret": "abc"},
    ],
)
def test_a_slack_credential_without_the_bot_token_stops_start_up(values: dict[str, Any]) -> None:
    settings = slack_settings(**{"slack_bot_token": None, "slack_signing_secret": None} | values)
    assert settings.enabled
    with pytest.raises(ConfigError, match="SLACK_BOT_TOKEN is not set"):
        check_settings(settings)
    assert not slack_settings(slack_bot_token=None, slack_signing_secret=None).enabled


def test_app_token_picks_socket_mode_and_its_absence_http() -> None:
    assert check_settings(slack_settings(slack_app_token="xapp-1-A-2-x")) == "socket"
    assert check_settings(slack_settings(slack_signing_secret=None, slack_app_token="xapp-1")) == (
        "socket"
    )
    assert check_settings(slack_settings()) == "http"


OAUTH = {"slack_bot_token": None, "slack_client_id": "1.2", "slack_client_secret": "s"}


@pytest.mark.parametrize(
    ("values", "expected"),
    [
        ({"slack_bot_token": "xoxb-1-2"}, "unset SLACK_BOT_TOKEN and SLACK_APP_TOKEN"),
        ({"slack_client_secret": None}, "SLACK_CLIENT_SECRET is not set"),
        ({"slack_client_secret": "a b"}, "SLACK_CLIENT_SECRET contains spaces"),
        ({"slack_signing_secret": None}, "SLACK_SIGNING_SECRET is not set"),
        ({"slack_scopes": "chat:write"}, "SLACK_SCOPES must include commands and chat:write"),
        ({"slack_redirect_uri": "papers.example.org"}, "SLACK_REDIRECT_URI must be the full"),
    ],
)
def test_many_workspaces_need_the_client_credentials_and_no_single_token(
    values: dict[str, Any], expected: str
) -> None:
    with pytest.raises(ConfigError, match=expected):
        check_settings(slack_settings(**{**OAUTH, **values}))


def test_a_client_id_picks_many_workspaces_over_http() -> None:
    settings = slack_settings(**OAUTH)
    assert settings.enabled and check_settings(settings) == "oauth"
    assert "s" in settings.secrets


def test_adapter_refuses_to_start_with_bad_settings(tmp_path: Path) -> None:
    settings = slack_settings(slack_bot_token="xapp-1-2")
    with (
        open_storage(tmp_path / "t.db") as store,
        pytest.raises(ConfigError, match="SLACK_BOT_TOKEN"),
    ):
        SlackAdapter(PapersBot(store, CORE), settings)


async def test_a_token_slack_rejects_stops_start_up(tmp_path: Path) -> None:
    async with SlackFake(token="xoxb-the-real-one") as fake:
        settings = slack_settings(slack_bot_token="xoxb-revoked", slack_api_url=fake.api_url)
        with open_storage(tmp_path / "t.db") as store:
            adapter = SlackAdapter(PapersBot(store, CORE), settings)
            with pytest.raises(ConfigError, match=r"SLACK_BOT_TOKEN was rejected .*invalid_auth"):
                await adapter.start()
            assert not adapter.connected
