"""The `paper_vectors` table: one row of quantised sentence embeddings per paper, keyed on the
papers' `seq` (the full-text rowid). The semantic index owns it and creates it when missing.

Each row holds two codes of the same unit vector: `bits` (its signs, 48 bytes for 384 dimensions,
held in memory to find candidates) and `vec` (int8 values times `scale`, read back from the
database to score the few hundred candidates exactly).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence

from sqlite_utils import Database

VectorRow = tuple[int, bytes, bytes, float]  # seq, bits, vec, scale

_CREATE = """
CREATE TABLE IF NOT EXISTS paper_vectors (
    id INTEGER PRIMARY KEY,         -- insertion order: readers load only the rows they lack
    seq INTEGER NOT NULL UNIQUE,    -- papers.seq
    bits BLOB NOT NULL,
    vec BLOB NOT NULL,
    scale REAL NOT NULL
)
"""


def ensure(db: Database) -> None:
    """Create the vectors table if it is missing."""
    db.execute(_CREATE)


def insert(db: Database, rows: Sequence[VectorRow]) -> None:
    """Store vectors; a paper that already has one keeps it."""
    db.conn.executemany(
        "INSERT OR IGNORE INTO paper_vectors (seq, bits, vec, scale) VALUES (?, ?, ?, ?)", rows
    )


def seqs_for_ids(db: Database, ids: Sequence[str]) -> dict[str, int]:
    """The `seq` of each stored paper id."""
    found: dict[str, int] = {}
    for start in range(0, len(ids), 500):
        chunk = list(ids[start : start + 500])
        marks = ",".join("?" * len(chunk))
        for pid, seq in db.execute(f"SELECT id, seq FROM papers WHERE id IN ({marks})", chunk):
            found[pid] = seq
    return found


def count_missing(db: Database) -> int:
    """How many papers have no vector yet."""
    sql = "SELECT count(*) FROM papers p WHERE NOT EXISTS"
    sql += " (SELECT 1 FROM paper_vectors v WHERE v.seq = p.seq)"
    return int(db.execute(sql).fetchone()[0])


def missing(db: Database, after: int, limit: int) -> list[tuple[int, str, str]]:
    """(seq, title, abstract) of up to `limit` papers past `after` that have no vector, by seq."""
    sql = (
        "SELECT p.seq, p.title, p.abstract FROM papers p WHERE p.seq > ? AND NOT EXISTS"
        " (SELECT 1 FROM paper_vectors v WHERE v.seq = p.seq) ORDER BY p.seq LIMIT ?"
    )
    return [(s, t or "", a or "") for s, t, a in db.execute(sql, [after, limit])]


def bits_since(db: Database, after_id: int) -> Iterator[tuple[int, int, bytes]]:
    """(id, seq, bits) of the rows stored after row `after_id`, in insertion order."""
    sql = "SELECT id, seq, bits FROM paper_vectors WHERE id > ? ORDER BY id"
    yield from db.execute(sql, [after_id])


def vectors(db: Database, seqs: Sequence[int]) -> list[tuple[int, bytes, float]]:
    """(seq, vec, scale) of these papers' stored vectors."""
    out: list[tuple[int, bytes, float]] = []
    for start in range(0, len(seqs), 900):
        chunk = list(seqs[start : start + 900])
        marks = ",".join("?" * len(chunk))
        sql = f"SELECT seq, vec, scale FROM paper_vectors WHERE seq IN ({marks})"
        out.extend(db.execute(sql, chunk))
    return out


def count(db: Database) -> int:
    """How many papers have a vector."""
    return int(db.execute("SELECT count(*) FROM paper_vectors").fetchone()[0])
