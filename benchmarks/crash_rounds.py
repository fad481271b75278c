"""Crash safety: `papers-bot run` killed with SIGKILL at random points during a digest.

Each round subscribes a fresh Slack channel, starts the real service as a subprocess against a
local fake of the Slack Web API, kills it (kill -9) after a random number of posted messages
plus a random few milliseconds, restarts it, and repeats; the last start runs to completion.
Then it counts how often each picked paper, and the digest's header, reached the channel.

Rounds cycle through six scenarios: the daily digest due now; a `/papers digest` typed before
the channel's posting time (a signed slash command to the service); an extra digest (a second
`/papers digest` the same day, after the daily one); each also with a busy channel, where 250
messages from people land between the kill and the restart.

    python -m benchmarks.crash_rounds --rounds 24

Prints one line per round and a summary; exits non-zero if any paper was lost or repeated, or
a header repeated. A digest the restarts never finish counts its missing papers as lost.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import signal
import socket
import sqlite3
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import urlencode

import aiohttp
from slack_sdk.signature import SignatureVerifier

from bot.ingest import ingest_files
from bot.models import Channel, Subscription
from bot.sources import sample_files
from bot.storage import open_storage
from tests.slack_fake import BOT_USER, TEAM, TOKEN, SlackFake

EXE = str(Path(sys.executable).with_name("papers-bot"))
SECRET = "crash-test-signing-secret"
SCENARIOS = ("daily", "manual", "extra", "daily+busy", "manual+busy", "extra+busy")
BUSY = 250  # messages from people between a kill and the restart (more than a history page)
ADMIN = "U1"  # the fake's workspace admin: /papers digest is for channel managers


@dataclass
class RoundResult:
    """What one round delivered."""

    channel: str
    scenario: str
    kills: int  # SIGKILLs sent
    interrupted: int  # of those, how many left the digest unfinished
    picked: int
    delivered: Counter[str] = field(default_factory=Counter)
    headers: int = 0
    finished: bool = True

    @property
    def duplicates(self) -> int:
        """Paper messages beyond the first for each paper."""
        return sum(n - 1 for n in self.delivered.values() if n > 1)

    def missing(self, picked: list[str]) -> list[str]:
        """Picked papers that never reached the channel."""
        return [pid for pid in picked if pid not in self.delivered]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def service_env(db: Path, fake: SlackFake, port: int | None = None) -> dict[str, str]:
    """The environment for `papers-bot run` against the fake, in HTTP mode, offline."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "DISCORD_"))}
    env.update(
        PAPERS_BOT_DB=str(db),
        SLACK_BOT_TOKEN=TOKEN,
        SLACK_SIGNING_SECRET=SECRET,
        SLACK_HTTP_HOST="127.0.0.1",
        SLACK_HTTP_PORT=str(port or _free_port()),
        SLACK_API_URL=fake.api_url,
        SLACK_POST_INTERVAL="0",
        HF_API_URL=f"http://127.0.0.1:{_free_port()}/api",  # nothing listens: fetches fail fast
        HTTP_RETRIES="0",
        HEALTH_PORT="off",
        LOG_LEVEL="WARNING",
    )
    return env


def digest_state(db: Path, channel: Channel, kind: str = "daily") -> tuple[str | None, list[str]]:
    """A channel's digest of a kind (a LIKE pattern: 'extra-%'): its status and picked ids."""
    with sqlite3.connect(db, timeout=10) as conn:
        row = conn.execute(
            "SELECT status, papers FROM digests WHERE platform = ? AND workspace = ?"
            " AND channel = ? AND kind LIKE ? ORDER BY claimed_at DESC",
            [channel.platform, channel.workspace, channel.channel, kind],
        ).fetchone()
    if row is None:
        return None, []
    return row[0], [pid for pid, _ in json.loads(row[1])]


def bot_messages(fake: SlackFake, channel: Channel) -> list[str]:
    """The key each bot message in the channel carries: a paper id or a header key."""
    return [
        ((m.metadata or {}).get("event_payload") or {}).get("paper_id", "")
        for m in fake.channel_messages(channel.channel)
        if m.user == BOT_USER
    ]


