"""Delivering a channel's digest exactly once, whoever fires it and however often.

The database is the arbiter. A digest is claimed (channel, local day, kind) with its picks fixed
before anything is posted; each paper gets a claim row before its message is sent and its
message ref after. A process holds a lease on the digest while it delivers, so two processes
sharing the database never post the same digest, and a restarted process finishes what a dead
one left: papers marked posted are skipped, papers never claimed are posted, and a paper claimed
but not confirmed is looked up on the platform when the adapter can answer (RecoverablePoster).
"""

from __future__ import annotations

import logging
import os
import socket
from collections.abc import Callable, Collection
from dataclasses import dataclass
from datetime import date, timedelta
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
from bot.selection import pick_digest
from bot.storage import Storage

log = logging.getLogger(__name__)

HOST = socket.gethostname()
LEASE = timedelta(minutes=5)
HEADER_PENDING = "pending"  # header send started; its message ref not known yet

TopicMatcher = Callable[[str, Collection[str]], set[str]]


def process_owner() -> str:
    """This process's name in digest leases: host:pid."""
    return f"{HOST}:{os.getpid()}"


def owner_is_dead(owner: str | None) -> bool:
    """True when a lease holder is a process on this host that no longer exists."""
    if not owner or ":" not in owner:
        return False
    host, _, pid = owner.rpartition(":")
    if host != HOST or not pid.isdigit():
        return False
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    return False


@runtime_checkable
class RecoverablePoster(Protocol):
    """An adapter that can tell whether a paper's message already reached a channel."""

    async def find_posted(self, channel: Channel, paper_id: str) -> MessageRef | None:
        """The message already showing this paper in the channel, if the platform knows one."""
        ...


@dataclass(frozen=True, slots=True)
class DigestOutcome:
    """What a digest run did: posted, empty (said so), skipped, already (done before), busy."""

    status: str
    channel: Channel
    day: date
    posted: tuple[MessageRef, ...] = ()
    digest: Digest | None = None

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
        }[self.status]


@dataclass
class DigestRunner:
    """Builds and delivers digests from the stored papers to a poster."""

    storage: Storage
    clock: Clock
    match_topic: TopicMatcher
    lookback_days: int = 3

    def preview(self, sub: Subscription, day: date) -> Digest:
        """The digest a channel would get now, without claiming or posting anything."""
        now = self.clock()
        since = now - timedelta(days=self.lookback_days)
        candidates = self.storage.papers.recent(since, day - timedelta(days=self.lookback_days))
        ids = [paper.id for paper in candidates]
        matches = {topic: self.match_topic(topic, ids) for topic in sub.topics}
        posted = self.storage.ledger.posted_paper_ids(sub.channel)
        return pick_digest(sub, candidates, posted, day, matches)

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
        return Digest(
            sub.channel,
            day,
            items,
            f"Weekly roundup · the team's reading list · {day:%d %b}",
            "Nobody saved a paper this week.",
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
        channel = sub.channel
        key = kind.key(run)
        ledger = self.storage.ledger
        claim = ledger.get_digest(channel, day, key)
        if claim is None:
            chosen = picks or self.preview(sub, day)
            reasons = [(item.paper.id, item.why) for item in chosen.items]
            claim = ledger.claim_digest(channel, day, key, reasons, self.clock())
        if claim.status == ClaimStatus.DONE:
            return DigestOutcome("already", channel, day)
        if not self._lease(claim):
            return DigestOutcome("busy", channel, day)
        digest = self._digest_of(sub, claim, picks, kind, run)
        if not digest.items and (sub.skip_empty or kind == DigestKind.ROUNDUP):
            ledger.finish_digest(channel, day, key, self.clock())
            return DigestOutcome("skipped", channel, day, digest=digest)
        if claim.header_ref in (None, HEADER_PENDING):
            await self._post_header(poster, digest, claim)
        posted: list[MessageRef] = []
        for item in digest.items:
            if ref := await self._post(poster, digest, item):
                posted.append(ref)
        ledger.finish_digest(channel, day, key, self.clock())
        status = "posted" if digest.items else "empty"
        log.info("%s %s %s: %d paper(s) posted", key, channel, day, len(posted))
        return DigestOutcome(status, channel, day, tuple(posted), digest)

    def _lease(self, claim: DigestClaim) -> bool:
        now = self.clock()
        holder = self.storage.ledger.digest_owner(claim.channel, claim.day, claim.kind)
        dead = [holder] if holder and owner_is_dead(holder) else []
        return self.storage.ledger.lease_digest(
            claim.channel, claim.day, claim.kind, process_owner(), now + LEASE, now, dead
        )

    def _digest_of(
        self,
        sub: Subscription,
        claim: DigestClaim,
        picks: Digest | None,
        kind: DigestKind,
        run: str,
    ) -> Digest:
        """The claimed picks as a Digest, in the claimed order with the claimed reasons."""
        papers = self.storage.papers.get_many([pid for pid, _ in claim.picks])
        items = tuple(DigestItem(papers[pid], why) for pid, why in claim.picks if pid in papers)
        template = picks or pick_digest(sub, (), (), claim.day)
        reason = "" if items else (picks or self.preview(sub, claim.day)).empty_reason
        return Digest(sub.channel, claim.day, items, template.title, reason, kind, run)

    async def _post_header(self, poster: ChatPoster, digest: Digest, claim: DigestClaim) -> None:
        """Post the header once: marked pending first, looked up on the platform on a resume."""
        found = None
        if claim.header_ref == HEADER_PENDING and isinstance(poster, RecoverablePoster):
            found = await poster.find_posted(digest.channel, digest.header_key)
        if found is None:
            self.storage.ledger.set_digest_header(
                digest.channel, digest.day, claim.kind, HEADER_PENDING
            )
            found = await poster.post_header(digest)
        self.storage.ledger.set_digest_header(digest.channel, digest.day, claim.kind, found.ref)

    async def _post(
        self, poster: ChatPoster, digest: Digest, item: DigestItem
    ) -> MessageRef | None:
        """Post one paper unless it already reached the channel; records the message ref."""
        channel, pid, post_kind = digest.channel, item.paper.id, digest.kind.post_kind
        ledger = self.storage.ledger
        status = ledger.post_status(channel, pid, post_kind, digest.day)
        if status == PostStatus.POSTED:
            return None
        if status is None and not ledger.claim_post(
            channel, pid, digest.day, self.clock(), post_kind
        ):
            return None  # another digest of this channel holds it
        if status == PostStatus.CLAIMED and isinstance(poster, RecoverablePoster):
            found = await poster.find_posted(channel, pid)
            if found is not None:
                ledger.record_post(found, pid, digest.day, self.clock(), post_kind)
                return None
        ref = await poster.post_paper(digest, item)
        ledger.record_post(ref, pid, digest.day, self.clock(), post_kind)
        now = self.clock()
        ledger.lease_digest(channel, digest.day, digest.key, process_owner(), now + LEASE, now)
        return ref
