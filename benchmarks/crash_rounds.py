"""Crash safety: `papers-bot run` killed with SIGKILL at random points during a digest.

Each round subscribes a fresh Slack channel whose digest is due, starts the real service as a
subprocess against a local fake of the Slack Web API, kills it (kill -9) after a random number
of posted messages plus a random few milliseconds, restarts it, and repeats; the last start
runs to completion. Then it checks that every picked paper reached the channel exactly once.

    python -m benchmarks.crash_rounds --rounds 20

Prints one line per round and a summary; exits non-zero if any paper was lost or repeated.
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
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

from bot.ingest import ingest_files
from bot.models import Channel, Subscription
from bot.sources import sample_files
from bot.storage import open_storage
from tests.slack_fake import TEAM, TOKEN, SlackFake

EXE = str(Path(sys.executable).with_name("papers-bot"))


@dataclass
class RoundResult:
    """What one round delivered."""

    channel: str
    kills: int  # SIGKILLs sent
    interrupted: int  # of those, how many left the digest unfinished
    picked: int
    delivered: Counter[str] = field(default_factory=Counter)
    headers: int = 0

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


def service_env(db: Path, fake: SlackFake) -> dict[str, str]:
    """The environment for `papers-bot run` against the fake, in HTTP mode, offline."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "DISCORD_"))}
    env.update(
        PAPERS_BOT_DB=str(db),
        SLACK_BOT_TOKEN=TOKEN,
        SLACK_SIGNING_SECRET="crash-test-signing-secret",
        SLACK_HTTP_HOST="127.0.0.1",
        SLACK_HTTP_PORT=str(_free_port()),
        SLACK_API_URL=fake.api_url,
        SLACK_POST_INTERVAL="0",
        HF_API_URL=f"http://127.0.0.1:{_free_port()}/api",  # nothing listens: fetches fail fast
        HTTP_RETRIES="0",
        HEALTH_PORT="off",
        LOG_LEVEL="WARNING",
    )
    return env


def digest_state(db: Path, channel: Channel) -> tuple[str | None, list[str]]:
    """A channel's daily digest: its status and picked paper ids."""
    with sqlite3.connect(db, timeout=10) as conn:
        row = conn.execute(
            "SELECT status, papers FROM digests WHERE platform = ? AND workspace = ?"
            " AND channel = ? AND kind = 'daily'",
            [channel.platform, channel.workspace, channel.channel],
        ).fetchone()
    if row is None:
        return None, []
    return row[0], [pid for pid, _ in json.loads(row[1])]


async def _run_until(
    db: Path, fake: SlackFake, channel: Channel, kill_after: int | None, rng: random.Random
) -> bool:
    """Run the service, SIGKILLed after `kill_after` posts (None: to the end); True if killed."""
    proc = await asyncio.create_subprocess_exec(
        EXE,
        "run",
        env=service_env(db, fake),
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.PIPE,
    )
    deadline = time.monotonic() + 60
    try:
        while time.monotonic() < deadline:
            posted = len(fake.channel_messages(channel.channel))
            if kill_after is not None and posted >= kill_after:
                await asyncio.sleep(rng.uniform(0, 0.02))  # land anywhere in the next post
                proc.send_signal(signal.SIGKILL)
                await proc.wait()
                return True
            if digest_state(db, channel)[0] == "done":
                return False
            if proc.returncode is not None:
                stderr = (await proc.stderr.read()).decode() if proc.stderr else ""
                raise RuntimeError(f"papers-bot run exited early:\n{stderr}")
            await asyncio.sleep(0.002)
        raise TimeoutError(f"the digest for {channel} did not finish within 60 s")
    finally:
        if proc.returncode is None:
            proc.send_signal(signal.SIGTERM)
            await proc.wait()


async def crash_round(
    db: Path, fake: SlackFake, number: int, count: int, kills: int, rng: random.Random
) -> tuple[RoundResult, list[str]]:
    """One digest delivered through `kills` SIGKILLs at random points; what reached Slack."""
    channel = Channel("slack", TEAM, f"C{number:04d}")
    now = datetime.now(UTC)
    due = (now - timedelta(minutes=2)).strftime("%H:%M")
    with open_storage(db) as store:
        store.activity.save_subscription(
            Subscription(
                channel, count=count, weekdays=tuple(range(7)), post_time=due, roundup_weekday=None
            ),
            now,
        )
    killed = interrupted = 0
    for _ in range(kills):
        if await _run_until(db, fake, channel, rng.randint(0, count), rng):
            killed += 1
            interrupted += digest_state(db, channel)[0] != "done"
    await _run_until(db, fake, channel, None, rng)
    status, picked = digest_state(db, channel)
    assert status == "done", f"round {number}: digest not finished ({status})"
    result = RoundResult(channel.channel, killed, interrupted, len(picked))
    for message in fake.channel_messages(channel.channel):
        shown = ((message.metadata or {}).get("event_payload") or {}).get("paper_id") or ""
        if shown.startswith("header:"):
            result.headers += 1
        else:
            result.delivered[shown] += 1
    return result, picked


async def crash_rounds(
    rounds: int, workdir: Path, count: int = 5, kills: int = 2, seed: int = 1, echo: bool = False
) -> list[tuple[RoundResult, list[str]]]:
    """Run `rounds` crash rounds on one database; every round's result."""
    db = workdir / "crash.db"
    with open_storage(db) as store:
        ingest_files(store, sample_files(), datetime.now(UTC))
    rng = random.Random(seed)
    results = []
    async with SlackFake(clock=time.time) as fake:
        for number in range(1, rounds + 1):
            result, picked = await crash_round(db, fake, number, count, kills, rng)
            results.append((result, picked))
            if echo:
                print(
                    f"round {number:2d}: {result.kills} kill(s), {result.interrupted} mid-digest, "
                    f"{sum(result.delivered.values())}"
                    f"/{result.picked} papers delivered, {result.duplicates} duplicate(s), "
                    f"{len(result.missing(picked))} missing, {result.headers} header(s)",
                    flush=True,
                )
    return results


def main() -> None:
    """Command-line entry: run the rounds and print the summary."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=20)
    parser.add_argument("--count", type=int, default=5, help="papers per digest")
    parser.add_argument("--kills", type=int, default=2, help="SIGKILLs per round")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    started = time.monotonic()
    with tempfile.TemporaryDirectory() as tmp:
        results = asyncio.run(
            crash_rounds(args.rounds, Path(tmp), args.count, args.kills, args.seed, echo=True)
        )
    kills = sum(r.kills for r, _ in results)
    interrupted = sum(r.interrupted for r, _ in results)
    papers = sum(r.picked for r, _ in results)
    duplicates = sum(r.duplicates for r, _ in results)
    missing = sum(len(r.missing(p)) for r, p in results)
    headers = sum(r.headers for r, _ in results) - len(results)
    print(
        f"\n{len(results)} rounds, {kills} SIGKILLs ({interrupted} mid-digest), "
        f"{papers} papers picked: "
        f"{papers - missing} delivered exactly once, {duplicates} duplicated, {missing} lost; "
        f"{headers} repeated header(s); {time.monotonic() - started:.0f} s"
    )
    sys.exit(1 if duplicates or missing else 0)


if __name__ == "__main__":
    main()
