"""Platform-free wording: every line a user reads that is the same on every platform.

Adapters apply their markup (Block Kit, Discord markdown, rich) to these texts; they do not
write their own copies.
"""

from __future__ import annotations

from bot.models import Digest, Pause
from bot.ports import PostFailed

FAILED = "Sorry, that went wrong on my side; it has been logged. Please try again later."
SHARED = "Shared in this channel."
NOTHING_NEW = "Nothing new to post today."
DEFAULT_BOOKMARK = "bookmark"  # the emoji name Slack knows; 🔖 is its character
EMOJI_BY_NAME = {"bookmark": "🔖"}


def post_failed(failure: PostFailed) -> str:
    """What a user is told when a post they asked for (digest, share, subscribe) failed."""
    if failure.permanent:
        return f"{failure.said}, then try again."
    return f"The post did not go through ({failure.reason}); try again in a minute."


def not_saved(trouble: str) -> str:
    """What a user is told when the database cannot take a change now (locked, read-only,
    full): one line, nothing lost."""
    return f"Not saved: {trouble}. Nothing saved before is lost; please try again in a minute."


def paused_notice(pause: Pause) -> str:
    """The line every /papers answer in a paused channel starts with, until it is fixed."""
    return (
        f"Digests here are paused since {pause.since:%d %b %H:%M} UTC: {pause.said},"
        " then /papers subscribe."
    )


def plural(count: int, noun: str) -> str:
    """'1 paper', '3 papers'."""
    return f"{count} {noun}{'s' * (count != 1)}"


def digest_header(digest: Digest, bookmark: str) -> tuple[str, str]:
    """The two lines that open a digest: its title, then how many papers and how to save one
    (or why there is nothing today). `bookmark` is the emoji as the platform writes it."""
    if not digest.items:
        return digest.title, digest.empty_reason or NOTHING_NEW
    count = plural(len(digest.items), "paper")
    return (
        digest.title,
        f"{count} below, one per message · react with {bookmark} to save one"
        " · /papers saved lists what you saved",
    )


def search_heading(count: int, query: str) -> str:
    """'3 papers matching “meta-rl”'."""
    return f"{plural(count, 'paper')} matching “{query}”"


def no_matches(query: str) -> str:
    """What an empty search says."""
    return f"No papers match “{query}”. Try fewer or other words, or /papers help."


class BookmarkEmoji:
    """The reactions that save a paper (BOOKMARK_EMOJI): names like 'bookmark' or characters."""

    def __init__(self, configured: tuple[str, ...]) -> None:
        self.accepted = {e.strip(":") for e in configured} or {DEFAULT_BOOKMARK}
        names = [e.strip(":") for e in configured if e.strip(":").isascii()]
        chars = [e for e in configured if not e.isascii()]
        self.name = names[0] if names else DEFAULT_BOOKMARK
        self.char = chars[0] if chars else EMOJI_BY_NAME.get(self.name, "🔖")

    def matches(self, emoji: str) -> bool:
        """True for a reaction that saves (its name, or its character)."""
        return emoji.strip(":") in self.accepted
