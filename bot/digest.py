"""Delivering a channel's digest exactly once, whoever fires it and however often.

The database is the arbiter. A digest is claimed (channel, local day, kind) with its picks fixed
before anything is posted; each paper gets a claim row before its message is sent and its
message ref after. A process holds a lease on the digest while it delivers, so two processes
sharing the database never post the same digest, and a restarted process finishes what a dead
one left: papers marked posted are skipped, papers never claimed are posted, and a message
claimed but not confirmed (a paper or the header) is looked up on the platform, back to the
digest's start, when the adapter can answer (RecoverablePoster). A digest claimed too long ago
to be news is abandoned instead: its in-flight paper is looked up the same way, and the papers
it never posted are released for later digests, so nothing is lost.
"""

from __future__ import annotations

import asyncio
import logging
import os
import secrets
import socket
from collections.abc import AsyncIterator, Callable, Collection
from contextlib import asynccontextmanager
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta
from typing import Protocol, runtime_checkable

from bot.models import (
    Channel,
    ClaimStatus,
    Digest,
    DigestClaim,
    DigestItem,
    DigestKind,
    MessageRef,
    PostStatus,
    Subscription,
)
from bot.ports import ChatPoster, Clock
from bot.selection import EVIDENCE, pick_digest
from bot.storage import Storage
from bot.taste import ChannelTaste, SharedVectors, channel_taste

log = logging.getLogger(__name__)

LEASE = timedelta(minutes=1)  # DIGEST_LEASE_SECONDS: a silent replica's digest is taken after it
RESUME_WINDOW = timedelta(hours=24)  # an interrupted digest is finished if claimed this recently
LOOKUP_MARGIN = timedelta(minutes=1)  # clock skew between this host and the platform
HEADER_PENDING = "pending"  # header send started; its message ref not known yet

TopicMatcher = Callable[[str, Collection[str]], set[str]]


def _machine() -> str:
    """This machine as lease names tell it apart: the host name, and the pid namespace when the
    process runs in a container (two containers may share a host name, never their pids)."""
    try:
        space = os.readlink("/proc/self/ns/pid").removeprefix("pid:[").removesuffix("]")
    except OSError:
        return socket.gethostname()
    return f"{socket.gethostname()}/{space}"


MACHINE = _machine()
_identity: dict[int, str] = {}


def replica_id() -> str:
    """This process's name in digest leases: machine:pid:random. The random part tells a
    restarted process apart from its predecessor with the same pid (pid 1 in a container)."""
    pid = os.getpid()
    if pid not in _identity:  # a forked child is a replica of its own
        _identity[pid] = f"{MACHINE}:{pid}:{secrets.token_hex(4)}"
    return _identity[pid]


def owner_is_dead(owner: str | None) -> bool:
    """True when a lease holder is a process on this machine that no longer exists (or an
    earlier process that had this process's pid); a holder elsewhere is never judged here:
    its lease expires instead."""
    parts = (owner or "").rsplit(":", 2)
    if len(parts) < 2 or parts[0] != MACHINE or not parts[1].isdigit():
        return False
    pid = int(parts[1])
    if pid == os.getpid():
        return owner != replica_id()
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    return False


class LeaseLost(Exception):
    """Another replica took a digest over (this one went silent past its lease): stop posting."""


@runtime_checkable
class RecoverablePoster(Protocol):
    """An adapter that can tell whether a digest message already reached a channel."""

    async def find_posted(self, channel: Channel, key: str, since: datetime) -> MessageRef | None:
        """The bot's message in the channel tagged `key` (a paper id, or a digest's header key)
        posted after `since`, however many messages came after it; None when there is none."""
        ...


@dataclass(frozen=True, slots=True)
class DigestOutcome:
    """What a digest run did: posted, empty (said so), skipped, already (done before), busy,
    or abandoned (too old to post when the bot came back)."""

    status: str
    channel: Channel
    day: date
    posted: tuple[MessageRef, ...] = ()
    digest: Digest | None = None
    note: str = ""  # why a digest was abandoned

    @property
    def message(self) -> str:
        """One line for logs and replies."""
        count = len(self.posted)
        return {
            "posted": f"posted {count} paper{'s' * (count != 1)} to {self.channel}",
            "empty": f"nothing new for {self.channel}; said so",
            "skipped": f"nothing new for {self.channel}; skipped (empty digests are off)",
            "already": f"today's digest for {self.channel} was already posted",
            "busy": f"another process is posting {self.channel}'s digest",
            "abandoned": f"gave up the digest of {self.day} for {self.channel}: {self.note}",
        }[self.status]


