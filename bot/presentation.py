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


def search_heading(count: int, query: str, source: str = "store") -> str:
    """'3 papers matching “meta-rl”', or '3 papers on arXiv matching “meta-rl”'."""
    where = " on arXiv" if source == "arxiv" else ""
    return f"{plural(count, 'paper')}{where} matching “{query}”"


def no_matches(query: str, source: str = "store") -> str:
    """What an empty search says; a search of the store offers the same query on arXiv."""
    if source == "arxiv":
        return f"arXiv has no papers matching “{query}”. Try fewer or other words."
    return (
        f"No papers I have seen match “{query}”. Search all of arXiv: /papers arxiv {query}"
        " · or try fewer or other words, or /papers help."
    )


def save_hint(paper_ids: list[str]) -> str:
    """How to save a paper from live arXiv results where there are no buttons."""
    example = paper_ids[0] if paper_ids else "2401.01234"
    return f"Save one with /papers save <id>, e.g. /papers save {example}"


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
