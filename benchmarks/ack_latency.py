"""Ack latency: how fast `papers-bot run` acknowledges Slack and Discord, with and without another
process holding the database's write lock.

Starts the real service as a subprocess against a local fake of the platform (Slack in HTTP
mode, or the Discord REST API and gateway), then sends what users send, one every 100 ms in
turn: `/papers help`, a search, and a 🔖 reaction on a paper message. Slack's ack is the HTTP
response to each request (it wants one within 3 s); Discord's is the first interaction callback
(an answer, or a deferral after 1.5 s, also due within 3 s), and a reaction event has no ack, so
for Discord the gateway heartbeats are timed instead (sent every second here, from discord.py's
own thread, but only once the event loop runs them): the delay is how late each one came
beyond its interval. Two phases of the same traffic: a quiet database, then one where a second
sqlite3 connection holds `BEGIN IMMEDIATE` for `--hold` seconds at a time (shorter than the
store's 10 s busy timeout, so every write gets through in the end). Afterwards it checks that
nothing was lost: every command got its answer, every reaction its bookmark.

    python -m benchmarks.ack_latency                     # both platforms, 60 requests a phase
    python -m benchmarks.ack_latency --platform slack --requests 150 --hold 6

Prints p50 / p99 / max per kind of request and phase; exits non-zero if an answer or a bookmark
is missing.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import os
import sqlite3
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from benchmarks import crash_rounds
from bot.commands import REGISTRY
from bot.ingest import ingest_files
from bot.models import Channel, MessageRef, PostKind, Subscription
from bot.sources import sample_files
from bot.storage import open_storage
from tests.discord_fake import FakeDiscord, Interaction
from tests.discord_harness import TOKEN as DISCORD_TOKEN
from tests.discord_payloads import CHANNEL_ID, GUILD_ID, LOADING
from tests.slack_fake import TEAM, SlackFake
from tests.slack_harness import CHANNEL, SECRET, SlackHarness, free_port

EXE = str(Path(sys.executable).with_name("papers-bot"))
KINDS = ("help", "search", "reaction")
COMMANDS = {"help": "help", "search": "diffusion"}
PAPERS = 20  # paper messages to react to
HEARTBEAT = 1.0  # seconds between Discord heartbeats in this benchmark
SETTLE = 60.0  # seconds to wait for every answer and bookmark at the end

# Sends request number n of a phase as user u; returns the ack latency when the request has one.
Send = Callable[[str, int, str], Awaitable[float | None]]


@dataclass
class Phase:
    """One phase's ack latencies (seconds) per kind of request, and heartbeat delays."""

    name: str
    acks: dict[str, list[float]] = field(default_factory=lambda: {kind: [] for kind in KINDS})
    heartbeats: list[float] = field(default_factory=list)
    reactions: int = 0  # reaction events sent
    span: tuple[float, float] = (0.0, 0.0)  # loop time at its start and end

    def lines(self) -> list[str]:
        """'help      p50 12 ms  p99 30 ms  max 31 ms  (20)' per kind that has figures."""
        rows = [(kind, times) for kind, times in self.acks.items() if times]
        if self.heartbeats:
            rows.append(("heartbeat delay", self.heartbeats))
        return [figures(kind, times) for kind, times in rows]


def figures(kind: str, times: list[float]) -> str:
    """p50, p99 and max of `times` in milliseconds."""
    ordered = sorted(times)
    p50 = statistics.median(ordered)
    p99 = ordered[min(len(ordered) - 1, round(0.99 * (len(ordered) - 1)))]
    return (
        f"{kind:<16} p50 {p50 * 1000:6.0f} ms  p99 {p99 * 1000:6.0f} ms  "
        f"max {ordered[-1] * 1000:6.0f} ms  ({len(ordered)})"
    )


def prepare(db: Path, channel: Channel, refs: list[str]) -> None:
    """A database with the bundled papers, `channel` subscribed (no digest due) and one paper
    message per ref posted in it."""
    now = datetime.now(UTC)
    with open_storage(db) as store:
        ingest_files(store, sample_files(), now)
        quiet = Subscription(channel, weekdays=(), roundup_weekday=None)
        store.activity.save_subscription(quiet, now)
        papers = store.papers.recent(datetime(2000, 1, 1, tzinfo=UTC), now.date())
        for ref, paper in zip(refs, papers, strict=False):
            store.ledger.record_post(
                MessageRef(channel, ref), paper.id, now.date(), now, PostKind.SHARE
            )


