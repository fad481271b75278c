"""`papers-bot run`: every adapter, the fetch and digest schedules, and /healthz in one loop."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Coroutine, Sequence
from datetime import date, datetime, timedelta
from typing import Any

import aiohttp
from aiohttp import web
from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.date import DateTrigger
from apscheduler.triggers.interval import IntervalTrigger

from bot import health
from bot.config import ConfigError, Settings
from bot.core import PapersBot
from bot.ingest import fetch_sources
from bot.listening import listen
from bot.models import Channel, ClaimStatus, DigestClaim, Subscription
from bot.ports import ChatAdapter, Clock, PlatformUnreachable, PostFailed, utcnow
from bot.schedule import ARXIV_ANNOUNCE, catch_up, digest_trigger, job_id, roundup_trigger
from bot.storage import Storage, storage_trouble
from bot.tasks import TaskSet
from bot.zotero import ZoteroPusher

log = logging.getLogger(__name__)

# A delivery that failed for a passing reason (timeout, 5xx, rate limit, a locked database) is
# tried again after 1, 2, 4 … minutes, at most an hour apart, until it goes through.
RETRY_FIRST = timedelta(minutes=1)
RETRY_CAP = timedelta(hours=1)
CONNECT_BACKOFF = (1.0, 60.0)  # seconds: first wait and cap between start-up connection tries
STOP_TIMEOUT = 30.0  # seconds in-flight posts get to finish on shutdown
ZOTERO_INTERVAL = 60  # seconds between two looks at the Zotero outbox


class Service:
    """Schedules fetches and digests for every subscribed channel and runs the adapters."""

    def __init__(
        self,
        bot: PapersBot,
        storage: Storage,
        adapters: Sequence[ChatAdapter],
        settings: Settings,
        clock: Clock = utcnow,
    ) -> None:
        self.bot = bot
        self.storage = storage
        self.adapters = {adapter.platform: adapter for adapter in adapters}
        self.settings = settings
        self.clock = clock
        self.scheduler = AsyncIOScheduler(timezone="UTC")
        self.started: datetime | None = None
        self.health_port: int | None = None
        self._tasks = TaskSet()
        self._session: aiohttp.ClientSession | None = None
        self._health: web.AppRunner | None = None
        self._failures: dict[str, int] = {}  # job id -> failed attempts in a row
        self._finishing: set[Channel] = set()  # channels whose unfinished digests run now
        self.zotero = ZoteroPusher(storage, settings, clock)
        bot.on_schedule_change(self.reschedule)

    @property
    def lease(self) -> timedelta:
        """How long a replica's digest lease lasts unrenewed (DIGEST_LEASE_SECONDS)."""
        return timedelta(seconds=self.settings.digest_lease_seconds)

    @property
    def grace(self) -> timedelta:
        """How late a missed digest may still be posted."""
        return timedelta(hours=self.settings.catchup_grace_hours)

    async def start(self) -> None:
        """Connect the adapters, build every job from the database, catch up, serve /healthz."""
        self.started = self.clock()
        timeout = aiohttp.ClientTimeout(total=self.settings.http_timeout)
        self._session = aiohttp.ClientSession(timeout=timeout)
        if self.settings.health_port is not None:  # first: it answers while adapters connect
            await self._serve_health()
        for adapter in self.adapters.values():
            await self._connect(adapter)
            log.info("%s adapter started", adapter.platform)
        self.scheduler.start()
        self._schedule_fetches()
        for sub in self.bot.subscriptions.all():
            self.reschedule(sub.channel)
        self._recover()
        self.scheduler.add_job(  # after the start-up sweep: what other replicas leave behind
            self._track,
            IntervalTrigger(seconds=max(self.lease.total_seconds() / 2, 1.0)),
            args=[self._take_over],
            id="takeover",
            name="takeover",
            replace_existing=True,
            coalesce=True,
            max_instances=1,
        )

    async def _connect(self, adapter: ChatAdapter) -> None:
        """Start an adapter, retrying with backoff while its platform is unreachable (a router
        reboot must not stop the service) for CONNECT_RETRY_MINUTES, then ConfigError."""
        loop = asyncio.get_running_loop()
        patience = self.settings.connect_retry_minutes * 60
        give_up = loop.time() + patience
        delay, cap = CONNECT_BACKOFF
        while True:
            try:
                await adapter.start()
                return
            except PlatformUnreachable as exc:
                if loop.time() + delay > give_up:
                    raise ConfigError(
                        f"{exc}; still unreachable after {patience / 60:g} minutes of retrying: "
                        "check the network and that address (CONNECT_RETRY_MINUTES sets the wait)"
                    ) from exc
                log.warning("%s; retrying in %g s", exc, delay)
                await asyncio.sleep(delay)
                delay = min(delay * 2, cap)

    async def stop(self) -> None:
        """Stop scheduling, let in-flight posts finish, disconnect, close the database."""
        if self.scheduler.running:
            self.scheduler.shutdown(wait=False)
        if self._tasks:
            log.info("waiting for %d in-flight job(s)", len(self._tasks))
            await self._tasks.idle(timeout=STOP_TIMEOUT)
        if self._tasks:
            late = len(self._tasks)
            log.warning("%d job(s) still running after %g s: stopped", late, STOP_TIMEOUT)
            await self._tasks.cancel()
        for adapter in self.adapters.values():
            await adapter.stop()
        if self._health:
            await self._health.cleanup()
        if self._session:
            await self._session.close()
        self.storage.close()
        log.info("stopped")

    # -- jobs -----------------------------------------------------------------------------

    def _schedule_fetches(self) -> None:
        if self.settings.zotero_api_key:  # saves waiting for Zotero: each batch pushed once
            self.scheduler.add_job(
                self._track,
                IntervalTrigger(seconds=ZOTERO_INTERVAL),
                args=[self._push_zotero],
                id="zotero",
                name="zotero",
                replace_existing=True,
                next_run_time=utcnow(),
            )
        names = self.settings.papers_bot_sources
        if "hf" in names:
            every = IntervalTrigger(minutes=self.settings.fetch_interval_minutes)
            self.scheduler.add_job(
                self._track,
                every,
                args=[self._fetch, ("hf",)],
                id="fetch:hf",
                name="fetch:hf",
                replace_existing=True,
                next_run_time=utcnow(),  # the scheduler runs on real time, not the bot's clock
            )
        if "arxiv" in names:
            self.scheduler.add_job(
                self._track,
                ARXIV_ANNOUNCE,
                args=[self._fetch, ("arxiv",)],
                id="fetch:arxiv",
                name="fetch:arxiv",
                replace_existing=True,
                misfire_grace_time=3600,
            )

    def reschedule(self, channel: Channel) -> None:
        """Add, move or remove a channel's digest and roundup jobs to match its settings."""
        sub = self.bot.subscriptions.get(channel)
        active = sub if sub and not sub.paused else None  # a paused channel has no jobs
        plans = [
            ("digest", self._digest, digest_trigger(active) if active else None),
            ("roundup", self._roundup, roundup_trigger(active) if active else None),
        ]
        for kind, job, trigger in plans:
            jid = job_id(kind, channel)
            if trigger is None or channel.platform not in self.adapters:
                if self.scheduler.get_job(jid):
                    self.scheduler.remove_job(jid)
                continue
            self.scheduler.add_job(
                self._track,
                trigger,
                args=[job, channel],
                id=jid,
                name=jid,
                replace_existing=True,
                misfire_grace_time=int(self.grace.total_seconds()) or 1,
                coalesce=True,
                max_instances=1,
            )
            log.info(
                "%s for %s: next at %s", kind, channel, self.scheduler.get_job(jid).next_run_time
            )

    def _recover(self) -> None:
        """At start-up, per channel and in order: finish (or abandon) every digest a previous
        run left unfinished, of any kind, then post the digest missed while down."""
        interrupted: dict[Channel, list[DigestClaim]] = {}
        for claim in self.storage.ledger.unfinished_digests():
            interrupted.setdefault(claim.channel, []).append(claim)
        subs = {sub.channel: sub for sub in self.bot.subscriptions.all()}
        for channel in [*interrupted, *(c for c in subs if c not in interrupted)]:
            claims = interrupted.get(channel, [])
            adapter = self.adapters.get(channel.platform)
            if adapter is None:
                for claim in claims:
                    log.warning(
                        "%s digest of %s for %s left unfinished: %s is not configured",
                        claim.kind,
                        claim.day,
                        channel,
                        channel.platform,
                    )
                continue
            sub = subs.get(channel)
            if sub is not None and sub.paused is not None:
                continue  # its posts fail until someone acts; /papers subscribe resumes it
            missed = self._missed(sub) if sub is not None else None
            if claims or missed:
                self._spawn(self._recover_channel(adapter, channel, claims, missed))

    def _missed(self, sub: Subscription) -> date | None:
        """The day of a digest due while the bot was down that should still be posted."""

        def status_on(day: date) -> str | None:
            claim = self.storage.ledger.get_digest(sub.channel, day)
            return claim.status if claim else None

        decision = catch_up(sub, self.clock(), status_on, self.grace)
        if decision.action == "skip":
            log.warning("no digest for %s on %s: %s", sub.channel, decision.due, decision.reason)
        if decision.action != "post" or decision.due is None:
            return None
        log.info("catch-up for %s: %s", sub.channel, decision.reason)
        return decision.due.date()

    async def _recover_channel(
        self, adapter: ChatAdapter, channel: Channel, claims: list[DigestClaim], missed: date | None
    ) -> None:
        self._finishing.add(channel)
        try:
            for claim in claims:
                await self._finish(adapter, claim)
        finally:
            self._finishing.discard(channel)
        if missed is not None:
            await self._digest(channel, missed)

    async def _take_over(self) -> None:
        """Every lease/2: finish the digests no live replica holds any more (one killed or cut
        off mid-digest stopped renewing its lease), in order per channel. The lease itself,
        one conditional UPDATE, decides which replica gets each."""
        try:
            unattended = self.bot.unattended_digests()
        except Exception as exc:
            if (trouble := storage_trouble(exc)) is None:
                log.exception("looking for digests to take over failed")
            else:
                log.warning("looking for digests to take over failed (%s)", trouble)
            return
        claims: dict[Channel, list[DigestClaim]] = {}
        for claim in unattended:
            claims.setdefault(claim.channel, []).append(claim)
        for channel, mine in claims.items():
            adapter = self.adapters.get(channel.platform)
            sub = self.bot.subscriptions.get(channel)
            if adapter is None or channel in self._finishing or (sub and sub.paused):
                continue
            log.warning(
                "taking over %d unfinished digest(s) of %s: %s stopped renewing the lease",
                len(mine),
                channel,
                mine[0].owner or "its replica",
            )
            self._spawn(self._recover_channel(adapter, channel, mine, None))

    async def _finish(self, adapter: ChatAdapter, claim: DigestClaim) -> None:
        """Finish or abandon one interrupted digest; tried again later when it fails or another
        process holds it, and the channel paused when it cannot be posted there."""
        jid = f"finish-{claim.kind}-{claim.day}-{job_id('digest', claim.channel)}"
        try:
            outcome = await self.bot.finish_digest(adapter, claim)
        except PostFailed as exc:
            if exc.permanent:
                self._pause(claim.channel, "digest", exc)
                return
            reason = exc.reason
        except Exception as exc:
            trouble = storage_trouble(exc)
            if trouble is None:
                log.exception("finishing the %s digest for %s failed", claim.kind, claim.channel)
            reason = trouble or type(exc).__name__
        else:
            self._failures.pop(jid, None)
            if outcome.status == "busy":  # another process has it: look again once its lease ends
                self._finish_later(jid, claim, self.lease)
            return
        attempt, delay = self._backoff(jid)
        log.warning(
            "finishing the %s digest of %s for %s failed (%s), attempt %d; trying again in %s",
            claim.kind,
            claim.day,
            claim.channel,
            reason,
            attempt,
            delay,
        )
        self._finish_later(jid, claim, delay)

    def _finish_later(self, jid: str, claim: DigestClaim, delay: timedelta) -> None:
        self.scheduler.add_job(
            self._track,
            DateTrigger(utcnow() + delay),
            args=[self._finish_again, claim],
            id=jid,
            replace_existing=True,
        )

    async def _finish_again(self, claim: DigestClaim) -> None:
        now = self.storage.ledger.get_digest(claim.channel, claim.day, claim.kind)
        adapter = self.adapters.get(claim.channel.platform)
        sub = self.bot.subscriptions.get(claim.channel)
        if now is None or now.status != ClaimStatus.CLAIMED or adapter is None:
            return
        if sub is None or sub.paused is None:
            await self._finish(adapter, now)

    async def idle(self, timeout: float | None = None) -> None:
        """Wait for the jobs running now (at most `timeout` seconds)."""
        await self._tasks.idle(timeout)

    async def _track(self, job: Callable[..., Coroutine[Any, Any, object]], *args: object) -> None:
        """Run a job as a tracked task, so shutdown can wait for it. The scheduler cancels this
        wrapper when it shuts down: the job runs on (stop() waits for it), and the cancelled
        wrapper ends quietly rather than as an error in the scheduler's log."""
        with contextlib.suppress(asyncio.CancelledError):
            await asyncio.shield(self._spawn(job(*args)))

    def _spawn(self, work: Coroutine[Any, Any, object]) -> asyncio.Task[Any]:
        return self._tasks.spawn(work)

    async def _fetch(self, names: tuple[str, ...]) -> None:
        assert self._session is not None
        try:
            reports = await fetch_sources(
                self.storage, self.settings, self._session, names, None, self.clock()
            )
        except Exception:
            log.exception("fetching %s failed; will try again on schedule", ",".join(names))
            return
        for report in reports:
            log.info("fetched %s: %d papers, %d new", report.source, report.seen, report.new)

    async def _push_zotero(self) -> None:
        try:
            await self.zotero.push_due()
        except Exception:  # one job's boundary: the outbox keeps every save for the next run
            log.exception("pushing saves to Zotero failed; will try again")

    async def _digest(self, channel: Channel, day: date | None = None) -> None:
        await self._deliver(channel, "digest", day)

    async def _roundup(self, channel: Channel) -> None:
        await self._deliver(channel, "roundup", None)

    async def _deliver(self, channel: Channel, kind: str, day: date | None) -> None:
        adapter = self.adapters.get(channel.platform)
        sub = self.bot.subscriptions.get(channel)
        if adapter is None or sub is None or sub.paused is not None:
            return
        jid = job_id(kind, channel)
        if kind == "digest" and day is None:  # the day it fired for, kept by any retry
            day = self.bot.subscriptions.local_day(channel)
        try:
            if kind == "roundup":
                outcome = await self.bot.post_roundup(adapter, channel)
            else:
                outcome = await self.bot.post_digest(adapter, channel, day)
        except PostFailed as exc:
            if exc.permanent:
                self._pause(channel, kind, exc)
            else:
                self._retry(channel, kind, day, exc.reason)
            return
        except Exception as exc:
            trouble = storage_trouble(exc)
            if trouble is None:  # not a failure we know: its traceback is needed to fix it
                log.exception("%s for %s failed", kind, channel)
            self._retry(channel, kind, day, trouble or type(exc).__name__)
            return
        if self._failures.pop(jid, None) and (retry := self.retry_job(kind, channel)):
            retry.remove()  # delivered by the scheduled run: no retry left waiting
        log.info("%s", outcome.message)

    def _pause(self, channel: Channel, kind: str, failure: PostFailed) -> None:
        """Stop a channel's jobs after a failure only a person can fix; logged once."""
        self._failures.pop(job_id(kind, channel), None)
        if self.bot.subscriptions.pause(channel, failure):
            log.warning(
                "%s for %s cannot be posted (%s): paused until /papers subscribe there. %s.",
                kind,
                channel,
                failure.reason,
                failure.said,
            )

    def _retry(self, channel: Channel, kind: str, day: date | None, reason: str) -> None:
        """Try a failed delivery again later, each time twice as late, at most RETRY_CAP."""
        jid = job_id(kind, channel)
        attempt, delay = self._backoff(jid)
        log.warning(
            "%s for %s failed (%s), attempt %d; trying again in %s",
            kind,
            channel,
            reason,
            attempt,
            delay,
        )
        job = self._digest if kind == "digest" else self._roundup
        self.scheduler.add_job(
            self._track,
            DateTrigger(utcnow() + delay),
            args=[job, channel, day] if kind == "digest" else [job, channel],
            id=f"retry-{jid}",
            replace_existing=True,
        )

    def _backoff(self, jid: str) -> tuple[int, timedelta]:
        """Count one more failure of a job in a row: the attempt number and how long to wait."""
        attempt = self._failures[jid] = self._failures.get(jid, 0) + 1
        return attempt, min(RETRY_FIRST * 2 ** (attempt - 1), RETRY_CAP)

    def retry_job(self, kind: str, channel: Channel) -> Any:
        """The pending retry of a failed delivery, if any (an APScheduler Job)."""
        return self.scheduler.get_job(f"retry-{job_id(kind, channel)}")

    # -- health ---------------------------------------------------------------------------

    def report(self) -> dict[str, object]:
        """The /healthz document."""
        connected = {name: adapter.connected for name, adapter in self.adapters.items()}
        return health.snapshot(self.storage, self.clock(), self.started, connected)

    async def _serve_health(self) -> None:
        runner = web.AppRunner(health.health_app(self.report), access_log=None)
        await runner.setup()
        host, port = self.settings.health_host, self.settings.health_port
        assert port is not None
        await listen(runner, host, port, "HEALTH_PORT", "or HEALTH_PORT=off")
        self._health = runner
        self.health_port = runner.addresses[0][1]
        log.info("health at http://%s:%s/healthz", self.settings.health_host, self.health_port)
