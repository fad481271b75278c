"""Does the digest learn a channel's taste from a few saves? Simulated channels over real papers.

    python -m benchmarks.taste                 # every mode, dev and test topics, 1/2/3 saves
    python -m benchmarks.taste --mode week --split dev --topics keywords --saves 2 --draws 20
    python -m benchmarks.taste --mode week --scenario drift --saves 2   # a channel that moved on
    python -m benchmarks.taste --speed         # only: one channel's taste over 50,000 papers

Corpus: the 6,039 real papers of hf_daily_2024-05_2026-07_dev.tar.xz (380 days of Hugging Face
Daily Papers, 16 a day on average). Topics come from labels the model never reads:

- keywords: Hugging Face's keywords (KEYWORD_TOPICS); only the papers that carry keywords (from
  2025 on) are candidates and topic papers.
- judged: the blind relevance judgments of benchmarks/relevance (a query's papers graded 2, "on
  topic", by judges who read the query's intent). Queries of the author and typo classes are
  left out (an author is not a topic; a typo repeats a query), as are topics with fewer than 8
  papers and topics overlapping an earlier one by half. Only judged papers can count as hits.

Both splits have dev and test topics; every setting in bot/taste.py and bot/selection.py was
chosen on `dev`; `test` is reported, never tuned on. Both labellings are incomplete (an
on-topic paper without the keyword, or outside the judged pool, counts as a miss), so recall
here is a lower bound.

A simulated channel is interested in one topic and saved k of its papers (k = 1, 2, 3). Modes:

- day, week (what a digest does): a day d is drawn among the days with at least k topic papers
  before it and one in the window [d, d + 1 or 7 days); the k saves are drawn among the topic's
  papers before d (each saved on its own day, so older saves weigh less); the channel was posted
  and did not save the 30 most trending papers of the 30 days before d that are off the topic;
  the digest ranks the window's papers, each with the trending score of its own day, and the
  taste is bot.taste.taste_over itself (background: the 30 days before d). recall@10 is the
  share of the window's topic papers among the 10 picks, out of min(10, topic papers in the
  window). A day has 16 papers on average, so the day mode is nearly saturated (10 picks of 16):
  the week is the digest-sized test.
- corpus (the first measure, kept for comparison): the k saves and 30 shown papers (from the
  300 most trending, off the topic) are drawn from the whole corpus, the digest ranks every
  other paper of the corpus at once (two years) and recall@10 is the share of the topic's
  other papers among the first 10; the taste is bot.taste.train over tf-idf of the corpus.

Scenarios (`--scenario`, day and week modes): who saved what, and when.

- single (the default, everything above): one member saved the k topic papers; "who saved"
  carries nothing and the saves' ages are whatever the draw gives, so the weighting by savers
  and recency cannot help there.
- drift, a channel whose interest moved: before its k saves of the topic it saved 3 papers of
  another topic A of the same split (drawn among the topics with 3 papers, not of the topic, at
  least 120 days before d), and the k topic saves are of papers of the 14 days before d. Every
  save is by one member on the paper's own day. The target is still the topic's papers of the
  window: the old interest should fade (a save's weight halves every 90 days; at 120 days it
  is under 0.4; with the corpus's gap between 2025-07 and 2026-04 most are far older),
  arxiv-sanity weighs all 3 + k saves alike.
- team, several members: the k topic papers (drawn as in single) were each saved by 2 or 3
  members, and 2 off-topic papers of the 30 days before d (any paper of the labelling's pool
  not on the topic) by one member alone each, one person's own interest. Every save is on the
  paper's own day. The shared interest should weigh more than the individual ones (a paper
  saved by 3 members weighs 3 times one saved by one); arxiv-sanity weighs all k + 2 alike.

In every scenario the channel was shown and did not save the 30 most trending papers of the 30
days before d that are neither on the topic nor saved, and arxiv-sanity is trained on every
saved paper. These were defined before any of their figures was seen, and nothing was tuned
on them.

Systems: random (the candidates in a random order, from a generator of its own: what chance
gets, for scale, since trending's figure depends as much on how many papers are ranked as on
trending); trending (taste off); arxiv-sanity (its tf-idf settings fitted on the whole corpus,
its LinearSVC C=0.01 trained on the saves against every paper known at the window's end,
ranked alone); taste alone (bot.taste's score); taste (taste blended with trending exactly as
bot.selection does: what ships; on from MIN_SAVES = 1 save). "trending share" is the share of
a system's picks that trending alone also picks. Each figure is the mean over topics of a
topic's mean over its draws, ± the standard error over topics; the last column is taste minus
arxiv-sanity, paired by topic.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import statistics
import tarfile
import tempfile
import time
from collections import defaultdict
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from datetime import time as dtime
from pathlib import Path

import numpy as np
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.svm import LinearSVC

from benchmarks.realdata import real_papers
from benchmarks.synthetic import Archive
from bot import taste
from bot.models import ChannelSave, Paper
from bot.selection import blend, trending_score

HERE = Path(__file__).parent
CORPUS = HERE / "hf_daily_2024-05_2026-07_dev.tar.xz"
RELEVANCE = HERE / "relevance"
SKIP_CLASSES = {"author", "typo"}
MIN_TOPIC = 8
DRAWS = 10
SHOWN = 30
K = 10
WINDOWS = {"day": 1, "week": 7}  # days of Daily Papers a digest ranks in the window modes
DRIFT_OLD = 3  # saves of the topic a drifting channel left
DRIFT_AGE = timedelta(days=120)  # ... saved at least this long before d
DRIFT_RECENT = timedelta(days=14)  # its k saves of the new topic were of papers this recent
TEAM_SAVERS = (2, 3)  # members who saved each of a team's topic papers
TEAM_NOISE = 2  # off-topic papers one member alone saved, from the 30 days before d

# Research topics as Hugging Face's keywords name them (a paper is on a topic when one of its
# keywords, lower-cased and without a parenthesis, is one of the names), picked by hand from the
# keywords 12 to 150 papers carry, leaving out words that are not a topic ("benchmark",
# "accuracy", "LLMs"). Alternating in alphabetical order into dev and test.
KEYWORD_TOPICS = sorted(
    [
        ("3d gaussian splatting", "gaussian splatting"),
        ("code generation",),
        ("continual learning", "catastrophic forgetting"),
        ("contrastive learning",),
        ("credit assignment",),
        ("curriculum learning",),
        ("direct preference optimization", "dpo"),
        ("flow matching",),
        ("gui agents",),
        ("hallucination", "hallucinations"),
        ("image editing",),
        ("in-context learning",),
        ("knowledge distillation",),
        ("kv cache",),
        ("llm-as-a-judge",),
        ("lora", "low-rank adaptation"),
        ("mathematical reasoning",),
        ("mixture-of-experts",),
        ("multi-agent systems", "multi-agent framework"),
        ("on-policy distillation", "on-policy self-distillation"),
        ("quantization",),
        ("retrieval-augmented generation",),
        ("reward hacking",),
        ("sparse attention",),
        ("sparse autoencoders",),
        ("spatial reasoning",),
        ("speculative decoding",),
        ("synthetic data",),
        ("test-time scaling",),
        ("text-to-image generation",),
        ("tool use",),
        ("video generation", "video generation models"),
        ("video understanding",),
        ("vision-language-action models",),
        ("visual grounding",),
        ("visual question answering",),
        ("world models",),
    ]
)


def load_corpus() -> list[Paper]:
    """The dev corpus, parsed by the bot's own parser."""
    with tempfile.TemporaryDirectory() as tmp, tarfile.open(CORPUS) as archive:
        archive.extractall(tmp, filter="data")
        return real_papers(sorted(Path(tmp).glob("**/daily_papers_*.json")))


