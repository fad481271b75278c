"""Build 100k / 1M (optionally 2.5M) synthetic archives and time search against raw FTS5.

    .venv/bin/python -m benchmarks.latency                 # 100k and 1M
    .venv/bin/python -m benchmarks.latency --sizes 100000  # one size
    .venv/bin/python -m benchmarks.latency --sizes 2500000 --reuse
    .venv/bin/python -m benchmarks.latency --sizes 1000000 --reuse --classes mid --per-class 50

Per query class it reports median, p99 and max milliseconds of the shipped `search()` (snippets
included) and of the raw FTS5 query on the same terms (`MATCH` + `ORDER BY bm25() LIMIT 10`, the
floor plain FTS5 gives), plus ingest rate, DB size, a daily 2,000-paper batch through
SqlitePapers.upsert, and the searching process' peak RSS.
"""

from __future__ import annotations

import argparse
import json
import random
import resource
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from datetime import UTC, date, datetime
from pathlib import Path

from benchmarks.archive import build
from benchmarks.synthetic import Archive
from bot.models import Paper
from bot.search import FtsSearch
from bot.search.expansion import phrase
from bot.search.grammar import tokens
from bot.search.ranking import WEIGHTS
from bot.store import SqliteStore

OUT = Path(__file__).parent / "out"
NOW = datetime(2026, 9, 1, tzinfo=UTC)
ABBREVIATIONS = [
    "LLM", "meta-rl", "RLHF", "ViT", "MoE", "RAG", "CoT", "VLM", "GNN", "NeRF", "TTS", "ASR",
    "OOD", "GAN", "KD", "ICL", "meta RL", "LLMs", "mixture of experts", "chain-of-thought",
]  # fmt: skip
PHRASES = [
    '"reinforcement learning"', '"language models"', '"diffusion models"', '"chain of thought"',
    '"state of the art"', '"video generation"', '"reward model"', '"text to image"',
    '"large language models"', '"multimodal large language models"',
]  # fmt: skip


