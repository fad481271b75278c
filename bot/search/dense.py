"""DenseIndex: the protocol of search by meaning (the optional semantic extra), which the
stores' search engines fuse with their word ranking. Implemented by semantic.SemanticIndex
(SQLite) and pg_vectors.PgVectorIndex (PostgreSQL)."""

from __future__ import annotations

from collections.abc import Callable, Collection
from typing import Protocol


class DenseIndex(Protocol):
    """Papers by meaning (the optional semantic extra): one vector per paper, keyed on the
    papers' rowid like the full-text index. See bot.search.semantic for `fuse`."""

    def nearest(
        self,
        text: str,
        k: int = 10,
        among: Collection[int] | None = None,
        also: Collection[int] = (),
    ) -> list[tuple[int, float]]:
        """(rowid, cosine) of the `k` papers closest in meaning to `text`, best first (only
        those in `among` when given), then those of `also` not among them."""
        ...

    def missing(self) -> int:
        """How many stored papers have no vector yet."""
        ...

    def backfill(self, progress: Callable[[int, int], None] | None = None) -> int:
        """Embed every paper without a vector (resumable); returns how many."""
        ...