def load_topics(known: set[str]) -> dict[str, list[tuple[str, list[str]]]]:
    """split -> [(query, on-topic paper ids)], de-duplicated as the module docstring says."""
    queries = json.loads((RELEVANCE / "queries.json").read_text())
    on_topic: dict[str, list[str]] = defaultdict(list)
    for line in (RELEVANCE / "judgments.tsv").read_text().splitlines()[1:]:
        qid, pid, grade = line.split("\t")
        if grade == "2" and pid in known:
            on_topic[qid].append(pid)
    topics: dict[str, list[tuple[str, list[str]]]] = defaultdict(list)
    taken: list[set[str]] = []
    for q in queries:
        papers = sorted(on_topic[q["id"]])
        if q["class"] in SKIP_CLASSES or len(papers) < MIN_TOPIC:
            continue
        if any(len(set(papers) & seen) * 2 > len(papers) for seen in taken):
            continue
        taken.append(set(papers))
        topics[q["split"]].append((q["query"], papers))
    return topics


def keyword_topics(corpus: Sequence[Paper]) -> dict[str, list[tuple[str, list[str]]]]:
    """split -> [(topic, ids of papers carrying one of its keywords)], see KEYWORD_TOPICS."""
    topics: dict[str, list[tuple[str, list[str]]]] = defaultdict(list)
    for i, names in enumerate(KEYWORD_TOPICS):
        ids = sorted(p.id for p in corpus if set(names) & {_keyword(k) for k in p.keywords})
        topics["dev" if i % 2 == 0 else "test"].append((names[0], ids))
    return topics