def hold_lock(db: Path, seconds: float, stop: threading.Event) -> None:
    """Hold the database's write lock `seconds` at a time, with short gaps, until `stop`."""
    conn = sqlite3.connect(db, isolation_level=None, timeout=30)
    try:
        while not stop.is_set():
            conn.execute("BEGIN IMMEDIATE")
            stop.wait(seconds)
            conn.execute("COMMIT")
            time.sleep(0.2)
    finally:
        conn.close()


def bookmarks(db: Path) -> int:
    """How many bookmarks the database holds."""
    with sqlite3.connect(db, timeout=30) as conn:
        return int(conn.execute("SELECT count(*) FROM bookmarks").fetchone()[0])


async def traffic(send: Send, phase: Phase, requests: int, users: itertools.count[int]) -> None:
    """`requests` requests, one every 100 ms, in turn help / search / reaction."""

    async def timed(kind: str, number: int, user: str) -> None:
        latency = await send(kind, number, user)
        if latency is not None:
            phase.acks[kind].append(latency)

    loop = asyncio.get_running_loop()
    started = loop.time()
    pending = []
    for number in range(requests):
        kind = KINDS[number % len(KINDS)]
        phase.reactions += kind == "reaction"
        pending.append(asyncio.create_task(timed(kind, number, str(next(users)))))
        await asyncio.sleep(0.1)
    await asyncio.gather(*pending)
    phase.span = (started, loop.time())


async def phases(send: Send, db: Path, requests: int, hold: float) -> list[Phase]:
    """The same traffic on a quiet database, then with the write lock held by another
    connection."""
    done = [Phase("quiet database"), Phase(f"write lock held {hold:g} s at a time")]
    users = itertools.count(1_500_000_000_000_000_001)  # valid as Slack ids and Discord snowflakes
    await traffic(send, done[0], requests, users)
    stop = threading.Event()
    holder = threading.Thread(target=hold_lock, args=(db, hold, stop))
    holder.start()
    await asyncio.sleep(0.2)
    try:
        await traffic(send, done[1], requests, users)
    finally:
        stop.set()
        await asyncio.to_thread(holder.join)
    return done


@asynccontextmanager
async def service(env: dict[str, str], up: Callable[[], Awaitable[bool]]) -> AsyncIterator[None]:
    """`papers-bot run` with `env`, once `up()` says it serves; terminated at the end."""
    proc = await asyncio.create_subprocess_exec(
        EXE, "run", env=env, stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE
    )
    try:
        deadline = time.monotonic() + 60
        while not await up():
            if proc.returncode is not None:
                stderr = (await proc.stderr.read()).decode() if proc.stderr else ""
                raise RuntimeError(f"papers-bot run exited:\n{stderr}")
            if time.monotonic() > deadline:
                raise TimeoutError("papers-bot run did not start within 60 s")
            await asyncio.sleep(0.1)
        yield
    finally:
        if proc.returncode is None:
            proc.terminate()
            await proc.wait()


async def settle(missing: Callable[[], list[str]]) -> list[str]:
    """Wait (at most SETTLE seconds) until nothing is missing; what still is."""
    deadline = time.monotonic() + SETTLE
    while (lost := missing()) and time.monotonic() < deadline:
        await asyncio.sleep(0.2)
    return lost


def lost_bookmarks(db: Path, done: list[Phase]) -> list[str]:
    """A line when fewer bookmarks were saved than reactions sent."""
    reactions = sum(phase.reactions for phase in done)
    saved = bookmarks(db)
    return [f"{reactions - saved} of {reactions} bookmarks missing"] if saved < reactions else []


# -- Slack ------------------------------------------------------------------------------------


class ServiceClient(SlackHarness):
    """Signed Slack requests to a `papers-bot run` listening on `port`."""

    def __init__(self, fake: SlackFake, port: int) -> None:
        super().__init__(fake, datetime.now(UTC))
        self.port = port

    @property
    def url(self) -> str:
        """The service's Slack endpoint."""
        return f"http://127.0.0.1:{self.port}/slack/events"

    async def up(self) -> bool:
        """True once the service answers HTTP (a GET is refused, but answered)."""
        try:
            async with self.session.get(self.url) as response:
                await response.read()
                return True
        except OSError:
            return False


