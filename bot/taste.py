"""A channel's taste: a linear model over tf-idf of title and abstract, trained on the papers its
members saved against the papers it was shown and did not save, and a background sample.

The approach of arxiv-sanity (tf-idf + a linear SVM per user), with what a channel adds: a paper
saved by three members weighs three times one saved by one, an old save fades (half-life
`SAVE_HALF_LIFE_DAYS`), papers posted and never saved are negatives, and one round of pseudo-
relevance feedback (the model's few best candidates join the positives at a low weight) lets
two saves describe a topic rather than two papers. `benchmarks/taste.py` measures each of these.
"""

from __future__ import annotations

import copy
import threading
import zlib
from collections import OrderedDict
from collections.abc import Iterable, Mapping, Sequence
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

# scikit-learn takes seconds to import: it is imported when a channel's taste is first trained,
# so commands and channels without saves never pay for it.

MIN_SAVES = 2  # distinct papers a channel must have saved before its taste shapes the digest
SAVE_HALF_LIFE_DAYS = 90.0
FEEDBACK_TOP = 5  # candidates that join the positives in the feedback round
FEEDBACK_WEIGHT = 0.3  # their weight, against 1 for a paper one member saved
MAX_SAVES = 500  # the channel's most saved, most recent papers the model learns from
MAX_SHOWN = 500  # papers posted and not saved, newest ids first
SIMILAR_POOL = 50  # papers each search adds to the candidates of /papers like
MAX_BACKGROUND = 2000  # papers of the last BACKGROUND the model learns against
BACKGROUND = timedelta(days=30)
C = 0.1  # the SVM's regularisation (arxiv-sanity uses 0.01 with its larger corpus)
SHOWN_WEIGHT = 2.0  # a paper posted and not saved, against 1 for a background paper


def paper_text(paper: Paper) -> str:
    """What the model reads of a paper: its title (twice: it says the most) and abstract."""
    return f"{paper.title}. {paper.title}. {paper.abstract}"


class PaperVectors:
    """Tf-idf rows for a set of papers, fitted on those papers (`extend` adds rows for more
    papers in the same vocabulary)."""

    def __init__(self, papers: Sequence[Paper]) -> None:
        from sklearn.feature_extraction.text import TfidfVectorizer

        self.ids = [paper.id for paper in papers]
        self.row = {pid: i for i, pid in enumerate(self.ids)}
        self._vectorizer = TfidfVectorizer(
            strip_accents="unicode",
            stop_words="english",
            token_pattern=r"(?u)\b[a-zA-Z][a-zA-Z0-9_-]+\b",
            ngram_range=(1, 2),
            sublinear_tf=True,
            min_df=2 if len(papers) >= 200 else 1,
            max_df=0.5 if len(papers) >= 200 else 1.0,
            dtype=np.float32,
        )
        self.matrix: sparse.csr_matrix = self._vectorizer.fit_transform(
            [paper_text(p) for p in papers]
        ).tocsr()
        self.terms: Sequence[str] = self._vectorizer.get_feature_names_out()

    def rows(self, ids: Iterable[str]) -> list[int]:
        """The row of each id that has one."""
        return [self.row[pid] for pid in ids if pid in self.row]

    def extend(self, papers: Iterable[Paper]) -> PaperVectors:
        """These vectors plus rows for the papers they lack, in the same vocabulary (a new
        object: the shared vectors stay as they were)."""
        new = list({p.id: p for p in papers if p.id not in self.row}.values())
        if not new:
            return self
        from scipy.sparse import vstack

        grown = copy.copy(self)
        grown.ids = [*self.ids, *(p.id for p in new)]
        grown.row = {pid: i for i, pid in enumerate(grown.ids)}
        added = self._vectorizer.transform([paper_text(p) for p in new])
        grown.matrix = vstack([self.matrix, added], format="csr")
        return grown