def _keyword(text: str) -> str:
    return re.sub(r"\s*\([^)]*\)", "", text).strip().lower()


def own_day_trending(paper: Paper) -> float:
    """The trending score a paper had on the day it was news."""
    day = paper.added or paper.day or date(2025, 1, 1)
    return trending_score(paper, day)


class ArxivSanity:
    """The arxiv-sanity-lite recommender: its tf-idf settings, fitted once over the whole
    corpus (its database), and its SVM trained on the saves alone against every other paper."""

    name = "arxiv-sanity"

    def __init__(self, corpus: Sequence[Paper]) -> None:
        vectorizer = TfidfVectorizer(
            strip_accents="unicode",
            stop_words="english",
            token_pattern=r"(?u)\b[a-zA-Z_][a-zA-Z0-9_]+\b",
            ngram_range=(1, 2),
            max_features=20000,
            sublinear_tf=True,
            max_df=0.1,
            min_df=5,
        )
        self.matrix = vectorizer.fit_transform([f"{p.title}. {p.abstract}" for p in corpus])
        self.ids = [p.id for p in corpus]
        self.row = {pid: i for i, pid in enumerate(self.ids)}
        self._scored: dict[tuple[frozenset[str], int], np.ndarray] = {}

    def scores(self, saves: Collection[str], known: np.ndarray | None = None) -> np.ndarray:
        """The SVM's decision value for every corpus paper, trained on the papers `known`
        (a boolean mask over the corpus: the database at the time; default every paper)."""
        rows = np.flatnonzero(known) if known is not None else np.arange(len(self.ids))
        key = (frozenset(saves), len(rows))
        if key not in self._scored:
            labels = np.array([self.ids[i] in saves for i in rows], dtype=np.int8)
            svm = LinearSVC(
                class_weight="balanced", C=0.01, tol=1e-6, max_iter=10000, random_state=0
            )
            svm.fit(self.matrix[rows], labels)
            self._scored[key] = np.asarray(svm.decision_function(self.matrix)).ravel()
        return self._scored[key]


# (split, saves, system) -> per topic: [(recall@10, trending share)] over its draws
Results = dict[tuple[str, int, str], dict[str, list[tuple[float, float]]]]


def picks_of(ids: Sequence[str], scores: Sequence[float] | np.ndarray, k: int = K) -> set[str]:
    """The k best-scored ids (ties by position, as a stable sort leaves them)."""
    order = np.argsort(-np.asarray(scores, dtype=np.float64), kind="stable")
    return {ids[i] for i in order[:k]}


@dataclass(frozen=True)
class Channel:
    """What a scenario draws a simulated channel's saves from: its topic's papers, the other
    topics of the same split (minus the topic's papers), every candidate paper by day."""

    papers: Sequence[str]
    others: Sequence[Sequence[str]]
    day_of: Mapping[str, date]
    on_day: Mapping[date, Sequence[str]]

    def saved(self, pid: str, savers: int = 1) -> ChannelSave:
        """A save of `pid` by `savers` members, made on the paper's own day."""
        return ChannelSave(pid, savers, datetime.combine(self.day_of[pid], dtime(9), UTC))


