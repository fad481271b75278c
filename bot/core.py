"""The facade every adapter talks to: commands, reactions, digests, shares.

Adapters call only these methods; the handlers behind them see narrow ports (see
`bot.commands.context`), never this class.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import replace
from datetime import date, timedelta

from bot.bookmarks import BookmarkBook, BookmarkChange
from bot.catalog import ArxivCatalog
from bot.commands import (
    REGISTRY,
    CommandContext,
    Invocation,
    Ports,
    Registry,
    UserError,
    paper_id_arg,
)
from bot.config import Settings
from bot.corethread import INLINE, Home
from bot.digest import DigestOutcome, DigestRunner
from bot.installs import Installs
from bot.models import (
    ARXIV_ID,
    Channel,
    Digest,
    DigestClaim,
    DigestItem,
    DigestKind,
    MessageRef,
    Paper,
)
from bot.ports import ChatPoster, Clock, PostFailed, utcnow
from bot.presentation import BookmarkEmoji, not_saved, paused_notice
from bot.replies import Reply, SearchHit, SearchReply, TextReply
from bot.sources.errors import SourceError
from bot.storage import Storage, report_trouble
from bot.subscriptions import ScheduleListener, SubscriptionBook
from bot.taste import similar_papers
from bot.zotero import ZoteroChannels

log = logging.getLogger(__name__)

SEARCH_LIMIT = 5  # hits per /papers search reply

__all__ = ["BookmarkChange", "PapersBot"]


class PaperFinder:
    """The PaperLookup port: papers by id or URL, search, and arXiv live."""

    def __init__(
        self, storage: Storage, clock: Clock, catalog: ArxivCatalog, limit: int = SEARCH_LIMIT
    ) -> None:
        self._storage = storage
        self._clock = clock
        self._catalog = catalog
        self.limit = limit

    def find(self, arg: str) -> Paper:
        """The paper an id or URL names; UserError when the bot has never seen it."""
        paper_id = paper_id_arg(arg)
        paper = self._storage.papers.get(paper_id)
        if paper is None:
            raise UserError(f"I have not seen a paper with id {paper_id}. Try /papers <words>.")
        return paper

    def search(self, text: str) -> SearchReply:
        """Answer /papers <text>."""
        return self._storage.search.search(text, limit=self.limit, now=self._clock())

    def similar(self, paper: Paper) -> SearchReply:
        """The stored papers most like one paper, each with what they share."""
        found = similar_papers(self._storage, paper, self._clock(), self.limit)
        hits = tuple(
            SearchHit(other, score, ((f"alike in: {terms}", False),))
            for other, score, terms in found
        )
        return SearchReply(paper.title, hits, heading=f"Papers like “{paper.title}”")

    async def fetch(self, arg: str, unreachable: str = "nothing was saved") -> Paper:
        """The paper an id or URL names; one the bot has not seen is fetched from arXiv and
        stored. UserError when arXiv has no such paper or cannot be reached (the message then
        ends with `unreachable`)."""
        paper_id = paper_id_arg(arg)
        known = self._storage.papers.get(paper_id)
        if known is not None:
            return known
        if not ARXIV_ID.match(paper_id):
            raise UserError(
                f"“{paper_id}” is not an arXiv id and I have not seen a paper with it. "
                "Give an arXiv id or link, e.g. 2401.01234, or search: /papers <words>."
            )
        try:
            paper = await self._catalog.paper(paper_id)
        except SourceError as exc:
            log.warning("arXiv lookup of %s failed: %s", paper_id, exc)
            raise UserError(_arxiv_down(exc, unreachable)) from exc
        if paper is None:
            raise UserError(f"arXiv has no paper {paper_id}: check the id, e.g. 2401.01234.")
        self._storage.papers.upsert([paper], self._clock())
        log.info("fetched %s from arXiv on request", paper_id)
        return self._storage.papers.get(paper_id) or paper

    async def by_id(self, ids: Sequence[str]) -> SearchReply:
        """Answer /papers <ids or links>: those papers (at most `limit`), the unseen fetched
        from arXiv and stored, with a note for any that could not be had; UserError when none
        could."""
        found: list[Paper] = []
        notes: list[str] = []  # the ids that could not be had, and any left out
        for paper_id in ids[: self.limit]:
            try:
                found.append(await self.fetch(paper_id, f"I have not seen {paper_id} yet"))
            except UserError as exc:
                notes.append(str(exc))
        if not found:
            raise UserError(" ".join(notes))
        if len(ids) > self.limit:
            notes.append(f"Showing the first {self.limit} of {len(ids)} papers.")
        hits = tuple(SearchHit(paper, 0.0) for paper in found)
        heading = f"{'Paper' if len(found) == 1 else 'Papers'} {', '.join(p.id for p in found)}"
        return SearchReply(" ".join(ids), hits, note=" ".join(notes), heading=heading)

    async def search_arxiv(self, text: str) -> SearchReply:
        """Answer /papers arxiv <text>: arXiv's own best matches, live."""
        try:
            papers = await self._catalog.search(text, self.limit)
        except SourceError as exc:
            log.warning("arXiv search %r failed: %s", text, exc)
            raise UserError(_arxiv_down(exc, "nothing was searched")) from exc
        hits = tuple(SearchHit(paper, 0.0) for paper in papers)
        return SearchReply(text, hits, source="arxiv")


