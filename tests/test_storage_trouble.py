"""A database that cannot take a write (locked past the busy timeout by another process, or
read-only) costs the user one private line and the operator one log line a minute, and loses
nothing already saved. Run over the real Slack and Discord adapters against a real SQLite file
with a real second connection holding the write lock."""

from __future__ import annotations

import logging
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import psycopg
import pytest

from bot import storage as storage_module
from tests.conftest import make_paper
from tests.discord_harness import discord_harness
from tests.postgres_server import PostgresServer
from tests.slack_fake import visible_text
from tests.slack_harness import slack_harness

# Posted in this order (by upvotes): a message each, refs[i] showing PAPERS[i].
PAPERS = [make_paper(f"2508.0000{i}", upvotes=10 * i) for i in range(3, 0, -1)]
SAID = {
    "locked": "Not saved: the database is locked by another process. Nothing saved before is "
    "lost; please try again in a minute.",
    "read-only": "Not saved: the database file is read-only. Nothing saved before is lost; "
    "please try again in a minute.",
}


@contextmanager
def database_trouble(kind: str, h: Any) -> Iterator[None]:
    """Make the harness's database refuse writes the way `kind` does, then put it right."""
    db = h.storage.backend.db  # the store's own connection
    path = h.settings.papers_bot_db
    if kind == "locked":
        db.execute("PRAGMA busy_timeout = 50")  # the store waits 10 s; the test 50 ms
        other = sqlite3.connect(path)  # another process's connection holding the write lock
        other.execute("BEGIN IMMEDIATE")
        try:
            yield
        finally:
            other.rollback()
            other.close()
            db.execute("PRAGMA busy_timeout = 10000")
    else:
        # What SQLite does with a read-only file: every write fails with SQLITE_READONLY. (A
        # chmod 444 file would do it for a normal user, not for root, who runs this suite in CI.)
        db.execute("PRAGMA query_only = ON")
        try:
            yield
        finally:
            db.execute("PRAGMA query_only = OFF")


def trouble_lines(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.levelno >= logging.WARNING and r.name == "bot.storage"]


@pytest.fixture(autouse=True)
def fresh_trouble_log(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[float]]:
    """The throttled log on a clock the test moves, forgetting what other tests logged."""
    now = [0.0]
    log = storage_module.Throttled(logging.getLogger("bot.storage"), clock=lambda: now[0])
    monkeypatch.setattr(storage_module, "TROUBLE_LOG", log)
    yield now


@pytest.mark.parametrize("kind", ["locked", "read-only"])
async def test_slack_bookmarks_and_commands_on_a_database_that_cannot_write(
    kind: str,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
    fresh_trouble_log: list[float],
) -> None:
    async with slack_harness(tmp_path) as slack:
        slack.seed(PAPERS)
        refs = [ref.ref for ref in (await slack.post_digest()).posted]
        await slack.react(refs[0], "U1")  # saved before the trouble
        caplog.clear()
        with caplog.at_level(logging.INFO), database_trouble(kind, slack):
            for n in range(10):  # ten people react while the database cannot write
                await slack.react(refs[1], f"U{n + 2}")
            said = await slack.command(f"save {PAPERS[2].id}", "U1")
        # Each person is told, privately, in one line.
        told = [
            e for e in slack.fake.ephemerals if e.ephemeral_to in {f"U{n + 2}" for n in range(10)}
        ]
        assert [visible_text(e) for e in told] == [SAID[kind]] * 10
        assert said.strip().endswith(SAID[kind]) and "\n" not in said.strip()
        # The operator gets one line for the kind of failure, no traceback, not eleven.
        lines = trouble_lines(caplog)
        assert len(lines) == 1, [r.getMessage() for r in lines]
        assert all(r.exc_info is None for r in caplog.records)
        assert not [r for r in caplog.records if r.levelno >= logging.ERROR]
        # Nothing already saved is lost; the database taking writes again, saving works again.
        saved = await slack.command("saved", "U1")
        assert PAPERS[0].title in saved and PAPERS[2].title not in saved
        await slack.react(refs[1], "U2")
        assert visible_text(slack.fake.ephemerals[-1]).startswith("Saved: ")
        # A minute later the same trouble is logged again, with how many were left out.
        fresh_trouble_log[0] += 61
        with database_trouble(kind, slack):
            await slack.react(refs[1], "U3")
        lines = trouble_lines(caplog)
        assert len(lines) == 2 and "(10 more like it since the last line)" in lines[1].getMessage()