# A scenario: the saves a channel made before day d, k of them of its topic, or None when the
# papers before d do not allow it (then d is not drawn).
Scenario = Callable[[random.Random, Channel, date, int], list[ChannelSave] | None]


def single_saves(
    rng: random.Random, channel: Channel, start: date, k: int
) -> list[ChannelSave] | None:
    """One member saved k papers of the topic, each on its own day, any time before d."""
    before = sorted(p for p in channel.papers if channel.day_of[p] < start)
    if len(before) < k:
        return None
    return [channel.saved(pid) for pid in rng.sample(before, k)]


def drift_saves(
    rng: random.Random, channel: Channel, start: date, k: int
) -> list[ChannelSave] | None:
    """A channel whose interest moved: DRIFT_OLD saves of one other topic of the split, of
    papers at least DRIFT_AGE before d, then k saves of its topic now, of papers of the last
    DRIFT_RECENT; every save by one member on the paper's own day."""
    recent = sorted(p for p in channel.papers if start - DRIFT_RECENT <= channel.day_of[p] < start)
    if len(recent) < k:
        return None
    olds = [
        old
        for other in channel.others
        if len(old := sorted(p for p in other if channel.day_of[p] <= start - DRIFT_AGE))
        >= DRIFT_OLD
    ]
    if not olds:
        return None
    old = rng.sample(rng.choice(olds), DRIFT_OLD)
    return [channel.saved(pid) for pid in [*old, *rng.sample(recent, k)]]


def team_saves(
    rng: random.Random, channel: Channel, start: date, k: int
) -> list[ChannelSave] | None:
    """Several members: k papers of the topic, from any time before d, each saved by 2 or 3 of
    them (TEAM_SAVERS), and TEAM_NOISE off-topic papers of the 30 days before d each saved by
    one member alone (one person's own interest); every save on the paper's own day."""
    topic = single_saves(rng, channel, start, k)
    days = [start - timedelta(days=i) for i in range(1, taste.BACKGROUND.days + 1)]
    off = sorted(p for d in days for p in channel.on_day.get(d, ()) if p not in channel.papers)
    if topic is None or len(off) < TEAM_NOISE:
        return None
    shared = [channel.saved(s.paper_id, rng.choice(TEAM_SAVERS)) for s in topic]
    return [*shared, *(channel.saved(pid) for pid in rng.sample(off, TEAM_NOISE))]


SCENARIOS: dict[str, Scenario] = {"single": single_saves, "drift": drift_saves, "team": team_saves}


def record(
    results: Results,
    key: tuple[str, int],
    topic: str,
    relevant: set[str],
    ranked: dict[str, set[str]],
) -> None:
    """One draw's recall@10 and trending share for every system."""
    for name, picks in ranked.items():
        recall = len(relevant & picks) / min(K, len(relevant))
        share = len(ranked["trending"] & picks) / max(1, len(picks))
        results[(*key, name)].setdefault(topic, []).append((recall, share))


