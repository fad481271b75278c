"""Ack latency: how fast `papers-bot run` answers Slack's HTTP requests, with and without another
process holding the database's write lock.

Starts the real service as a subprocess in Slack HTTP mode against a local fake of the Slack Web
API, then sends signed requests as Slack does: slash commands (`/papers help`, a search) and 🔖
reaction events on paper messages, a few a second. The ack is the HTTP response: Slack shows the
user an error when it takes more than 3 seconds. Two phases of the same traffic: a quiet
database, then one where a second sqlite3 connection holds `BEGIN IMMEDIATE` for `--hold`
seconds at a time (shorter than the store's 10 s busy timeout, so every write gets through in
the end). Afterwards it checks that nothing was lost: every command got its reply, every
reaction its bookmark.

    python -m benchmarks.ack_latency                 # 60 requests a phase, 4 s lock holds
    python -m benchmarks.ack_latency --requests 150 --hold 6

Prints p50 / p99 / max ack latency per kind of request and phase; exits non-zero if a reply or a
bookmark is missing.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import sqlite3
import statistics
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from benchmarks import crash_rounds
from bot.ingest import ingest_files
from bot.models import Channel, MessageRef, PostKind, Subscription
from bot.sources import sample_files
from bot.storage import open_storage
from tests.slack_fake import TEAM, SlackFake
from tests.slack_harness import CHANNEL, SECRET, SlackHarness, free_port

EXE = str(Path(sys.executable).with_name("papers-bot"))
KINDS = ("help", "search", "reaction")
PAPERS = 20  # paper messages to react to


@dataclass
class Phase:
    """One phase's ack latencies (seconds) per kind of request."""

    name: str
    acks: dict[str, list[float]] = field(default_factory=lambda: {kind: [] for kind in KINDS})

    def line(self, kind: str) -> str:
        """'help      p50 12 ms  p99 30 ms  max 31 ms  (20)'."""
        times = sorted(self.acks[kind])
        if not times:
            return f"{kind:<9} no requests"
        p50 = statistics.median(times)
        p99 = times[min(len(times) - 1, round(0.99 * (len(times) - 1)))]
        return (
            f"{kind:<9} p50 {p50 * 1000:6.0f} ms  p99 {p99 * 1000:6.0f} ms  "
            f"max {times[-1] * 1000:6.0f} ms  ({len(times)})"
        )


class ServiceClient(SlackHarness):
    """Signed Slack requests to a `papers-bot run` listening on `port`."""

    def __init__(self, fake: SlackFake, port: int) -> None:
        super().__init__(fake, datetime.now(UTC))
        self.port = port

    @property
    def url(self) -> str:
        """The service's Slack endpoint."""
        return f"http://127.0.0.1:{self.port}/slack/events"


def prepare(db: Path) -> list[str]:
    """A database with the bundled papers, the channel subscribed and PAPERS paper messages
    posted in it; the messages' ts."""
    now = datetime.now(UTC)
    channel = Channel("slack", TEAM, CHANNEL)
    with open_storage(db) as store:
        ingest_files(store, sample_files(), now)
        quiet = Subscription(channel, weekdays=(), roundup_weekday=None)  # no digest due
        store.activity.save_subscription(quiet, now)
        papers = store.papers.recent(datetime(2000, 1, 1, tzinfo=UTC), now.date())
        ids = [paper.id for paper in papers]
        refs = []
        for number, paper_id in enumerate(ids[:PAPERS], 1):
            ts = f"1754000000.{number:06d}"
            store.ledger.record_post(
                MessageRef(channel, ts), paper_id, now.date(), now, PostKind.SHARE
            )
            refs.append(ts)
    return refs


def service_env(db: Path, fake: SlackFake, port: int) -> dict[str, str]:
    """`papers-bot run` in Slack HTTP mode against the fake, offline, on `port`."""
    env = crash_rounds.service_env(db, fake)
    env.update(SLACK_SIGNING_SECRET=SECRET, SLACK_HTTP_PORT=str(port))
    return env


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


