"""The Zotero outbox: channels' group libraries and each saved paper's push to one."""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime

from sqlite_utils import Database

from bot.models import Channel, ZoteroPush
from bot.store.scope import channel_scope


class SqliteZotero:
    """Which library each channel uses, and one row per (library, paper) until it is pushed."""

    def __init__(self, db: Database) -> None:
        self.db = db

    def set_library(self, channel: Channel, library: str | None, now: datetime) -> None:
        """Send this channel's saves to a group library (None: to the default, if any)."""
        scope, params = channel_scope(channel)
        with self.db.conn:
            self.db.execute(f"DELETE FROM zotero_libraries WHERE {scope}", params)
            if library is not None:
                self.db.table("zotero_libraries").insert(
                    {
                        "platform": channel.platform,
                        "workspace": channel.workspace,
                        "channel": channel.channel,
                        "library": library,
                        "set_at": now.isoformat(),
                    }
                )

    def library(self, channel: Channel) -> str | None:
        """The group library a channel chose, or None."""
        scope, params = channel_scope(channel)
        row = self.db.execute(f"SELECT library FROM zotero_libraries WHERE {scope}", params)
        found = row.fetchone()
        return str(found[0]) if found else None

    def queue(self, library: str, paper_id: str, now: datetime) -> bool:
        """Queue a paper for a library; False when it was queued or pushed before."""
        with self.db.conn:
            cursor = self.db.execute(
                "INSERT OR IGNORE INTO zotero_pushes"
                " (library, paper_id, queued_at, attempts, next_try) VALUES (?, ?, ?, 0, ?)",
                [library, paper_id, now.isoformat(), now.isoformat()],
            )
        return cursor.rowcount == 1

    def due(self, now: datetime, limit: int = 500) -> list[ZoteroPush]:
        """Pushes not done whose next try is due, oldest first."""
        rows = self.db.execute(
            "SELECT library, paper_id, token, attempts, error FROM zotero_pushes"
            " WHERE pushed_at IS NULL AND next_try <= ? ORDER BY queued_at, paper_id LIMIT ?",
            [now.isoformat(), limit],
        ).fetchall()
        return [ZoteroPush(*row) for row in rows]

    def stamp(self, library: str, paper_ids: Collection[str], token: str) -> None:
        """Record the write token of the batch these papers are about to be sent in."""
        self._update(library, paper_ids, "token = ?", [token])

    def pushed(self, library: str, paper_ids: Collection[str], now: datetime) -> None:
        """Mark papers as in the library for good."""
        self._update(library, paper_ids, "pushed_at = ?, error = NULL", [now.isoformat()])

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
        self._update(
            library,
            paper_ids,
            f"attempts = attempts + 1, error = ?, next_try = ?{token}",
            [error, retry_at.isoformat()],
        )

    def counts(self) -> dict[str, int]:
        """How many pushes are 'pushed', 'pending' and 'failing' (pending after a failure)."""
        row = self.db.execute(
            "SELECT COUNT(pushed_at), COUNT(*) - COUNT(pushed_at),"
            " SUM(pushed_at IS NULL AND attempts > 0) FROM zotero_pushes"
        ).fetchone()
        return {"pushed": row[0], "pending": row[1], "failing": row[2] or 0}

    def _update(
        self, library: str, paper_ids: Collection[str], sets: str, values: list[object]
    ) -> None:
        ids = list(paper_ids)
        marks = ", ".join("?" for _ in ids)
        with self.db.conn:
            self.db.execute(
                f"UPDATE zotero_pushes SET {sets} WHERE library = ? AND paper_id IN ({marks})",
                [*values, library, *ids],
            )