@dataclass
class DigestRunner:
    """Builds and delivers digests from the stored papers to a poster."""

    storage: Storage
    clock: Clock
    match_topic: TopicMatcher
    lookback_days: int = 3
    lease: timedelta = LEASE
    # Digests this process is delivering right now: a lease names the process, so two runs in
    # one process (a start-up resume and a /papers digest) must be told apart here.
    _delivering: set[tuple[Channel, date, str]] = field(default_factory=set)
    # Every channel's taste over the same candidates shares one tf-idf fit.
    _vectors: SharedVectors = field(default_factory=SharedVectors)

    def delivering(self, claim: DigestClaim) -> bool:
        """True while this process delivers that digest."""
        return (claim.channel, claim.day, claim.kind) in self._delivering

    def up_for_takeover(self, claim: DigestClaim) -> bool:
        """True when an unfinished digest has no live holder: its lease expired, its holder on
        this machine is gone, or it was claimed a lease ago and never leased."""
        if claim.status != ClaimStatus.CLAIMED or self.delivering(claim):
            return False
        now = self.clock()
        if claim.lease_until is None:
            return claim.claimed_at is None or claim.claimed_at + self.lease <= now
        return claim.lease_until < now or owner_is_dead(claim.owner)

    def preview(self, sub: Subscription, day: date) -> Digest:
        """The digest a channel would get now, without claiming or posting anything."""
        now = self.clock()
        since = now - timedelta(days=self.lookback_days)
        candidates = self.storage.papers.recent(since, day - timedelta(days=self.lookback_days))
        ids = [paper.id for paper in candidates]
        matches = {topic: self.match_topic(topic, ids) for topic in sub.topics}
        posted = self.storage.ledger.posted_paper_ids(sub.channel)
        taste = (
            channel_taste(self.storage, sub.channel, candidates, now, self._vectors)
            if sub.taste
            else None
        )
        taste = taste or ChannelTaste({})
        return pick_digest(sub, candidates, posted | taste.saved, day, matches, taste.liking)

    def roundup(self, sub: Subscription, day: date) -> Digest:
        """The week's papers this channel's members saved most: the team's reading list."""
        since = self.clock() - timedelta(days=7)
        saves = self.storage.activity.team_saves(sub.channel, since)[: sub.count]
        papers = self.storage.papers.get_many([pid for pid, _ in saves])
        items = tuple(
            DigestItem(papers[pid], f"saved by {n} teammate{'s' * (n != 1)}")
            for pid, n in saves
            if pid in papers
        )
        if sub.taste and len(items) < sub.count:
            items += self._missed(sub, since, sub.count - len(items))
        return Digest(
            sub.channel,
            day,
            items,
            f"Weekly roundup · the team's reading list · {day:%d %b}",
            "Nobody saved a paper this week.",
            DigestKind.ROUNDUP,
        )

    def _missed(self, sub: Subscription, since: datetime, count: int) -> tuple[DigestItem, ...]:
        """The week's papers the channel's taste likes that it was never shown nor saved."""
        posted = self.storage.ledger.posted_paper_ids(sub.channel)
        week = [p for p in self.storage.papers.recent(since, since.date()) if p.id not in posted]
        liking = channel_taste(self.storage, sub.channel, week, self.clock(), self._vectors).liking
        liked = sorted(
            (p for p in week if p.id in liking and liking[p.id].score >= EVIDENCE),
            key=lambda p: (-liking[p.id].score, p.id),
        )
        return tuple(
            DigestItem(p, f"you may have missed it: {liking[p.id].evidence}") for p in liked[:count]
        )

    async def deliver(
        self,
        poster: ChatPoster,
        sub: Subscription,
        day: date,
        kind: DigestKind = DigestKind.DAILY,
        picks: Digest | None = None,
        run: str = "",
    ) -> DigestOutcome:
        """Post a channel's digest (or `picks`) for a local day at most once, finishing an
        interrupted run. `run` tells apart a day's extra digests."""
        claim = self.storage.ledger.get_digest(sub.channel, day, kind.key(run))
        if claim is None:
            chosen = picks or self.preview(sub, day)
            reasons = [(item.paper.id, item.why) for item in chosen.items]
            claim = self.storage.ledger.claim_digest(
                sub.channel, day, kind.key(run), reasons, self.clock()
            )
        return await self._run(poster, sub, claim, picks)

    async def settle(
        self, poster: ChatPoster, sub: Subscription, claim: DigestClaim
    ) -> DigestOutcome:
        """Finish a digest an earlier run left unfinished (any kind), or abandon it when it was
        claimed more than RESUME_WINDOW ago: a digest that late is no longer news."""
        age = self.clock() - self._started(claim)
        if age <= RESUME_WINDOW:
            return await self.resume(poster, sub, claim)
        hours = age.total_seconds() / 3600
        return await self.abandon(poster, claim, f"claimed {hours:.0f} h ago, too late to post")

    async def resume(
        self, poster: ChatPoster, sub: Subscription, claim: DigestClaim
    ) -> DigestOutcome:
        """Finish a claimed digest of any kind with its claimed picks."""
        kind, _ = DigestKind.of_key(claim.kind)
        template = self.roundup(sub, claim.day) if kind == DigestKind.ROUNDUP else None
        if kind == DigestKind.EXTRA:  # asked for by someone: always answered
            sub = replace(sub, skip_empty=False)
        return await self._run(poster, sub, claim, template)

    async def abandon(self, poster: ChatPoster, claim: DigestClaim, why: str) -> DigestOutcome:
        """Give up a claimed digest: a paper whose send was in flight is looked up on the
        platform (found: recorded as posted), the rest of its unposted papers are released for
        later digests, and the claim is marked abandoned."""
        channel, day = claim.channel, claim.day
        async with self._delivery(claim) as ours:
            if not ours:
                return DigestOutcome("busy", channel, day)
            post_kind = DigestKind.of_key(claim.kind)[0].post_kind
            ledger = self.storage.ledger
            released = []
            for pid, _ in claim.picks:
                if ledger.post_status(channel, pid, post_kind, day) != PostStatus.CLAIMED:
                    continue
                if found := await self._look_up(poster, claim, pid):
                    ledger.record_post(found, pid, day, self.clock(), post_kind)
                elif ledger.release_post(channel, pid, day, post_kind):
                    released.append(pid)
            ledger.abandon_digest(channel, day, claim.kind, self.clock())
        log.warning(
            "%s digest of %s for %s abandoned (%s); released %d unposted paper(s) for later "
            "digests: %s",
            claim.kind,
            day,
            channel,
            why,
            len(released),
            ", ".join(released) or "none",
        )
        return DigestOutcome("abandoned", channel, day, note=why)

    async def _run(
        self, poster: ChatPoster, sub: Subscription, claim: DigestClaim, picks: Digest | None
    ) -> DigestOutcome:
        """Deliver a claimed digest: header, then each paper not yet posted."""
        channel, day, key = sub.channel, claim.day, claim.kind
        if claim.status == ClaimStatus.DONE:
            return DigestOutcome("already", channel, day)
        if claim.status == ClaimStatus.ABANDONED:
            return DigestOutcome("abandoned", channel, day, note="abandoned earlier")
        posted: list[MessageRef] = []
        async with self._delivery(claim) as ours:
            if not ours:
                return DigestOutcome("busy", channel, day)
            ledger = self.storage.ledger
            digest = self._digest_of(sub, claim, picks)
            if not digest.items and (sub.skip_empty or digest.kind == DigestKind.ROUNDUP):
                ledger.finish_digest(channel, day, key, self.clock())
                return DigestOutcome("skipped", channel, day, digest=digest)
            try:
                if claim.header_ref in (None, HEADER_PENDING):
                    await self._post_header(poster, digest, claim)
                for item in digest.items:
                    if ref := await self._post(poster, digest, item, claim):
                        posted.append(ref)
            except LeaseLost:
                log.warning(
                    "%s %s %s: another replica took it over after %d paper(s) posted here",
                    key,
                    channel,
                    day,
                    len(posted),
                )
                return DigestOutcome("busy", channel, day, tuple(posted), digest)
            ledger.finish_digest(channel, day, key, self.clock())
        status = "posted" if digest.items else "empty"
        log.info("%s %s %s: %d paper(s) posted", key, channel, day, len(posted))
        return DigestOutcome(status, channel, day, tuple(posted), digest)

    @asynccontextmanager
    async def _delivery(self, claim: DigestClaim) -> AsyncIterator[bool]:
        """Hold a claimed digest while delivering it: True when no other run (in this process
        or, by the lease, in another) has it."""
        slot = (claim.channel, claim.day, claim.kind)
        if slot in self._delivering or not self._lease(claim, take_dead=True):
            yield False
            return
        self._delivering.add(slot)
        heartbeat = asyncio.create_task(self._renew_while_held(claim))
        try:
            yield True
        finally:
            heartbeat.cancel()
            self._delivering.discard(slot)

    def _lease(self, claim: DigestClaim, take_dead: bool = False) -> bool:
        """Take or renew this replica's lease on a claimed digest (one conditional UPDATE: the
        database decides between replicas); False while another replica holds it."""
        now = self.clock()
        dead: list[str] = []
        if take_dead:
            holder = self.storage.ledger.digest_owner(claim.channel, claim.day, claim.kind)
            dead = [holder] if holder and owner_is_dead(holder) else []
        return self.storage.ledger.lease_digest(
            claim.channel, claim.day, claim.kind, replica_id(), now + self.lease, now, dead
        )

    def _hold(self, claim: DigestClaim) -> None:
        """Renew the lease before a message is sent; LeaseLost when another replica has it."""
        if not self._lease(claim):
            raise LeaseLost(claim.kind)

    async def _renew_while_held(self, claim: DigestClaim) -> None:
        """Renew the lease three times per lease while delivering, so one slow send (rate
        limits, retries) never lets it expire under a live replica."""
        while True:
            await asyncio.sleep(self.lease.total_seconds() / 3)
            try:
                if not self._lease(claim):
                    return  # taken over: the next send finds out and stops
            except Exception:  # the next send's renewal reports the database's trouble
                log.debug("renewing the lease of %s %s failed", claim.kind, claim.channel)

    def _started(self, claim: DigestClaim) -> datetime:
        """When a claimed digest's delivery began (claims from before this was kept: now)."""
        return claim.claimed_at or self.clock()

    async def _look_up(self, poster: ChatPoster, claim: DigestClaim, key: str) -> MessageRef | None:
        """The message tagged `key` that this digest may have sent before a crash."""
        if not isinstance(poster, RecoverablePoster):
            return None
        since = self._started(claim) - LOOKUP_MARGIN
        return await poster.find_posted(claim.channel, key, since)

    def _digest_of(self, sub: Subscription, claim: DigestClaim, picks: Digest | None) -> Digest:
        """The claimed picks as a Digest, in the claimed order with the claimed reasons."""
        kind, run = DigestKind.of_key(claim.kind)
        papers = self.storage.papers.get_many([pid for pid, _ in claim.picks])
        items = tuple(DigestItem(papers[pid], why) for pid, why in claim.picks if pid in papers)
        template = picks or pick_digest(sub, (), (), claim.day)
        reason = "" if items else (picks or self.preview(sub, claim.day)).empty_reason
        return Digest(sub.channel, claim.day, items, template.title, reason, kind, run)

    async def _post_header(self, poster: ChatPoster, digest: Digest, claim: DigestClaim) -> None:
        """Post the header once: marked pending first, looked up on the platform on a resume."""
        found = None
        if claim.header_ref == HEADER_PENDING:
            found = await self._look_up(poster, claim, digest.header_key)
        if found is None:
            self._hold(claim)
            self.storage.ledger.set_digest_header(
                digest.channel, digest.day, claim.kind, HEADER_PENDING
            )
            found = await poster.post_header(digest)
        self.storage.ledger.set_digest_header(digest.channel, digest.day, claim.kind, found.ref)

    async def _post(
        self, poster: ChatPoster, digest: Digest, item: DigestItem, claim: DigestClaim
    ) -> MessageRef | None:
        """Post one paper unless it already reached the channel; records the message ref."""
        channel, pid, post_kind = digest.channel, item.paper.id, digest.kind.post_kind
        ledger = self.storage.ledger
        status = ledger.post_status(channel, pid, post_kind, digest.day)
        if status == PostStatus.POSTED:
            return None
        self._hold(claim)
        if status is None and not ledger.claim_post(
            channel, pid, digest.day, self.clock(), post_kind
        ):
            return None  # another digest of this channel holds it
        if status == PostStatus.CLAIMED:
            found = await self._look_up(poster, claim, pid)
            if found is not None:
                ledger.record_post(found, pid, digest.day, self.clock(), post_kind)
                return None
        ref = await poster.post_paper(digest, item)
        ledger.record_post(ref, pid, digest.day, self.clock(), post_kind)
        return ref