def query_classes(store: SqliteStore, per_class: int, seed: int = 3) -> dict[str, list[str]]:
    """Queries per class, picked by how many papers hold each word."""
    rng = random.Random(seed)
    db = store.db
    total = store.papers.count()
    db.execute(
        "CREATE VIRTUAL TABLE IF NOT EXISTS temp.bench_vocab USING fts5vocab(main, papers_fts, row)"
    )
    rows = db.execute("SELECT term, doc FROM temp.bench_vocab WHERE term GLOB '[a-z]*'").fetchall()

    def band(low: float, high: float) -> list[str]:
        return [t for t, n in rows if low * total <= n <= high * total and len(t) > 3]

    rare, mid = band(5 / total, 60 / total), band(0.002, 0.03)
    # like "deep learning model": two very common words and a fairly common one
    very, fairly = band(0.3, 0.95), band(0.1, 0.3)
    return {
        "rare": [rng.choice(rare) for _ in range(per_class)],
        "mid": [f"{rng.choice(mid)} {rng.choice(mid)}" for _ in range(per_class)],
        "common": [
            " ".join([rng.choice(fairly), *rng.sample(very, 2)])
            for _ in range(max(10, per_class // 2))
        ],
        "abbreviation": [rng.choice(ABBREVIATIONS) for _ in range(per_class)],
        "phrase": [rng.choice(PHRASES) for _ in range(per_class)],
    }


def raw_fts(store: SqliteStore, text: str) -> None:
    """Plain FTS5: the typed tokens, quoted and ANDed, ranked by bm25 over every match."""
    if text.startswith('"'):
        match = phrase(tokens(text))
    else:
        match = " AND ".join(phrase(tokens(w)) for w in text.split() if tokens(w))
    bm25 = "bm25(papers_fts, " + ", ".join(f"{w:g}" for w in WEIGHTS) + ")"
    store.db.execute(
        f"SELECT rowid FROM papers_fts WHERE papers_fts MATCH ? ORDER BY {bm25} LIMIT 10", [match]
    ).fetchall()


def timings(call: Callable[[str], object], queries: list[str]) -> dict[str, float]:
    """Median, p99 and max milliseconds of call(query) over the queries (after one warm-up)."""
    call(queries[0])
    spent = []
    for q in queries:
        started = time.perf_counter()
        call(q)
        spent.append((time.perf_counter() - started) * 1000)
    spent.sort()
    p99 = spent[min(len(spent) - 1, round(0.99 * (len(spent) - 1)))]
    return {"median": statistics.median(spent), "p99": p99, "max": spent[-1], "n": len(spent)}


CLASSES = ("rare", "mid", "common", "abbreviation", "phrase")


def measure(path: Path, per_class: int, only: list[str] | None = None) -> dict[str, object]:
    """Search latency per class, shipped vs raw; run in a fresh process for an honest RSS."""
    with SqliteStore(path) as store:
        index = FtsSearch(store)
        classes = query_classes(store, per_class)
        result: dict[str, object] = {"papers": store.papers.count()}
        for name, queries in classes.items():
            if only and name not in only:
                continue
            shipped = timings(lambda q: index.search(q, now=NOW), queries)
            raw = timings(lambda q: raw_fts(store, q), queries)
            notes = [index.search(q, now=NOW).note for q in queries]
            result[name] = {
                "search": shipped,
                "raw_fts5": raw,
                "example": queries[0],
                "bounded": sum("very common" in n for n in notes),
                "deadline": sum("took too long" in n for n in notes),
            }
        batch = [
            Paper(id=f"daily.{i}", title=p.title, abstract=p.abstract, published=date(2026, 9, 1))
            for i, p in enumerate(Archive(seed=99).papers(2000, first=10**8))
        ]
        started = time.perf_counter()
        store.papers.upsert(batch, NOW)
        result["daily_batch_2000_s"] = time.perf_counter() - started
    result["peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return result


def main() -> None:
    """Build each size, then measure it in a separate process."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[100_000, 1_000_000])
    parser.add_argument("--per-class", type=int, default=100)
    parser.add_argument("--reuse", action="store_true", help="keep an archive already built")
    # The queries of a class are the same whatever the selection (one seeded pick of all).
    parser.add_argument(
        "--classes", nargs="+", choices=CLASSES, help="time only these query classes"
    )
    parser.add_argument("--measure", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.measure:
        print(json.dumps(measure(args.measure, args.per_class, args.classes)))
        return
    OUT.mkdir(exist_ok=True)
    for size in args.sizes:
        path = OUT / f"archive_{size}.db"
        if not (args.reuse and path.exists()):
            report = build(path, size)
            print(
                f"{size:>9,} papers: insert {report.insert_seconds:6.1f}s, index"
                f" {report.index_seconds:6.1f}s, total {report.total_seconds:6.1f}s"
                f" ({size / report.total_seconds:,.0f} papers/s),"
                f" DB {report.db_bytes / 2**20:,.0f} MB"
            )
        only = ["--classes", *args.classes] if args.classes else []
        line = subprocess.run(
            [sys.executable, "-m", "benchmarks.latency", "--measure", str(path),
             "--per-class", str(args.per_class), *only],
            check=True, capture_output=True, text=True,
        ).stdout  # fmt: skip
        print_measurement(json.loads(line))


def print_measurement(result: dict[str, object]) -> None:
    """One table per archive."""
    print(f"\n{result['papers']:,} papers, ms")
    print(f"  {'class':<21} search: median    p99    max | raw FTS5: median    p99    max")
    for name in CLASSES:
        if name not in result:
            continue
        row = result[name]
        assert isinstance(row, dict)
        s, r = row["search"], row["raw_fts5"]
        print(
            f"  {name:<14} (n={s['n']:>3})  {s['median']:7.2f} {s['p99']:6.1f} {s['max']:6.1f}"
            f" |         {r['median']:7.2f} {r['p99']:6.1f} {r['max']:6.1f}"
            f"   bounded {row['bounded']:>3}, deadline {row['deadline']:>3}, e.g. {row['example']}"
        )
    print(
        f"  daily batch of 2,000:"
        f" {result['daily_batch_2000_s']:.2f}s, peak RSS of the searching process:"
        f" {result['peak_rss_mb']:.0f} MB"
    )


if __name__ == "__main__":
    main()
