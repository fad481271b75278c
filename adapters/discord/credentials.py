"""What a server admin needs to connect the bot: a valid token and an invite URL."""

from __future__ import annotations

import base64
import binascii
import re

import discord

from adapters.discord.settings import DiscordSettings
from bot.config import ConfigError

PORTAL = "https://discord.com/developers/applications"
SCOPES = ("bot", "applications.commands")
# Exactly what the features use: read and post in the channel, embeds, the BibTeX file,
# the channel history (to find a post after a crash) and the seeded 🔖 reaction.
PERMISSIONS = discord.Permissions(
    view_channel=True,
    send_messages=True,
    embed_links=True,
    attach_files=True,
    read_message_history=True,
    add_reactions=True,
)

_TOKEN = re.compile(r"^([A-Za-z0-9_-]{16,40})\.([A-Za-z0-9_-]{4,12})\.([A-Za-z0-9_-]{20,80})$")
_HOW = (
    f"create one at {PORTAL} → your application → Bot → Reset Token, "
    "and put it in .env as DISCORD_TOKEN=... (without a 'Bot ' prefix)"
)


def application_id_from_token(token: str) -> int:
    """The bot's user id, which a bot token starts with (base64); ConfigError when malformed."""
    text = token.strip()
    if text.lower().startswith("bot "):
        raise ConfigError(f"DISCORD_TOKEN starts with 'Bot ': drop the prefix; {_HOW}")
    match = _TOKEN.match(text)
    if match is None:
        raise ConfigError(f"DISCORD_TOKEN does not look like a Discord bot token; {_HOW}")
    head = match[1]
    try:
        decoded = base64.urlsafe_b64decode(head + "=" * (-len(head) % 4)).decode("ascii")
    except (binascii.Error, UnicodeDecodeError):
        decoded = ""
    if not decoded.isdigit():
        raise ConfigError(f"DISCORD_TOKEN does not look like a Discord bot token; {_HOW}")
    return int(decoded)


def check_settings(settings: DiscordSettings) -> str:
    """The Discord token to log in with; ConfigError naming the variable when it is unusable."""
    if not settings.discord_token:
        raise ConfigError(f"DISCORD_TOKEN is not set; {_HOW}")
    application_id_from_token(settings.discord_token)
    for guild in settings.discord_guild_ids:
        if not guild.isdigit():
            raise ConfigError(
                f"DISCORD_GUILD_IDS: {guild!r} is not a server id; use numbers separated by "
                "commas (Discord: User Settings → Advanced → Developer Mode, then right-click "
                "the server → Copy Server ID)"
            )
    shards(settings)
    for name in ("discord_api_url", "discord_gateway_url"):
        value = getattr(settings, name)
        if value and not re.match(r"^(https?|wss?)://", value):
            raise ConfigError(f"{name.upper()}: {value!r} is not an http(s):// or ws(s):// URL")
    return settings.discord_token.strip()


def shards(settings: DiscordSettings) -> tuple[int, list[int]] | None:
    """(shard count, the shard ids this process runs), or None when not sharded; ConfigError
    naming the variable when DISCORD_SHARD_IDS does not fit DISCORD_SHARD_COUNT."""
    count = settings.discord_shard_count
    if count is None:
        if settings.discord_shard_ids:
            raise ConfigError(
                "DISCORD_SHARD_IDS is set but DISCORD_SHARD_COUNT is not: set the total number "
                "of shards every process shares, e.g. DISCORD_SHARD_COUNT=2"
            )
        return None
    ids: list[int] = []
    for shard in settings.discord_shard_ids:
        if not shard.strip().isdigit() or int(shard) >= count:
            raise ConfigError(
                f"DISCORD_SHARD_IDS: {shard!r} is not a shard of DISCORD_SHARD_COUNT={count}; "
                f"use numbers from 0 to {count - 1} separated by commas"
            )
        ids.append(int(shard))
    return count, sorted(set(ids)) or list(range(count))


def shard_of(guild_id: int, shard_count: int) -> int:
    """The shard Discord sends a server's events on."""
    return (guild_id >> 22) % shard_count


def invite_url(application_id: int | str) -> str:
    """The URL that adds the bot to a server with exactly the scopes and permissions it needs."""
    return discord.utils.oauth_url(int(application_id), permissions=PERMISSIONS, scopes=SCOPES)
