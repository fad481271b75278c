"""Build a generated archive into a papers-bot SQLite store, the way a full rebuild would.

Two generators: "chain" (benchmarks/chain.py: a word-chain model over real 2024-2026 abstracts,
the default) and "zipf" (benchmarks/synthetic.py: real sentences plus Zipf filler, the generator
of the figures before December 2026). A JSON file beside the DB records the build.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor
from dataclasses import asdict, astuple, dataclass
from pathlib import Path

from benchmarks.chain import ChainArchive, dev_files, planted_positions
from benchmarks.synthetic import Archive, SyntheticPaper
from bot.search import FtsSearch
from bot.store import SqliteStore

CHUNK = 20_000
GENERATORS = ("chain", "zipf")
_archive: Archive | ChainArchive | None = None


@dataclass(frozen=True, slots=True)
class BuildReport:
    """What building an archive cost."""

    papers: int
    insert_seconds: float  # rows into `papers`, no full-text work
    index_seconds: float  # FTS5 rebuild plus learned abbreviations
    db_bytes: int
    wall_seconds: float = 0.0  # generating, rows and index, end to end

    @property
    def total_seconds(self) -> float:
        """Rows plus index: the full rebuild time."""
        return self.insert_seconds + self.index_seconds


def _chunk(job: tuple[str, int, int]) -> list[SyntheticPaper]:
    global _archive
    generator, total, first = job
    if _archive is None:
        _archive = ChainArchive(total) if generator == "chain" else Archive(seed=first)
    # Re-seed per chunk so any worker produces the same papers for the same numbers.
    _archive.rng.seed(first)
    return list(_archive.papers(min(CHUNK, total - first), first))


def generate(
    count: int, generator: str = "chain", workers: int = 2
) -> Iterator[list[SyntheticPaper]]:
    """Chunks of generated papers, made in worker processes."""
    if generator == "chain":
        dev_files()  # unpack the dev corpus once, before the workers read it
    jobs = [(generator, count, first) for first in range(0, count, CHUNK)]
    with ProcessPoolExecutor(workers) as pool:
        yield from pool.map(_chunk, jobs)


def sidecar(path: Path) -> Path:
    """The JSON file recording how the archive at `path` was built."""
    return path.with_suffix(".json")


def build(path: Path, count: int, generator: str = "chain") -> BuildReport:
    """A fresh store at `path` holding `count` generated papers, fully indexed."""
    began = time.perf_counter()
    path.unlink(missing_ok=True)
    for suffix in ("-wal", "-shm"):
        Path(str(path) + suffix).unlink(missing_ok=True)
    insert = 0.0
    with SqliteStore(path) as store:
        index = FtsSearch(store)
        db = store.db
        triggers = db.execute(
            "SELECT name, sql FROM sqlite_master WHERE type = 'trigger'"
            " AND (name LIKE 'papers_a_' OR name LIKE 'search_title_fts_a_')"
        ).fetchall()
        # A full rebuild loads rows first and indexes once: FTS5 builds one large segment far
        # faster than it merges a million small ones.
        for name, _ in triggers:
            db.execute(f"DROP TRIGGER {name}")
        db.execute("PRAGMA synchronous = OFF")
        for chunk in generate(count, generator):
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
            for _, sql in triggers:
                db.execute(sql)
        db.execute("PRAGMA synchronous = NORMAL")
        db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        indexing = time.perf_counter() - started
    report = BuildReport(count, insert, indexing, path.stat().st_size, time.perf_counter() - began)
    planted = planted_positions(count) if generator == "chain" else {}
    record = {
        "generator": generator,
        **asdict(report),
        "planted": {f"syn.{n:08d}": title for n, title in sorted(planted.items())},
    }
    sidecar(path).write_text(json.dumps(record, indent=1))
    return report
