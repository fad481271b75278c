"""Does the digest learn a channel's taste from a few saves? Simulated channels over real papers.

    python -m benchmarks.taste            # dev and test topics, 1/2/3 saves, 10 draws each
    python -m benchmarks.taste --speed    # also: training time over 50,000 candidate papers

Corpus: the 6,039 real papers of hf_daily_2024-05_2026-07_dev.tar.xz. Topics: the blind
relevance judgments of benchmarks/relevance (a query's papers graded 2, "on topic", by judges who
read the query's intent), so a topic is defined by people, not by the model's tf-idf. Queries of
the author and typo classes are left out (an author is not a topic; a typo repeats a query), as
are topics with fewer than 8 papers and topics overlapping an earlier one by half. The split is
the relevance set's: every choice in bot/taste.py was made on `dev`; `test` is reported only.

A simulated channel is interested in one topic. Its members saved k of the topic's papers (k = 1,
2, 3, drawn at random, 10 draws per topic); 30 papers it was shown (drawn from the 300 most
trending, none of the topic) were not saved. The digest ranks every other paper of the corpus;
recall@10 is the share of the topic's remaining papers among the first 10 (out of at most 10).
Trending is the documented score on each paper's own day. Systems:

- trending: the digest without taste (taste off).
- arxiv-sanity: tf-idf (its settings) + LinearSVC(C=0.01, balanced) on the saves against every
  other paper, ranked by the SVM alone.
- taste: bot.taste (weighted saves, shown-not-saved negatives, one feedback round) blended with
  trending exactly as bot.selection does.

"trending share" is the share of a system's 10 picks that trending alone would also pick.
"""

from __future__ import annotations

import argparse
import json
import random
import re
import statistics
import tarfile
import tempfile
import time
from collections import defaultdict
from collections.abc import Callable, Sequence
from datetime import date
from pathlib import Path

import numpy as np
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.svm import LinearSVC

from benchmarks.realdata import real_papers
from bot import taste
from bot.models import Paper
from bot.selection import blend, trending_score

HERE = Path(__file__).parent
CORPUS = HERE / "hf_daily_2024-05_2026-07_dev.tar.xz"
RELEVANCE = HERE / "relevance"
SKIP_CLASSES = {"author", "typo"}
MIN_TOPIC = 8
DRAWS = 10
SHOWN = 30
K = 10

# (saves with their weights, papers shown and not saved) -> {system: a score per corpus paper}
Scorer = Callable[[dict[str, float], list[str]], dict[str, np.ndarray]]

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


def arxiv_sanity(corpus: Sequence[Paper]) -> Scorer:
    """The arxiv-sanity-lite recommender: its tf-idf settings and SVM, on the saves alone."""
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
    matrix = vectorizer.fit_transform([f"{p.title}. {p.abstract}" for p in corpus])
    ids = [p.id for p in corpus]

    def score(saves: dict[str, float], shown: list[str]) -> dict[str, np.ndarray]:
        labels = np.array([pid in saves for pid in ids], dtype=np.int8)
        svm = LinearSVC(class_weight="balanced", C=0.01, tol=1e-6, max_iter=10000)
        svm.fit(matrix, labels)
        return {"arxiv-sanity": svm.decision_function(matrix)}

    return score


def channel_taste(corpus: Sequence[Paper], trending: np.ndarray) -> Scorer:
    """bot.taste trained as the digest trains it, ranked alone ("taste alone") and blended with
    trending exactly as the digest blends it ("taste"); one model for both."""
    vectors = taste.PaperVectors(corpus)
    ids = [p.id for p in corpus]
    trend = trending.tolist()

    def score(saves: dict[str, float], shown: list[str]) -> dict[str, np.ndarray]:
        model = taste.train(vectors, saves, shown)
        assert model is not None
        liked = model.scores(ids)
        return {"taste": np.array(blend(trend, liked.tolist())), "taste alone": liked}

    return score


