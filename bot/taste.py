"""A channel's taste: a linear model over tf-idf of title and abstract, trained on the papers its
members saved against the papers it was shown and did not save, and a background sample.

The approach of arxiv-sanity (tf-idf + a linear SVM per user), with what a channel adds: a paper
saved by three members weighs three times one saved by one, an old save fades (half-life
`SAVE_HALF_LIFE_DAYS`), papers posted and never saved are negatives, and the terms two or more
saves share count more than each save's own words (`shared_scale`: two saves on speculative
decoding share "speculative decoding", not their idiosyncratic words). Each paper's term
counts are read once per process and kept (`TermCounts`); the document frequencies are counted
once per set of candidates and background (`SharedVectors`), so every channel of a digest run
shares them. `benchmarks/taste.py` measures each choice (a pseudo-relevance feedback
round was measured and dropped: it did not help on the dev topics).
"""

from __future__ import annotations

import threading
import zlib
from collections import OrderedDict
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

import numpy as np

from bot.models import Channel, ChannelSave, Paper
from bot.replies import SearchHit
from bot.selection import Liking
from bot.storage import Storage

if TYPE_CHECKING:
    from scipy import sparse
    from sklearn.feature_extraction.text import HashingVectorizer

# scikit-learn takes seconds to import: it is imported when a channel's taste is first trained,
# so commands and channels without saves never pay for it.

MIN_SAVES = 1  # distinct papers a channel must have saved before its taste shapes the digest
SAVE_HALF_LIFE_DAYS = 90.0
MAX_SAVES = 500  # the channel's most saved, most recent papers the model learns from
MAX_SHOWN = 500  # papers posted and not saved, newest ids first
SIMILAR_POOL = 50  # papers each search adds to the candidates of /papers like
MAX_BACKGROUND = 2000  # papers of the last BACKGROUND the model learns against
MAX_TRAIN = 5000  # background and candidate papers one channel's model is trained against
BACKGROUND = timedelta(days=30)
C = 0.1  # the SVM's regularisation (arxiv-sanity uses 0.01 with its larger corpus)
SHARED_BOOST = 1.0  # the term the saves share most counts 1 + this times in the model
SHOWN_WEIGHT = 2.0  # a paper posted and not saved, against 1 for a background paper
HASHES = 2**31 - 1  # a term's hash is one of these (the most scikit-learn allows)
KEEP = 20_000  # papers whose term counts a process keeps between runs (or the last run's, if more)
TERMS_KEPT = 2_000_000  # terms numbered before those of no kept paper are forgotten


def paper_text(paper: Paper) -> str:
    """What the model reads of a paper: its title (twice: it says the most) and abstract."""
    return f"{paper.title}. {paper.title}. {paper.abstract}"


