"""The Discord payload shapes the fake sends and stores, as discord.py 2.7 reads them.

Ids are snowflake strings; the shapes follow ../shared/docs/platforms.md, with one correction
found by running the library: discord.py 2.7 takes an interaction's channel (and so
`interaction.channel_id`) from the `channel` object, not from `channel_id`.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

APP_ID = "1100000000000000001"  # also the bot's user id, as for any bot created since 2019
GUILD_ID = "1200000000000000002"
CHANNEL_ID = "1300000000000000003"
EPHEMERAL = 64
LOADING = 128  # a deferred "thinking" reply
PERMISSIONS = "2248473465835073"  # a member's: view, send, read history... not Manage Channels
MANAGE_CHANNELS = 1 << 4
MANAGERS = {"111"}  # the harness's default user manages the channel; any other id does not
BOT_USER: dict[str, Any] = {
    "id": APP_ID,
    "username": "papers-bot",
    "discriminator": "0",
    "global_name": None,
    "avatar": None,
    "bot": True,
    "flags": 0,
}
Files = list[tuple[str, bytes]]  # (filename, content) of a multipart upload


def application() -> dict[str, Any]:
    """GET /oauth2/applications/@me."""
    return {
        "id": APP_ID,
        "name": "papers-bot",
        "description": "",
        "icon": None,
        "bot_public": True,
        "bot_require_code_grant": False,
        "owner": BOT_USER,
        "verify_key": "0" * 64,
        "flags": 0,
        "team": None,
        "summary": "",
        "rpc_origins": [],
        "interactions_endpoint_url": None,
    }


def ready(gateway_url: str, shard: tuple[int, int] = (0, 1)) -> dict[str, Any]:
    """The READY dispatch after IDENTIFY (no guilds: the bot needs no guild cache)."""
    return {
        "v": 10,
        "user": BOT_USER,
        "guilds": [],
        "session_id": "fake-session",
        "resume_gateway_url": gateway_url,
        "shard": list(shard),
        "application": {"id": APP_ID, "flags": 0},
    }


def member(user: str) -> dict[str, Any]:
    """A guild member object for a user id."""
    return {
        "user": {"id": user, "username": f"user{user}", "discriminator": "0", "avatar": None},
        "roles": [],
        "joined_at": "2024-01-01T00:00:00+00:00",
        "flags": 0,
        "deaf": False,
        "mute": False,
        "permissions": str(int(PERMISSIONS) | MANAGE_CHANNELS) if user in MANAGERS else PERMISSIONS,
    }


def text_channel(channel: str, guild: str) -> dict[str, Any]:
    """The partial text channel Discord puts in an interaction."""
    return {
        "id": channel,
        "type": 0,
        "guild_id": guild,
        "name": "papers",
        "position": 0,
        "permission_overwrites": [],
        "nsfw": False,
        "parent_id": None,
        "flags": 0,
    }


def interaction(
    interaction_id: str,
    kind: int,
    data: dict[str, Any],
    user: str,
    channel: str,
    guild: str,
    message: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """An INTERACTION_CREATE payload: 2 application command, 3 component, 4 autocomplete."""
    payload: dict[str, Any] = {
        "id": interaction_id,
        "application_id": APP_ID,
        "type": kind,
        "token": f"token-{interaction_id}",
        "version": 1,
        "guild_id": guild,
        "channel_id": channel,
        "channel": text_channel(channel, guild),
        "member": member(user),
        "data": data,
        "locale": "en-US",
        "guild_locale": "en-US",
        "app_permissions": PERMISSIONS,
        "entitlements": [],
        "authorizing_integration_owners": {"0": guild},
        "context": 0,
        "attachment_size_limit": 26214400,
    }
    if message is not None:
        payload["message"] = message
    return payload


def subcommand_data(
    command_id: str, guild: str, subcommand: str, options: dict[str, str], focused: str = ""
) -> dict[str, Any]:
    """`data` of `/papers <subcommand>` with string options (`focused` for autocomplete)."""
    values = [
        {"name": k, "type": 3, "value": v, **({"focused": True} if k == focused else {})}
        for k, v in options.items()
    ]
    return {
        "id": command_id,
        "name": "papers",
        "type": 1,
        "guild_id": guild,
        "options": [{"name": subcommand, "type": 1, "options": values}],
    }


def reaction(
    message_id: str, user: str, emoji: str, added: bool, channel: str, guild: str
) -> dict[str, Any]:
    """MESSAGE_REACTION_ADD / _REMOVE data for a standard emoji on a bot message."""
    data: dict[str, Any] = {
        "user_id": user,
        "channel_id": channel,
        "message_id": message_id,
        "guild_id": guild,
        "emoji": {"id": None, "name": emoji},
        "burst": False,
        "type": 0,
    }
    if added:
        data["member"] = member(user)
        data["message_author_id"] = APP_ID
    return data


def message(
    message_id: str, channel: str, body: dict[str, Any], files: Files, flags: int = 0
) -> dict[str, Any]:
    """A message object as Discord returns it for a message the bot sent."""
    return {
        "id": message_id,
        "channel_id": channel,
        "guild_id": GUILD_ID,
        "type": 0,
        "content": body.get("content") or "",
        "author": BOT_USER,
        "embeds": body.get("embeds") or [],
        "components": body.get("components") or [],
        "attachments": [
            {
                "id": f"{message_id}{index}",
                "filename": name,
                "size": len(data),
                "url": f"https://cdn.invalid/{name}",
                "proxy_url": f"https://cdn.invalid/{name}",
            }
            for index, (name, data) in enumerate(files)
        ],
        "mentions": [],
        "mention_roles": [],
        "mention_everyone": False,
        "pinned": False,
        "tts": False,
        "timestamp": datetime.now(UTC).isoformat(),
        "edited_timestamp": None,
        "flags": flags | (body.get("flags") or 0),
        "nonce": body.get("nonce"),
        "allowed_mentions": body.get("allowed_mentions"),
    }


_LINK = re.compile(r"\[((?:\\.|[^\]\\])*)\]\(<?https?://[^)\s]+>?\)")
_MARK = re.compile(r"(?<!\\)(\*\*|`)")
_ESCAPED = re.compile(r"\\([\\*_`~|<>\[\]#:.-])")


def show_markdown(text: str) -> str:
    """Discord markdown as a user reads it: link labels, no bold or code marks, no escapes."""
    return _ESCAPED.sub(r"\1", _MARK.sub("", _LINK.sub(r"\1", text)))


def visible_text(payload: dict[str, Any]) -> str:
    """What a user sees of a message: content, embed titles, descriptions, fields, footers."""
    parts: list[str] = [payload.get("content") or ""]
    for embed in payload.get("embeds") or []:
        parts += [embed.get("title") or "", embed.get("description") or ""]
        for item in embed.get("fields") or []:
            parts += [item["name"], item["value"]]
        parts.append((embed.get("footer") or {}).get("text") or "")
    parts += [f"[file: {a['filename']}]" for a in payload.get("attachments") or []]
    return "\n".join(show_markdown(part) for part in parts if part)