@dataclass
class SharedVectors:
    """Tf-idf fitted once per set of papers and reused: every channel of a digest run ranks
    the same candidates against the same background, so the vocabulary is fitted once per
    run, not once per channel (each channel only adds rows for its saved and shown papers)."""

    size: int = 4  # paper sets kept (the daily digest, /papers today, the roundup's week)
    fits: int = 0  # how many times a vocabulary was fitted
    _fitted: OrderedDict[int, PaperVectors] = field(default_factory=OrderedDict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def over(self, papers: Sequence[Paper]) -> PaperVectors:
        """The vectors of exactly these papers, fitted now or earlier for the same set."""
        key = hash(tuple((p.id, p.title, p.abstract) for p in papers))
        with self._lock:
            if key in self._fitted:
                self._fitted.move_to_end(key)
                return self._fitted[key]
        vectors = PaperVectors(papers)
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

    def scores(self, ids: Sequence[str]) -> np.ndarray:
        """The model's decision value for each id (0 for an id it has no vector for)."""
        out = np.zeros(len(ids), dtype=np.float32)
        known = [(i, self.vectors.row[pid]) for i, pid in enumerate(ids) if pid in self.vectors.row]
        if known:
            at, rows = zip(*known, strict=True)
            out[list(at)] = self.vectors.matrix[list(rows)] @ self.weights + self.bias
        return out

    def most_like(self, ids: Sequence[str]) -> list[str]:
        """For each id, the saved paper closest to it (cosine of their tf-idf rows)."""
        saved = [pid for pid in self.saved if pid in self.vectors.row]
        rows = [self.vectors.row.get(pid, 0) for pid in ids]
        if not saved or not rows:
            return [""] * len(ids)
        sims = self.vectors.matrix[rows] @ self.vectors.matrix[self.vectors.rows(saved)].T
        best = np.asarray(sims.argmax(axis=1)).ravel()
        return [saved[int(i)] for i in best]


def train(
    vectors: PaperVectors,
    positives: Mapping[str, float],
    negatives: Iterable[str] = (),
    feedback: bool = True,
) -> TasteModel | None:
    """Fit the taste on weighted positives against explicit negatives and every other paper
    in `vectors` (the background); None when no positive has a vector."""
    pos = {pid: w for pid, w in positives.items() if pid in vectors.row}
    if not pos or len(pos) == len(vectors.ids):
        return None
    explicit = {pid for pid in negatives if pid in vectors.row and pid not in pos}
    weights, bias = _fit(vectors, pos, explicit)
    if feedback:
        scores = vectors.matrix @ weights + bias
        order = np.argsort(-scores)
        extra = [vectors.ids[i] for i in order[: FEEDBACK_TOP + len(pos) + len(explicit)]]
        extra = [pid for pid in extra if pid not in pos and pid not in explicit][:FEEDBACK_TOP]
        weights, bias = _fit(vectors, {**pos, **dict.fromkeys(extra, FEEDBACK_WEIGHT)}, explicit)
    return TasteModel(vectors, weights, bias, tuple(pos))


def _fit(
    vectors: PaperVectors, positives: Mapping[str, float], explicit: set[str]
) -> tuple[np.ndarray, float]:
    """A class-balanced linear SVM: positives (weighted) against the rest; explicit negatives
    (shown to the channel, not saved) count double."""
    from sklearn.svm import LinearSVC

    n = len(vectors.ids)
    labels = np.zeros(n, dtype=np.int8)
    sample = np.ones(n, dtype=np.float32)
    for pid, weight in positives.items():
        labels[vectors.row[pid]] = 1
        sample[vectors.row[pid]] = weight
    for pid in explicit:
        sample[vectors.row[pid]] = SHOWN_WEIGHT
    # A fixed seed: liblinear shuffles the rows, and a preview must match the posted digest.
    svm = LinearSVC(C=C, class_weight="balanced", tol=1e-4, max_iter=2000, random_state=0)
    svm.fit(vectors.matrix, labels, sample_weight=sample)
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
    vectors = (
        (shared if shared is not None else SharedVectors())
        .over(common)
        .extend([*shown, *saved.values()])
    )
    weights = {s.paper_id: save_weight(s, now) for s in saves if s.paper_id in saved}
    model = train(vectors, weights, [p.id for p in shown])
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
    vectors = PaperVectors(list(pool.values()))
    terms = _top_terms(vectors, paper.id, 6)
    found = _search(storage, " ".join(terms), now)
    if any(hit.paper.id not in pool for hit in found):
        pool.update((hit.paper.id, hit.paper) for hit in found)
        vectors = PaperVectors(list(pool.values()))
    row = vectors.matrix[vectors.row[paper.id]]
    sims = np.asarray((vectors.matrix @ row.T).todense()).ravel()
    ranked = [i for i in np.argsort(-sims, kind="stable") if vectors.ids[i] != paper.id]
    return [
        (pool[vectors.ids[i]], float(sims[i]), ", ".join(_shared_terms(vectors, paper.id, i)))
        for i in ranked[:limit]
        if sims[i] > 0
    ]


def _search(storage: Storage, text: str, now: datetime) -> list[SearchHit]:
    return list(storage.search.search(text, limit=SIMILAR_POOL, now=now).hits) if text else []


def _top_terms(vectors: PaperVectors, paper_id: str, count: int) -> list[str]:
    """A paper's highest-weighted single words."""
    row = vectors.matrix[vectors.row[paper_id]]
    order = np.argsort(-row.data)
    words = [str(vectors.terms[row.indices[i]]) for i in order]
    return [w for w in words if " " not in w][:count]


def _shared_terms(vectors: PaperVectors, paper_id: str, other: int, count: int = 3) -> list[str]:
    """The terms that make two papers close: the largest products of their weights."""
    both = vectors.matrix[vectors.row[paper_id]].multiply(vectors.matrix[other]).tocsr()
    order = np.argsort(-both.data)
    return [str(vectors.terms[both.indices[i]]) for i in order[:count]]