class TermCounts:
    """Each paper's term counts (its words and pairs of words), kept across digest runs by paper
    id: reading papers is most of the cost of tf-idf, and a run reads only the papers no run read
    before (or whose text changed); the KEEP papers used last are kept, or all of the last run's
    papers if it had more. A term is known by a 31-bit hash of it (two of the few million terms
    of 100,000 papers seldom share one) and numbered in the order it was first read, so counts
    have a column per term read, not 2^31."""

    def __init__(self, keep: int = KEEP, terms: int = TERMS_KEPT) -> None:
        self.keep = keep
        self.terms = terms  # numbered terms beyond which the unused ones are forgotten
        self._limit = terms  # (or twice the terms the kept papers had when last forgotten)
        self.read = 0  # papers read (tokenised) so far
        self._kept: OrderedDict[str, tuple[int, np.ndarray, np.ndarray]] = OrderedDict()
        self._lock = threading.Lock()
        self._hasher: HashingVectorizer | None = None
        self._hash_of = np.zeros(0, np.int32)  # each numbered term's hash
        self._sorted = np.zeros(0, np.int32)  # the hashes of the numbered terms, sorted
        self._number = np.zeros(0, np.int32)  # the number of each sorted hash

    def hasher(self, analyzer: object = "word") -> HashingVectorizer:
        """The stateless vectoriser: the same term always gets the same hash."""
        from sklearn.feature_extraction.text import HashingVectorizer

        if analyzer != "word":  # terms already cut out of a text
            return HashingVectorizer(
                analyzer=analyzer, n_features=HASHES, alternate_sign=False, norm=None
            )
        if self._hasher is None:
            self._hasher = HashingVectorizer(
                strip_accents="unicode",
                stop_words="english",
                token_pattern=r"(?u)\b[a-zA-Z][a-zA-Z0-9_-]+\b",
                ngram_range=(1, 2),
                n_features=HASHES,
                alternate_sign=False,
                norm=None,
                dtype=np.float32,
            )
        return self._hasher

    def of(self, papers: Sequence[Paper]) -> tuple[sparse.csr_matrix, np.ndarray]:
        """The papers' term counts, one row each in order and a column per numbered term, and
        the hash of each numbered term."""
        from scipy.sparse import csr_matrix

        keys = [hash((p.title, p.abstract)) for p in papers]
        with self._lock:
            unread = [
                i
                for i, (p, key) in enumerate(zip(papers, keys, strict=True))
                if self._kept.get(p.id, (None,))[0] != key
            ]
        if unread:
            counts = self.hasher().transform([paper_text(papers[i]) for i in unread]).tocsr()
        with self._lock:
            if unread:
                self.read += len(unread)
                numbers = self._numbers(counts.indices)
                for at, i in enumerate(unread):
                    span = slice(counts.indptr[at], counts.indptr[at + 1])
                    self._kept[papers[i].id] = (keys[i], numbers[span], counts.data[span])
            rows = []
            for p in papers:
                self._kept.move_to_end(p.id)
                rows.append(self._kept[p.id])
            while len(self._kept) > max(self.keep, len(papers)):
                self._kept.popitem(last=False)
            if len(self._hash_of) > self._limit:
                self._forget(rows)
            hash_of = self._hash_of
        sizes = np.fromiter((len(numbers) for _, numbers, _ in rows), np.int64, len(rows))
        indptr = np.concatenate([[0], np.cumsum(sizes)])
        empty = np.zeros(0, np.int32)
        indices = np.concatenate([empty, *(numbers for _, numbers, _ in rows)])
        data = np.concatenate([empty.astype(np.float32), *(data for _, _, data in rows)])
        return csr_matrix((data, indices, indptr), shape=(len(papers), len(hash_of))), hash_of

    def _numbers(self, hashes: np.ndarray) -> np.ndarray:
        """The number of each term hash, numbering the new ones."""
        seen = np.unique(hashes)
        at = np.searchsorted(self._sorted, seen)
        known = at < len(self._sorted)
        known[known] = self._sorted[at[known]] == seen[known]
        if not known.all():
            new = seen[~known]
            first = len(self._hash_of)
            self._hash_of = np.concatenate([self._hash_of, new])
            numbers = np.arange(first, first + len(new), dtype=np.int32)
            self._sorted = np.insert(self._sorted, at[~known], new)
            self._number = np.insert(self._number, at[~known], numbers)
        return self._number[np.searchsorted(self._sorted, hashes)]

    def _forget(self, rows: list[tuple[int, np.ndarray, np.ndarray]]) -> None:
        """Number again only the terms of the kept papers (`rows` are renumbered in place)."""
        live = np.unique(np.concatenate([numbers for _, numbers, _ in self._kept.values()]))
        renumber = np.full(len(self._hash_of), -1, np.int32)
        renumber[live] = np.arange(len(live), dtype=np.int32)
        for pid, (key, numbers, data) in self._kept.items():
            self._kept[pid] = (key, renumber[numbers], data)
        rows[:] = [(key, renumber[numbers], data) for key, numbers, data in rows]
        self._hash_of = self._hash_of[live]
        order = np.argsort(self._hash_of, kind="stable")
        self._sorted = self._hash_of[order]
        self._number = order.astype(np.int32)
        self._limit = max(self.terms, 2 * len(live))

    def hashes(self, paper: Paper) -> tuple[list[str], np.ndarray]:
        """The words and pairs of words the model reads in a paper, and the hash of each."""
        analyse = self.hasher().build_analyzer()
        terms = list(dict.fromkeys(analyse(paper_text(paper))))
        single = self.hasher(analyzer=_as_is).transform([[term] for term in terms]).tocsr()
        return terms, np.asarray(single.indices)


def _as_is(terms: list[str]) -> list[str]:
    return terms


