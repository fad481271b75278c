"""The Zotero outbox on PostgreSQL: channels' group libraries and each saved paper's push."""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime

from bot.models import Channel, ZoteroPush
from bot.store.postgres.connection import Connection
from bot.store.postgres.ledger import CHANNEL, channel_key


class PgZotero:
    """Which library each channel uses, and one row per (library, paper) until it is pushed."""

    def __init__(self, db: Connection) -> None:
        self.db = db

    def set_library(self, channel: Channel, library: str | None, now: datetime) -> None:
        """Send this channel's saves to a group library (None: to the default, if any)."""
        if library is None:
            self.db.run(f"DELETE FROM zotero_libraries WHERE {CHANNEL}", channel_key(channel))
            return
        self.db.run(
            "INSERT INTO zotero_libraries (platform, workspace, channel, library, set_at)"
            " VALUES (%s, %s, %s, %s, %s) ON CONFLICT (platform, workspace, channel)"
            " DO UPDATE SET library = EXCLUDED.library, set_at = EXCLUDED.set_at",
            [*channel_key(channel), library, now],
        )

    def library(self, channel: Channel) -> str | None:
        """The group library a channel chose, or None."""
        row = self.db.one(
            f"SELECT library FROM zotero_libraries WHERE {CHANNEL}", channel_key(channel)
        )
        return str(row[0]) if row else None

    def queue(self, library: str, paper_id: str, now: datetime) -> bool:
        """Queue a paper for a library; False when it was queued or pushed before."""
        return (
            self.db.run(
                "INSERT INTO zotero_pushes (library, paper_id, queued_at, next_try)"
                " VALUES (%s, %s, %s, %s) ON CONFLICT DO NOTHING",
                [library, paper_id, now, now],
            )
            == 1
        )

    def due(self, now: datetime, limit: int = 500) -> list[ZoteroPush]:
        """Pushes not done whose next try is due, oldest first."""
        rows = self.db.rows(
            "SELECT library, paper_id, token, attempts, error FROM zotero_pushes"
            " WHERE pushed_at IS NULL AND next_try <= %s ORDER BY queued_at, paper_id LIMIT %s",
            [now, limit],
        )
        return [ZoteroPush(**row) for row in rows]

    def stamp(self, library: str, paper_ids: Collection[str], token: str) -> None:
        """Record the write token of the batch these papers are about to be sent in."""
        self._update(library, paper_ids, "token = %s", [token])

    def pushed(self, library: str, paper_ids: Collection[str], now: datetime) -> None:
        """Mark papers as in the library for good."""
        self._update(library, paper_ids, "pushed_at = %s, error = NULL", [now])

    def failed(
        self,
        library: str,
        paper_ids: Collection[str],
        error: str,
        retry_at: datetime,
        keep_token: bool,
    ) -> None:
        """Count a failed try and when to try again; the token is kept only for a resend."""
        token = "" if keep_token else ", token = NULL"
        sets = f"attempts = attempts + 1, error = %s, next_try = %s{token}"
        self._update(library, paper_ids, sets, [error, retry_at])

    def counts(self) -> dict[str, int]:
        """How many pushes are 'pushed', 'pending' and 'failing' (pending after a failure)."""
        row = self.db.one(
            "SELECT COUNT(pushed_at), COUNT(*) - COUNT(pushed_at),"
            " COUNT(*) FILTER (WHERE pushed_at IS NULL AND attempts > 0) FROM zotero_pushes"
        )
        assert row is not None
        return {"pushed": row[0], "pending": row[1], "failing": row[2]}

    def _update(
        self, library: str, paper_ids: Collection[str], sets: str, values: list[object]
    ) -> None:
        self.db.run(
            f"UPDATE zotero_pushes SET {sets} WHERE library = %s AND paper_id = ANY(%s)",
            [*values, library, list(paper_ids)],
        )
