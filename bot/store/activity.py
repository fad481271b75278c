"""What channels and people do: subscriptions, bookmarks, processed events, the fetch log."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from sqlite_utils import Database

from bot.models import (
    EVENT_RETENTION,
    FETCH_LOG_RETENTION,
    Bookmark,
    Channel,
    ChannelSave,
    FetchRecord,
    Member,
    Pause,
    Subscription,
)
from bot.store.papers import row_to_paper
from bot.store.scope import channel_scope, member_scope


class SqliteActivity:
    """Channel subscriptions, bookmarks, de-duplicated platform events and fetch attempts."""

    def __init__(self, db: Database) -> None:
        self.db = db

    def get_subscription(self, channel: Channel) -> Subscription | None:
        """A channel's settings, or None when it has not subscribed."""
        scope, params = channel_scope(channel)
        rows = list(self.db.query(f"SELECT * FROM subscriptions WHERE {scope}", params))
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
                "taste": int(sub.taste),
                "updated_at": now.isoformat(),
            },
            pk=("platform", "workspace", "channel"),
        )

    def delete_subscription(self, channel: Channel) -> bool:
        """Stop a channel's digests; True if it was subscribed."""
        scope, params = channel_scope(channel)
        cursor = self.db.execute(f"DELETE FROM subscriptions WHERE {scope}", params)
        self.db.conn.commit()
        return cursor.rowcount > 0

    def pause_subscription(self, channel: Channel, pause: Pause) -> bool:
        """Stop a channel's digests until it is resumed; False when it is not subscribed."""
        scope, params = channel_scope(channel)
        with self.db.atomic():
            cursor = self.db.execute(
                "UPDATE subscriptions SET paused_reason = ?, paused_said = ?, paused_at = ?"
                f" WHERE {scope}",
                [pause.reason, pause.said, pause.since.isoformat(), *params],
            )
        return cursor.rowcount > 0

    def resume_subscription(self, channel: Channel) -> bool:
        """Clear a channel's pause; True when it was paused."""
        scope, params = channel_scope(channel)
        with self.db.atomic():
            cursor = self.db.execute(
                "UPDATE subscriptions SET paused_reason = NULL, paused_said = NULL,"
                f" paused_at = NULL WHERE {scope} AND paused_at IS NOT NULL",
                params,
            )
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

    # -- bookmarks ------------------------------------------------------------------------

    def set_bookmark(
        self,
        member: Member,
        paper_id: str,
        saved: bool,
        now: datetime,
        channel: str | None = None,
    ) -> bool:
        """Save or unsave a paper for a member; True when that changed anything."""
        scope, params = member_scope(member)
        with self.db.atomic():
            if saved:
                cursor = self.db.execute(
                    "INSERT OR IGNORE INTO bookmarks (platform, workspace, user, paper_id, channel,"
                    " saved_at) VALUES (?, ?, ?, ?, ?, ?)",
                    [*params, paper_id, channel, now.isoformat()],
                )
            else:
                cursor = self.db.execute(
                    f"DELETE FROM bookmarks WHERE {scope} AND paper_id = ?", [*params, paper_id]
                )
        return cursor.rowcount > 0

    def bookmarks(self, member: Member) -> list[Bookmark]:
        """A member's saved papers, newest first."""
        scope, params = member_scope(member)
        rows = self.db.query(
            "SELECT p.*, b.saved_at"
            f" FROM (SELECT paper_id, saved_at FROM bookmarks WHERE {scope}) b"
            " JOIN papers p ON p.id = b.paper_id ORDER BY b.saved_at DESC, b.paper_id",
            params,
        )
        return [
            Bookmark(member, row_to_paper(row), datetime.fromisoformat(row["saved_at"]))
            for row in rows
        ]

    def team_saves(self, channel: Channel, since: datetime) -> list[tuple[str, int]]:
        """(paper id, how many people saved it) for papers saved from this channel since a time."""
        scope, params = channel_scope(channel)
        rows = self.db.execute(
            f"SELECT paper_id, count(*) AS n FROM bookmarks WHERE {scope}"
            " AND saved_at >= ? GROUP BY paper_id ORDER BY n DESC, paper_id",
            [*params, since.isoformat()],
        )
        return [(row[0], int(row[1])) for row in rows]

    def channel_saves(self, channel: Channel) -> list[ChannelSave]:
        """Every paper saved from this channel: how many members saved it and when last,
        most saved first."""
        scope, params = channel_scope(channel)
        rows = self.db.execute(
            f"SELECT paper_id, count(*), max(saved_at) FROM bookmarks WHERE {scope}"
            " GROUP BY paper_id ORDER BY count(*) DESC, max(saved_at) DESC, paper_id",
            params,
        )
        return [ChannelSave(row[0], int(row[1]), datetime.fromisoformat(row[2])) for row in rows]

    # -- processed events -----------------------------------------------------------------

    def claim_event(self, platform: str, event_id: str, now: datetime) -> bool:
        """True the first time a platform event id is seen; False for a retry of it within
        EVENT_RETENTION. Older ids are deleted here, so the table holds about an hour of events."""
        with self.db.atomic():
            self.db.execute(
                "DELETE FROM events WHERE seen_at < ?", [(now - EVENT_RETENTION).isoformat()]
            )
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
        """Log one fetch attempt of a source; attempts older than FETCH_LOG_RETENTION are
        dropped, but for the newest of each source."""
        with self.db.atomic():
            self.db.execute(
                "DELETE FROM fetches WHERE started_at < ?"
                " AND id NOT IN (SELECT max(id) FROM fetches GROUP BY source)",
                [(started_at - FETCH_LOG_RETENTION).isoformat()],
            )
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
        paused=Pause(row["paused_reason"], row["paused_said"], datetime.fromisoformat(since))
        if (since := row.get("paused_at"))
        else None,
        taste=bool(row.get("taste", 1)),
    )
