"""Build a synthetic archive into a papers-bot SQLite store, the way a full rebuild would."""

from __future__ import annotations

import time
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor
from dataclasses import astuple, dataclass
from pathlib import Path

from benchmarks.synthetic import Archive, SyntheticPaper
from bot.search import FtsSearch
from bot.store import SqliteStore

CHUNK = 20_000
_archive: Archive | None = None


@dataclass(frozen=True, slots=True)
class BuildReport:
    """What building an archive cost."""

    papers: int
    insert_seconds: float  # rows into `papers`, no full-text work
    index_seconds: float  # FTS5 rebuild plus learned abbreviations
    db_bytes: int

    @property
    def total_seconds(self) -> float:
        """Rows plus index: the full rebuild time."""
        return self.insert_seconds + self.index_seconds


def _chunk(first: int) -> list[SyntheticPaper]:
    global _archive
    if _archive is None:
        _archive = Archive(seed=first)
    # Re-seed per chunk so any worker produces the same papers for the same numbers.
    _archive.rng.seed(first)
    return list(_archive.papers(CHUNK, first))


def generate(count: int, workers: int = 2) -> Iterator[list[SyntheticPaper]]:
    """Chunks of synthetic papers, generated in worker processes."""
    with ProcessPoolExecutor(workers) as pool:
        for chunk in pool.map(_chunk, range(0, count, CHUNK)):
            yield chunk[: max(0, count - int(chunk[0].id.split(".")[1]))]


def build(path: Path, count: int) -> BuildReport:
    """A fresh store at `path` holding `count` synthetic papers, fully indexed."""
    path.unlink(missing_ok=True)
    for suffix in ("-wal", "-shm"):
        Path(str(path) + suffix).unlink(missing_ok=True)
    insert = 0.0
    with SqliteStore(path) as store:
        index = FtsSearch(store)
        db = store.db
        triggers = [
            r[0] for r in db.execute("SELECT sql FROM sqlite_master WHERE name LIKE 'papers_a_'")
        ]
        # A full rebuild loads rows first and indexes once: FTS5 builds one large segment far
        # faster than it merges a million small ones.
        for name in ("papers_ai", "papers_ad", "papers_au"):
            db.execute(f"DROP TRIGGER {name}")
        db.execute("PRAGMA synchronous = OFF")
        for chunk in generate(count):
            started = time.perf_counter()
            with db.conn:
                db.conn.executemany(
                    "INSERT INTO papers (id, title, abstract, authors, published, upvotes)"
                    " VALUES (?, ?, ?, ?, ?, ?)",
                    [astuple(p) for p in chunk],
                )
            insert += time.perf_counter() - started
        started = time.perf_counter()
        with db.conn:
            index.rebuild()
            for sql in triggers:
                db.execute(sql)
        db.execute("PRAGMA synchronous = NORMAL")
        db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        indexing = time.perf_counter() - started
    return BuildReport(count, insert, indexing, path.stat().st_size)
