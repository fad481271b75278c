"""The papers table: upserts that merge sightings, lookups by id and by recency."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from dataclasses import replace
from datetime import date, datetime
from typing import Any

from sqlite_utils import Database

from bot.models import Paper

_JSON_LISTS = ("authors", "keywords", "categories", "sources")

# Called inside the write transaction with the rows of papers stored for the first time, so
# what is derived from them (the search side's learned abbreviations) commits with them.
NewPapersHook = Callable[[Database, list[dict[str, Any]]], None]


def iso(value: date | datetime | None) -> str | None:
    """An ISO date or datetime string, or None."""
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


def batch(papers: Iterable[Paper]) -> dict[str, Paper]:
    """Papers by id, sightings of one paper in the batch merged."""
    incoming: dict[str, Paper] = {}
    for paper in papers:
        known = incoming.get(paper.id)
        incoming[paper.id] = known.merged(paper) if known else paper
    return incoming


def sightings(
    incoming: dict[str, Paper], existing: dict[str, Paper], now: datetime
) -> tuple[list[Paper], list[Paper]]:
    """(new papers, known papers that this sighting changed) to write, seen times set."""
    new: list[Paper] = []
    changed: list[Paper] = []
    for pid, paper in incoming.items():
        if pid in existing:
            first = existing[pid].first_seen or now
            merged = replace(existing[pid].merged(paper), first_seen=first, last_seen=now)
            if merged != existing[pid]:
                changed.append(merged)
        else:
            new.append(replace(paper, first_seen=now, last_seen=now))
    return new, changed


class SqlitePapers:
    """Papers in SQLite; the full-text index follows every write through its triggers."""

    def __init__(self, db: Database) -> None:
        self.db = db
        self._hooks: list[NewPapersHook] = []

    def on_new_papers(self, callback: NewPapersHook) -> None:
        """Call `callback(db, rows)` with the rows of new papers, inside each write."""
        self._hooks.append(callback)

    def upsert(self, papers: Iterable[Paper], now: datetime) -> tuple[int, int]:
        """Insert new papers and merge sightings into known ones; returns (new, updated)."""
        incoming = batch(papers)
        with self.db.atomic():
            new, changed = sightings(incoming, self.get_many(list(incoming)), now)
            rows = [paper_to_row(p) for p in changed + new]
            if rows:
                self.db.table("papers").upsert_all(rows, pk="id")
                fresh = rows[len(changed) :]
                for hook in self._hooks:
                    hook(self.db, fresh)
        return len(new), len(changed)

    def get(self, paper_id: str) -> Paper | None:
        """One paper by id."""
        return self.get_many([paper_id]).get(paper_id)

    def get_many(self, ids: list[str]) -> dict[str, Paper]:
        """Papers by id; unknown ids are left out."""
        found: dict[str, Paper] = {}
        for start in range(0, len(ids), 500):
            chunk = ids[start : start + 500]
            marks = ",".join("?" * len(chunk))
            for row in self.db.query(f"SELECT * FROM papers WHERE id IN ({marks})", chunk):
                found[row["id"]] = row_to_paper(row)
        return found

    def recent(self, since: datetime, since_day: date) -> list[Paper]:
        """Papers first seen since `since`, or added to HF Daily Papers since `since_day`."""
        rows = self.db.query(
            "SELECT * FROM papers WHERE first_seen >= ? OR added >= ?",
            [since.isoformat(), since_day.isoformat()],
        )
        return [row_to_paper(row) for row in rows]

    def count(self) -> int:
        """How many papers the store holds."""
        return int(self.db.execute("SELECT count(*) FROM papers").fetchone()[0])
