"""Versioned schema migrations. Each runs once, in order, tracked by `PRAGMA user_version`.

Never edit a released migration: append a new one.
"""

from __future__ import annotations

from collections.abc import Callable

from sqlite_utils import Database

from bot.models import has_code_sql, paper_day_sql


def _v1_initial(db: Database) -> None:
    db.table("papers").create(
        {
            # The full-text index is keyed on rowid; an explicit INTEGER PRIMARY KEY keeps
            # rowids stable through VACUUM (SQLite may renumber implicit ones). Papers are
            # addressed by `id`, unique.
            "seq": int,
            "id": str,
            "title": str,
            "abstract": str,
            "authors": str,  # JSON list of names
            "published": str,  # ISO date
            "added": str,  # ISO date it appeared on HF Daily Papers
            "upvotes": int,
            "comments": int,
            "github_repo": str,
            "github_stars": int,
            "project_page": str,
            "thumbnail": str,
            "ai_summary": str,
            "keywords": str,  # JSON list
            "categories": str,  # JSON list
            "organization": str,
            "sources": str,  # JSON list
            "first_seen": str,  # ISO datetime, UTC
            "last_seen": str,
        },
        pk="seq",
        not_null={"id", "title"},
        defaults={"abstract": "", "upvotes": 0, "comments": 0},
    )
    db.table("papers").create_index(["id"], unique=True)
    db.table("papers").create_index(["added"])
    db.table("papers").create_index(["first_seen"])
    db.table("papers").enable_fts(
        ["title", "abstract", "authors", "keywords"],
        fts_version="FTS5",
        tokenize="porter",
        create_triggers=True,
    )
    db.table("subscriptions").create(
        {
            "platform": str,
            "workspace": str,
            "channel": str,
            "topics": str,  # JSON list of search queries
            "count": int,
            "min_upvotes": int,
            "weekdays": str,  # JSON list, 0 = Monday
            "post_time": str,  # HH:MM
            "timezone": str,  # IANA name
            "skip_empty": int,
            "roundup_weekday": int,
            "updated_at": str,
        },
        pk=("platform", "workspace", "channel"),
    )
    # One row per digest (daily or roundup) per channel per local day: the claim that makes a
    # digest happen at most once, whoever fires it.
    db.table("digests").create(
        {
            "platform": str,
            "workspace": str,
            "channel": str,
            "day": str,
            "kind": str,  # daily | roundup
            "status": str,  # claimed | done
            "header_ref": str,
            "papers": str,  # JSON list of [paper id, why picked], fixed at claim time
            "claimed_at": str,
            "done_at": str,
            "owner": str,  # host:pid of the process delivering it
            "lease_until": str,  # another process may take over after this
        },
        pk=("platform", "workspace", "channel", "day", "kind"),
    )
    db.table("posts").create(
        {
            "id": int,
            "platform": str,
            "workspace": str,
            "channel": str,
            "paper_id": str,
            "kind": str,  # digest | share | roundup
            "day": str,
            "message_ref": str,
            "status": str,  # claimed | posted
            "claimed_at": str,
            "posted_at": str,
        },
        pk="id",
    )
    db.execute(
        "CREATE UNIQUE INDEX posts_once_per_channel"
        " ON posts(platform, workspace, channel, paper_id)"
        " WHERE kind = 'digest'"
    )
    db.execute(
        "CREATE UNIQUE INDEX posts_roundup_once"
        " ON posts(platform, workspace, channel, paper_id, day) WHERE kind = 'roundup'"
    )
    db.table("posts").create_index(["platform", "workspace", "channel", "message_ref"])
    db.table("bookmarks").create(
        {
            "platform": str,
            "workspace": str,
            "user": str,
            "paper_id": str,
            "channel": str,  # where it was saved from, when known
            "saved_at": str,
        },
        pk=("platform", "workspace", "user", "paper_id"),
    )
    db.table("events").create(
        {"platform": str, "event_id": str, "seen_at": str}, pk=("platform", "event_id")
    )
    db.table("fetches").create(
        {
            "id": int,
            "source": str,
            "started_at": str,
            "finished_at": str,
            "ok": int,
            "seen": int,
            "new": int,
            "error": str,
        },
        pk="id",
    )
    db.table("fetches").create_index(["source", "id"])


def _v2_search_abbreviations(db: Database) -> None:
    """Schema v2 created the learned-abbreviation table. The search side owns that table now and
    creates it (filled from the stored papers) when it is missing, so this step does nothing;
    it stays so that version numbers keep their meaning."""