async def slash_digest(port: int, channel: Channel, fake: SlackFake) -> None:
    """`/papers digest` from the workspace admin, signed as Slack signs it, once the service
    listens."""
    body = urlencode(
        {
            "team_id": TEAM,
            "channel_id": channel.channel,
            "user_id": ADMIN,
            "command": "/papers",
            "text": "digest",
            "response_url": fake.new_response_url(channel.channel),
            "trigger_id": "1.2.3",
        }
    )
    stamp = str(int(time.time()))
    headers = {
        "Content-Type": "application/x-www-form-urlencoded",
        "X-Slack-Request-Timestamp": stamp,
        "X-Slack-Signature": SignatureVerifier(SECRET).generate_signature(
            timestamp=stamp, body=body
        ),
    }
    url = f"http://127.0.0.1:{port}/slack/events"
    deadline = time.monotonic() + 30
    async with aiohttp.ClientSession() as http:
        while True:
            try:
                async with http.post(url, data=body.encode(), headers=headers) as response:
                    if response.status == 200:
                        return
                    raise RuntimeError(f"the slash command was answered {response.status}")
            except aiohttp.ClientConnectionError:
                if time.monotonic() > deadline:
                    raise
                await asyncio.sleep(0.05)


@dataclass
class Run:
    """One start of the service in a round: what it watches, when it is killed."""

    kind: str  # the digest under test (a LIKE pattern)
    kill_after: int | None  # bot messages posted (in the round) before the kill; None: never
    command: bool = False  # send /papers digest once it listens
    wait: float = 60.0  # seconds for the digest to finish


async def _run_until(
    db: Path, fake: SlackFake, channel: Channel, run: Run, rng: random.Random, before: int = 0
) -> bool:
    """Run the service until the digest is done or the kill point comes; True if killed."""
    port = _free_port()
    proc = await asyncio.create_subprocess_exec(
        EXE,
        "run",
        env=service_env(db, fake, port),
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.PIPE,
    )
    deadline = time.monotonic() + run.wait
    try:
        if run.command:
            await slash_digest(port, channel, fake)
        while time.monotonic() < deadline:
            posted = len(bot_messages(fake, channel)) - before
            if run.kill_after is not None and posted >= run.kill_after:
                await asyncio.sleep(rng.uniform(0, 0.02))  # land anywhere in the next post
                proc.send_signal(signal.SIGKILL)
                await proc.wait()
                return True
            if digest_state(db, channel, run.kind)[0] == "done":
                return False
            if proc.returncode is not None:
                stderr = (await proc.stderr.read()).decode() if proc.stderr else ""
                raise RuntimeError(f"papers-bot run exited early:\n{stderr}")
            await asyncio.sleep(0.002)
        return False
    finally:
        if proc.returncode is None:
            proc.send_signal(signal.SIGTERM)
            await proc.wait()


def subscribe(db: Path, channel: Channel, count: int, due: bool) -> None:
    """Subscribe a channel whose digest is due now, or due in six hours."""
    now = datetime.now(UTC)
    at = now + (timedelta(minutes=-2) if due else timedelta(hours=6))
    with open_storage(db) as store:
        store.activity.save_subscription(
            Subscription(
                channel,
                count=count,
                weekdays=tuple(range(7)),
                post_time=at.strftime("%H:%M"),
                roundup_weekday=None,
            ),
            now,
        )


async def crash_round(
    db: Path,
    fake: SlackFake,
    number: int,
    count: int,
    kills: int,
    rng: random.Random,
    scenario: str = "daily",
    final_wait: float = 60.0,
) -> tuple[RoundResult, list[str]]:
    """One digest delivered through `kills` SIGKILLs at random points; what reached Slack."""
    channel = Channel("slack", TEAM, f"C{number:04d}")
    kind = "extra-%" if scenario.startswith("extra") else "daily"
    subscribe(db, channel, count, due=not scenario.startswith("manual"))
    before = 0
    if scenario.startswith("extra"):  # the day's digest first, to the end
        await _run_until(db, fake, channel, Run("daily", None), rng)
        before = len(bot_messages(fake, channel))
    manual = not scenario.startswith("daily")
    killed = interrupted = 0
    for attempt in range(kills):
        first = attempt == 0
        run = Run(kind, rng.randint(1 if first and manual else 0, count), first and manual)
        if await _run_until(db, fake, channel, run, rng, before):
            killed += 1
            interrupted += digest_state(db, channel, kind)[0] != "done"
            if scenario.endswith("+busy"):
                fake.chatter(channel.channel, BUSY)
    await _run_until(db, fake, channel, Run(kind, None, wait=final_wait), rng)
    status, picked = digest_state(db, channel, kind)
    result = RoundResult(
        channel.channel, scenario, killed, interrupted, len(picked), finished=status == "done"
    )
    header = "header:extra-" if kind != "daily" else "header:daily:"
    for key in bot_messages(fake, channel)[before:]:
        if key.startswith(header):
            result.headers += 1
        elif key.startswith("header:"):
            continue  # another digest's header: not this round's
        else:
            result.delivered[key] += 1
    return result, picked