def simulate_corpus(
    corpus: Sequence[Paper],
    topics: dict[str, list[tuple[str, list[str]]]],
    pool: set[str],
    saves_per: Sequence[int],
    draws: int = DRAWS,
    seed: int = 7,
) -> Results:
    """The whole-corpus measure: the digest ranks every paper of `pool` the channel was not
    shown (two years of papers at once); taste is bot.taste.train over tf-idf of the corpus."""
    ids = [p.id for p in corpus]
    trending = np.array([own_day_trending(p) for p in corpus])
    by_trend = [ids[i] for i in np.argsort(-trending)]
    sanity = ArxivSanity(corpus)
    vectors = taste.PaperVectors(corpus)
    outside = np.array([pid not in pool for pid in ids])
    rng = random.Random(seed)
    chance = np.random.default_rng(seed)  # its own generator: the draws stay as they were
    results: Results = defaultdict(dict)
    for split, split_topics in topics.items():
        for name, papers in split_topics:
            topic = set(papers)
            for k in saves_per:
                for _ in range(draws):
                    saved = rng.sample(papers, k)
                    shown = rng.sample([p for p in by_trend[:300] if p not in topic], SHOWN)
                    hidden = outside.copy()
                    hidden[[sanity.row[pid] for pid in (*saved, *shown)]] = True
                    model = taste.train(vectors, dict.fromkeys(saved, 1.0), shown)
                    assert model is not None
                    liked = model.scores(ids)
                    systems = {
                        "random": chance.random(len(ids)),
                        "trending": trending,
                        "arxiv-sanity": sanity.scores(set(saved)),
                        "taste alone": liked,
                        "taste": np.array(blend(trending.tolist(), liked.tolist())),
                    }
                    ranked = {
                        system: picks_of(ids, np.where(hidden, -np.inf, scores))
                        for system, scores in systems.items()
                    }
                    rest = topic - set(saved) - set(shown)
                    record(results, (split, k), name, rest, ranked)
    return results


def simulate_windows(
    corpus: Sequence[Paper],
    topics: dict[str, list[tuple[str, list[str]]]],
    pool: set[str],
    window: int,
    saves_per: Sequence[int],
    draws: int = DRAWS,
    seed: int = 7,
    sanity: ArxivSanity | None = None,
    shared: taste.SharedVectors | None = None,
    scenario: str = "single",
) -> Results:
    """The digest's measure: the channel saved k of the topic's papers before a day d; the
    digest ranks the papers of the `window` days from d (each paper with the trending score
    of its own day) with the taste trained exactly as bot.taste.channel_taste trains it (the
    saves, the 30 papers it was posted and did not save: the most trending of the 30 days
    before d off the topic, the background: the 30 days before d). Only papers of `pool` are
    candidates and topic papers (the papers the topic labelling covers). `scenario` (SCENARIOS)
    says who saved what and when."""
    ids = [p.id for p in corpus]
    paper = dict(zip(ids, corpus, strict=True))
    day_of = {p.id: p.added or p.day or date(2025, 1, 1) for p in corpus}
    days = sorted(set(day_of.values()))
    on_day: dict[date, list[Paper]] = defaultdict(list)
    for p in corpus:
        on_day[day_of[p.id]].append(p)
    trend = {p.id: own_day_trending(p) for p in corpus}
    sanity = sanity or ArxivSanity(corpus)
    day_index = np.array([days.index(day_of[pid]) for pid in ids])
    shared = shared or taste.SharedVectors(size=2 * len(days))
    rng = random.Random(seed)
    chance = np.random.default_rng(seed)  # its own generator: the draws stay as they were
    results: Results = defaultdict(dict)
    build = SCENARIOS[scenario]
    in_pool: dict[date, list[str]] = defaultdict(list)
    for pid in ids:
        if pid in pool:
            in_pool[day_of[pid]].append(pid)

    def span(first: date, last: date) -> list[Paper]:
        return [p for d in days if first <= d < last for p in on_day[d]]

    for split, split_topics in topics.items():
        for name, papers in split_topics:
            topic = set(papers) & pool
            papers = sorted(topic)
            others = [sorted((set(o) & pool) - topic) for n, o in split_topics if n != name]
            channel = Channel(papers, others, day_of, in_pool)
            for k in saves_per:
                starts = [
                    d
                    for d in days
                    if any(d <= day_of[p] < d + timedelta(days=window) for p in papers)
                    and build(random.Random(0), channel, d, k) is not None
                ]
                for _ in range(draws if starts else 0):
                    start = rng.choice(starts)
                    end = start + timedelta(days=window)
                    saves = build(rng, channel, start, k)
                    assert saves is not None
                    saved = [s.paper_id for s in saves]
                    before = span(start - taste.BACKGROUND, start)
                    shown = sorted(
                        (p for p in before if p.id not in topic and p.id not in saved),
                        key=lambda p: -trend[p.id],
                    )[:SHOWN]
                    candidates = [p for p in span(start, end) if p.id in pool]
                    now = datetime.combine(start, dtime(9), UTC)
                    liking = taste.taste_over(
                        candidates, saves, {p: paper[p] for p in saved}, shown, before, now, shared
                    ).liking
                    cids = [p.id for p in candidates]
                    trending = [trend[pid] for pid in cids]
                    liked = [liking[pid].score if pid in liking else 0.0 for pid in cids]
                    everything = sanity.scores(set(saved), day_index < days.index(start) + window)
                    systems: dict[str, Sequence[float] | np.ndarray] = {
                        "random": chance.random(len(cids)),
                        "trending": trending,
                        "arxiv-sanity": [everything[sanity.row[pid]] for pid in cids],
                        "taste alone": liked,
                        "taste": blend(trending, liked),
                    }
                    ranked = {system: picks_of(cids, scores) for system, scores in systems.items()}
                    record(results, (split, k), name, topic & set(cids), ranked)
    return results