def _v3_event_pruning(db: Database) -> None:
    """Processed events are deleted by age as new ones arrive: index the age."""
    db.table("events").create_index(["seen_at"], if_not_exists=True)


def _v4_paused_subscriptions(db: Database) -> None:
    """A channel the bot cannot post in is paused, with the reason and since when."""
    table = db.table("subscriptions")
    for column in ("paused_reason", "paused_said", "paused_at"):
        if column not in table.columns_dict:
            table.add_column(column, str)


def _v5_channel_taste(db: Database) -> None:
    """The per-channel switch for blending what its members saved into the digest."""
    if "taste" not in db.table("subscriptions").columns_dict:
        db.table("subscriptions").add_column("taste", int, not_null_default=1)
    db.table("bookmarks").create_index(["platform", "workspace", "channel"], if_not_exists=True)


def _v6_installations(db: Database) -> None:
    """The app's installations in many workspaces (Slack's OAuth flow) and its OAuth states."""
    db.table("installations").create(
        {
            "platform": str,
            "enterprise": str,  # "" outside an enterprise org
            "team": str,  # "" for an org-wide install
            "data": str,  # JSON: what the platform's OAuth flow returned, tokens included
            "installed_at": str,
        },
        pk=("platform", "enterprise", "team"),
        if_not_exists=True,
    )
    db.table("oauth_states").create(
        {"state": str, "expires_at": str}, pk="state", if_not_exists=True
    )


def _v7_zotero(db: Database) -> None:
    """Channels' Zotero group libraries, and each saved paper's push to one."""
    db.table("zotero_libraries").create(
        {"platform": str, "workspace": str, "channel": str, "library": str, "set_at": str},
        pk=("platform", "workspace", "channel"),
        if_not_exists=True,
    )
    db.table("zotero_pushes").create(
        {
            "library": str,
            "paper_id": str,
            "queued_at": str,
            "token": str,
            "attempts": int,
            "error": str,
            "next_try": str,
            "pushed_at": str,
        },
        pk=("library", "paper_id"),
        if_not_exists=True,
    )
    db.table("zotero_pushes").create_index(["pushed_at", "next_try"], if_not_exists=True)


_PAPER_DAY = paper_day_sql()  # as the search's date filters read it (search.fts.PAPER_DAY)


def _v8_papers_by_day(db: Database) -> None:
    """A search with only a time ("top papers from last week") lists that time's papers by
    upvotes: index Paper.day with the upvotes, so a week of a large archive is ranked from the
    index alone."""
    db.execute(f"CREATE INDEX IF NOT EXISTS papers_day_upvotes ON papers ({_PAPER_DAY}, upvotes)")


def _v9_papers_with_code(db: Database) -> None:
    """A listing of papers with code ("has:code", "year:2019 has:code") ranks them from
    indexes that hold those papers alone, instead of reading every abstract for a link."""
    code = has_code_sql()
    db.execute(f"CREATE INDEX IF NOT EXISTS papers_code_upvotes ON papers (upvotes) WHERE {code}")
    db.execute(
        f"CREATE INDEX IF NOT EXISTS papers_code_day ON papers ({_PAPER_DAY}, upvotes) WHERE {code}"
    )


MIGRATIONS: list[Callable[[Database], None]] = [
    _v1_initial,
    _v2_search_abbreviations,
    _v3_event_pruning,
    _v4_paused_subscriptions,
    _v5_channel_taste,
    _v6_installations,
    _v7_zotero,
    _v8_papers_by_day,
    _v9_papers_with_code,
]


def migrate(db: Database) -> int:
    """Bring the schema up to date; returns the version now in force."""
    version = db.execute("PRAGMA user_version").fetchone()[0]
    if version > len(MIGRATIONS):
        raise SchemaTooNew(version, len(MIGRATIONS))
    for number, step in enumerate(MIGRATIONS[version:], start=version + 1):
        with db.conn:
            step(db)
            db.execute(f"PRAGMA user_version = {number}")
    return len(MIGRATIONS)


class SchemaTooNew(Exception):
    """The database was written by a newer papers-bot."""

    def __init__(self, found: int, known: int) -> None:
        super().__init__(
            f"database schema version {found} is newer than this papers-bot knows ({known}); "
            "upgrade papers-bot"
        )
        self.found = found
        self.known = known