async def measure_slack(workdir: Path, requests: int, hold: float) -> tuple[list[Phase], list[str]]:
    """Both phases against the service on Slack; the phases and what was lost."""
    db = workdir / "slack.db"
    refs = [f"1754000000.{number:06d}" for number in range(1, PAPERS + 1)]
    prepare(db, Channel("slack", TEAM, CHANNEL), refs)
    port = free_port()
    urls: list[str] = []
    async with SlackFake() as fake:
        client = ServiceClient(fake, port)
        env = crash_rounds.service_env(db, fake)
        env.update(SLACK_SIGNING_SECRET=SECRET, SLACK_HTTP_PORT=str(port))

        async def send(kind: str, number: int, user: str) -> float:
            if kind == "reaction":
                body = client.reaction_body(refs[number % len(refs)], user, True, "bookmark")
                form = "application/json"
            else:
                urls.append(fake.new_response_url(CHANNEL))
                body = client.command_body(COMMANDS[kind], user, urls[-1])
                form = "application/x-www-form-urlencoded"
            started = time.perf_counter()
            response = await client.send(body, form)
            assert response.status == 200, f"{kind}: HTTP {response.status}"
            return time.perf_counter() - started

        try:
            async with service(env, client.up):
                done = await phases(send, db, requests, hold)
                lost = await settle(
                    lambda: (
                        [f"no reply to {url}" for url in urls if not fake.replies_to(url)]
                        + lost_bookmarks(db, done)
                    )
                )
        finally:
            await client.session.close()
    return done, lost


# -- Discord ----------------------------------------------------------------------------------


def discord_env(db: Path, fake: FakeDiscord) -> dict[str, str]:
    """`papers-bot run` on Discord against the fake, offline."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "DISCORD_"))}
    env.update(
        PAPERS_BOT_DB=str(db),
        DISCORD_TOKEN=DISCORD_TOKEN,
        DISCORD_GUILD_IDS=GUILD_ID,
        DISCORD_API_URL=fake.api_url,
        DISCORD_GATEWAY_URL=fake.gateway_url,
        HF_API_URL=f"http://127.0.0.1:{free_port()}/api",  # nothing listens: fetches fail fast
        HTTP_RETRIES="0",
        HEALTH_PORT="off",
        LOG_LEVEL="WARNING",
    )
    return env


def heartbeat_delays(fake: FakeDiscord, phase: Phase) -> list[float]:
    """How late each heartbeat during the phase came after its interval."""
    start, end = phase.span
    beats = [beat for beat in fake.heartbeats if start <= beat <= end]
    return [max(0.0, b - a - HEARTBEAT) for a, b in itertools.pairwise(beats)]


async def measure_discord(
    workdir: Path, requests: int, hold: float
) -> tuple[list[Phase], list[str]]:
    """Both phases against the service on Discord; the phases and what was lost."""
    db = workdir / "discord.db"
    refs = [str(1_300_000_000_000_000_000 + number) for number in range(1, PAPERS + 1)]
    prepare(db, Channel("discord", GUILD_ID, CHANNEL_ID), refs)
    fake = FakeDiscord(heartbeat_interval=HEARTBEAT)
    await fake.start()
    records: list[Interaction] = []

    async def up() -> bool:
        return bool(fake.commands.get(GUILD_ID)) and len(fake.heartbeats) > 1

    async def send(kind: str, number: int, user: str) -> float | None:
        if kind == "reaction":
            await fake.reaction(refs[number % len(refs)], user)
            return None
        call = REGISTRY.parse(COMMANDS[kind])
        record = await fake.send_interaction(fake.slash_command(call.name, dict(call.args), user))
        records.append(record)
        await asyncio.wait_for(record.answered.wait(), SETTLE)
        return record.first_response_after

    try:
        async with service(discord_env(db, fake), up):
            done = await phases(send, db, requests, hold)
            lost = await settle(
                lambda: (
                    [f"no answer to {r.id}" for r in records if not _answered(r)]
                    + lost_bookmarks(db, done)
                )
            )
        for phase in done:
            phase.heartbeats = heartbeat_delays(fake, phase)
    finally:
        await fake.close()
    return done, lost


def _answered(record: Interaction) -> bool:
    # An answer, not a deferral's "thinking" placeholder still waiting for its follow-up.
    return bool(record.messages) and not record.messages[0].get("flags", 0) & LOADING


PLATFORMS = {"slack": measure_slack, "discord": measure_discord}


def main() -> None:
    """Command-line entry: measure both phases on each platform and print the figures."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--platform", choices=[*PLATFORMS, "both"], default="both")
    parser.add_argument("--requests", type=int, default=60, help="requests per phase")
    parser.add_argument("--hold", type=float, default=4.0, help="seconds per lock hold")
    args = parser.parse_args()
    chosen = list(PLATFORMS) if args.platform == "both" else [args.platform]
    failed = False
    for platform in chosen:
        with tempfile.TemporaryDirectory() as tmp:
            done, lost = asyncio.run(PLATFORMS[platform](Path(tmp), args.requests, args.hold))
        for phase in done:
            print(f"{platform}, {phase.name}")
            for line in phase.lines():
                print("  " + line)
        print(f"{platform}: lost " + ("; ".join(lost) if lost else "nothing"), flush=True)
        failed = failed or bool(lost)
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