def _arxiv_down(exc: SourceError, what: str) -> str:
    """What a user reads when arXiv cannot be reached."""
    reason = getattr(exc, "reason", str(exc))
    return f"arXiv could not be reached ({reason}); {what}. Try again in a minute."


class ChannelDigests:
    """The DigestDesk port: a channel's digest, previewed or posted now."""

    def __init__(
        self, storage: Storage, subscriptions: SubscriptionBook, runner: DigestRunner, clock: Clock
    ) -> None:
        self._storage = storage
        self._subscriptions = subscriptions
        self._runner = runner
        self._clock = clock

    def local_day(self, channel: Channel) -> date:
        """Today in the channel's time zone."""
        return self._subscriptions.local_day(channel)

    def posted_on(self, channel: Channel, day: date) -> Sequence[Paper]:
        """The papers the channel's digest posted that day."""
        ids = self._storage.ledger.papers_posted_on(channel, day)
        papers = self._storage.papers.get_many(ids)
        return [papers[pid] for pid in ids if pid in papers]

    def preview(self, channel: Channel, day: date) -> Digest:
        """The digest the channel would get now; nothing is claimed or posted."""
        return self._runner.preview(self._subscriptions.effective(channel), day)

    async def post_now(self, poster: ChatPoster, channel: Channel) -> str:
        """The `digest` command: today's digest, or an extra one of what is new since; a
        digest of today left unfinished (a crash, a failed post) is finished instead, so a
        retry never starts a second one."""
        sub = replace(self._subscriptions.effective(channel), skip_empty=False)
        day = self.local_day(channel)
        ledger = self._storage.ledger
        for claim in ledger.unfinished_digests(channel):
            if claim.day == day and DigestKind.of_key(claim.kind)[0] != DigestKind.ROUNDUP:
                return (await self._runner.resume(poster, sub, claim)).message
        if ledger.get_digest(channel, day, DigestKind.DAILY) is None:
            kind, run = DigestKind.DAILY, ""
        else:
            kind, run = DigestKind.EXTRA, f"{self._clock():%H%M%S}"
        outcome = await self._runner.deliver(poster, sub, day, kind, run=run)
        if outcome.posted or outcome.status == "empty":
            self._subscriptions.resume(channel)  # the bot can post here again
        return outcome.message


