"""Discord start-up: the token check, intents, endpoints and the invite URL."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import parse_qs, urlparse

import pytest

from adapters.discord.adapter import DiscordAdapter, api_base, intents
from adapters.discord.credentials import (
    PERMISSIONS,
    application_id_from_token,
    check_settings,
    invite_url,
)
from adapters.discord.settings import DiscordSettings
from bot.config import ConfigError, load_settings
from bot.core import PapersBot
from bot.storage import open_storage
from tests.discord_harness import TOKEN
from tests.discord_payloads import APP_ID


def test_intents_are_guilds_and_guild_reactions_only() -> None:
    assert intents().value == 1025


def test_invite_url_has_exactly_the_needed_scopes_and_permissions() -> None:
    query = parse_qs(urlparse(invite_url(APP_ID)).query)
    assert query["client_id"] == [APP_ID]
    assert query["scope"] == ["bot applications.commands"]
    # Bits from Discord's permission table: Add Reactions, View Channel, Send Messages,
    # Embed Links, Attach Files, Read Message History; nothing else.
    assert int(query["permissions"][0]) == (1 << 6) | (1 << 10) | (1 << 11) | (1 << 14) | (
        1 << 15
    ) | (1 << 16)
    assert int(query["permissions"][0]) == PERMISSIONS.value


def test_the_application_id_is_read_from_the_token() -> None:
    assert application_id_from_token(TOKEN) == int(APP_ID)


@pytest.mark.parametrize(
    ("token", "says"),
    [
        (None, "DISCORD_TOKEN is not set"),
        ("", "DISCORD_TOKEN is not set"),
        ("hunter2", "does not look like a Discord bot token"),
        ("Bot " + TOKEN, "drop the prefix"),
        ("bm90LWRpZ2l0cw.GfAkEs." + "x" * 38, "does not look like a Discord bot token"),
    ],
)
def test_a_missing_or_malformed_token_stops_start_up_naming_the_variable(
    tmp_path: Path, token: str | None, says: str
) -> None:
    settings = DiscordSettings(_env_file=None, discord_token=token)  # type: ignore[call-arg]
    with pytest.raises(ConfigError) as caught:
        check_settings(settings)
    message = str(caught.value)
    assert message.startswith("DISCORD_TOKEN") and says in message
    assert "discord.com/developers/applications" in message


async def test_start_refuses_a_bad_setting_before_touching_the_network(tmp_path: Path) -> None:
    settings = DiscordSettings(  # type: ignore[call-arg]
        _env_file=None, discord_token=TOKEN, discord_guild_ids=("123", "general")
    )
    with open_storage(tmp_path / "t.db") as store:
        adapter = DiscordAdapter(PapersBot(store, load_settings(_env_file=None)), settings)
        with pytest.raises(ConfigError, match="DISCORD_GUILD_IDS"):
            await adapter.start()
        assert adapter.client is None and not adapter.connected


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:8765",
        "http://127.0.0.1:8765/",
        "http://127.0.0.1:8765/api",
        "http://127.0.0.1:8765/api/v10",
    ],
)
def test_the_api_url_may_leave_out_the_api_path(url: str) -> None:
    assert api_base(url) == "http://127.0.0.1:8765/api/v10"
