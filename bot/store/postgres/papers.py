"""The papers table on PostgreSQL: upserts that merge sightings, lookups by id and recency."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import date, datetime
from typing import Any

import psycopg
from psycopg.types.json import Jsonb

from bot.models import Paper
from bot.store.papers import batch, sightings
from bot.store.postgres.connection import Connection

_JSON_LISTS = ("authors", "keywords", "categories", "sources")
COLUMNS = (*Paper.__dataclass_fields__, "day")

# Called inside the write transaction with the new papers (and their row keys), so what is
# derived from them (the search side's abbreviations, title keys, words) commits with them.
NewPapersHook = Callable[[psycopg.Connection, list[tuple[int, Paper]]], None]


def paper_to_row(paper: Paper) -> dict[str, Any]:
    """A Paper as a `papers` row's values."""
    row: dict[str, Any] = {}
    for name in Paper.__dataclass_fields__:
        value = getattr(paper, name)
        row[name] = Jsonb(list(value)) if name in _JSON_LISTS else value
    row["day"] = paper.day
    return row


def row_to_paper(row: dict[str, Any]) -> Paper:
    """A `papers` row as a Paper."""
    values: dict[str, Any] = {}
    for name in Paper.__dataclass_fields__:
        value = row.get(name)
        if name in _JSON_LISTS:
            value = tuple(value or ())
        values[name] = value
    return Paper(**values)


_INSERT = (
    f"INSERT INTO papers ({', '.join(COLUMNS)})"
    f" VALUES ({', '.join(f'%({c})s' for c in COLUMNS)})"
    " ON CONFLICT (id) DO UPDATE SET "
    + ", ".join(f"{c} = excluded.{c}" for c in COLUMNS if c != "id")
    + " RETURNING seq, (xmax = 0) AS inserted"
)


class PgPapers:
    """Papers in PostgreSQL; the search vectors are generated columns, kept by every write."""

    def __init__(self, db: Connection) -> None:
        self.db = db
        self._hooks: list[NewPapersHook] = []

    def on_new_papers(self, callback: NewPapersHook) -> None:
        """Call `callback(conn, [(seq, paper)])` with the new papers, inside each write."""
        self._hooks.append(callback)

    def upsert(self, papers: Iterable[Paper], now: datetime) -> tuple[int, int]:
        """Insert new papers and merge sightings into known ones; returns (new, updated)."""
        incoming = batch(papers)
        with self.db.transaction() as conn:
            new, changed = sightings(incoming, self.get_many(list(incoming)), now)
            rows = changed + new
            fresh: list[tuple[int, Paper]] = []
            with conn.cursor() as cursor:
                for start in range(0, len(rows), 1000):
                    chunk = rows[start : start + 1000]
                    cursor.executemany(_INSERT, [paper_to_row(p) for p in chunk], returning=True)
                    for paper in chunk:
                        seq, inserted = cursor.fetchone()  # type: ignore[misc]
                        if inserted:
                            fresh.append((int(seq), paper))
                        cursor.nextset()
            for hook in self._hooks:
                hook(conn, fresh)
        return len(new), len(changed)

    def get(self, paper_id: str) -> Paper | None:
        """One paper by id."""
        return self.get_many([paper_id]).get(paper_id)

    def get_many(self, ids: list[str]) -> dict[str, Paper]:
        """Papers by id; unknown ids are left out."""
        if not ids:
            return {}
        rows = self.db.rows("SELECT * FROM papers WHERE id = ANY(%s)", [ids])
        return {row["id"]: row_to_paper(row) for row in rows}

    def recent(self, since: datetime, since_day: date) -> list[Paper]:
        """Papers first seen since `since`, or added to HF Daily Papers since `since_day`."""
        rows = self.db.rows(
            "SELECT * FROM papers WHERE first_seen >= %s OR added >= %s", [since, since_day]
        )
        return [row_to_paper(row) for row in rows]

    def count(self) -> int:
        """How many papers the store holds."""
        row = self.db.one("SELECT count(*) FROM papers")
        return int(row[0]) if row else 0