async def traffic(
    client: ServiceClient, refs: list[str], phase: Phase, requests: int, users: itertools.count[int]
) -> list[str]:
    """`requests` requests, one every 100 ms, in turn help / search / reaction; their
    response_urls (for the commands)."""
    urls: list[str] = []
    pending = []

    async def timed(kind: str, body: str, content_type: str) -> None:
        started = time.perf_counter()
        response = await client.send(body, content_type)
        phase.acks[kind].append(time.perf_counter() - started)
        assert response.status == 200, f"{kind}: HTTP {response.status}"

    for number in range(requests):
        kind = KINDS[number % len(KINDS)]
        user = f"U{next(users):05d}"
        if kind == "reaction":
            body = client.reaction_body(refs[number % len(refs)], user, True, "bookmark")
            pending.append(asyncio.create_task(timed(kind, body, "application/json")))
        else:
            url = client.fake.new_response_url(CHANNEL)
            urls.append(url)
            text = "help" if kind == "help" else "diffusion"
            body = client.command_body(text, user, url)
            form = "application/x-www-form-urlencoded"
            pending.append(asyncio.create_task(timed(kind, body, form)))
        await asyncio.sleep(0.1)
    await asyncio.gather(*pending)
    return urls


async def wait_until_up(client: ServiceClient, proc: asyncio.subprocess.Process) -> None:
    """Wait until the service answers HTTP (a GET is refused, but answered)."""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if proc.returncode is not None:
            stderr = (await proc.stderr.read()).decode() if proc.stderr else ""
            raise RuntimeError(f"papers-bot run exited:\n{stderr}")
        try:
            async with client.session.get(client.url) as response:
                await response.read()
                return
        except OSError:
            await asyncio.sleep(0.1)
    raise TimeoutError("papers-bot run did not start within 60 s")


def bookmarks(db: Path) -> int:
    """How many bookmarks the database holds."""
    with sqlite3.connect(db, timeout=30) as conn:
        return int(conn.execute("SELECT count(*) FROM bookmarks").fetchone()[0])


async def measure(workdir: Path, requests: int, hold: float) -> tuple[list[Phase], list[str]]:
    """Both phases against one service; the phases and what was lost."""
    db = workdir / "ack.db"
    refs = prepare(db)
    port = free_port()
    phases = [Phase("quiet database"), Phase(f"write lock held {hold:g} s at a time")]
    users = itertools.count(1)
    urls: list[str] = []
    async with SlackFake() as fake:
        client = ServiceClient(fake, port)
        proc = await asyncio.create_subprocess_exec(
            EXE,
            "run",
            env=service_env(db, fake, port),
            stdout=asyncio.subprocess.DEVNULL,
            stderr=asyncio.subprocess.PIPE,
        )
        try:
            await wait_until_up(client, proc)
            urls += await traffic(client, refs, phases[0], requests, users)
            stop = threading.Event()
            holder = threading.Thread(target=hold_lock, args=(db, hold, stop))
            holder.start()
            await asyncio.sleep(0.2)
            try:
                urls += await traffic(client, refs, phases[1], requests, users)
            finally:
                stop.set()
                await asyncio.to_thread(holder.join)
            lost = await settle(fake, urls, sum(len(p.acks["reaction"]) for p in phases), db)
        finally:
            await client.session.close()
            if proc.returncode is None:
                proc.terminate()
                await proc.wait()
    return phases, lost


async def settle(fake: SlackFake, urls: list[str], reactions: int, db: Path) -> list[str]:
    """Wait (at most 60 s) for every reply and bookmark; what is still missing."""
    deadline = time.monotonic() + 60
    while True:
        unanswered = [url for url in urls if not fake.replies_to(url)]
        saved = bookmarks(db)
        if (not unanswered and saved >= reactions) or time.monotonic() > deadline:
            break
        await asyncio.sleep(0.2)
    lost = [f"no reply to {url}" for url in unanswered]
    if saved < reactions:
        lost.append(f"{reactions - saved} of {reactions} bookmarks missing")
    return lost


def main() -> None:
    """Command-line entry: measure both phases and print the figures."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=60, help="requests per phase")
    parser.add_argument("--hold", type=float, default=4.0, help="seconds per lock hold")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        phases, lost = asyncio.run(measure(Path(tmp), args.requests, args.hold))
    for phase in phases:
        print(phase.name)
        for kind in KINDS:
            print("  " + phase.line(kind))
    print("lost: " + ("; ".join(lost) if lost else "nothing (every reply and bookmark arrived)"))
    sys.exit(1 if lost else 0)


if __name__ == "__main__":
    main()
