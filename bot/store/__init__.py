"""The SQLite store. This package is the only place that speaks SQL."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from sqlite_utils import Database

from bot.store.activity import ActivityStore, FetchRecord
from bot.store.ledger import DigestClaim, LedgerStore
from bot.store.papers import paper_to_row, row_to_paper
from bot.store.schema import SchemaTooNew, migrate

__all__ = [
    "DigestClaim",
    "FetchRecord",
    "SchemaTooNew",
    "Store",
    "paper_to_row",
    "row_to_paper",
    "utcnow",
]


class Store(LedgerStore, ActivityStore):
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


def utcnow() -> datetime:
    """The current time, aware, in UTC."""
    return datetime.now(UTC)
