"""The papers table: upserts that merge sightings, lookups by id and by recency."""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import replace
from datetime import date, datetime
from typing import Any

from sqlite_utils import Database

from bot.models import Paper
from bot.store import search_index

_JSON_LISTS = ("authors", "keywords", "categories", "sources")


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


def _with_seen(paper: Paper, first: datetime, last: datetime) -> Paper:
    return replace(paper, first_seen=first, last_seen=last)


class PaperStore:
    """Papers: every write keeps the full-text index and the learned abbreviations in step."""

    db: Database

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
