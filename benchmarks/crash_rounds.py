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
import contextlib
import json
import os
import random
import re
import signal
import socket
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import aiohttp
import psycopg
from slack_sdk.signature import SignatureVerifier

from bot.ingest import ingest_files
from bot.models import Channel, Subscription
from bot.sources import sample_files
from bot.storage import open_storage
from tests.postgres_server import PostgresServer
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

    def tally(self, keys: list[str], header: str = "header:") -> None:
        """Count the round's bot messages: headers starting with `header` (another digest's
        header is not this round's), and each paper's messages."""
        for key in keys:
            if key.startswith(header):
                self.headers += 1
            elif not key.startswith("header:"):
                self.delivered[key] += 1

    def missing(self, picked: list[str]) -> list[str]:
        """Picked papers that never reached the channel."""
        return [pid for pid in picked if pid not in self.delivered]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def service_env(db: Path | str, fake: SlackFake, port: int | None = None) -> dict[str, str]:
    """The environment for `papers-bot run` against the fake, in HTTP mode, offline; `db` is a
    SQLite file or a PostgreSQL URL."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("SLACK_", "DISCORD_", "DATABASE_URL", "DIGEST_LEASE"))
    }
    env["DATABASE_URL" if isinstance(db, str) else "PAPERS_BOT_DB"] = str(db)
    env.update(
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


def pg_digest_state(
    conn: psycopg.Connection[Any], channel: Channel
) -> tuple[str | None, list[str], str | None]:
    """A channel's daily digest on PostgreSQL: its status, picked ids and lease holder."""
    row = conn.execute(
        "SELECT status, papers, owner FROM digests WHERE platform = %s AND workspace = %s"
        " AND channel = %s AND kind = 'daily'",
        [channel.platform, channel.workspace, channel.channel],
    ).fetchone()
    if row is None:
        return None, [], None
    return row[0], [pid for pid, _ in row[1]], row[2]


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
    await post_signed(port, body, "application/x-www-form-urlencoded")


async def post_signed(port: int, body: str, content_type: str, patience: float = 30) -> None:
    """POST a request to the service's /slack/events signed as Slack signs it, waiting (up to
    `patience` seconds) for the service to listen; RuntimeError unless it answers 200."""
    stamp = str(int(time.time()))
    headers = {
        "Content-Type": content_type,
        "X-Slack-Request-Timestamp": stamp,
        "X-Slack-Signature": SignatureVerifier(SECRET).generate_signature(
            timestamp=stamp, body=body
        ),
    }
    url = f"http://127.0.0.1:{port}/slack/events"
    deadline = time.monotonic() + patience
    async with aiohttp.ClientSession() as http:
        while True:
            try:
                async with http.post(url, data=body.encode(), headers=headers) as response:
                    if response.status == 200:
                        return
                    raise RuntimeError(f"/slack/events answered {response.status}")
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


def subscribe(db: Path | str, channel: Channel, count: int, due: bool) -> None:
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
    result.tally(bot_messages(fake, channel)[before:], header)
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


# -- replicas on one PostgreSQL ---------------------------------------------------------------

REPLICA_SCENARIOS = ("daily", "manual", "daily+busy")
ISOLATE = ["unshare", "--pid", "--fork", "--kill-child=SIGKILL"]


def isolation() -> list[str]:
    """The command prefix that runs each replica in its own pid namespace, so replicas cannot
    see each other's processes, as on separate machines (a dead holder is then found by its
    lease expiring, not by a pid check); [] where this machine does not allow it."""
    try:
        done = subprocess.run([*ISOLATE, "true"], capture_output=True, timeout=10)
    except (OSError, subprocess.TimeoutExpired):
        return []
    return ISOLATE if done.returncode == 0 else []


@dataclass
class Replica:
    """One `papers-bot run` among several on one database."""

    proc: asyncio.subprocess.Process
    port: int

    def service(self) -> int | None:
        """The service's pid when it runs isolated (as unshare's child), else None."""
        pid = self.proc.pid
        try:
            (child,) = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
        except (OSError, ValueError):
            return None
        return int(child)

    def owns(self, owner: str | None) -> bool:
        """True when a lease owner (machine:pid:random) names this replica."""
        if not owner:
            return False
        if (child := self.service()) is None:
            return owner.rsplit(":", 2)[1:2] == [str(self.proc.pid)]
        try:  # isolated: the service is pid 1 in its own namespace
            space = os.readlink(f"/proc/{child}/ns/pid").removeprefix("pid:[").rstrip("]")
        except OSError:
            return False
        return owner.rsplit(":", 2)[0].endswith(f"/{space}")

    async def stop(self) -> None:
        """Stop the service as an operator would (SIGTERM: in-flight posts finish first). An
        isolated service is its namespace's init, which ignores SIGTERM until it has installed
        its handler: sent again each second, then SIGKILL after a minute."""
        for _ in range(60):
            if self.proc.returncode is not None:
                break
            child = self.service()  # unshare ignores SIGTERM: the service gets it directly
            with contextlib.suppress(ProcessLookupError):
                os.kill(self.proc.pid if child is None else child, signal.SIGTERM)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(asyncio.shield(self.proc.wait()), 1.0)
        if self.proc.returncode is None:
            self.proc.send_signal(signal.SIGKILL)
        await self.proc.wait()


