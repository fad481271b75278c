"""Every benchmark query's answer on a built archive, saved or compared: a speed change must
leave each query's hits, scores, snippets and note exactly as they were.

    .venv/bin/python -m benchmarks.hits benchmarks/out/chain_1000000.db --save before.json
    .venv/bin/python -m benchmarks.hits benchmarks/out/chain_1000000.db --compare before.json

The queries are the latency benchmark's 65, its `data-*` classes (30 each) and the planted
titles; the deadline is lifted (`--deadline`, 60 s), so no answer depends on the machine's
load. Prints the queries whose answers differ and exits 1 if any do.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any

from benchmarks.archive import sidecar
from benchmarks.latency import NOW, QUERIES, data_classes
from bot.search import FtsSearch
from bot.store import SqliteStore


def answers(path: Path, deadline: float, per_class: int) -> dict[str, Any]:
    """Query text -> its reply (hits as id, score, snippet; the note)."""
    with SqliteStore(path) as store:
        index = FtsSearch(store)
        queries = [q for qs in QUERIES.values() for q in qs]
        queries += [q for qs in data_classes(store, per_class).values() for q in qs]
        record = json.loads(sidecar(path).read_text()) if sidecar(path).exists() else {}
        queries += list(record.get("planted", {}).values())
        out: dict[str, Any] = {}
        for query in dict.fromkeys(queries):
            reply = index.search(query, now=NOW, deadline=deadline)
            hits = [[h.paper.id, h.score, [list(run) for run in h.snippet]] for h in reply.hits]
            out[query] = {"hits": hits, "note": reply.note}
        return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("archive", type=Path)
    parser.add_argument("--save", type=Path, help="write the answers here")
    parser.add_argument("--compare", type=Path, help="compare with answers saved earlier")
    parser.add_argument("--deadline", type=float, default=60.0)
    parser.add_argument("--per-class", type=int, default=30, help="queries per data- class")
    args = parser.parse_args()
    started = time.process_time()
    found = answers(args.archive, args.deadline, args.per_class)
    print(f"{len(found)} queries answered in {time.process_time() - started:.1f}s of CPU")
    if args.save:
        args.save.write_text(json.dumps(found, indent=0))
    if args.compare:
        # Through JSON, so floats and tuples compare as they were saved.
        now = json.loads(json.dumps(found))
        before = json.loads(args.compare.read_text())
        differ = [q for q in before.keys() | now.keys() if before.get(q) != now.get(q)]
        for query in sorted(differ):
            was, is_ = before.get(query), now.get(query)
            print(f"  differs: {query!r}")
            print(f"    before: {json.dumps(was)[:300]}")
            print(f"    now:    {json.dumps(is_)[:300]}")
        print(f"{len(differ)} of {len(before)} answers differ")
        sys.exit(1 if differ else 0)


if __name__ == "__main__":
    main()