async def crash_rounds(
    rounds: int,
    workdir: Path,
    count: int = 5,
    kills: int = 2,
    seed: int = 1,
    echo: bool = False,
    scenarios: tuple[str, ...] = SCENARIOS,
    final_wait: float = 60.0,
) -> list[tuple[RoundResult, list[str]]]:
    """Run `rounds` crash rounds on one database, cycling through `scenarios`."""
    db = workdir / "crash.db"
    with open_storage(db) as store:
        ingest_files(store, sample_files(), datetime.now(UTC))
    rng = random.Random(seed)
    results = []
    async with SlackFake(clock=time.time) as fake:
        for number in range(1, rounds + 1):
            scenario = scenarios[(number - 1) % len(scenarios)]
            result, picked = await crash_round(
                db, fake, number, count, kills, rng, scenario, final_wait
            )
            results.append((result, picked))
            if echo:
                print(_line(number, result, picked), flush=True)
    return results


def _line(number: int, result: RoundResult, picked: list[str]) -> str:
    unfinished = "" if result.finished else ", digest never finished"
    return (
        f"round {number:2d} {result.scenario:12s}: {result.kills} kill(s), "
        f"{result.interrupted} mid-digest, {sum(result.delivered.values())}/{result.picked} "
        f"papers delivered, {result.duplicates} duplicate(s), "
        f"{len(result.missing(picked))} missing, {result.headers} header(s){unfinished}"
    )


def summary(results: list[tuple[RoundResult, list[str]]], by: Callable[[RoundResult], str]) -> None:
    """One line per group of rounds: kills, papers, duplicates, lost, repeated headers."""
    groups: dict[str, list[tuple[RoundResult, list[str]]]] = {}
    for result, picked in results:
        groups.setdefault(by(result), []).append((result, picked))
    for name, group in groups.items():
        papers = sum(r.picked for r, _ in group)
        duplicates = sum(r.duplicates for r, _ in group)
        missing = sum(len(r.missing(p)) for r, p in group)
        headers = sum(r.headers for r, _ in group) - len(group)
        print(
            f"{name:12s}: {len(group)} rounds, {sum(r.kills for r, _ in group)} SIGKILLs "
            f"({sum(r.interrupted for r, _ in group)} mid-digest), {papers} papers picked: "
            f"{papers - missing} delivered, {duplicates} duplicated, {missing} lost; "
            f"{headers} repeated header(s), {sum(not r.finished for r, _ in group)} unfinished"
        )


def main() -> None:
    """Command-line entry: run the rounds and print the summary."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=24)
    parser.add_argument("--count", type=int, default=5, help="papers per digest")
    parser.add_argument("--kills", type=int, default=2, help="SIGKILLs per round")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--scenarios", default=",".join(SCENARIOS), help="comma-separated")
    parser.add_argument(
        "--final-wait", type=float, default=60.0, help="seconds the last start gets to finish"
    )
    args = parser.parse_args()
    started = time.monotonic()
    scenarios = tuple(args.scenarios.split(","))
    with tempfile.TemporaryDirectory() as tmp:
        results = asyncio.run(
            crash_rounds(
                args.rounds,
                Path(tmp),
                args.count,
                args.kills,
                args.seed,
                echo=True,
                scenarios=scenarios,
                final_wait=args.final_wait,
            )
        )
    print()
    summary(results, lambda r: r.scenario)
    summary(results, lambda r: "all")
    print(f"{time.monotonic() - started:.0f} s")
    bad = any(r.duplicates or r.missing(p) or r.headers > 1 for r, p in results)
    sys.exit(1 if bad else 0)


if __name__ == "__main__":
    main()