async def start_replica(
    url: str, fake: SlackFake, lease: float, prefix: list[str], log: Path
) -> Replica:
    """Start one replica of the service on the database at `url`."""
    port = _free_port()
    env = service_env(url, fake, port) | {"DIGEST_LEASE_SECONDS": str(lease)}
    with log.open("ab") as errors:
        proc = await asyncio.create_subprocess_exec(
            *prefix, EXE, "run", env=env, stdout=asyncio.subprocess.DEVNULL, stderr=errors
        )
    return Replica(proc, port)


@dataclass
class ReplicaRound(RoundResult):
    """What one round with several replicas delivered, and how fast a dead holder's digest was
    taken over (seconds from its SIGKILL until another replica held the lease or the digest
    was done)."""

    holder_kills: int = 0
    takeovers: list[float] = field(default_factory=list)


async def replica_round(
    url: str,
    fake: SlackFake,
    number: int,
    replicas: int,
    rng: random.Random,
    scenario: str = "daily",
    count: int = 5,
    kills: int = 2,
    lease: float = 3.0,
    prefix: list[str] | None = None,
    log: Path = Path(os.devnull),
    wait: float = 90.0,
    holders_only: bool = False,
) -> tuple[ReplicaRound, list[str]]:
    """`replicas` services on one PostgreSQL all fire a channel's digest (due now, or
    `/papers digest` sent to one of them); `kills` times, a random replica (the lease holder,
    with `holders_only`) is SIGKILLed at a random point mid-digest and started again at once.
    Counts what reached Slack."""
    channel = Channel("slack", TEAM, f"R{number:04d}")
    subscribe(url, channel, count, due=scenario != "manual")
    prefix = isolation() if prefix is None else prefix
    live = [await start_replica(url, fake, lease, prefix, log) for _ in range(replicas)]
    result = ReplicaRound(channel.channel, scenario, 0, 0, 0)
    points = sorted(rng.randint(0, count) for _ in range(kills))  # bot messages before a kill
    pending: tuple[float, str] | None = None  # (when, owner) of a killed holder
    status: str | None = None
    picked: list[str] = []
    try:
        if scenario == "manual":
            await slash_digest(rng.choice(live).port, channel, fake)
        with psycopg.connect(url, autocommit=True) as conn:
            deadline = time.monotonic() + wait
            while time.monotonic() < deadline:
                status, picked, owner = pg_digest_state(conn, channel)
                if pending and (status != "claimed" or owner != pending[1]):
                    result.takeovers.append(time.monotonic() - pending[0])
                    pending = None
                if status == "done" and not pending:
                    break
                posted = len(bot_messages(fake, channel))
                started = status == "claimed" and (owner or not holders_only)
                if points and started and posted >= points[0]:
                    points.pop(0)
                    await asyncio.sleep(rng.uniform(0, 0.02))  # anywhere in the next post
                    status, _, owner = pg_digest_state(conn, channel)
                    holders = [i for i, r in enumerate(live) if r.owns(owner)]
                    index = rng.randrange(len(live))
                    if holders_only and holders:
                        index = holders[0]
                    victim = live[index]
                    holder = index in holders and owner is not None
                    victim.proc.send_signal(signal.SIGKILL)
                    await victim.proc.wait()
                    result.kills += 1
                    if holder and owner:
                        result.holder_kills += 1
                        pending = (time.monotonic(), owner)
                    if scenario.endswith("+busy"):
                        fake.chatter(channel.channel, BUSY)
                    live[index] = await start_replica(url, fake, lease, prefix, log)
                await asyncio.sleep(0.005)
    finally:
        await asyncio.gather(*(replica.stop() for replica in live))
    result.interrupted = result.holder_kills
    result.picked, result.finished = len(picked), status == "done"
    result.tally(bot_messages(fake, channel))
    return result, picked