def report(results: Results, title: str) -> None:
    """A markdown table: recall@10 (mean over topics of each topic's mean over its draws) ±
    its standard error over topics, trending's share of the picks, and taste's paired margin
    over arxiv-sanity with its standard error."""
    names = ["random", "trending", "arxiv-sanity", "taste alone", "taste"]
    keys = sorted({(split, k) for split, k, _ in results}, key=lambda sk: (sk[0] != "dev", sk))
    print(f"\n{title}\n")
    print("| topics | saves | " + " | ".join(names) + " | taste − arxiv-sanity |")
    print("|---|---|" + "---|" * (len(names) + 1))
    for split, k in keys:
        per_topic = {
            name: {
                t: (statistics.fmean(r for r, _ in d), statistics.fmean(s for _, s in d))
                for t, d in results[(split, k, name)].items()
            }
            for name in names
        }
        cells = []
        for name in names:
            recalls = [r for r, _ in per_topic[name].values()]
            share = statistics.fmean(s for _, s in per_topic[name].values())
            cells.append(f"{statistics.fmean(recalls):.3f} ± {_se(recalls):.3f} ({share:.0%})")
        margin = [
            per_topic["taste"][t][0] - per_topic["arxiv-sanity"][t][0] for t in per_topic["taste"]
        ]
        cells.append(f"{statistics.fmean(margin):+.3f} ± {_se(margin):.3f}")
        draws = sum(len(d) for d in results[(split, k, "taste")].values())
        label = f"{split} ({len(per_topic['taste'])} topics, {draws} draws)"
        print(f"| {label} | {k} | " + " | ".join(cells) + " |")


def _se(values: Sequence[float]) -> float:
    return statistics.stdev(values) / len(values) ** 0.5 if len(values) > 1 else 0.0


