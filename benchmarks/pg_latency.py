"""Search latency on PostgreSQL beside SQLite, over the same word-chain archive.

    .venv/bin/python -m benchmarks.pg_latency                    # 100k papers
    .venv/bin/python -m benchmarks.pg_latency --size 1000000 --reuse
    .venv/bin/python -m benchmarks.pg_latency --size 1000000 --reuse --url postgresql://...

Builds (or reuses) benchmarks/out/chain_<size>.db as benchmarks.latency does and loads it into
PostgreSQL in bulk: the papers through COPY with the full-text index dropped and built once
after, then the search side's tables rebuilt (about half an hour for 1M papers on two busy
cores, where the row-by-row copy of `papers-bot migrate` would take hours). Without `--url` the
server is a throwaway local one with SERVER_SETTINGS; with `--url` an already loaded database
is reused as it is.
Then it times, on the same queries per class, the shipped `search()` of each store and the raw
baseline of each (SQLite: the words ANDed in FTS5 `MATCH` ordered by bm25; PostgreSQL: the
words ANDed as a tsquery through the GIN index ordered by `ts_rank_cd`, each over every match,
top 10): median, p99 and max ms, how many replies came back empty, bounded (ranked among the
newest matches) or out of time, and the peak RSS of this process and of the PostgreSQL server.
"""

from __future__ import annotations

import argparse
import contextlib
import re
import resource
import subprocess
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from psycopg import errors

from benchmarks.archive import build
from benchmarks.latency import NOW, OUT, QUERIES, data_classes, raw_fts, stats, timed
from bot.search import FtsSearch
from bot.search.grammar import tokens
from bot.search.postgres import RANK_WEIGHTS, PgSearch
from bot.store import SqliteStore
from bot.store import row_to_paper as sqlite_row_to_paper
from bot.store.postgres import PgStore, paper_to_row
from bot.store.postgres.papers import COLUMNS
from tests.postgres_server import PostgresServer

_PIECE = re.compile(r'"[^"]*"|\S+')
RAW_LIMIT_S = 1  # the raw baseline ranks every match: cut off there (counted as "c")
# A server sized like a real one: the default 128 MB of shared buffers holds a tenth of the
# 1M-paper heap, and every query would read its pages in again.
SERVER_SETTINGS = {"shared_buffers": "4GB", "effective_cache_size": "12GB"}


def bulk_load(sqlite: SqliteStore, postgres: PgStore) -> dict[str, float]:
    """Every paper of `sqlite` into an empty `postgres` through COPY, the GIN index built after
    the load, then the search side's tables; seconds per step."""
    spent: dict[str, float] = {}
    started = time.perf_counter()
    columns = ("seq", *COLUMNS)
    with postgres.db.transaction() as conn:
        conn.execute("DROP INDEX papers_search")
        with conn.cursor().copy(f"COPY papers ({', '.join(columns)}) FROM STDIN") as copy:
            for r in sqlite.db.query("SELECT * FROM papers ORDER BY seq"):
                row = paper_to_row(sqlite_row_to_paper(r))
                copy.write_row([r["seq"], *(row[c] for c in COLUMNS)])
        conn.execute(
            "SELECT setval(pg_get_serial_sequence('papers', 'seq'), (SELECT max(seq) FROM papers))"
        )
    spent["copy"] = time.perf_counter() - started
    started = time.perf_counter()
    postgres.db.run("SET maintenance_work_mem = '1GB'")
    postgres.db.run("CREATE INDEX papers_search ON papers USING gin (search)")
    postgres.db.run("RESET maintenance_work_mem")
    spent["gin index"] = time.perf_counter() - started
    started = time.perf_counter()
    PgSearch(postgres).rebuild()
    spent["search tables"] = time.perf_counter() - started
    started = time.perf_counter()
    postgres.db.run("VACUUM ANALYZE")
    spent["vacuum analyze"] = time.perf_counter() - started
    return spent


def raw_tsvector(postgres: PgStore, text: str) -> int:
    """Plain PostgreSQL full-text search: the typed words (and quoted phrases) ANDed as a
    tsquery, ts_rank_cd over every match, top 10; hits, or -1 when it ran past RAW_LIMIT_S."""
    pieces = [" ".join(tokens(p)) for p in _PIECE.findall(text) if tokens(p)]
    if not pieces:
        return 0
    query = " && ".join(["phraseto_tsquery('papers', %s)"] * len(pieces))
    try:
        with postgres.db.transaction() as conn:
            conn.execute(f"SET LOCAL statement_timeout = '{RAW_LIMIT_S}s'")
            rows = conn.execute(
                f"SELECT seq FROM papers, (SELECT {query} AS q) q WHERE search @@ q.q"
                " ORDER BY ts_rank_cd(%s, search, q.q) DESC LIMIT 10",
                [*pieces, RANK_WEIGHTS],
            ).fetchall()
    except errors.QueryCanceled:
        return -1
    return len(rows)