async def replica_rounds(
    rounds: int,
    replicas: int,
    url: str,
    count: int = 5,
    kills: int = 2,
    seed: int = 1,
    lease: float = 3.0,
    echo: bool = False,
    scenarios: tuple[str, ...] = REPLICA_SCENARIOS,
    log: Path = Path(os.devnull),
) -> list[tuple[ReplicaRound, list[str]]]:
    """`rounds` replica rounds on the PostgreSQL database at `url`, cycling `scenarios`."""
    with open_storage(url) as store:
        ingest_files(store, sample_files(), datetime.now(UTC))
    rng = random.Random(seed)
    prefix = isolation()
    if echo:
        how = "own pid namespaces" if prefix else "one pid namespace: dead holders found by pid"
        print(f"{replicas} replicas, lease {lease:g} s, {how}", flush=True)
    results = []
    async with SlackFake(clock=time.time) as fake:
        for number in range(1, rounds + 1):
            scenario = scenarios[(number - 1) % len(scenarios)]
            result, picked = await replica_round(
                url, fake, number, replicas, rng, scenario, count, kills, lease, prefix, log
            )
            results.append((result, picked))
            if echo:
                taken = ", ".join(f"{t:.1f}" for t in result.takeovers) or "-"
                print(
                    f"{_line(number, result, picked)}; {result.holder_kills} holder kill(s),"
                    f" taken over after {taken} s",
                    flush=True,
                )
    return results


def takeover_summary(results: list[tuple[ReplicaRound, list[str]]], lease: float) -> None:
    """The takeover times of killed lease holders' digests."""
    times = sorted(t for result, _ in results for t in result.takeovers)
    if not times:
        print("no lease holder was killed mid-digest")
        return
    print(
        f"takeover after a holder's SIGKILL ({len(times)}): median {statistics.median(times):.1f}"
        f" s, p90 {times[int(0.9 * (len(times) - 1))]:.1f} s, max {times[-1]:.1f} s"
        f" (lease {lease:g} s; bound: 1.5 x lease + start-up)"
    )


def _line(number: int, result: RoundResult, picked: list[str]) -> str:
    unfinished = "" if result.finished else ", digest never finished"
    return (
        f"round {number:2d} {result.scenario:12s}: {result.kills} kill(s), "
        f"{result.interrupted} mid-digest, {sum(result.delivered.values())}/{result.picked} "
        f"papers delivered, {result.duplicates} duplicate(s), "
        f"{len(result.missing(picked))} missing, {result.headers} header(s){unfinished}"
    )


def summary(
    results: Sequence[tuple[RoundResult, list[str]]], by: Callable[[RoundResult], str]
) -> None:
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
    parser.add_argument(
        "--replicas",
        type=int,
        default=1,
        help="2 or 3: that many services on one PostgreSQL (a throwaway local server), random"
        " replicas SIGKILLed mid-digest and restarted; 1: one service on SQLite, restarted",
    )
    parser.add_argument("--lease", type=float, default=3.0, help="DIGEST_LEASE_SECONDS")
    args = parser.parse_args()
    started = time.monotonic()
    if args.replicas > 1:
        _main_replicas(args, started)
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


def _main_replicas(args: argparse.Namespace, started: float) -> None:
    scenarios = REPLICA_SCENARIOS
    if args.scenarios != ",".join(SCENARIOS):
        scenarios = tuple(args.scenarios.split(","))
    with PostgresServer() as server, tempfile.TemporaryDirectory() as tmp:
        log = Path(tmp) / "replicas.log"
        results = asyncio.run(
            replica_rounds(
                args.rounds,
                args.replicas,
                server.new_database(),
                args.count,
                args.kills,
                args.seed,
                args.lease,
                echo=True,
                scenarios=scenarios,
                log=log,
            )
        )
        logged = log.read_text(errors="replace")
    tracebacks = logged.count("Traceback")
    raised = Counter(re.findall(r"^(\w[\w.]*(?:Error|Exception)\b.*)$", logged, re.M))
    print()
    summary(results, lambda r: r.scenario)
    summary(results, lambda r: "all")
    takeover_summary(results, args.lease)
    print(f"{tracebacks} traceback(s) in the replicas' logs; {time.monotonic() - started:.0f} s")
    for line, times in raised.most_common(5):
        print(f"  {times} x {line[:160]}")
    bad = any(r.duplicates or r.missing(p) or r.headers > 1 for r, p in results)
    sys.exit(1 if bad else 0)


if __name__ == "__main__":
    main()