TERMS = TermCounts()  # the process's papers read, shared by every digest run and /papers like


class PaperVectors:
    """Tf-idf rows for a set of papers, its document frequencies counted over those papers: a
    term in fewer than `min_df` of them or more than half is left out (from 200 papers on). A
    term of a single paper is kept by default: a channel's saves are not in the set and may
    share it (two saves on machine unlearning and the week's one paper on it)."""

    def __init__(
        self, papers: Sequence[Paper], counts: TermCounts | None = None, min_df: int = 1
    ) -> None:
        from sklearn.feature_extraction.text import TfidfTransformer

        self.counts = counts if counts is not None else TERMS
        self.ids = [paper.id for paper in papers]
        self.row = {pid: i for i, pid in enumerate(self.ids)}
        raw, hash_of = self.counts.of(papers)
        frequency = np.bincount(raw.indices, minlength=raw.shape[1])
        low, high = (min_df, len(papers) // 2) if len(papers) >= 200 else (1, len(papers))
        kept = np.flatnonzero((frequency >= low) & (frequency <= high))
        kept = kept[np.argsort(hash_of[kept], kind="stable")]
        self.hashes = hash_of[kept]  # the hash of each column's term, sorted
        column = np.full(raw.shape[1], -1, np.int32)
        column[kept] = np.arange(len(kept), dtype=np.int32)
        self._tfidf = TfidfTransformer(sublinear_tf=True)
        counted = _columns_kept(raw, column[raw.indices], len(kept))
        # Papers without a word between them (empty titles and abstracts) have no columns: no
        # taste can be learnt from them, and every cosine is 0.
        self.matrix: sparse.csr_matrix = (
            self._tfidf.fit_transform(counted).tocsr() if len(kept) else counted.tocsr()
        )
        self._sampled: list[str] | None = None

    def rows(self, ids: Iterable[str]) -> list[int]:
        """The row of each id that has one."""
        return [self.row[pid] for pid in ids if pid in self.row]

    def transform(self, papers: Sequence[Paper]) -> sparse.csr_matrix:
        """Rows for other papers, with these papers' terms and document frequencies."""

        raw, hash_of = self.counts.of(papers)
        counts = _columns_kept(raw, self._columns(hash_of[raw.indices]), len(self.hashes))
        return self._tfidf.transform(counts).tocsr() if len(self.hashes) else counts.tocsr()

    def _columns(self, hashes: np.ndarray) -> np.ndarray:
        """The column of each term hash, -1 for a term left out."""
        at = np.minimum(np.searchsorted(self.hashes, hashes), max(0, len(self.hashes) - 1))
        known = self.hashes[at] == hashes if len(self.hashes) else np.zeros(len(hashes), bool)
        return np.where(known, at, -1)

    def names(self, paper: Paper) -> dict[int, str]:
        """The term behind each column of `paper`'s row (one of them when terms share one)."""
        terms, hashes = self.counts.hashes(paper)
        return {
            int(column): term
            for column, term in zip(self._columns(hashes), terms, strict=True)
            if column >= 0
        }

    def sample(self, count: int) -> list[str]:
        """A fixed sample of `count` ids (by a hash of the id, not the newest)."""
        if self._sampled is None:
            self._sampled = sorted(self.ids, key=lambda pid: zlib.crc32(pid.encode()))
        return self._sampled[:count]


def _columns_kept(raw: sparse.csr_matrix, column: np.ndarray, width: int) -> sparse.csr_matrix:
    """`raw` with each entry moved to its column in `column` (one per entry), or left out
    where that is -1."""
    from scipy.sparse import csr_matrix

    kept = column >= 0
    indptr = np.concatenate([[0], np.cumsum(kept, dtype=np.int64)])[raw.indptr]  # kept before a row
    return csr_matrix((raw.data[kept], column[kept], indptr), shape=(raw.shape[0], width))


@dataclass
class SharedVectors:
    """Tf-idf computed once per set of papers and reused: every channel of a digest run ranks
    the same candidates against the same background, so the document frequencies are counted
    once per run, not once per channel (a channel only adds rows for its saved and shown
    papers), from the term counts every run shares (`TermCounts`)."""

    size: int = 4  # paper sets kept (the daily digest, /papers today, the roundup's week)
    counts: TermCounts = field(default_factory=lambda: TERMS)
    fits: int = 0  # how many times document frequencies were counted
    _fitted: OrderedDict[int, PaperVectors] = field(default_factory=OrderedDict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def over(self, papers: Sequence[Paper]) -> PaperVectors:
        """The vectors of exactly these papers, computed now or earlier for the same set."""
        key = hash(tuple((p.id, p.title, p.abstract) for p in papers))
        with self._lock:
            if key in self._fitted:
                self._fitted.move_to_end(key)
                return self._fitted[key]
        vectors = PaperVectors(papers, self.counts)
        with self._lock:
            self.fits += 1
            self._fitted[key] = vectors
            while len(self._fitted) > self.size:
                self._fitted.popitem(last=False)
        return vectors


def save_weight(save: ChannelSave, now: datetime) -> float:
    """How much a save counts: one per member who saved it, halved every SAVE_HALF_LIFE_DAYS."""
    age_days = max(0.0, (now - save.last_saved).total_seconds() / 86400)
    return save.savers * 0.5 ** (age_days / SAVE_HALF_LIFE_DAYS)


@dataclass(frozen=True)
class TasteModel:
    """A trained channel taste: scores for papers, and which saved paper each is most like."""

    vectors: PaperVectors
    weights: np.ndarray  # the linear model's coefficients over the tf-idf vocabulary
    bias: float
    saved: tuple[str, ...]  # ids of the saved papers the model learned from
    saved_rows: sparse.csr_matrix  # their tf-idf rows, in that order

    def scores(self, ids: Sequence[str]) -> np.ndarray:
        """The model's decision value for each id (0 for an id it has no vector for)."""
        every = self.vectors.matrix @ self.weights + self.bias
        return np.array([every[self.vectors.row[i]] if i in self.vectors.row else 0 for i in ids])

    def most_like(self, ids: Sequence[str]) -> list[str]:
        """For each id, the saved paper closest to it (cosine of their tf-idf rows)."""
        rows = [self.vectors.row.get(pid, 0) for pid in ids]
        if not self.saved or not rows:
            return [""] * len(ids)
        saved = self.saved_rows.T.tocsc()
        best = np.concatenate(
            [
                (self.vectors.matrix[rows[at : at + 4096]] @ saved).toarray().argmax(axis=1)
                for at in range(0, len(rows), 4096)
            ]
        )
        return [self.saved[int(i)] for i in best]


def train(
    vectors: PaperVectors,
    positives: Mapping[str, float],
    negatives: Iterable[str] = (),
    outside: Iterable[Paper] = (),
) -> TasteModel | None:
    """Fit the taste on weighted positives against explicit negatives and a fixed sample of
    MAX_TRAIN other papers of `vectors` (the background); `outside` are positives and
    negatives `vectors` lacks. None when no positive has a vector."""
    extra = {p.id: p for p in outside if p.id not in vectors.row}
    rows = _Rows(vectors, list(extra.values()))
    pos = {pid: w for pid, w in positives.items() if pid in rows}
    explicit = {pid for pid in negatives if pid in rows and pid not in pos}
    own = {*pos, *explicit}
    background = [pid for pid in vectors.sample(MAX_TRAIN) if pid not in own]
    if not pos or not background or not len(vectors.hashes):
        return None
    ids = [*pos, *explicit, *background]
    saved_rows = rows.of(list(pos))
    scale = shared_scale(saved_rows, np.array(list(pos.values())))
    weights, bias = _fit(_scaled(rows.of(ids), scale), ids, pos, explicit)
    return TasteModel(vectors, weights * scale, bias, tuple(pos), saved_rows)


def shared_scale(saved: sparse.csr_matrix, weights: np.ndarray) -> np.ndarray:
    """How much each term counts in the model, from the saves' tf-idf rows and weights: 1 for a
    term of one save only, up to 1 + SHARED_BOOST for the term the saves share most. A term's
    share is its weight in the saves beyond the save holding it most (so an old, faded save
    shares little); what two saves have in common says what the channel is about, where each
    save's own words would pull in papers like that save alone."""
    held = saved.multiply(weights.astype(np.float32)[:, None]).tocsr()
    beyond = np.asarray(held.sum(axis=0)).ravel() - held.max(axis=0).toarray().ravel()
    most = float(beyond.max()) if len(beyond) else 0.0
    if most <= 0:
        return np.ones(saved.shape[1], np.float32)
    return (1 + SHARED_BOOST * beyond / most).astype(np.float32)


def _scaled(matrix: sparse.csr_matrix, scale: np.ndarray) -> sparse.csr_matrix:
    """`matrix` with each column multiplied by its scale."""
    from scipy.sparse import csr_matrix

    data = matrix.data * scale[matrix.indices]
    return csr_matrix((data, matrix.indices, matrix.indptr), shape=matrix.shape)


class _Rows:
    """The tf-idf rows of the shared vectors' papers and of a few others (a channel's saved
    and shown papers), without copying the shared matrix."""

    def __init__(self, vectors: PaperVectors, extra: Sequence[Paper]) -> None:
        self.vectors = vectors
        self.extra = {p.id: i for i, p in enumerate(extra)}
        self.extra_rows = vectors.transform(extra) if extra else None

    def __contains__(self, pid: object) -> bool:
        return pid in self.vectors.row or pid in self.extra

    def of(self, ids: Sequence[str]) -> sparse.csr_matrix:
        """The rows of these ids, in order."""
        from scipy.sparse import vstack

        inside = [self.vectors.row[pid] for pid in ids if pid in self.vectors.row]
        blocks = [self.vectors.matrix[inside]]
        if self.extra_rows is not None:
            outside = [self.extra[pid] for pid in ids if pid not in self.vectors.row]
            blocks.append(self.extra_rows[outside])
        stacked = vstack(blocks, format="csr")
        order = [pid for pid in ids if pid in self.vectors.row]
        order += [pid for pid in ids if pid not in self.vectors.row]
        if order == list(ids):
            return stacked
        where = {pid: i for i, pid in enumerate(order)}
        return stacked[[where[pid] for pid in ids]]


def _fit(
    matrix: sparse.csr_matrix,
    ids: Sequence[str],
    positives: Mapping[str, float],
    explicit: Collection[str],
) -> tuple[np.ndarray, float]:
    """A class-balanced linear SVM over the rows of `ids`: positives (weighted) against the
    rest; explicit negatives (shown to the channel, not saved) weigh SHOWN_WEIGHT."""
    from sklearn.svm import LinearSVC

    labels = np.array([pid in positives for pid in ids], dtype=np.int8)
    sample = np.array(
        [positives.get(pid, SHOWN_WEIGHT if pid in explicit else 1.0) for pid in ids],
        dtype=np.float64,
    )
    # A fixed seed: liblinear shuffles the rows, and a preview must match the posted digest.
    svm = LinearSVC(C=C, class_weight="balanced", tol=1e-4, max_iter=2000, random_state=0)
    svm.fit(matrix, labels, sample_weight=sample)
    return svm.coef_.ravel().astype(np.float32), float(svm.intercept_[0])


@dataclass(frozen=True)
class ChannelTaste:
    """What a channel's taste says of the candidates, and the papers it saved (which the
    digest does not pick again)."""

    liking: dict[str, Liking]
    saved: frozenset[str] = frozenset()


def channel_taste(
    storage: Storage,
    channel: Channel,
    candidates: Sequence[Paper],
    now: datetime,
    shared: SharedVectors | None = None,
) -> ChannelTaste:
    """The channel's taste over the candidates: none until it saved MIN_SAVES papers."""
    saves = storage.activity.channel_saves(channel)[:MAX_SAVES]
    if len(saves) < MIN_SAVES or not candidates:
        return ChannelTaste({})
    saved = storage.papers.get_many([save.paper_id for save in saves])
    shown_ids = sorted(storage.ledger.posted_paper_ids(channel) - saved.keys())[-MAX_SHOWN:]
    shown = list(storage.papers.get_many(shown_ids).values())
    background = storage.papers.recent(now - BACKGROUND, (now - BACKGROUND).date())
    return taste_over(candidates, saves, saved, shown, background, now, shared)


def taste_over(
    candidates: Sequence[Paper],
    saves: Sequence[ChannelSave],
    saved: Mapping[str, Paper],
    shown: Sequence[Paper],
    background: Sequence[Paper],
    now: datetime,
    shared: SharedVectors | None = None,
) -> ChannelTaste:
    """The taste of a channel that saved `saves` (their papers in `saved`) and was shown
    `shown`, over the candidates, learnt against a sample of `background`."""
    if len({s.paper_id for s in saves}) < MIN_SAVES or not candidates:
        return ChannelTaste({})
    sample = sorted(background, key=lambda p: zlib.crc32(p.id.encode()))  # fixed, not the newest
    common = list({p.id: p for p in [*sample[:MAX_BACKGROUND], *candidates]}.values())
    vectors = (shared if shared is not None else SharedVectors()).over(common)
    weights = {s.paper_id: save_weight(s, now) for s in saves if s.paper_id in saved}
    model = train(vectors, weights, [p.id for p in shown], outside=[*shown, *saved.values()])
    if model is None:
        return ChannelTaste({}, frozenset(saved))
    savers = {s.paper_id: s.savers for s in saves}
    ids = [p.id for p in candidates if p.id not in saved]  # the channel has those already
    scores = standardised(model.scores(ids))
    liking = {
        pid: Liking(float(score), saved[like].title, savers[like])
        for pid, score, like in zip(ids, scores, model.most_like(ids), strict=True)
    }
    return ChannelTaste(liking, frozenset(saved))


def standardised(values: np.ndarray) -> np.ndarray:
    """Values as standard scores: 0 the mean, 1 a standard deviation above it."""
    spread = float(values.std()) if len(values) > 1 else 0.0
    return (values - values.mean()) / spread if spread > 0 else np.zeros_like(values)


def similar_papers(
    storage: Storage, paper: Paper, now: datetime, limit: int = 5
) -> list[tuple[Paper, float, str]]:
    """The stored papers most like `paper` (cosine of tf-idf rows), each with how close and the
    terms they share. Candidates: what a search for its title and for its own most telling
    terms finds (by meaning too, with the semantic extra), and a sample of recent papers."""
    background = storage.papers.recent(now - BACKGROUND, (now - BACKGROUND).date())
    background.sort(key=lambda p: zlib.crc32(p.id.encode()))
    pool = {p.id: p for p in background[:MAX_BACKGROUND]}
    pool.update((hit.paper.id, hit.paper) for hit in _search(storage, paper.title, now))
    pool[paper.id] = paper
    # A term of one paper of the pool says nothing of how close two of them are, nor is it
    # worth searching for.
    vectors = PaperVectors(list(pool.values()), min_df=2)
    terms = _top_terms(vectors, paper, 6)
    found = _search(storage, " ".join(terms), now)
    if any(hit.paper.id not in pool for hit in found):
        pool.update((hit.paper.id, hit.paper) for hit in found)
        vectors = PaperVectors(list(pool.values()), min_df=2)
    row = vectors.matrix[vectors.row[paper.id]]
    sims = np.asarray((vectors.matrix @ row.T).todense()).ravel()
    ranked = [i for i in np.argsort(-sims, kind="stable") if vectors.ids[i] != paper.id]
    return [
        (pool[vectors.ids[i]], float(sims[i]), ", ".join(_shared_terms(vectors, paper, i)))
        for i in ranked[:limit]
        if sims[i] > 0
    ]


def _search(storage: Storage, text: str, now: datetime) -> list[SearchHit]:
    return list(storage.search.search(text, limit=SIMILAR_POOL, now=now).hits) if text else []


def _top_terms(vectors: PaperVectors, paper: Paper, count: int) -> list[str]:
    """A paper's highest-weighted single words."""
    row = vectors.matrix[vectors.row[paper.id]]
    names = vectors.names(paper)
    words = [names.get(int(row.indices[i]), "") for i in np.argsort(-row.data, kind="stable")]
    return [w for w in words if w and " " not in w][:count]


def _shared_terms(vectors: PaperVectors, paper: Paper, other: int, count: int = 3) -> list[str]:
    """The terms that make two papers close: the largest products of their weights."""
    both = vectors.matrix[vectors.row[paper.id]].multiply(vectors.matrix[other]).tocsr()
    names = vectors.names(paper)
    order = np.argsort(-both.data, kind="stable")
    return [names[int(both.indices[i])] for i in order[:count] if int(both.indices[i]) in names]