def speed(corpus: Sequence[Paper], size: int = 50_000, new: int = 1_000) -> None:
    """Time one channel's taste over `size` candidate papers of the synthetic archive (real
    abstract sentences and a Zipf vocabulary, benchmarks/synthetic.py) and two real saves: the
    tf-idf shared by every channel of a digest run, in a fresh process (every paper read) and in
    the next run of a warm one (the same papers but `new` of them, which alone are read), then
    three times one channel's training alone and its whole taste (training, scoring every
    candidate, the why line's evidence)."""
    archive = Archive()
    every = [
        Paper(id=row.id, title=row.title, abstract=row.abstract)
        for row in archive.papers(size + new)
    ]
    now = datetime(2026, 8, 1, 9, tzinfo=UTC)
    saved = {p.id: p for p in corpus[:2]}
    saves = [ChannelSave(pid, 1, now) for pid in saved]
    counts = taste.TermCounts()
    started, cpu = time.perf_counter(), time.process_time()
    taste.SharedVectors(counts=counts).over(every[new:])
    cold = (time.perf_counter() - started, time.process_time() - cpu)
    candidates = every[:size]  # the next run: `new` papers came, as many left the window
    shown = candidates[:30]
    shared = taste.SharedVectors(counts=counts)
    started, cpu = time.perf_counter(), time.process_time()
    vectors = shared.over(candidates)
    warm = (time.perf_counter() - started, time.process_time() - cpu)
    trained: list[tuple[float, float]] = []  # (wall, CPU) seconds
    tasted: list[tuple[float, float]] = []
    for _ in range(3):
        started, cpu = time.perf_counter(), time.process_time()
        weights = {s.paper_id: taste.save_weight(s, now) for s in saves}
        shown_ids = [p.id for p in shown]
        taste.train(vectors, weights, shown_ids, outside=[*shown, *saved.values()])
        trained.append((time.perf_counter() - started, time.process_time() - cpu))
        started, cpu = time.perf_counter(), time.process_time()
        liking = taste.taste_over(candidates, saves, saved, shown, [], now, shared).liking
        tasted.append((time.perf_counter() - started, time.process_time() - cpu))
    assert len(liking) == size
    print(
        f"{size:,} candidate papers, {vectors.matrix.shape[1]:,} terms: tf-idf shared by every"
        f" channel of a digest run {_seconds([cold])} in a fresh process (every paper read),"
        f" {_seconds([warm])} in a warm one ({new:,} new papers read); one channel's model"
        f" trained in {_seconds(trained)}; its whole taste (training, scoring every candidate,"
        f" the saved paper each is most like) {_seconds(tasted)}; load average"
        f" {' '.join(f'{x:.1f}' for x in os.getloadavg())} on {os.cpu_count()} cores"
    )


def _seconds(timings: Sequence[tuple[float, float]]) -> str:
    wall = " / ".join(f"{w:.2f}" for w, _ in timings)
    cpu = " / ".join(f"{c:.2f}" for _, c in timings)
    return f"{wall} s ({cpu} s of CPU)"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--split", choices=["dev", "test", "both"], default="both")
    parser.add_argument("--topics", choices=["keywords", "judged", "both"], default="both")
    parser.add_argument(
        "--mode", choices=["day", "week", "corpus", "all"], default="all", help="what is ranked"
    )
    parser.add_argument(
        "--scenario",
        choices=list(SCENARIOS),
        default="single",
        help="who saved what and when (day and week modes)",
    )
    parser.add_argument("--speed", action="store_true", help="only time 50,000 candidates")
    parser.add_argument("--draws", type=int, default=DRAWS, help="draws of saves per topic")
    parser.add_argument("--saves", default="1,2,3", help="saves per channel, e.g. 2")
    args = parser.parse_args()
    corpus = load_corpus()
    if args.speed:
        speed(corpus)
        return
    splits = ("dev", "test") if args.split == "both" else (args.split,)
    saves = [int(k) for k in args.saves.split(",")]
    labellings = []
    if args.topics in ("keywords", "both"):
        kw = keyword_topics(corpus)
        labellings.append(("Hugging Face keyword topics", kw, {p.id for p in corpus if p.keywords}))
    if args.topics in ("judged", "both"):
        judged = load_topics({p.id for p in corpus})
        labellings.append(("judged topics", judged, {p.id for p in corpus}))
    modes = ("day", "week", "corpus") if args.mode == "all" else (args.mode,)
    if args.scenario != "single":
        if args.mode == "corpus":
            parser.error("--scenario needs the day or week mode")
        modes = tuple(m for m in modes if m != "corpus")
    for label, topics, pool in labellings:
        chosen = {s: topics[s] for s in splits}
        for mode in modes:
            started = time.perf_counter()
            if mode == "corpus":
                results = simulate_corpus(corpus, chosen, pool, saves, args.draws)
                what = f"the whole corpus ({len(pool):,} papers) at once"
            else:
                window = WINDOWS[mode]
                results = simulate_windows(
                    corpus, chosen, pool, window, saves, args.draws, scenario=args.scenario
                )
                what = f"the papers of {window} day{'s' * (window > 1)} after the saves"
                if args.scenario != "single":
                    what += f", scenario {args.scenario}"
            took = time.perf_counter() - started
            report(results, f"{label}; the digest ranks {what} ({took:.0f} s)")


if __name__ == "__main__":
    main()
