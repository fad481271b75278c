"""The SQLite store: schema, merges, the posts ledger, bookmarks, events."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest

from bot.models import Channel, Member, MessageRef, Subscription
from bot.store import SchemaTooNew, SqliteStore
from bot.store.schema import MIGRATIONS
from tests.conftest import make_paper

NOW = datetime(2025, 8, 5, 9, 0, tzinfo=UTC)
CH = Channel("slack", "T1", "C1")


@pytest.fixture
def store(tmp_path: Path) -> Iterator[SqliteStore]:
    with SqliteStore(tmp_path / "papers.db") as opened:
        yield opened


def test_fresh_database_is_migrated_and_in_wal_mode(tmp_path: Path) -> None:
    with SqliteStore(tmp_path / "p.db") as store:
        assert store.schema_version == len(MIGRATIONS)
        assert store.db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        tables = set(store.db.table_names())
        assert {
            "papers",
            "papers_fts",
            "subscriptions",
            "digests",
            "posts",
            "bookmarks",
            "events",
            "fetches",
        } <= tables


def test_reopening_keeps_data_and_does_not_migrate_twice(tmp_path: Path) -> None:
    with SqliteStore(tmp_path / "p.db") as store:
        store.papers.upsert([make_paper("2401.00001")], NOW)
    with SqliteStore(tmp_path / "p.db") as store:
        assert store.papers.count() == 1


def test_a_newer_schema_is_refused_with_a_clear_message(tmp_path: Path) -> None:
    with SqliteStore(tmp_path / "p.db") as store:
        store.db.execute("PRAGMA user_version = 999")
    with pytest.raises(SchemaTooNew, match="upgrade papers-bot"):
        SqliteStore(tmp_path / "p.db")


def test_the_same_paper_from_two_sources_merges_into_one_row(store: SqliteStore) -> None:
    hf = make_paper("2508.01234", upvotes=42, ai_summary="A summary.", sources=("hf",))
    arxiv = make_paper(
        "2508.01234",
        upvotes=0,
        categories=("cs.LG",),
        sources=("arxiv",),
        ai_summary=None,
        added=None,
    )
    assert store.papers.upsert([hf], NOW) == (1, 0)
    assert store.papers.upsert([arxiv], NOW + timedelta(hours=1)) == (0, 1)
    merged = store.papers.get("2508.01234")
    assert merged is not None
    assert merged.sources == ("hf", "arxiv")
    assert merged.upvotes == 42  # a later sighting without votes does not erase them
    assert merged.ai_summary == "A summary."
    assert merged.categories == ("cs.LG",)
    assert merged.added == date(2025, 8, 5)
    assert merged.first_seen == NOW
    assert merged.last_seen == NOW + timedelta(hours=1)
    assert store.papers.count() == 1


def test_unchanged_sighting_counts_as_neither_new_nor_updated(store: SqliteStore) -> None:
    paper = make_paper("2508.00001")
    store.papers.upsert([paper], NOW)
    assert store.papers.upsert([paper], NOW) == (0, 0)


def test_full_text_index_follows_every_write(store: SqliteStore) -> None:
    store.papers.upsert([make_paper("2508.00001", title="Diffusion planners")], NOW)
    store.papers.upsert([make_paper("2508.00001", title="Transformer planners")], NOW)
    rows = list(store.db.query("SELECT rowid FROM papers_fts WHERE papers_fts MATCH 'transformer'"))
    assert len(rows) == 1
    assert not list(
        store.db.query("SELECT rowid FROM papers_fts WHERE papers_fts MATCH 'diffusion'")
    )


def test_subscriptions_round_trip(store: SqliteStore) -> None:
    sub = Subscription(
        CH,
        topics=("diffusion", "meta-rl"),
        count=7,
        min_upvotes=3,
        weekdays=(0, 2, 4),
        post_time="08:30",
        timezone="Asia/Kolkata",
        skip_empty=True,
        roundup_weekday=None,
    )
    store.activity.save_subscription(sub, NOW)
    assert store.activity.get_subscription(CH) == sub
    assert store.activity.subscriptions("slack") == [sub]
    assert store.activity.delete_subscription(CH)
    assert store.activity.get_subscription(CH) is None
    assert not store.activity.delete_subscription(CH)


def test_a_paper_is_claimed_once_per_channel(store: SqliteStore) -> None:
    day = date(2025, 8, 5)
    assert store.ledger.claim_post(CH, "2508.00001", day, NOW)
    assert not store.ledger.claim_post(CH, "2508.00001", day, NOW)
    assert store.ledger.claim_post(Channel("slack", "T1", "C2"), "2508.00001", day, NOW)
    store.ledger.record_post(MessageRef(CH, "1.1"), "2508.00001", day, NOW)
    assert store.ledger.post_status(CH, "2508.00001") == "posted"
    assert store.ledger.paper_for_message(MessageRef(CH, "1.1")) == "2508.00001"
    assert store.ledger.paper_for_message(MessageRef(CH, "9.9")) is None


def test_shares_are_recorded_without_blocking_the_digest(store: SqliteStore) -> None:
    day = date(2025, 8, 5)
    store.ledger.record_post(MessageRef(CH, "2.2"), "2508.00001", day, NOW, kind="share")
    assert store.ledger.paper_for_message(MessageRef(CH, "2.2")) == "2508.00001"
    assert store.ledger.claim_post(CH, "2508.00001", day, NOW)


def test_digest_claim_is_made_once_and_keeps_its_picks(store: SqliteStore) -> None:
    day = date(2025, 8, 5)
    first = store.ledger.claim_digest(CH, day, "daily", [("a", "why a"), ("b", "why b")], NOW)
    second = store.ledger.claim_digest(CH, day, "daily", [("c", "why c")], NOW)
    assert first.fresh and not second.fresh
    assert second.picks == (("a", "why a"), ("b", "why b"))
    store.ledger.finish_digest(CH, day, "daily", NOW)
    assert store.ledger.get_digest(CH, day).status == "done"  # type: ignore[union-attr]
    assert store.ledger.last_digest_day(CH) == day


def test_digest_lease_excludes_a_second_owner_until_it_expires(store: SqliteStore) -> None:
    day = date(2025, 8, 5)
    store.ledger.claim_digest(CH, day, "daily", [("a", "")], NOW)
    until = NOW + timedelta(minutes=5)
    assert store.ledger.lease_digest(CH, day, "daily", "host:1", until, NOW)
    assert store.ledger.lease_digest(CH, day, "daily", "host:1", until, NOW)  # renewal
    assert not store.ledger.lease_digest(CH, day, "daily", "host:2", until, NOW)
    assert store.ledger.lease_digest(CH, day, "daily", "host:2", until, NOW, dead_owners=["host:1"])
    later = NOW + timedelta(minutes=6)
    assert store.ledger.lease_digest(
        CH, day, "daily", "host:3", later + timedelta(minutes=5), later
    )


def test_bookmarks_are_idempotent_per_user(store: SqliteStore) -> None:
    store.papers.upsert([make_paper("2508.00001"), make_paper("2508.00002")], NOW)
    assert store.activity.set_bookmark(Member("slack", "T1", "U1"), "2508.00001", True, NOW, "C1")
    assert not store.activity.set_bookmark(
        Member("slack", "T1", "U1"), "2508.00001", True, NOW, "C1"
    )
    store.activity.set_bookmark(
        Member("slack", "T1", "U1"), "2508.00002", True, NOW + timedelta(minutes=1), "C1"
    )
    store.activity.set_bookmark(Member("slack", "T1", "U2"), "2508.00002", True, NOW, "C1")
    assert [b.paper.id for b in store.activity.bookmarks(Member("slack", "T1", "U1"))] == [
        "2508.00002",
        "2508.00001",
    ]
    assert store.activity.team_saves(CH, NOW - timedelta(days=7)) == [
        ("2508.00002", 2),
        ("2508.00001", 1),
    ]
    assert store.activity.set_bookmark(Member("slack", "T1", "U1"), "2508.00001", False, NOW)
    assert not store.activity.set_bookmark(Member("slack", "T1", "U1"), "2508.00001", False, NOW)
    assert [b.paper.id for b in store.activity.bookmarks(Member("slack", "T1", "U1"))] == [
        "2508.00002"
    ]


def test_events_are_processed_once(store: SqliteStore) -> None:
    assert store.activity.claim_event("slack", "Ev1", NOW)
    assert not store.activity.claim_event("slack", "Ev1", NOW)
    assert store.activity.claim_event("discord", "Ev1", NOW)


def test_fetch_log_keeps_the_latest_per_source(store: SqliteStore) -> None:
    store.activity.record_fetch("hf", NOW, NOW, True, seen=20, new=5)
    store.activity.record_fetch("hf", NOW, NOW + timedelta(seconds=1), False, error="HTTP 500")
    store.activity.record_fetch("arxiv", NOW, NOW, True, seen=100, new=100)
    last = store.activity.last_fetches()
    assert not last["hf"].ok and last["hf"].error == "HTTP 500"
    assert last["arxiv"].new == 100


def test_the_full_text_index_is_keyed_on_a_stable_rowid(store: SqliteStore) -> None:
    # SQLite may renumber implicit rowids on VACUUM; an INTEGER PRIMARY KEY it never does.
    columns = {row[1]: (row[2], row[5]) for row in store.db.execute("PRAGMA table_info(papers)")}
    assert columns["seq"] == ("INTEGER", 1)
    store.papers.upsert([make_paper(f"2508.{i:05d}", f"Paper on topic{i}") for i in range(50)], NOW)
    store.db.execute("DELETE FROM papers WHERE id < '2508.00025'")
    store.db.conn.commit()
    store.db.vacuum()
    rows = store.db.execute(
        "SELECT p.id FROM papers_fts JOIN papers p ON p.rowid = papers_fts.rowid"
        " WHERE papers_fts MATCH 'topic40'"
    ).fetchall()
    assert rows == [("2508.00040",)]
    store.papers.upsert([make_paper("2508.00040", "Paper on topic40 revised")], NOW)
    assert store.papers.count() == 25