def simulate(
    corpus: Sequence[Paper],
    topics: dict[str, list[tuple[str, list[str]]]],
    pool: set[str],
    saves_per: Sequence[int],
    draws: int = DRAWS,
    seed: int = 7,
) -> None:
    """Run every system on every simulated channel; print recall@10 and the trending share.
    The digest ranks the papers of `pool` the channel was not shown."""
    ids = [p.id for p in corpus]
    trending = np.array([own_day_trending(p) for p in corpus])
    by_trend = [ids[i] for i in np.argsort(-trending)]
    scorers = [
        lambda saves, shown: {"trending": trending},
        arxiv_sanity(corpus),
        channel_taste(corpus, trending),
    ]
    names = ["trending", "arxiv-sanity", "taste alone", "taste"]
    outside = np.array([pid not in pool for pid in ids])
    rng = random.Random(seed)
    # (split, k, system) -> [(recall@10, trending share)]
    results: dict[tuple[str, int, str], list[tuple[float, float]]] = defaultdict(list)
    for split, split_topics in topics.items():
        for _name, papers in split_topics:
            topic = set(papers)
            for k in saves_per:
                for _ in range(draws):
                    saved = rng.sample(papers, k)
                    shown = rng.sample([p for p in by_trend[:300] if p not in topic], SHOWN)
                    hidden = outside.copy()
                    hidden[[corpus_row(ids, pid) for pid in (*saved, *shown)]] = True
                    rest = topic - set(saved) - set(shown)
                    picks = {}
                    for scorer in scorers:
                        for name, scores in scorer(dict.fromkeys(saved, 1.0), shown).items():
                            ranked = np.argsort(-np.where(hidden, -np.inf, scores), kind="stable")
                            picks[name] = {ids[i] for i in ranked[:K]}
                    for name in names:
                        recall = len(rest & picks[name]) / min(K, len(rest))
                        share = len(picks["trending"] & picks[name]) / K
                        results[(split, k, name)].append((recall, share))
    counts = ", ".join(f"{split} {len(t)}" for split, t in topics.items())
    print(f"{len(pool):,} candidate papers; topics: {counts}")
    print(f"recall@10 (trending share of the 10 picks), mean over topics x {draws} draws")
    print(f"{'split':<6}{'saves':>6}  " + "".join(f"{name:<18}" for name in names))
    for split in topics:
        for k in saves_per:
            cells = []
            for name in names:
                rows = results[(split, k, name)]
                recall = statistics.mean(r for r, _ in rows)
                share = statistics.mean(s for _, s in rows)
                cells.append(f"{recall:.3f} ({share:.0%})".ljust(18))
            print(f"{split:<6}{k:>6}  " + "".join(cells))


_ROWS: dict[int, dict[str, int]] = {}


def corpus_row(ids: list[str], pid: str) -> int:
    """The index of a paper id in `ids` (memoised per list)."""
    rows = _ROWS.setdefault(id(ids), {p: i for i, p in enumerate(ids)})
    return rows[pid]


def speed(corpus: Sequence[Paper], size: int = 50_000) -> None:
    """Time the steps of one channel's taste over `size` candidate papers."""
    copies = [
        Paper(id=f"{i}-{p.id}", title=p.title, abstract=p.abstract)
        for i in range(size // len(corpus) + 1)
        for p in corpus
    ][:size]
    started = time.perf_counter()
    vectors = taste.PaperVectors(copies)
    vectorized = time.perf_counter() - started
    saves = dict.fromkeys([copies[0].id, copies[1].id], 1.0)
    started = time.perf_counter()
    model = taste.train(vectors, saves, [c.id for c in copies[2:32]])
    assert model is not None
    model.scores(vectors.ids)
    trained = time.perf_counter() - started
    print(
        f"{size:,} candidate papers, {vectors.matrix.shape[1]:,} terms: tf-idf {vectorized:.2f} s"
        f" (once per digest run, shared by every channel); one channel's training with its"
        f" feedback round and scoring every candidate {trained:.2f} s"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--split", choices=["dev", "test", "both"], default="both")
    parser.add_argument("--topics", choices=["keywords", "judged", "both"], default="both")
    parser.add_argument("--speed", action="store_true", help="also time 50,000 candidates")
    parser.add_argument("--draws", type=int, default=DRAWS, help="draws of saves per topic")
    parser.add_argument("--saves", default="1,2,3", help="saves per channel, e.g. 2")
    args = parser.parse_args()
    corpus = load_corpus()
    splits = ("dev", "test") if args.split == "both" else (args.split,)
    saves = [int(k) for k in args.saves.split(",")]
    if args.topics in ("keywords", "both"):
        print("Topics from Hugging Face keywords; candidates: the papers with keywords")
        topics = keyword_topics(corpus)
        pool = {p.id for p in corpus if p.keywords}
        simulate(corpus, {s: topics[s] for s in splits}, pool, saves, args.draws)
    if args.topics in ("judged", "both"):
        print("Topics from the blind relevance judgments; candidates: every paper")
        topics = load_topics({p.id for p in corpus})
        pool = {p.id for p in corpus}
        simulate(corpus, {s: topics[s] for s in splits}, pool, saves, args.draws)
    if args.speed:
        speed(corpus)


if __name__ == "__main__":
    main()
