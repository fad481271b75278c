"""Whose rows a statement reads or writes: one channel, or one member of a workspace."""

from __future__ import annotations

from bot.models import Channel, Member


def channel_scope(channel: Channel) -> tuple[str, list[str]]:
    """A WHERE condition matching one channel's rows, and its parameters."""
    return (
        "platform = ? AND workspace = ? AND channel = ?",
        [channel.platform, channel.workspace, channel.channel],
    )


def member_scope(member: Member) -> tuple[str, list[str]]:
    """A WHERE condition matching one member's rows, and its parameters."""
    return (
        "platform = ? AND workspace = ? AND user = ?",
        [member.platform, member.workspace, member.user],
    )


def is_postgres_url(target: object) -> bool:
    """True for a postgresql:// (or postgres://) connection URL: the PostgreSQL store's."""
    return str(target).startswith(("postgresql://", "postgres://"))