class PapersBot:
    """The core: one per process, shared by every adapter.

    Its coroutine methods may be awaited from any loop: the work runs on the core's home (its
    own thread under `papers-bot run`, see bot.corethread), and the posters handed in are called
    back on the caller's loop. The plain methods and `subscriptions` are for code already on the
    core's loop (the service, the CLI)."""

    def __init__(
        self,
        storage: Storage,
        settings: Settings,
        clock: Clock = utcnow,
        registry: Registry = REGISTRY,
        home: Home = INLINE,
        catalog: ArxivCatalog | None = None,
    ) -> None:
        self.settings = settings
        self.home = home
        self.clock = clock
        self.commands = registry
        self.bookmark_emoji = BookmarkEmoji(settings.bookmark_emoji)
        self.subscriptions = SubscriptionBook(storage.activity, settings, clock)
        self.installations = Installs(storage.installations, home)  # many workspaces' tokens
        self._storage = storage
        self._runner = DigestRunner(
            storage,
            clock,
            storage.search.match_ids,
            settings.digest_lookback_days,
            timedelta(seconds=settings.digest_lease_seconds),
        )
        self._papers = PaperFinder(storage, clock, catalog or ArxivCatalog(settings))
        self.zotero = ZoteroChannels(storage, settings, clock)
        self._bookmarks = BookmarkBook(storage, clock, self.bookmark_emoji, self.zotero.saved)
        self._ports = Ports(
            papers=self._papers,
            bookmarks=self._bookmarks,
            subscriptions=self.subscriptions,
            digests=ChannelDigests(storage, self.subscriptions, self._runner, clock),
            clock=clock,
            zotero=self.zotero,
        )

    # -- commands -------------------------------------------------------------------------

    async def answer(self, invocation: Invocation, ctx: CommandContext) -> Reply:
        """Answer one /papers command; user mistakes become error replies, never exceptions."""
        return await self.home.run(self._answer(invocation, self._relayed(ctx)))

    def _relayed(self, ctx: CommandContext) -> CommandContext:
        # The poster and the permission check call the platform: back on the caller's loop.
        poster, managers = self.home.relay(ctx.poster), self.home.relay(ctx.managers)
        return replace(ctx, poster=poster, managers=managers)

    async def _answer(self, invocation: Invocation, ctx: CommandContext) -> Reply:
        command = self.commands.get(invocation.name)
        if command is None:
            return TextReply(f"There is no /papers {invocation.name}; try /papers help.", True)
        try:
            reply = await command.run(ctx, invocation, self._ports)
        except UserError as exc:
            reply = TextReply(str(exc), error=True)
        except Exception as exc:
            trouble = report_trouble(exc, f"/papers {invocation.name} in {ctx.channel}")
            if trouble is None:
                raise
            return TextReply(not_saved(trouble), error=True)
        sub = self.subscriptions.get(ctx.channel)
        if sub is not None and sub.paused is not None:  # tell whoever is here until it is fixed
            reply = replace(reply, notice=paused_notice(sub.paused))
        return reply

    async def answer_text(self, text: str, ctx: CommandContext) -> Reply:
        """Answer a command typed as text: '/papers save 2401.01234', 'meta-rl'."""
        return await self.answer(self.commands.parse(text), ctx)

    async def save_paper(self, channel: Channel, paper_id: str, user: str) -> Reply:
        """The Save button under live arXiv results: /papers save <paper_id>."""
        return await self.answer(
            Invocation("save", {"paper": paper_id}), CommandContext(channel, user)
        )

    async def complete(
        self, command: str, option: str, ctx: CommandContext, current: str
    ) -> list[tuple[str, str]]:
        """Suggestions for an option being typed, as (label, value); [] where it has none."""
        work = self.commands.complete(command, option, self._relayed(ctx), current, self._ports)
        return await self.home.run(work)

    # -- bookmarks ------------------------------------------------------------------------

    async def handle_reaction(
        self, message: MessageRef, user: str, emoji: str, added: bool, event_id: str | None = None
    ) -> BookmarkChange | None:
        """Save or unsave the paper a bot message shows; None when the reaction is not for us."""
        return await self.home.call(self._bookmarks.react, message, user, emoji, added, event_id)

    # -- digests --------------------------------------------------------------------------

    async def post_digest(
        self, poster: ChatPoster, channel: Channel, day: date | None = None
    ) -> DigestOutcome:
        """Deliver a channel's daily digest for its local day (at most once per day)."""
        return await self.home.run(self._post_digest(self.home.relay(poster), channel, day))

    async def _post_digest(
        self, poster: ChatPoster, channel: Channel, day: date | None
    ) -> DigestOutcome:
        sub = self.subscriptions.effective(channel)
        outcome = await self._runner.deliver(
            poster, sub, day or self.subscriptions.local_day(channel)
        )
        log.info("%s", outcome.message)
        return outcome

    async def post_roundup(self, poster: ChatPoster, channel: Channel) -> DigestOutcome:
        """Deliver the channel's weekly roundup (what its members saved most this week)."""
        return await self.home.run(self._post_roundup(self.home.relay(poster), channel))

    async def _post_roundup(self, poster: ChatPoster, channel: Channel) -> DigestOutcome:
        sub = self.subscriptions.effective(channel)
        day = self.subscriptions.local_day(channel)
        picks = self._runner.roundup(sub, day)
        return await self._runner.deliver(poster, sub, day, DigestKind.ROUNDUP, picks)

    async def finish_digest(self, poster: ChatPoster, claim: DigestClaim) -> DigestOutcome:
        """Finish a digest an earlier run left unfinished, or abandon it when it is too old
        (see DigestRunner.settle)."""
        return await self.home.run(self._finish_digest(self.home.relay(poster), claim))

    async def _finish_digest(self, poster: ChatPoster, claim: DigestClaim) -> DigestOutcome:
        sub = self.subscriptions.effective(claim.channel)
        outcome = await self._runner.settle(poster, sub, claim)
        log.info("%s", outcome.message)
        return outcome

    def unattended_digests(self) -> list[DigestClaim]:
        """Unfinished digests no live replica holds (lease expired, holder gone), oldest first:
        what a replica takes over. For code on the core's loop."""
        claims = self._storage.ledger.unfinished_digests()
        return [claim for claim in claims if self._runner.up_for_takeover(claim)]

    def preview(self, channel: Channel, day: date | None = None) -> Digest:
        """The digest a channel would get, without claiming or posting anything."""
        sub = self.subscriptions.effective(channel)
        return self._runner.preview(sub, day or self.subscriptions.local_day(channel))

    async def share_paper(
        self, poster: ChatPoster, channel: Channel, paper_id: str, user: str
    ) -> MessageRef:
        """Post one paper to a channel on a user's request ("Share in channel")."""
        work = self._share_paper(self.home.relay(poster), channel, paper_id, user)
        return await self.home.run(work)

    async def _share_paper(
        self, poster: ChatPoster, channel: Channel, paper_id: str, user: str
    ) -> MessageRef:
        paper = self._papers.find(paper_id)
        day = self.subscriptions.local_day(channel)
        digest = Digest(channel, day, (), title="Shared", kind=DigestKind.SHARE)
        ref = await poster.post_paper(digest, DigestItem(paper, "shared from a /papers search"))
        self._storage.ledger.record_post(ref, paper.id, day, self.clock(), digest.kind.post_kind)
        self.subscriptions.resume(channel)  # the bot can post here again
        return ref

    async def forget_workspace(
        self, platform: str, enterprise: str, team: str, why: PostFailed
    ) -> list[Channel]:
        """A workspace removed the app: delete its installation (tokens) and pause its
        channels' digests with `why`; the channels this paused."""
        return await self.home.call(self._forget_workspace, platform, enterprise, team, why)

    def _forget_workspace(
        self, platform: str, enterprise: str, team: str, why: PostFailed
    ) -> list[Channel]:
        self._storage.installations.delete_installation(platform, enterprise, team)
        return self.subscriptions.pause_workspace(platform, team, why)

    async def workspace_installed(self, platform: str, team: str, paused_for: str) -> list[Channel]:
        """A workspace installed the app (again): resume its channels paused for `paused_for`
        (the removal); the channels this resumed."""
        return await self.home.call(self.subscriptions.resume_workspace, platform, team, paused_for)

    def on_schedule_change(self, listener: ScheduleListener) -> None:
        """Call `listener(channel)` whenever a channel's schedule may have changed."""
        self.subscriptions.on_change(listener)