def server_rss_mb(postgres: PgStore) -> float:
    """The largest peak RSS (VmHWM) of the PostgreSQL server's processes, in MB: the shared
    buffers a process touched count in each, so a sum would count them many times (0 when the
    server runs elsewhere)."""
    backend = postgres.db.one("SELECT pg_backend_pid()")
    try:
        stat = Path(f"/proc/{backend[0] if backend else 0}/stat").read_text()
    except OSError:
        return 0.0
    postmaster = stat.rsplit(") ", 1)[1].split()[1]  # the backend's parent
    children = subprocess.run(
        ["ps", "-o", "pid=", "--ppid", postmaster], capture_output=True, text=True, check=False
    ).stdout.split()
    peak = 0.0
    for process in [postmaster, *children]:
        with contextlib.suppress(OSError):
            for line in Path(f"/proc/{process}/status").read_text().splitlines():
                if line.startswith("VmHWM:"):
                    peak = max(peak, int(line.split()[1]) / 1024)
    return peak


@contextlib.contextmanager
def postgres_at(url: str | None) -> Iterator[PgStore]:
    """The store at `url`, else on a throwaway local server."""
    if url:
        with PgStore(url) as store:
            yield store
        return
    with PostgresServer(SERVER_SETTINGS) as server, PgStore(server.new_database()) as store:
        yield store


def row(figures: dict[str, float]) -> str:
    return f"{figures['median']:.0f}/{figures['p99']:.0f}/{figures['max']:.0f}"


def main() -> None:
    """Build or reuse the archive, load it into PostgreSQL, time both searches per class."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--size", type=int, default=100_000)
    parser.add_argument("--per-class", type=int, default=50, help="queries per data- class")
    parser.add_argument("--repeat", type=int, default=3, help="timed passes over the queries")
    parser.add_argument("--reuse", action="store_true", help="keep an archive already built")
    parser.add_argument("--url", help="a PostgreSQL database to use (loaded when it is empty)")
    parser.add_argument("--load-only", action="store_true", help="load, do not measure")
    parser.add_argument("--classes", nargs="+", help="time only these classes")
    args = parser.parse_args()
    OUT.mkdir(exist_ok=True)
    path = OUT / f"chain_{args.size}.db"
    if not (args.reuse and path.exists()):
        build(path, args.size)
    with SqliteStore(path) as sqlite, postgres_at(args.url) as postgres:
        if not postgres.papers.count():
            spent = bulk_load(sqlite, postgres)
            steps = ", ".join(f"{name} {s:.0f} s" for name, s in spent.items())
            print(f"{sqlite.papers.count():,} papers loaded into PostgreSQL: {steps}")
        size = postgres.db.one("SELECT pg_size_pretty(pg_database_size(current_database()))")
        print(
            f"PostgreSQL: {postgres.papers.count():,} papers, database {size[0] if size else '?'}"
        )
        if args.load_only:
            return
        pg_search = PgSearch(postgres)
        classes = QUERIES | data_classes(sqlite, args.per_class)
        if args.classes:
            classes = {k: v for k, v in classes.items() if k in args.classes}
        sqlite_search = FtsSearch(sqlite)
        engines: dict[str, Callable[[str], Any]] = {
            "sqlite": lambda q: sqlite_search.search(q, now=NOW),
            "raw FTS5": lambda q: raw_fts(sqlite, q),
            "postgres": lambda q: pg_search.search(q, now=NOW),
            "raw tsvector": lambda q: raw_tsvector(postgres, q),
        }
        print(
            "ms median/p99/max; e: empty replies, b: bounded to the newest, t: out of time,"
            f" c: raw tsvector cut off at {RAW_LIMIT_S} s"
        )
        print(f"{'class':<18}{'n':>4}  " + "".join(f"{e:<22}" for e in engines))
        for name, queries in classes.items():
            if not queries:
                continue
            cells = []
            for engine, call in engines.items():
                # The raw tsvector baseline takes up to RAW_LIMIT_S a query: one timed pass.
                passes = 1 if engine == "raw tsvector" else args.repeat
                # wall clock: PostgreSQL's work is the server's CPU, not this process'
                figures = stats(timed(call, queries, passes)[0])
                cell = row(figures)
                if engine == "raw tsvector":
                    cell += f" c{sum(call(q) < 0 for q in queries)}"
                elif not engine.startswith("raw"):
                    replies = [call(q) for q in queries]
                    empty = sum(not r.hits for r in replies)
                    bounded = sum("papers match: ranked the newest" in r.note for r in replies)
                    late = sum("took too long" in r.note for r in replies)
                    cell += f" e{empty} b{bounded} t{late}"
                cells.append(cell.ljust(22))
            print(f"{name:<18}{len(queries):>4}  " + "".join(cells), flush=True)
        rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        print(f"peak RSS: this process (SQLite side) {rss:.0f} MB,"
              f" largest PostgreSQL server process {server_rss_mb(postgres):.0f} MB")  # fmt: skip


if __name__ == "__main__":
    main()
