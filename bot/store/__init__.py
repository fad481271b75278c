"""The SQLite store. This package speaks SQL for the bot; the only other SQL is the search
package's own: FTS5 queries over the papers table this package keeps, and the semantic extra's
vector table (bot/search/vector_table.py)."""

from __future__ import annotations

from pathlib import Path

from sqlite_utils import Database

from bot.store.activity import SqliteActivity
from bot.store.installations import SqliteInstallations
from bot.store.ledger import SqliteLedger
from bot.store.papers import NewPapersHook, SqlitePapers, paper_to_row, row_to_paper
from bot.store.schema import SchemaTooNew, migrate
from bot.store.zotero import SqliteZotero

__all__ = [
    "NewPapersHook",
    "SchemaTooNew",
    "SqliteActivity",
    "SqliteInstallations",
    "SqliteLedger",
    "SqlitePapers",
    "SqliteStore",
    "SqliteZotero",
    "paper_to_row",
    "row_to_paper",
]


class SqliteStore:
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
        self.papers = SqlitePapers(self.db)
        self.ledger = SqliteLedger(self.db)
        self.activity = SqliteActivity(self.db)
        self.installations = SqliteInstallations(self.db)
        self.zotero = SqliteZotero(self.db)

    def close(self) -> None:
        """Close the database connection."""
        self.db.close()

    def __enter__(self) -> SqliteStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
