"""Saved papers: the Bookmarks port, and 🔖 reactions on the bot's paper messages."""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from bot.models import Channel, MessageRef, Paper
from bot.ports import Clock
from bot.presentation import BookmarkEmoji, not_saved
from bot.storage import Storage, report_trouble

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class BookmarkChange:
    """The result of a bookmark reaction: which paper, saved or not, and a line for the user."""

    paper: Paper
    saved: bool
    changed: bool
    trouble: str = ""  # why the change could not be stored (the database is locked …)

    @property
    def text(self) -> str:
        """A confirmation line for the user (or why nothing changed)."""
        if self.trouble:
            return not_saved(self.trouble)
        if self.saved:
            return f"Saved: {self.paper.title} · /papers saved"
        return f"Removed from your saved papers: {self.paper.title}"


class BookmarkBook:
    """Members' saved papers, one list per member of a workspace."""

    def __init__(
        self,
        storage: Storage,
        clock: Clock,
        emoji: BookmarkEmoji,
        on_save: Callable[[Channel, Paper], None] | None = None,
    ) -> None:
        self._storage = storage
        self._clock = clock
        self.emoji = emoji
        self._on_save = on_save  # told of every save (a 🔖 or /papers save), e.g. for Zotero

    def saved(self, channel: Channel, user: str) -> Sequence[Paper]:
        """What the user saved in this workspace, newest first."""
        marks = self._storage.activity.bookmarks(channel.member(user))
        return [mark.paper for mark in marks]

    def save(self, channel: Channel, user: str, paper: Paper) -> bool:
        """Save a paper; False when it was saved already."""
        changed = self._set(channel, user, paper.id, True)
        self._saved(channel, paper)
        return changed

    def unsave(self, channel: Channel, user: str, paper: Paper) -> bool:
        """Remove a saved paper; False when it was not saved."""
        return self._set(channel, user, paper.id, False)

    def react(
        self, message: MessageRef, user: str, emoji: str, added: bool, event_id: str | None = None
    ) -> BookmarkChange | None:
        """Save or unsave the paper a bot message shows; None when the reaction is not for us
        (another emoji, another message, or a platform's retry of an event already handled)."""
        if not self.emoji.matches(emoji):
            return None
        paper_id = self._storage.ledger.paper_for_message(message)
        if paper_id is None:
            return None
        ch = message.channel
        paper = self._storage.papers.get(paper_id)
        if paper is None:
            return None
        try:
            if event_id and not self._storage.activity.claim_event(
                ch.platform, event_id, self._clock()
            ):
                log.info("ignored retried event %s", event_id)
                return None
            changed = self._set(ch, user, paper_id, added)
        except Exception as exc:
            trouble = report_trouble(exc, f"bookmark {paper_id} by {user} on {ch}")
            if trouble is None:
                raise
            return BookmarkChange(paper, added, False, trouble)
        log.info("bookmark %s by %s on %s: %s", paper_id, user, ch, "saved" if added else "removed")
        if added:
            self._saved(ch, paper)
        return BookmarkChange(paper, added, changed)

    def _saved(self, channel: Channel, paper: Paper) -> None:
        if self._on_save is not None:
            self._on_save(channel, paper)

    def _set(self, channel: Channel, user: str, paper_id: str, saved: bool) -> bool:
        return self._storage.activity.set_bookmark(
            channel.member(user), paper_id, saved, self._clock(), channel.channel if saved else None
        )
