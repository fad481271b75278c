"""PgVectorIndex: search by meaning on the PostgreSQL store (the semantic extra, a DenseIndex).

The same model and paper text as on SQLite (bot/search/semantic.py), the vectors kept by the
server's pgvector extension (0.8 or later) in `paper_vectors` (half precision, keyed on the
papers' `seq`, the full-text side's row key) and found through its HNSW index by cosine
distance. New papers are embedded inside the write that stores them; `backfill` embeds the rest.
A server without pgvector (or a role that may not add it) keeps working by words: `NoPgvector`
says why.
"""

from __future__ import annotations

import logging
from collections.abc import Collection, Sequence
from typing import TYPE_CHECKING

import psycopg

from bot.models import Paper
from bot.search.semantic import EXACT_AMONG, DenseBase, Embedder, dequantise
from bot.store import SqliteStore
from bot.store.postgres import PgStore
from bot.store.postgres.copy import write_rows
from bot.store.postgres.schema import ensure_vectors

if TYPE_CHECKING:
    import numpy as np
    from numpy.typing import NDArray

log = logging.getLogger(__name__)

# HNSW candidates kept while walking the graph: at least twice the neighbours asked for (the
# extension's default, 40, is below twice the search's 30 candidates).
EF_SEARCH = 40
# With `among` larger than EXACT_AMONG, the walk goes on past the first candidates until enough
# of them are in `among` (pgvector 0.8's iterative index scans), up to this many visited.
MAX_SCAN_TUPLES = 40_000

_INSERT = (
    "INSERT INTO paper_vectors (seq, embedding) VALUES (%s, %s::halfvec)"
    " ON CONFLICT (seq) DO NOTHING"
)
_UNEMBEDDED = (
    "SELECT p.seq, p.title, p.abstract FROM papers p WHERE p.seq > %s AND NOT EXISTS"
    " (SELECT 1 FROM paper_vectors v WHERE v.seq = p.seq) ORDER BY p.seq LIMIT %s"
)


class NoPgvector(Exception):
    """The PostgreSQL server has no pgvector extension, or the role may not create it."""

    def __init__(self, reason: str) -> None:
        super().__init__(
            f"search by meaning needs the pgvector extension on the PostgreSQL server ({reason});"
            " install pgvector there (or have a superuser run CREATE EXTENSION vector) and"
            " restart: searches go by words meanwhile"
        )
        self.reason = reason


class PgVectorIndex(DenseBase):
    """One vector per paper of a PgStore, kept in step with new papers; nearest by cosine."""

    def __init__(self, store: PgStore, embedder: Embedder | None = None) -> None:
        super().__init__(embedder)
        self.db = store.db
        with self.db.transaction() as conn:
            reason = ensure_vectors(conn)
        if reason is not None:
            raise NoPgvector(reason)
        store.papers.on_new_papers(self._embed_new)

    def _embed_new(self, conn: psycopg.Connection, papers: list[tuple[int, Paper]]) -> None:
        if papers:
            self._store(conn, [(seq, p.title or "", p.abstract or "") for seq, p in papers])

    def _store(self, conn: psycopg.Connection, papers: Sequence[tuple[int, str, str]]) -> None:
        vectors = self.paper_vectors(papers)
        rows = [(seq, vector.tolist()) for (seq, _, _), vector in zip(papers, vectors, strict=True)]
        with conn.cursor() as cursor:
            cursor.executemany(_INSERT, rows)

    def missing(self) -> int:
        """How many stored papers have no vector yet."""
        row = self.db.one(
            "SELECT count(*) FROM papers p"
            " WHERE NOT EXISTS (SELECT 1 FROM paper_vectors v WHERE v.seq = p.seq)"
        )
        return int(row[0]) if row else 0

    def _unembedded(self, after: int, limit: int) -> list[tuple[int, str, str]]:
        rows = self.db.rows(_UNEMBEDDED, [after, limit])
        return [(int(r["seq"]), r["title"] or "", r["abstract"] or "") for r in rows]

    def _save(self, papers: Sequence[tuple[int, str, str]]) -> None:
        with self.db.transaction() as conn:
            self._store(conn, papers)

    def nearest_vector(
        self, query: NDArray[np.float32], k: int, among: Collection[int] | None = None
    ) -> list[tuple[int, float]]:
        """`nearest` for a unit vector already computed: through the HNSW index, or, for an
        `among` of up to EXACT_AMONG papers, exactly among those."""
        if k <= 0 or (among is not None and not among):
            return []
        vector = query.tolist()
        cosine = "1 - (embedding <=> %s::halfvec)"
        with self.db.transaction() as conn:
            if among is not None and len(among) <= EXACT_AMONG:
                # Ordered by the cosine, not the distance operator: no index, every one scored.
                rows = conn.execute(
                    f"SELECT seq, {cosine} AS cosine FROM paper_vectors WHERE seq = ANY(%s)"
                    " ORDER BY cosine DESC, seq LIMIT %s",
                    [vector, sorted(among), k],
                ).fetchall()
            else:
                conn.execute(
                    "SELECT set_config('hnsw.ef_search', %s, true)", [str(max(EF_SEARCH, 2 * k))]
                )
                where, params = "", []
                if among is not None:
                    where, params = " WHERE seq = ANY(%s)", [sorted(among)]
                    conn.execute(
                        "SELECT set_config('hnsw.iterative_scan', 'relaxed_order', true),"
                        " set_config('hnsw.max_scan_tuples', %s, true)",
                        [str(MAX_SCAN_TUPLES)],
                    )
                rows = conn.execute(
                    f"SELECT seq, {cosine} AS cosine FROM paper_vectors{where}"
                    " ORDER BY embedding <=> %s::halfvec LIMIT %s",
                    [vector, *params, vector, k],
                ).fetchall()
        found = [(int(seq), round(float(c), 4)) for seq, c in rows]
        return sorted(found, key=lambda pair: -pair[1])  # relaxed_order: nearly sorted


def copy_vectors(source: SqliteStore, target: PgStore) -> int | str:
    """Copy the vectors of search by meaning (SQLite's int8 codes, dequantised), keyed by paper
    id; a paper that has one there keeps it. Returns how many were offered, or why the target
    cannot hold them (a server without pgvector)."""
    if not source.db["paper_vectors"].exists():
        return 0
    with target.db.transaction() as conn:
        reason = ensure_vectors(conn)
    if reason is not None:
        return reason
    rows = source.db.query(
        "SELECT p.id, v.vec, v.scale FROM paper_vectors v JOIN papers p ON p.seq = v.seq"
        " ORDER BY v.seq"
    )
    statement = (
        "INSERT INTO paper_vectors (seq, embedding) SELECT seq, %(vector)s::halfvec"
        " FROM papers WHERE id = %(id)s ON CONFLICT (seq) DO NOTHING"
    )
    vectors = (
        {"id": row["id"], "vector": dequantise(row["vec"], row["scale"]).tolist()} for row in rows
    )
    return write_rows(target, statement, vectors)
