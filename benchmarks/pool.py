"""Blind judging shards for the (query, paper) pairs of a quality run that no judge has graded.

`python -m benchmarks.quality --pool-out DIR` runs the systems as usual, then writes every
unjudged pair of their top 10s to DIR as shards of whole queries, in the format the judging
guidelines (`relevance/guidelines.md`) describe:

- `shard_<k>.md`: per query its text, class and intent, then its unjudged papers in a random
  order (seeded by the query id, so a rerun writes the same files), each with its id, title,
  authors (the first 6 then "+N more"; every author for author queries) and the abstract cut at
  about 900 characters. Nothing says which system found a paper or at what rank.
- `answers_<k>.tsv`: `query_id, paper_id, grade` with the grade left empty, in the shard's order.
- `guidelines.md`: a copy of the guidelines the judges work from.
- `runs.json`: the systems' top 10s (`{system: {query id: [paper ids]}}`, for `pool_runs.json`
  once the shards are judged). It names systems and ranks: never hand it to a judge.

The filled answers are appended to `relevance/judgments.tsv`.
"""

from __future__ import annotations

import json
import random
import shutil
from collections.abc import Callable, Mapping
from pathlib import Path

from bot.models import Paper

SHOWN_AUTHORS = 6
ABSTRACT_CHARS = 900
SHARD_PAIRS = 150  # about one judge's sitting

Runs = Mapping[str, Mapping[str, list[str]]]  # system -> query id -> top 10 paper ids


def unjudged(
    queries: list[dict[str, str]], runs: Runs, judged: Mapping[str, Mapping[str, int]]
) -> dict[str, list[str]]:
    """Query id -> the papers of any system's top 10 for it that no judge has graded, in a
    random order seeded by the query id (the same every run, telling nothing of rank)."""
    out: dict[str, list[str]] = {}
    for query in queries:
        qid = query["id"]
        found = {pid for run in runs.values() for pid in run.get(qid, [])[:10]}
        new = sorted(found - set(judged.get(qid, {})))
        if new:
            random.Random(qid).shuffle(new)
            out[qid] = new
    return out


def shards(pairs: Mapping[str, list[str]], size: int = SHARD_PAIRS) -> list[list[str]]:
    """The query ids in groups of whole queries, each of about `size` pairs."""
    groups: list[list[str]] = [[]]
    count = 0
    for qid, papers in pairs.items():
        if groups[-1] and count + len(papers) > size:
            groups.append([])
            count = 0
        groups[-1].append(qid)
        count += len(papers)
    return [g for g in groups if g]


def authors_line(authors: tuple[str, ...], every: bool) -> str:
    """The authors as a judge sees them: the first SHOWN_AUTHORS then "+N more", or all."""
    if every or len(authors) <= SHOWN_AUTHORS:
        return ", ".join(authors)
    return ", ".join(authors[:SHOWN_AUTHORS]) + f" +{len(authors) - SHOWN_AUTHORS} more"


def cut(text: str, limit: int = ABSTRACT_CHARS) -> str:
    """The text up to about `limit` characters, cut at a word, with "…" when cut."""
    text = " ".join(text.split())
    if len(text) <= limit:
        return text
    return text[:limit].rsplit(" ", 1)[0] + " …"


def shard_text(
    number: int,
    qids: list[str],
    queries: Mapping[str, dict[str, str]],
    pairs: Mapping[str, list[str]],
    papers: Mapping[str, Paper],
) -> str:
    """One shard's markdown."""
    lines = [
        f"# Shard {number}",
        "",
        "Grade every paper against its query's intent (0 off-topic, 1 related, 2 on topic), as",
        f"`guidelines.md` says; write the grades in `answers_{number}.tsv`. The papers of a query",
        "are in random order.",
    ]
    for qid in qids:
        query = queries[qid]
        lines += [
            "",
            f"## {qid}: {query['query']}",
            "",
            f"- class: {query['class']}",
            f"- intent: {query['intent']}",
        ]
        for pid in pairs[qid]:
            paper = papers[pid]
            lines += [
                "",
                f"### {qid} · {pid}",
                "",
                f"**{' '.join(paper.title.split())}**",
                "",
                f"Authors: {authors_line(paper.authors, query['class'] == 'author')}",
                "",
                cut(paper.abstract) or "(no abstract)",
            ]
    return "\n".join(lines) + "\n"


def write(
    folder: Path,
    queries: list[dict[str, str]],
    runs: Runs,
    judged: Mapping[str, Mapping[str, int]],
    papers: Callable[[list[str]], Mapping[str, Paper]],
    guidelines: Path,
    size: int = SHARD_PAIRS,
) -> tuple[int, int]:
    """Write the shards of the runs' unjudged pairs to `folder` (see the module docstring);
    `papers` fetches papers by id. Returns (pairs, shards)."""
    pairs = unjudged(queries, runs, judged)
    by_id = {q["id"]: q for q in queries}
    found = papers(sorted({pid for pids in pairs.values() for pid in pids}))
    folder.mkdir(parents=True, exist_ok=True)
    for old in [*folder.glob("shard_*.md"), *folder.glob("answers_*.tsv")]:
        old.unlink()  # a rerun replaces the shards; no stale one is left to judge
    groups = shards(pairs, size)
    for number, qids in enumerate(groups, start=1):
        (folder / f"shard_{number}.md").write_text(shard_text(number, qids, by_id, pairs, found))
        rows = ["query_id\tpaper_id\tgrade"] + [f"{q}\t{p}\t" for q in qids for p in pairs[q]]
        (folder / f"answers_{number}.tsv").write_text("\n".join(rows) + "\n")
    shutil.copyfile(guidelines, folder / "guidelines.md")
    top10 = {name: {q: pids[:10] for q, pids in run.items()} for name, run in runs.items()}
    (folder / "runs.json").write_text(json.dumps(top10, indent=1, sort_keys=True) + "\n")
    return sum(map(len, pairs.values())), len(groups)
