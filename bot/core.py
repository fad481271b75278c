"""The facade every adapter talks to: commands, reactions, digests, shares."""

from __future__ import annotations

import logging
from collections.abc import Callable, Collection
from dataclasses import dataclass, replace
from datetime import date, datetime
from zoneinfo import ZoneInfo

from bot.commands import HANDLERS, CommandContext, UserError, paper_id_arg, parse_command
from bot.config import Settings
from bot.digest import DigestOutcome, DigestRunner
from bot.models import Channel, Digest, DigestItem, DigestKind, MessageRef, Paper, Subscription
from bot.ports import ChatPoster, Clock
from bot.replies import Reply, TextReply
from bot.storage import Storage
from bot.store import utcnow

log = logging.getLogger(__name__)

ScheduleListener = Callable[[Channel], None]


@dataclass(frozen=True, slots=True)
class BookmarkChange:
    """The result of a bookmark reaction: which paper, saved or not, and a line for the user."""

    paper: Paper
    saved: bool
    changed: bool

    @property
    def text(self) -> str:
        """A confirmation line for the user."""
        if self.saved:
            return f"Saved: {self.paper.title} · /papers saved"
        return f"Removed from your saved papers: {self.paper.title}"


class PapersBot:
    """The core: one per process, shared by every adapter."""

    def __init__(self, storage: Storage, settings: Settings, clock: Clock = utcnow) -> None:
        self.storage = storage
        self.settings = settings
        self.clock = clock
        self.search_limit = 5
        self.runner = DigestRunner(storage, clock, self._match_topic, settings.digest_lookback_days)
        self._schedule_listeners: list[ScheduleListener] = []

    # -- commands -------------------------------------------------------------------------

    async def handle_command(self, text: str, ctx: CommandContext) -> Reply:
        """Answer one /papers command; user mistakes become error replies, never exceptions."""
        command = parse_command(text)
        try:
            return await HANDLERS[command.name](self, ctx, command.arg)
        except UserError as exc:
            return TextReply(str(exc), error=True)

    def find_paper(self, arg: str) -> Paper:
        """The paper an id or URL names; UserError when the bot has never seen it."""
        paper_id = paper_id_arg(arg)
        paper = self.storage.papers.get(paper_id)
        if paper is None:
            raise UserError(f"I have not seen a paper with id {paper_id}. Try /papers <words>.")
        return paper

    # -- bookmarks ------------------------------------------------------------------------

    def is_bookmark_emoji(self, emoji: str) -> bool:
        """True for the reactions that save a paper (names like 'bookmark', or the emoji)."""
        return emoji.strip(":") in self.settings.bookmark_emoji

    def handle_reaction(
        self, message: MessageRef, user: str, emoji: str, added: bool, event_id: str | None = None
    ) -> BookmarkChange | None:
        """Save or unsave the paper a bot message shows; None when the reaction is not for us."""
        if not self.is_bookmark_emoji(emoji):
            return None
        paper_id = self.storage.ledger.paper_for_message(message)
        if paper_id is None:
            return None
        ch = message.channel
        if event_id and not self.storage.activity.claim_event(ch.platform, event_id, self.clock()):
            log.info("ignored retried event %s", event_id)
            return None
        paper = self.storage.papers.get(paper_id)
        if paper is None:
            return None
        changed = self.storage.activity.set_bookmark(
            ch.member(user), paper_id, added, self.clock(), ch.channel
        )
        log.info("bookmark %s by %s on %s: %s", paper_id, user, ch, "saved" if added else "removed")
        return BookmarkChange(paper, added, changed)

    # -- digests --------------------------------------------------------------------------

    def subscription(self, channel: Channel) -> Subscription:
        """A channel's settings, or the defaults for a channel that has not subscribed."""
        sub = self.storage.activity.get_subscription(channel)
        if sub is not None:
            return sub
        return Subscription(
            channel=channel,
            count=self.settings.digest_count,
            post_time=self.settings.digest_time,
            timezone=self.settings.digest_timezone,
        )

    def local_day(self, sub: Subscription, at: datetime | None = None) -> date:
        """The date in the channel's time zone."""
        return (at or self.clock()).astimezone(ZoneInfo(sub.timezone)).date()

    async def post_digest(
        self,
        poster: ChatPoster,
        channel: Channel,
        day: date | None = None,
        kind: DigestKind = DigestKind.DAILY,
    ) -> DigestOutcome:
        """Deliver a channel's digest for its local day (at most once per day and kind)."""
        sub = self.subscription(channel)
        outcome = await self.runner.deliver(poster, sub, day or self.local_day(sub), kind)
        log.info("%s", outcome.message)
        return outcome

    async def post_roundup(self, poster: ChatPoster, channel: Channel) -> DigestOutcome:
        """Deliver the channel's weekly roundup (what its members saved most this week)."""
        sub = self.subscription(channel)
        day = self.local_day(sub)
        picks = self.runner.roundup(sub, day)
        return await self.runner.deliver(poster, sub, day, DigestKind.ROUNDUP, picks)

    async def post_digest_now(self, poster: ChatPoster, channel: Channel) -> DigestOutcome:
        """The `digest` command: today's digest, or an extra one of what is new since."""
        sub = self.subscription(channel)
        day = self.local_day(sub)
        if self.storage.ledger.get_digest(channel, day, DigestKind.DAILY) is None:
            kind, run = DigestKind.DAILY, ""
        else:
            kind, run = DigestKind.EXTRA, f"{self.clock():%H%M%S}"
        return await self.runner.deliver(poster, replace(sub, skip_empty=False), day, kind, run=run)

    async def share_paper(
        self, poster: ChatPoster, channel: Channel, paper_id: str, user: str
    ) -> MessageRef:
        """Post one paper to a channel on a user's request ("Share in channel")."""
        paper = self.find_paper(paper_id)
        day = self.local_day(self.subscription(channel))
        digest = Digest(channel, day, (), title="Shared", kind=DigestKind.SHARE)
        ref = await poster.post_paper(digest, DigestItem(paper, "shared from a /papers search"))
        self.storage.ledger.record_post(ref, paper.id, day, self.clock(), digest.kind.post_kind)
        return ref

    # -- subscriptions --------------------------------------------------------------------

    def on_schedule_change(self, listener: ScheduleListener) -> None:
        """Call `listener(channel)` whenever a channel's schedule may have changed."""
        self._schedule_listeners.append(listener)

    def save_subscription(self, sub: Subscription) -> None:
        """Store a channel's settings and tell the scheduler."""
        self.storage.activity.save_subscription(sub, self.clock())
        self._notify(sub.channel)

    def delete_subscription(self, channel: Channel) -> None:
        """Stop a channel's digests and tell the scheduler."""
        self.storage.activity.delete_subscription(channel)
        self._notify(channel)

    def _notify(self, channel: Channel) -> None:
        for listener in self._schedule_listeners:
            listener(channel)

    def _match_topic(self, topic: str, ids: Collection[str]) -> set[str]:
        return self.storage.search.match_ids(topic, ids)
