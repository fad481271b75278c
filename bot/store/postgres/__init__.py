"""The PostgreSQL store: the same ports as the SQLite store, over one psycopg connection, for
installations that run several replicas on one database. The search side's SQL is in
bot/search/postgres.py."""

from __future__ import annotations

from bot.store.postgres.activity import PgActivity
from bot.store.postgres.connection import Connection
from bot.store.postgres.installations import PgInstallations
from bot.store.postgres.ledger import PgLedger
from bot.store.postgres.papers import NewPapersHook, PgPapers, paper_to_row, row_to_paper
from bot.store.postgres.schema import migrate
from bot.store.postgres.zotero import PgZotero

__all__ = [
    "NewPapersHook",
    "PgActivity",
    "PgInstallations",
    "PgLedger",
    "PgPapers",
    "PgStore",
    "PgZotero",
    "paper_to_row",
    "row_to_paper",
]


class PgStore:
    """Papers, subscriptions, the posts ledger, bookmarks and processed events in PostgreSQL."""

    def __init__(self, url: str) -> None:
        self.db = Connection(url)
        try:
            self.schema_version = migrate(self.db.conn)
        except BaseException:
            self.db.close()
            raise
        self.papers = PgPapers(self.db)
        self.ledger = PgLedger(self.db)
        self.activity = PgActivity(self.db)
        self.installations = PgInstallations(self.db)
        self.zotero = PgZotero(self.db)

    def close(self) -> None:
        """Close the database connection."""
        self.db.close()

    def __enter__(self) -> PgStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
