"""What only the SQLite store promises: the file, its schema versions, stable FTS5 rowids."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bot.store import SchemaTooNew, SqliteStore
from bot.store.schema import MIGRATIONS
from tests.conftest import make_paper

NOW = datetime(2025, 8, 5, 9, 0, tzinfo=UTC)


@pytest.fixture
def store(tmp_path: Path) -> SqliteStore:
    with SqliteStore(tmp_path / "papers.db") as opened:
        yield opened  # type: ignore[misc]


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


def test_full_text_index_follows_every_write(store: SqliteStore) -> None:
    store.papers.upsert([make_paper("2508.00001", title="Diffusion planners")], NOW)
    store.papers.upsert([make_paper("2508.00001", title="Transformer planners")], NOW)
    rows = list(store.db.query("SELECT rowid FROM papers_fts WHERE papers_fts MATCH 'transformer'"))
    assert len(rows) == 1
    assert not list(
        store.db.query("SELECT rowid FROM papers_fts WHERE papers_fts MATCH 'diffusion'")
    )


def test_new_paper_hooks_run_inside_the_write(store: SqliteStore) -> None:
    seen: list[tuple[list[str], bool]] = []
    store.papers.on_new_papers(
        lambda db, rows: seen.append(([r["id"] for r in rows], db.conn.in_transaction))
    )
    store.papers.upsert([make_paper("2508.00001"), make_paper("2508.00002")], NOW)
    store.papers.upsert([make_paper("2508.00001", upvotes=99), make_paper("2508.00003")], NOW)
    assert seen == [(["2508.00001", "2508.00002"], True), (["2508.00003"], True)]


def test_the_full_text_index_is_keyed_on_a_stable_rowid(store: SqliteStore) -> None:
    # SQLite may renumber implicit rowids on VACUUM; an INTEGER PRIMARY KEY it never does.
    columns = {row[1]: (row[2], row[5]) for row in store.db.execute("PRAGMA table_info(papers)")}
    assert columns["seq"] == ("INTEGER", 1)
    papers = [make_paper(f"2508.{i:05d}", f"Paper on topic{i}") for i in range(50)]
    store.papers.upsert(papers, NOW)
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


def test_the_event_table_holds_about_an_hour_of_reactions(store: SqliteStore) -> None:
    # Two hours of 5 reactions a second (sampled every 2 s): the table keeps the last hour only.
    for n in range(3600):
        store.activity.claim_event("slack", f"Ev{n}", NOW + timedelta(seconds=2 * n))
    rows = store.db.execute("SELECT count(*) FROM events").fetchone()[0]
    assert 1800 <= rows <= 1801  # an hour of events at one per 2 s


def test_the_fetch_log_keeps_thirty_days_and_the_newest_of_every_source(
    store: SqliteStore,
) -> None:
    log = store.activity
    log.record_fetch("arxiv", NOW - timedelta(days=90), NOW - timedelta(days=90), True, seen=7)
    for hour in range(60 * 24):  # sixty days of hourly fetches
        at = NOW + timedelta(hours=hour)
        log.record_fetch("hf", at, at, True, seen=hour)
    rows = store.db.execute("SELECT count(*) FROM fetches WHERE source = 'hf'").fetchone()[0]
    assert 30 * 24 <= rows <= 30 * 24 + 1
    assert log.last_fetches()["arxiv"].seen == 7  # a source not fetched for months stays shown
