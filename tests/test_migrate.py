"""`papers-bot migrate --from sqlite.db --to postgresql://…`: a SQLite installation copied into
PostgreSQL with nothing lost, and a second run changing nothing. Real CLI, real server."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import psycopg
import pytest

from benchmarks.realdata import real_papers
from bot.models import AppInstallation, Channel, MessageRef, Pause, PostKind, Subscription
from bot.storage import Storage, open_storage
from tests.postgres_server import PostgresServer
from tests.test_cli import offline_env, run

pytestmark = pytest.mark.slow  # real processes and real timers: make test-quick skips them

NOW = datetime(2025, 8, 5, 9, 0, tzinfo=UTC)
DAY = date(2025, 8, 5)
CH = Channel("slack", "T1", "C1")
OTHER = Channel("discord", "G1", "C9")
TABLES = (
    "papers",
    "subscriptions",
    "digests",
    "posts",
    "bookmarks",
    "events",
    "fetches",
    "installations",
    "zotero_libraries",
    "zotero_pushes",
)


def fill(store: Storage) -> None:
    """An installation that has run a while: every kind of row there is."""
    papers = real_papers()
    store.papers.upsert(papers, NOW - timedelta(days=3))
    ids = [p.id for p in papers]
    store.activity.save_subscription(Subscription(CH, topics=("diffusion",), count=3), NOW)
    store.activity.save_subscription(Subscription(OTHER, roundup_weekday=None), NOW)
    store.activity.pause_subscription(OTHER, Pause("403", "I cannot post here", NOW))
    store.ledger.claim_digest(CH, DAY, "daily", [(ids[0], "top"), (ids[1], "new")], NOW)
    store.ledger.set_digest_header(CH, DAY, "daily", "h1")
    for n, pid in enumerate(ids[:2]):
        store.ledger.claim_post(CH, pid, DAY, NOW)
        store.ledger.record_post(MessageRef(CH, f"m{n}"), pid, DAY, NOW)
    store.ledger.finish_digest(CH, DAY, "daily", NOW)
    store.ledger.claim_digest(CH, DAY + timedelta(days=1), "daily", [(ids[2], "")], NOW)
    store.ledger.lease_digest(CH, DAY + timedelta(days=1), "daily", "host:1", NOW, NOW)
    store.ledger.claim_post(CH, ids[2], DAY + timedelta(days=1), NOW)  # claimed, never posted
    store.ledger.record_post(MessageRef(CH, "s1"), ids[3], DAY, NOW, PostKind.SHARE)
    for user, pid in (("U1", ids[0]), ("U1", ids[5]), ("U2", ids[0])):
        store.activity.set_bookmark(CH.member(user), pid, True, NOW, "C1")
    store.activity.claim_event("slack", "Ev1", NOW)
    store.activity.record_fetch("hf", NOW, NOW, True, seen=20, new=5)
    store.activity.record_fetch("arxiv", NOW, NOW, False, error="HTTP 500")
    data = {"team_id": "T1", "bot_token": "xoxb-1", "bot_token_expires_at": None}
    store.installations.save_installation(AppInstallation("slack", "", "T1", data, NOW))
    store.zotero.set_library(CH, "12345", NOW)
    store.zotero.queue("12345", ids[0], NOW)
    store.zotero.queue("12345", ids[5], NOW)
    store.zotero.pushed("12345", [ids[0]], NOW)


def snapshot(store: Storage) -> dict[str, object]:
    """Everything the bot can read back through the storage ports."""
    ids = sorted(p.id for p in real_papers())
    ledger, activity = store.ledger, store.activity
    return {
        "papers": store.papers.get_many(ids),
        "subscriptions": activity.subscriptions(),
        "digests": [ledger.get_digest(CH, DAY + timedelta(days=d)) for d in (0, 1)],
        "owner": ledger.digest_owner(CH, DAY + timedelta(days=1), "daily"),
        "posted": (ledger.posted_paper_ids(CH), ledger.papers_posted_on(CH, DAY)),
        "statuses": [ledger.post_status(CH, pid) for pid in ids[:4]],
        "share": ledger.paper_for_message(MessageRef(CH, "s1")),
        "bookmarks": [activity.bookmarks(CH.member(u)) for u in ("U1", "U2")],
        "saves": activity.team_saves(CH, NOW - timedelta(days=1)),
        "fetches": activity.last_fetches(),
        "installations": store.installations.installations("slack"),
        "zotero": (store.zotero.library(CH), store.zotero.due(NOW), store.zotero.counts()),
    }


def counts(url: str) -> dict[str, int]:
    with psycopg.connect(url) as conn:
        return {t: conn.execute(f"SELECT count(*) FROM {t}").fetchone()[0] for t in TABLES}  # type: ignore[index]


async def test_migrate_copies_everything_and_is_safe_to_run_again(
    tmp_path: Path, postgres_server: PostgresServer
) -> None:
    source = tmp_path / "papers.db"
    with open_storage(source) as sqlite:
        fill(sqlite)
        before = snapshot(sqlite)
    url = postgres_server.new_database()
    env = offline_env(tmp_path)
    code, out, err = await run(tmp_path, "migrate", "--from", str(source), "--to", url, env=env)
    assert code == 0, err
    assert f"Copied {len(real_papers())} papers, 2 subscriptions, 2 digests, 4 posts" in out
    first = counts(url)
    assert first == {
        "papers": len(real_papers()),
        "subscriptions": 2,
        "digests": 2,
        "posts": 4,
        "bookmarks": 3,
        "events": 1,
        "fetches": 2,
        "installations": 1,
        "zotero_libraries": 1,
        "zotero_pushes": 2,
    }
    code, _, err = await run(tmp_path, "migrate", "--from", str(source), "--to", url, env=env)
    assert code == 0, err
    assert counts(url) == first
    with open_storage(url) as postgres:
        assert snapshot(postgres) == before
        # the copy works as a store: ids, claims and search carry on from where SQLite was
        assert not postgres.activity.claim_event("slack", "Ev1", NOW)
        assert not postgres.ledger.claim_post(CH, real_papers()[0].id, DAY, NOW)
        assert postgres.search.match_ids("meta-rl", ["2508.01287"]) == {"2508.01287"}
        postgres.papers.upsert([replace(real_papers()[0], id="2608.99999")], NOW)
        postgres.ledger.record_post(MessageRef(CH, "m9"), "2608.99999", DAY, NOW)
        assert postgres.ledger.papers_posted_on(CH, DAY)[-1] == "2608.99999"


async def test_migrate_says_what_is_wrong(tmp_path: Path) -> None:
    source = tmp_path / "papers.db"
    open_storage(source).close()
    code, _, err = await run(tmp_path, "migrate", "--from", str(source), "--to", "other.db")
    assert code == 1 and "--to must be a postgresql:// URL" in err
    closed = "postgresql://nobody@127.0.0.1:1/none"
    code, _, err = await run(tmp_path, "migrate", "--from", str(source), "--to", closed)
    assert code == 1 and "cannot copy" in err
