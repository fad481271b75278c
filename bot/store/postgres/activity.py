"""What channels and people do, on PostgreSQL: subscriptions, bookmarks, processed events and
the fetch log."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from psycopg.types.json import Jsonb

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
from bot.store.postgres.connection import Connection
from bot.store.postgres.ledger import CHANNEL, channel_key
from bot.store.postgres.papers import row_to_paper

MEMBER = 'platform = %s AND workspace = %s AND "user" = %s'


def _member_key(member: Member) -> list[str]:
    return [member.platform, member.workspace, member.user]


class PgActivity:
    """Channel subscriptions, bookmarks, de-duplicated platform events and fetch attempts."""

    def __init__(self, db: Connection) -> None:
        self.db = db

    def get_subscription(self, channel: Channel) -> Subscription | None:
        """A channel's settings, or None when it has not subscribed."""
        rows = self.db.rows(f"SELECT * FROM subscriptions WHERE {CHANNEL}", channel_key(channel))
        return _row_to_subscription(rows[0]) if rows else None

    def save_subscription(self, sub: Subscription, now: datetime) -> None:
        """Create or replace a channel's settings."""
        values = {
            "topics": Jsonb(list(sub.topics)),
            "count": sub.count,
            "min_upvotes": sub.min_upvotes,
            "weekdays": Jsonb(list(sub.weekdays)),
            "post_time": sub.post_time,
            "timezone": sub.timezone,
            "skip_empty": sub.skip_empty,
            "roundup_weekday": sub.roundup_weekday,
            "taste": sub.taste,
            "updated_at": now,
        }
        names = ", ".join(values)
        self.db.run(
            f"INSERT INTO subscriptions (platform, workspace, channel, {names})"
            f" VALUES (%s, %s, %s, {', '.join(['%s'] * len(values))})"
            " ON CONFLICT (platform, workspace, channel) DO UPDATE SET "
            + ", ".join(f"{name} = excluded.{name}" for name in values),
            [*channel_key(sub.channel), *values.values()],
        )

    def delete_subscription(self, channel: Channel) -> bool:
        """Stop a channel's digests; True if it was subscribed."""
        return self.db.run(f"DELETE FROM subscriptions WHERE {CHANNEL}", channel_key(channel)) > 0

    def subscriptions(self, platform: str | None = None) -> list[Subscription]:
        """Every subscription, or those of one platform."""
        rows = self.db.rows(
            "SELECT * FROM subscriptions WHERE %s::text IS NULL OR platform = %s"
            " ORDER BY platform, workspace, channel",
            [platform, platform],
        )
        return [_row_to_subscription(row) for row in rows]

    def pause_subscription(self, channel: Channel, pause: Pause) -> bool:
        """Stop a channel's digests until it is resumed; False when it is not subscribed."""
        return (
            self.db.run(
                "UPDATE subscriptions SET paused_reason = %s, paused_said = %s, paused_at = %s"
                f" WHERE {CHANNEL}",
                [pause.reason, pause.said, pause.since, *channel_key(channel)],
            )
            > 0
        )

    def resume_subscription(self, channel: Channel) -> bool:
        """Clear a channel's pause; True when it was paused."""
        return (
            self.db.run(
                "UPDATE subscriptions SET paused_reason = NULL, paused_said = NULL,"
                f" paused_at = NULL WHERE {CHANNEL} AND paused_at IS NOT NULL",
                channel_key(channel),
            )
            > 0
        )

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
        if saved:
            changed = self.db.run(
                'INSERT INTO bookmarks (platform, workspace, "user", paper_id, channel, saved_at)'
                " VALUES (%s, %s, %s, %s, %s, %s) ON CONFLICT DO NOTHING",
                [*_member_key(member), paper_id, channel, now],
            )
        else:
            changed = self.db.run(
                f"DELETE FROM bookmarks WHERE {MEMBER} AND paper_id = %s",
                [*_member_key(member), paper_id],
            )
        return changed > 0

    def bookmarks(self, member: Member) -> list[Bookmark]:
        """A member's saved papers, newest first."""
        rows = self.db.rows(
            "SELECT p.*, b.saved_at FROM bookmarks b JOIN papers p ON p.id = b.paper_id"
            ' WHERE b.platform = %s AND b.workspace = %s AND b."user" = %s'
            " ORDER BY b.saved_at DESC, b.paper_id",
            _member_key(member),
        )
        return [Bookmark(member, row_to_paper(row), row["saved_at"]) for row in rows]

    def team_saves(self, channel: Channel, since: datetime) -> list[tuple[str, int]]:
        """(paper id, how many people saved it) for papers saved from this channel since a time."""
        rows = self.db.rows(
            f"SELECT paper_id, count(*) AS n FROM bookmarks WHERE {CHANNEL}"
            " AND saved_at >= %s GROUP BY paper_id ORDER BY n DESC, paper_id",
            [*channel_key(channel), since],
        )
        return [(row["paper_id"], int(row["n"])) for row in rows]

    def channel_saves(self, channel: Channel) -> list[ChannelSave]:
        """Every paper saved from this channel: how many members saved it and when last,
        most saved first."""
        rows = self.db.rows(
            "SELECT paper_id, count(*) AS n, max(saved_at) AS last FROM bookmarks"
            f" WHERE {CHANNEL} GROUP BY paper_id ORDER BY n DESC, last DESC, paper_id",
            channel_key(channel),
        )
        return [ChannelSave(row["paper_id"], int(row["n"]), row["last"]) for row in rows]

    # -- processed events -----------------------------------------------------------------

    def claim_event(self, platform: str, event_id: str, now: datetime) -> bool:
        """True the first time a platform event id is seen; False for a retry of it within
        EVENT_RETENTION. Older ids are deleted here, so the table holds about an hour of events."""
        with self.db.transaction() as conn:
            conn.execute("DELETE FROM events WHERE seen_at < %s", [now - EVENT_RETENTION])
            changed = conn.execute(
                "INSERT INTO events (platform, event_id, seen_at) VALUES (%s, %s, %s)"
                " ON CONFLICT DO NOTHING",
                [platform, event_id, now],
            ).rowcount
        return changed == 1

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
        with self.db.transaction() as conn:
            conn.execute(
                "DELETE FROM fetches WHERE started_at < %s"
                " AND id NOT IN (SELECT max(id) FROM fetches GROUP BY source)",
                [started_at - FETCH_LOG_RETENTION],
            )
            conn.execute(
                "INSERT INTO fetches (source, started_at, finished_at, ok, seen, new, error)"
                " VALUES (%s, %s, %s, %s, %s, %s, %s)",
                [source, started_at, finished_at, ok, seen, new, error],
            )

    def last_fetches(self) -> dict[str, FetchRecord]:
        """The most recent fetch of each source."""
        rows = self.db.rows("SELECT DISTINCT ON (source) * FROM fetches ORDER BY source, id DESC")
        return {
            row["source"]: FetchRecord(
                source=row["source"],
                started_at=row["started_at"],
                finished_at=row["finished_at"],
                ok=row["ok"],
                seen=row["seen"],
                new=row["new"],
                error=row["error"],
            )
            for row in rows
        }


def _row_to_subscription(row: dict[str, Any]) -> Subscription:
    return Subscription(
        channel=Channel(row["platform"], row["workspace"], row["channel"]),
        topics=tuple(row["topics"] or ()),
        count=row["count"],
        min_upvotes=row["min_upvotes"],
        weekdays=tuple(row["weekdays"] or ()),
        post_time=row["post_time"],
        timezone=row["timezone"],
        skip_empty=row["skip_empty"],
        roundup_weekday=row["roundup_weekday"],
        paused=Pause(row["paused_reason"], row["paused_said"], row["paused_at"])
        if row["paused_at"]
        else None,
        taste=row["taste"],
    )
