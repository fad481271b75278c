"""Search latency on PostgreSQL beside SQLite, over the same word-chain archive.

    .venv/bin/python -m benchmarks.pg_latency                    # 100k papers
    .venv/bin/python -m benchmarks.pg_latency --size 1000000 --reuse

Builds (or reuses) benchmarks/out/chain_<size>.db as benchmarks.latency does, copies it into a
throwaway local PostgreSQL server with the code behind `papers-bot migrate`, then times the
shipped `search()` of each store on the same queries per class: median, p99 and max ms, and
how many replies came back empty or out of time.
"""

from __future__ import annotations

import argparse
import time

from benchmarks.archive import build
from benchmarks.latency import NOW, OUT, QUERIES, data_classes, stats, timed
from bot.search import FtsSearch
from bot.search.postgres import PgSearch
from bot.store import SqliteStore
from bot.store.postgres import PgStore
from bot.store.postgres.copy import copy_sqlite
from tests.postgres_server import PostgresServer


def main() -> None:
    """Build or reuse the archive, copy it into PostgreSQL, time both searches per class."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--size", type=int, default=100_000)
    parser.add_argument("--per-class", type=int, default=50, help="queries per data- class")
    parser.add_argument("--repeat", type=int, default=3, help="timed passes over the queries")
    parser.add_argument("--reuse", action="store_true", help="keep an archive already built")
    args = parser.parse_args()
    OUT.mkdir(exist_ok=True)
    path = OUT / f"chain_{args.size}.db"
    if not (args.reuse and path.exists()):
        build(path, args.size)
    with (
        PostgresServer() as server,
        SqliteStore(path) as sqlite,
        PgStore(server.new_database()) as postgres,
    ):
        started = time.perf_counter()
        copy_sqlite(sqlite, postgres)
        pg_search = PgSearch(postgres)
        pg_search.rebuild()
        print(f"{sqlite.papers.count():,} papers copied to PostgreSQL in"
              f" {time.perf_counter() - started:.0f} s")  # fmt: skip
        postgres.db.run("VACUUM ANALYZE")
        classes = QUERIES | data_classes(sqlite, args.per_class)
        engines = {"sqlite": FtsSearch(sqlite), "postgres": pg_search}
        print(f"{'class':<16}{'n':>4}  " + "".join(f"{e + ' med/p99/max ms':<30}" for e in engines))
        for name, queries in classes.items():
            if not queries:
                continue
            cells = []
            for engine in engines.values():
                spent = timed(lambda q, e=engine: e.search(q, now=NOW), queries, args.repeat)
                figures = stats(spent)
                replies = [engine.search(q, now=NOW) for q in queries]
                empty = sum(not r.hits for r in replies)
                late = sum("took too long" in r.note for r in replies)
                cells.append(
                    f"{figures['median']:.0f}/{figures['p99']:.0f}/{figures['max']:.0f}"
                    f" e{empty} t{late}".ljust(30)
                )
            print(f"{name:<16}{len(queries):>4}  " + "".join(cells))


if __name__ == "__main__":
    main()