async def test_discord_on_a_locked_database(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    async with discord_harness(tmp_path) as discord:
        discord.seed(PAPERS)
        refs = [ref.ref for ref in (await discord.post_digest()).posted]
        await discord.react(refs[0], "U1")
        caplog.clear()
        with caplog.at_level(logging.INFO), database_trouble("locked", discord):
            for n in range(5):
                await discord.react(refs[1], f"U{n + 2}")
            record = await discord.interact(f"save {PAPERS[2].id}", "U1")
        (reply,) = record.messages
        assert reply["flags"] & 64  # private
        assert reply["content"].endswith(SAID["locked"]) and "\n" not in reply["content"]
        assert len(trouble_lines(caplog)) == 1
        assert all(r.exc_info is None for r in caplog.records)
        saved = await discord.command("saved", "U1")
        assert PAPERS[0].title in saved


# -- PostgreSQL --------------------------------------------------------------------------------

PG_SAID = {
    "read-only": "Not saved: the database is read-only (a standby, or set read-only). Nothing "
    "saved before is lost; please try again in a minute.",
    "connection lost": "Not saved: the connection to the database was lost. Nothing saved "
    "before is lost; please try again in a minute.",
}


async def test_slack_on_a_postgresql_that_turned_read_only_or_dropped_the_connection(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, postgres_server: PostgresServer
) -> None:
    async with slack_harness(tmp_path, database_url=postgres_server.new_database()) as slack:
        slack.seed(PAPERS)
        refs = [ref.ref for ref in (await slack.post_digest()).posted]
        await slack.react(refs[0], "U1")  # saved before the trouble
        db = slack.storage.backend.db  # the store's own connection
        caplog.clear()
        with caplog.at_level(logging.INFO):
            # The server is set read-only (a failover to a standby does the same to writes).
            db.run("SET default_transaction_read_only = on")
            for n in range(5):
                await slack.react(refs[1], f"U{n + 2}")
            said = await slack.command(f"save {PAPERS[2].id}", "U1")
            db.run("SET default_transaction_read_only = off")
            people = {f"U{n + 2}" for n in range(5)}
            told = [e for e in slack.fake.ephemerals if e.ephemeral_to in people]
            assert [visible_text(e) for e in told] == [PG_SAID["read-only"]] * 5
            assert said.strip().endswith(PG_SAID["read-only"]) and "\n" not in said.strip()
            # The server ends the session (a restart, a failover): that one call fails, the
            # next opens a new connection and works.
            postgres_server.admin(f"SELECT pg_terminate_backend({db.conn.info.backend_pid})")
            said = await slack.command(f"save {PAPERS[2].id}", "U1")
            assert said.strip().endswith(PG_SAID["connection lost"]), said
            assert "Saved" in await slack.command(f"save {PAPERS[2].id}", "U1")
        lines = trouble_lines(caplog)
        assert [r.getMessage().split(": ", 1)[1].split(" (")[0] for r in lines] == [
            "the database is read-only",
            "the connection to the database was lost",
        ]
        assert all(r.exc_info is None for r in caplog.records)
        assert not [r for r in caplog.records if r.levelno >= logging.ERROR]
        saved = await slack.command("saved", "U1")
        assert PAPERS[0].title in saved and PAPERS[2].title in saved
        assert PAPERS[1].title not in saved


@pytest.mark.parametrize(
    ("error", "said"),
    [
        (psycopg.errors.DiskFull, "the database server's disk is full"),
        (psycopg.errors.SerializationFailure, "the database met a conflicting write"),
        (psycopg.errors.DeadlockDetected, "the database met a conflicting write"),
        (psycopg.errors.LockNotAvailable, "the database is locked by another process"),
        (psycopg.errors.TooManyConnections, "the database server has no free connection"),
        (psycopg.errors.AdminShutdown, "the connection to the database was lost"),
        (psycopg.errors.ReadOnlySqlTransaction, "the database is read-only"),
        (psycopg.errors.UniqueViolation, None),  # a bug, not trouble: its traceback is needed
        (psycopg.errors.QueryCanceled, None),  # search's deadline, answered by search itself
    ],
)
def test_postgresql_errors_that_mean_the_database_cannot_write_now(
    error: type[psycopg.Error], said: str | None
) -> None:
    assert storage_module.storage_trouble(RuntimeError("not the database")) is None
    try:
        try:
            raise error("from the server")
        except psycopg.Error as exc:
            raise RuntimeError("a port call failed") from exc
    except RuntimeError as wrapped:
        trouble = storage_module.storage_trouble(wrapped)
    assert (trouble or "").startswith(said or "") and (trouble is None) == (said is None)
