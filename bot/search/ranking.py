"""Ranking on top of BM25: exact titles first, then papers with every term, then papers with
some of them; within each, BM25 with lifts; small near-tie boosts; and snippets.

BM25 weights the title 4x the abstract, authors 2x. A paper with every term in its title gets
its score doubled (a boost, not a tier: a squarely on-topic abstract can still outrank it); so
does one with a typed name in its author list (engine.named), and a query that is the name
lists that person's papers after the exact titles (engine.by_name_first).
Two more boosts, each at most a few per cent of the score, only reorder papers whose scores are
already within that margin:
- upvotes: up to +4% at 200 or more Hugging Face upvotes (log scale);
- recency: up to +3% for a paper from today, halving every 180 days.
A paper whose whole title (or the part before its colon) is exactly the typed words ranks first.
"""

from __future__ import annotations

import heapq
import math
from collections.abc import Collection, Mapping, Sequence
from datetime import date, datetime
from typing import Any

from bot.models import Paper
from bot.replies import Snippet

TITLE_WEIGHT = 4.0
WEIGHTS = (TITLE_WEIGHT, 1.0, 2.0, 1.0)  # title, abstract, authors, keywords
UPVOTE_BOOST = 0.04
UPVOTE_SATURATION = 200
RECENCY_BOOST = 0.03
RECENCY_HALF_LIFE_DAYS = 180.0

MARK_OPEN, MARK_CLOSE = "\x02", "\x03"


def paper_day(row: dict[str, Any]) -> date | None:
    """Paper.day of a papers row (ISO text): the first of Paper.DAY_FIELDS that is a date."""
    for name in Paper.DAY_FIELDS:
        value = row.get(name)
        if value:
            try:
                return date.fromisoformat(str(value)[:10])
            except ValueError:
                continue
    return None


def boosted(score: float, row: dict[str, Any], now: datetime) -> float:
    """A BM25 score (higher is better) with the documented upvote and recency boosts."""
    upvotes = max(0, int(row.get("upvotes") or 0))
    lift = UPVOTE_BOOST * min(1.0, math.log1p(upvotes) / math.log1p(UPVOTE_SATURATION))
    day = paper_day(row)
    if day is not None:
        age = max(0, (now.date() - day).days)
        lift += RECENCY_BOOST * 0.5 ** (age / RECENCY_HALF_LIFE_DAYS)
    return score * (1.0 + lift)


def order(rows: list[dict[str, Any]], now: datetime) -> list[dict[str, Any]]:
    """Rows boosted and sorted by boosted score, newest first on a tie."""
    out = [{**row, "score": boosted(float(row["score"]), row, now)} for row in rows]
    out.sort(key=lambda r: (-r["score"], -r["rowid"]))
    return out


def tiers(
    exact: list[int],
    scored: Sequence[list[tuple[int, float]]],
    best: int,
    keep: Collection[int] = (),
) -> list[list[int]]:
    """The answer's tiers of rowids: the exact titles, then the `best` scored of each tier of
    `scored` (the papers with every term, then those with some), and the `best` scored of
    those of `keep` below them (papers a lift may raise)."""
    ranked = []
    for tier in scored:
        top = [rowid for rowid, _ in heapq.nlargest(best, tier, key=lambda pair: pair[1])]
        if keep and len(tier) > best:
            chosen = set(top)
            kept = [pair for pair in tier if pair[0] in keep and pair[0] not in chosen]
            top += [rowid for rowid, _ in heapq.nlargest(best, kept, key=lambda pair: pair[1])]
        ranked.append(top)
    return [exact, *ranked]


def in_tiers(
    ranks: list[list[int]],
    rows: Mapping[int, dict[str, Any]],
    scores: Mapping[int, float],
    lift: Mapping[int, float],
    now: datetime,
) -> list[dict[str, Any]]:
    """The rows of each tier (see tiers) in turn, each paper once, a tier ordered by its score
    times its lift with the near-tie boosts (order)."""
    ordered: list[dict[str, Any]] = []
    placed: set[int] = set()
    for tier in ranks:
        group = [
            {**rows[r], "score": scores.get(r, 0.0) * lift.get(r, 1.0)}
            for r in tier
            if r in rows and r not in placed
        ]
        placed.update(r for r in tier if r in rows)
        ordered += order(group, now)
    return ordered


def snippet_runs(marked: str) -> Snippet:
    """An FTS5 snippet with MARK_OPEN/MARK_CLOSE around matches, as (text, is_match) runs."""
    runs: list[tuple[str, bool]] = []
    rest = marked
    while rest:
        start = rest.find(MARK_OPEN)
        if start < 0:
            runs.append((rest, False))
            break
        if start:
            runs.append((rest[:start], False))
        end = rest.find(MARK_CLOSE, start)
        if end < 0:
            runs.append((rest[start + 1 :], True))
            break
        runs.append((rest[start + 1 : end], True))
        rest = rest[end + 1 :]
    return _merge(runs)


def _merge(runs: list[tuple[str, bool]]) -> Snippet:
    merged: list[tuple[str, bool]] = []
    for text, hit in runs:
        if not text:
            continue
        if merged and merged[-1][1] == hit:
            merged[-1] = (merged[-1][0] + text, hit)
        else:
            merged.append((text, hit))
    return tuple(merged)


def has_match(snippet: Snippet) -> bool:
    """True when a snippet marks at least one matched term."""
    return any(hit for _, hit in snippet)
