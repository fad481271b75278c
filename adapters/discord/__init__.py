"""papers-bot on Discord: daily posts, /papers, 🔖 bookmarks (discord.py)."""

from __future__ import annotations

from adapters.discord.adapter import DiscordAdapter, intents
from adapters.discord.credentials import (
    PERMISSIONS,
    SCOPES,
    application_id_from_token,
    check_settings,
    invite_url,
)

__all__ = [
    "PERMISSIONS",
    "SCOPES",
    "DiscordAdapter",
    "application_id_from_token",
    "check_settings",
    "intents",
    "invite_url",
]
