"""papers-bot on Discord: a discord.py client (`adapter.py`), the /papers group built from the
command registry (`commands.py`), embeds (`render.py`) and the token checks and invite URL
(`credentials.py`). Set-up for a server admin: README.md beside this file."""

from __future__ import annotations

from typing import TYPE_CHECKING

from adapters.discord.settings import DiscordSettings
from adapters.platform import Platform
from bot.config import ConfigError

if TYPE_CHECKING:
    from bot.core import PapersBot
    from bot.ports import ChatAdapter


def _build(bot: PapersBot, settings: DiscordSettings) -> ChatAdapter:
    from adapters.discord.adapter import DiscordAdapter

    return DiscordAdapter(bot, settings)


def discord_invite() -> str:
    """Print the URL that adds the bot to a Discord server (from DISCORD_TOKEN)."""
    from adapters.discord.credentials import application_id_from_token, invite_url

    token = DiscordSettings.load().discord_token
    if not token:
        raise ConfigError("DISCORD_TOKEN is not set: see adapters/discord/README.md")
    return invite_url(application_id_from_token(token))


PLATFORM = Platform(
    "discord",
    DiscordSettings,
    _build,
    guide="adapters/discord/README.md",
    commands={"discord-invite": discord_invite},
)
