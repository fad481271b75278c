"""The SQLite store. This package is the only place that speaks SQL."""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from sqlite_utils import Database

from bot.models import Bookmark, Channel, MessageRef, Paper, Subscription
from bot.store import search_index
from bot.store.schema import SchemaTooNew, migrate

__all__ = ["DigestClaim", "FetchRecord", "SchemaTooNew", "Store"]

_JSON_LISTS = ("authors", "keywords", "categories", "sources")


def _iso(value: date | datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def paper_to_row(paper: Paper) -> dict[str, Any]:
    """A Paper as a `papers` row."""
    row: dict[str, Any] = {}
    for name in Paper.__dataclass_fields__:
        value = getattr(paper, name)
        if name in _JSON_LISTS:
            value = json.dumps(list(value), ensure_ascii=False)
        elif isinstance(value, date | datetime):
            value = value.isoformat()
        row[name] = value
    return row


def row_to_paper(row: dict[str, Any]) -> Paper:
    """A `papers` row as a Paper."""
    values: dict[str, Any] = {}
    for name in Paper.__dataclass_fields__:
        value = row.get(name)
        if name in _JSON_LISTS:
            value = tuple(json.loads(value)) if value else ()
        elif name in ("published", "added") and value:
            value = date.fromisoformat(value)
        elif name in ("first_seen", "last_seen") and value:
            value = datetime.fromisoformat(value)
        elif name in ("upvotes", "comments"):
            value = value or 0
        values[name] = value
    return Paper(**values)


@dataclass(frozen=True, slots=True)
class DigestClaim:
    """The state of one channel's digest for one day."""

    channel: Channel
    day: date
    kind: str
    status: str  # claimed | done
    picks: tuple[tuple[str, str], ...]  # (paper id, why picked)
    header_ref: str | None
    fresh: bool  # True when this call made the claim


@dataclass(frozen=True, slots=True)
class FetchRecord:
    """One fetch attempt of a source."""

    source: str
    started_at: datetime
    finished_at: datetime | None
    ok: bool
    seen: int
    new: int
    error: str | None


class Store:
    """Papers, subscriptions, the posts ledger, bookmarks and processed events: one SQLite file."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        if str(path) != ":memory:":
            self.path.parent.mkdir(parents=True, exist_ok=True)
        self.db = Database(str(path))
        self.db.execute("PRAGMA busy_timeout = 10000")
        if str(path) != ":memory:":
            self.db.enable_wal()
        self.schema_version = migrate(self.db)

    def close(self) -> None:
        """Close the database connection."""
        self.db.close()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @contextmanager
    def transaction(self) -> Iterator[None]:
        """Group writes: all or nothing, and one fsync."""
        with self.db.atomic():
            yield

    # -- papers ---------------------------------------------------------------------------

    def upsert_papers(self, papers: Iterable[Paper], now: datetime) -> tuple[int, int]:
        """Insert new papers and merge sightings into known ones; returns (new, updated)."""
        incoming: dict[str, Paper] = {}
        for paper in papers:
            known = incoming.get(paper.id)
            incoming[paper.id] = known.merged(paper) if known else paper
        new = updated = 0
        with self.db.atomic():
            existing = self.get_papers(list(incoming))
            rows = []
            for pid, paper in incoming.items():
                if pid in existing:
                    merged = existing[pid].merged(paper)
                    merged = _with_seen(merged, existing[pid].first_seen or now, now)
                    if merged != existing[pid]:
                        updated += 1
                        rows.append(paper_to_row(merged))
                else:
                    new += 1
                    rows.append(paper_to_row(_with_seen(paper, now, now)))
            if rows:
                self.db.table("papers").upsert_all(rows, pk="id")
                fresh = [r for r in rows if r["id"] not in existing]
                search_index.learn_abbreviations(self.db, fresh)
        return new, updated

    def get_paper(self, paper_id: str) -> Paper | None:
        """One paper by id."""
        return self.get_papers([paper_id]).get(paper_id)

    def get_papers(self, ids: list[str]) -> dict[str, Paper]:
        """Papers by id; unknown ids are left out."""
        found: dict[str, Paper] = {}
        for start in range(0, len(ids), 500):
            chunk = ids[start : start + 500]
            marks = ",".join("?" * len(chunk))
            for row in self.db.query(f"SELECT * FROM papers WHERE id IN ({marks})", chunk):
                found[row["id"]] = row_to_paper(row)
        return found

    def recent_papers(self, since: datetime, since_day: date) -> list[Paper]:
        """Papers first seen since `since`, or added to HF Daily Papers since `since_day`."""
        rows = self.db.query(
            "SELECT * FROM papers WHERE first_seen >= ? OR added >= ?",
            [since.isoformat(), since_day.isoformat()],
        )
        return [row_to_paper(row) for row in rows]

    def count_papers(self) -> int:
        """How many papers the store holds."""
        return int(self.db.execute("SELECT count(*) FROM papers").fetchone()[0])

    # -- subscriptions --------------------------------------------------------------------

    def get_subscription(self, channel: Channel) -> Subscription | None:
        """A channel's settings, or None when it has not subscribed."""
        rows = list(
            self.db.query(
                "SELECT * FROM subscriptions WHERE platform = ? AND workspace = ? AND channel = ?",
                [channel.platform, channel.workspace, channel.channel],
            )
        )
        return _row_to_subscription(rows[0]) if rows else None

    def save_subscription(self, sub: Subscription, now: datetime) -> None:
        """Create or replace a channel's settings."""
        ch = sub.channel
        self.db.table("subscriptions").upsert(
            {
                "platform": ch.platform,
                "workspace": ch.workspace,
                "channel": ch.channel,
                "topics": json.dumps(list(sub.topics), ensure_ascii=False),
                "count": sub.count,
                "min_upvotes": sub.min_upvotes,
                "weekdays": json.dumps(list(sub.weekdays)),
                "post_time": sub.post_time,
                "timezone": sub.timezone,
                "skip_empty": int(sub.skip_empty),
                "roundup_weekday": sub.roundup_weekday,
                "updated_at": now.isoformat(),
            },
            pk=("platform", "workspace", "channel"),
        )

    def delete_subscription(self, channel: Channel) -> bool:
        """Stop a channel's digests; True if it was subscribed."""
        cursor = self.db.execute(
            "DELETE FROM subscriptions WHERE platform = ? AND workspace = ? AND channel = ?",
            [channel.platform, channel.workspace, channel.channel],
        )
        self.db.conn.commit()
        return cursor.rowcount > 0

    def subscriptions(self, platform: str | None = None) -> list[Subscription]:
        """Every subscription, or those of one platform."""
        if platform is None:
            rows = self.db.query(
                "SELECT * FROM subscriptions ORDER BY platform, workspace, channel"
            )
        else:
            rows = self.db.query(
                "SELECT * FROM subscriptions WHERE platform = ? ORDER BY workspace, channel",
                [platform],
            )
        return [_row_to_subscription(row) for row in rows]

    # -- digests and the posts ledger -----------------------------------------------------

    def claim_digest(
        self,
        channel: Channel,
        day: date,
        kind: str,
        picks: list[tuple[str, str]],
        now: datetime,
    ) -> DigestClaim:
        """Claim a channel's digest for a day, fixing its picks; an existing claim is kept."""
        key = [channel.platform, channel.workspace, channel.channel, day.isoformat(), kind]
        with self.db.atomic():
            cursor = self.db.execute(
                "INSERT OR IGNORE INTO digests (platform, workspace, channel, day, kind, status,"
                " papers, claimed_at) VALUES (?, ?, ?, ?, ?, 'claimed', ?, ?)",
                [*key, json.dumps(picks, ensure_ascii=False), now.isoformat()],
            )
            fresh = cursor.rowcount == 1
        claim = self.get_digest(channel, day, kind)
        assert claim is not None
        return replace(claim, fresh=True) if fresh else claim

    def lease_digest(
        self,
        channel: Channel,
        day: date,
        kind: str,
        owner: str,
        until: datetime,
        now: datetime,
        dead_owners: Iterable[str] = (),
    ) -> bool:
        """Take (or renew) the right to deliver a claimed digest; False while another holds it."""
        dead = list(dead_owners)
        marks = ",".join("?" * len(dead)) or "NULL"
        with self.db.atomic():
            cursor = self.db.execute(
                "UPDATE digests SET owner = ?, lease_until = ? WHERE platform = ? AND workspace = ?"
                " AND channel = ? AND day = ? AND kind = ? AND status = 'claimed'"
                f" AND (owner IS NULL OR owner = ? OR lease_until < ? OR owner IN ({marks}))",
                [
                    owner,
                    until.isoformat(),
                    channel.platform,
                    channel.workspace,
                    channel.channel,
                    day.isoformat(),
                    kind,
                    owner,
                    now.isoformat(),
                    *dead,
                ],
            )
        return cursor.rowcount == 1

    def digest_owner(self, channel: Channel, day: date, kind: str) -> str | None:
        """The process holding a digest's lease, if any."""
        row = self.db.execute(
            "SELECT owner FROM digests WHERE platform = ? AND workspace = ? AND channel = ?"
            " AND day = ? AND kind = ?",
            [channel.platform, channel.workspace, channel.channel, day.isoformat(), kind],
        ).fetchone()
        return row[0] if row else None

    def get_digest(self, channel: Channel, day: date, kind: str = "daily") -> DigestClaim | None:
        """The digest claim for a channel and day, if any."""
        rows = list(
            self.db.query(
                "SELECT * FROM digests WHERE platform = ? AND workspace = ? AND channel = ?"
                " AND day = ? AND kind = ?",
                [channel.platform, channel.workspace, channel.channel, day.isoformat(), kind],
            )
        )
        if not rows:
            return None
        row = rows[0]
        return DigestClaim(
            channel=channel,
            day=day,
            kind=kind,
            status=row["status"],
            picks=tuple((pid, why) for pid, why in json.loads(row["papers"] or "[]")),
            header_ref=row["header_ref"],
            fresh=False,
        )

    def last_digest_day(self, channel: Channel, kind: str = "daily") -> date | None:
        """The most recent day a digest was claimed for this channel."""
        row = self.db.execute(
            "SELECT max(day) FROM digests WHERE platform = ? AND workspace = ? AND channel = ?"
            " AND kind = ?",
            [channel.platform, channel.workspace, channel.channel, kind],
        ).fetchone()
        return date.fromisoformat(row[0]) if row and row[0] else None

    def set_digest_header(self, channel: Channel, day: date, kind: str, ref: str) -> None:
        """Record the header message of a claimed digest."""
        self._update_digest(channel, day, kind, header_ref=ref)

    def finish_digest(self, channel: Channel, day: date, kind: str, now: datetime) -> None:
        """Mark a digest as fully delivered."""
        self._update_digest(channel, day, kind, status="done", done_at=now.isoformat())

    def _update_digest(self, channel: Channel, day: date, kind: str, **values: str) -> None:
        sets = ", ".join(f"{name} = ?" for name in values)
        with self.db.atomic():
            self.db.execute(
                f"UPDATE digests SET {sets} WHERE platform = ? AND workspace = ? AND channel = ?"
                " AND day = ? AND kind = ?",
                [
                    *values.values(),
                    channel.platform,
                    channel.workspace,
                    channel.channel,
                    day.isoformat(),
                    kind,
                ],
            )

    def posted_paper_ids(self, channel: Channel) -> set[str]:
        """Every paper a digest has claimed or posted in this channel."""
        rows = self.db.execute(
            "SELECT paper_id FROM posts WHERE platform = ? AND workspace = ? AND channel = ?"
            " AND kind = 'digest'",
            [channel.platform, channel.workspace, channel.channel],
        )
        return {row[0] for row in rows}

    def post_status(
        self, channel: Channel, paper_id: str, kind: str = "digest", day: date | None = None
    ) -> str | None:
        """'claimed', 'posted', or None when this paper has no post of this kind here (that day,
        for roundups, which may show a paper again another week)."""
        row = self.db.execute(
            "SELECT status FROM posts WHERE platform = ? AND workspace = ? AND channel = ?"
            " AND paper_id = ? AND kind = ? AND (? IS NULL OR kind = 'digest' OR day = ?)"
            " ORDER BY id DESC LIMIT 1",
            [
                channel.platform,
                channel.workspace,
                channel.channel,
                paper_id,
                kind,
                _iso(day),
                _iso(day),
            ],
        ).fetchone()
        return row[0] if row else None

    def claim_post(
        self, channel: Channel, paper_id: str, day: date, now: datetime, kind: str = "digest"
    ) -> bool:
        """Write the claim row before posting a paper; False if a digest already has it here."""
        with self.db.atomic():
            cursor = self.db.execute(
                "INSERT OR IGNORE INTO posts (platform, workspace, channel, paper_id, kind, day,"
                " status, claimed_at) VALUES (?, ?, ?, ?, ?, ?, 'claimed', ?)",
                [
                    channel.platform,
                    channel.workspace,
                    channel.channel,
                    paper_id,
                    kind,
                    day.isoformat(),
                    now.isoformat(),
                ],
            )
        return cursor.rowcount == 1

    def record_post(
        self, ref: MessageRef, paper_id: str, day: date, now: datetime, kind: str = "digest"
    ) -> None:
        """Record a delivered paper message (completing its claim, or adding a share)."""
        ch = ref.channel
        with self.db.atomic():
            cursor = self.db.execute(
                "UPDATE posts SET status = 'posted', message_ref = ?, posted_at = ?"
                " WHERE platform = ? AND workspace = ? AND channel = ? AND paper_id = ?"
                " AND kind = ? AND status = 'claimed'",
                [ref.ref, now.isoformat(), ch.platform, ch.workspace, ch.channel, paper_id, kind],
            )
            if cursor.rowcount == 0:
                self.db.execute(
                    "INSERT INTO posts (platform, workspace, channel, paper_id, kind, day,"
                    " message_ref, status, claimed_at, posted_at)"
                    " VALUES (?, ?, ?, ?, ?, ?, ?, 'posted', ?, ?)",
                    [
                        ch.platform,
                        ch.workspace,
                        ch.channel,
                        paper_id,
                        kind,
                        day.isoformat(),
                        ref.ref,
                        now.isoformat(),
                        now.isoformat(),
                    ],
                )

    def paper_for_message(self, ref: MessageRef) -> str | None:
        """The paper a bot message shows, or None for any other message."""
        ch = ref.channel
        row = self.db.execute(
            "SELECT paper_id FROM posts WHERE platform = ? AND workspace = ? AND channel = ?"
            " AND message_ref = ? LIMIT 1",
            [ch.platform, ch.workspace, ch.channel, ref.ref],
        ).fetchone()
        return row[0] if row else None

    def papers_posted_on(self, channel: Channel, day: date) -> list[Paper]:
        """The papers a channel's digest posted on a day, in posting order."""
        rows = self.db.execute(
            "SELECT paper_id FROM posts WHERE platform = ? AND workspace = ? AND channel = ?"
            " AND day = ? AND kind = 'digest' ORDER BY id",
            [channel.platform, channel.workspace, channel.channel, day.isoformat()],
        )
        ids = [row[0] for row in rows]
        papers = self.get_papers(ids)
        return [papers[i] for i in ids if i in papers]

    # -- bookmarks ------------------------------------------------------------------------

    def set_bookmark(
        self,
        platform: str,
        workspace: str,
        user: str,
        paper_id: str,
        saved: bool,
        now: datetime,
        channel: str | None = None,
    ) -> bool:
        """Save or unsave a paper for a user; True when that changed anything."""
        key = [platform, workspace, user, paper_id]
        with self.db.atomic():
            if saved:
                cursor = self.db.execute(
                    "INSERT OR IGNORE INTO bookmarks (platform, workspace, user, paper_id, channel,"
                    " saved_at) VALUES (?, ?, ?, ?, ?, ?)",
                    [*key, channel, now.isoformat()],
                )
            else:
                cursor = self.db.execute(
                    "DELETE FROM bookmarks WHERE platform = ? AND workspace = ? AND user = ?"
                    " AND paper_id = ?",
                    key,
                )
        return cursor.rowcount > 0

    def bookmarks(self, platform: str, workspace: str, user: str) -> list[Bookmark]:
        """A user's saved papers, newest first."""
        rows = list(
            self.db.query(
                "SELECT paper_id, saved_at FROM bookmarks WHERE platform = ? AND workspace = ?"
                " AND user = ? ORDER BY saved_at DESC, paper_id",
                [platform, workspace, user],
            )
        )
        papers = self.get_papers([row["paper_id"] for row in rows])
        return [
            Bookmark(
                platform,
                workspace,
                user,
                papers[row["paper_id"]],
                datetime.fromisoformat(row["saved_at"]),
            )
            for row in rows
            if row["paper_id"] in papers
        ]

    def team_saves(self, channel: Channel, since: datetime) -> list[tuple[str, int]]:
        """(paper id, how many people saved it) for papers saved from this channel since a time."""
        rows = self.db.execute(
            "SELECT paper_id, count(*) AS n FROM bookmarks WHERE platform = ? AND workspace = ?"
            " AND channel = ? AND saved_at >= ? GROUP BY paper_id ORDER BY n DESC, paper_id",
            [channel.platform, channel.workspace, channel.channel, since.isoformat()],
        )
        return [(row[0], int(row[1])) for row in rows]

    # -- processed events -----------------------------------------------------------------

    def claim_event(self, platform: str, event_id: str, now: datetime) -> bool:
        """True the first time a platform event id is seen; False for a retry of it."""
        with self.db.atomic():
            cursor = self.db.execute(
                "INSERT OR IGNORE INTO events (platform, event_id, seen_at) VALUES (?, ?, ?)",
                [platform, event_id, now.isoformat()],
            )
        return cursor.rowcount == 1

    # -- fetch log ------------------------------------------------------------------------

    def record_fetch(
        self,
        source: str,
        started_at: datetime,
        finished_at: datetime,
        ok: bool,
        seen: int = 0,
        new: int = 0,
        error: str | None = None,
    ) -> None:
        """Log one fetch attempt of a source."""
        with self.db.atomic():
            self.db.table("fetches").insert(
                {
                    "source": source,
                    "started_at": started_at.isoformat(),
                    "finished_at": finished_at.isoformat(),
                    "ok": int(ok),
                    "seen": seen,
                    "new": new,
                    "error": error,
                }
            )

    def last_fetches(self) -> dict[str, FetchRecord]:
        """The most recent fetch of each source."""
        rows = self.db.query(
            "SELECT * FROM fetches WHERE id IN (SELECT max(id) FROM fetches GROUP BY source)"
        )
        return {
            row["source"]: FetchRecord(
                source=row["source"],
                started_at=datetime.fromisoformat(row["started_at"]),
                finished_at=datetime.fromisoformat(row["finished_at"])
                if row["finished_at"]
                else None,
                ok=bool(row["ok"]),
                seen=row["seen"] or 0,
                new=row["new"] or 0,
                error=row["error"],
            )
            for row in rows
        }


def _with_seen(paper: Paper, first: datetime, last: datetime) -> Paper:
    return replace(paper, first_seen=first, last_seen=last)


def _row_to_subscription(row: dict[str, Any]) -> Subscription:
    return Subscription(
        channel=Channel(row["platform"], row["workspace"], row["channel"]),
        topics=tuple(json.loads(row["topics"] or "[]")),
        count=row["count"],
        min_upvotes=row["min_upvotes"],
        weekdays=tuple(json.loads(row["weekdays"] or "[]")),
        post_time=row["post_time"],
        timezone=row["timezone"],
        skip_empty=bool(row["skip_empty"]),
        roundup_weekday=row["roundup_weekday"],
    )


def utcnow() -> datetime:
    """The current time, aware, in UTC."""
    return datetime.now(UTC)
