"""search() and match_ids(): the entry points the rest of the bot calls."""

from __future__ import annotations

import logging
import time
from collections.abc import Collection
from datetime import UTC, datetime
from typing import Any

from bot.replies import SearchHit, SearchReply, Snippet
from bot.search import ranking
from bot.search.expansion import Expression, Term, expand, phrase
from bot.search.grammar import Query, parse
from bot.store import Store, row_to_paper
from bot.store import search_index as index

log = logging.getLogger(__name__)

DEFAULT_DEADLINE = 0.25  # seconds for the whole search, snippets included
FALLBACK_SHARE = 0.3  # of the deadline kept back for the newest-first fallback
CANDIDATES = 50  # BM25 candidates re-ranked with the boosts
EMPTY_NOTE = (
    "Type some words to search, e.g. /papers diffusion transformers, "
    '/papers "chain of thought" -survey, or /papers help for the full syntax.'
)
SLOW_NOTE = (
    "Showing the newest matches: ranking every paper with these common words took too long. "
    'Add a rarer word or a "phrase" to narrow it.'
)


def search(
    store: Store,
    text: str,
    *,
    limit: int = 10,
    now: datetime | None = None,
    deadline: float = DEFAULT_DEADLINE,
) -> SearchReply:
    """Answer /papers <text>: ranked hits with snippets; never raises for any input text."""
    started = time.perf_counter()
    now = now or datetime.now(UTC)
    query = parse(text)
    if not query.has_positive:
        return SearchReply(query=query.text, hits=(), note=_join(*query.problems, EMPTY_NOTE))
    try:
        return _search(store, query, max(1, min(limit, 100)), now, started, deadline)
    except Exception:  # the one boundary: a search must answer, whatever went wrong below
        log.exception("search failed for %r", query.text)
        return SearchReply(
            query=query.text, hits=(), note="Search failed on this query; try other words."
        )


def match_ids(store: Store, text: str, among: Collection[str]) -> set[str]:
    """The ids among `among` that match a search query (topic filters of the daily digest)."""
    query = parse(text)
    if not query.has_positive or not among:
        return set()
    expression = _expression(store, query)
    match = expression.match()
    if not match:
        return set()
    return index.matching_ids(store.db, match, sorted(among), _dates(query))


def _search(
    store: Store, query: Query, limit: int, now: datetime, started: float, deadline: float
) -> SearchReply:
    expression = _expression(store, query)
    match = expression.match()
    if not match:
        return SearchReply(query=query.text, hits=(), note=_join(*query.problems, EMPTY_NOTE))
    dates = _dates(query)
    notes = list(query.problems)
    rows: list[dict[str, Any]] = []
    try:
        with index.deadline(store.db, _left(started, deadline * (1 - FALLBACK_SHARE))):
            rows = index.ranked(store.db, match, ranking.WEIGHTS, CANDIDATES, dates)
            rows += _exact_title_rows(store, expression, dates)
    except index.SearchTimeout:
        notes.append(SLOW_NOTE)
        try:
            with index.deadline(store.db, _left(started, deadline)):
                rows = index.newest(store.db, match, ranking.WEIGHTS, limit, dates)
        except index.SearchTimeout:
            rows = []
    ordered = ranking.order(rows, expression.typed_tokens(), now)[:limit]
    snippets = _snippets(store, match, [r["rowid"] for r in ordered], started, deadline)
    hits = tuple(
        SearchHit(row_to_paper(r), round(r["score"], 4), snippets.get(r["rowid"], ()))
        for r in ordered
    )
    notes.append(_expansion_note(expression))
    if not hits:
        notes.append("No papers match. Try fewer words, or check the spelling.")
    return SearchReply(query=query.text, hits=hits, note=_join(*notes))


def _expression(store: Store, query: Query) -> Expression:
    return expand(query, lambda shorts, longs: index.abbreviation_pairs(store.db, shorts, longs))


def _exact_title_rows(
    store: Store, expression: Expression, dates: index.DateRange
) -> list[dict[str, Any]]:
    """Papers whose title starts with the typed words, so an exact title hit is never missed."""
    typed = expression.typed_tokens()
    if not typed:
        return []
    title_only = Expression(
        (Term("title", (typed,)),), expression.authors, expression.excluded
    ).match()
    title_match = f"title : ^{phrase(typed)} AND ({title_only})"
    rows = index.newest(store.db, title_match, ranking.WEIGHTS, 20, dates)
    return [r for r in rows if ranking.is_exact_title(r["title"] or "", typed)]


def _snippets(
    store: Store, match: str, rowids: list[int], started: float, deadline: float
) -> dict[int, Snippet]:
    """Why each hit matched: the abstract passage with the matches, else authors or keywords."""
    out: dict[int, Snippet] = {}
    marks = (ranking.MARK_OPEN, ranking.MARK_CLOSE)
    try:
        with index.deadline(store.db, _left(started, deadline + 0.1)):
            for column in (1, 2, 3, 0):  # abstract, authors, keywords, title
                todo = [r for r in rowids if not ranking.has_match(out.get(r, ()))]
                if not todo:
                    break
                for rowid, text in index.snippets(store.db, match, todo, column, marks, 24).items():
                    runs = ranking.snippet_runs(_plain(text, column))
                    if ranking.has_match(runs) or rowid not in out:
                        out[rowid] = runs
    except index.SearchTimeout:
        pass  # hits without a snippet are still hits
    return out


def _plain(text: str, column: int) -> str:
    """Column text made readable: authors and keywords are stored as JSON lists."""
    if column in (2, 3):
        return text.replace('", "', ", ").replace('["', "").replace('"]', "").strip('[]"')
    return text


def _expansion_note(expression: Expression) -> str:
    extra = [
        " / ".join(" ".join(f) for f in t.forms[1:] if len(f) > 1 or f[0] != "".join(t.forms[0]))
        for t in expression.terms
        if t.expanded
    ]
    extra = [e for e in extra if e]
    return ("Also matching: " + "; ".join(extra)) if extra else ""


def _dates(query: Query) -> index.DateRange:
    return index.DateRange(query.since, query.until)


def _left(started: float, budget: float) -> float:
    return max(0.001, budget - (time.perf_counter() - started))


def _join(*parts: str) -> str:
    return " ".join(p for p in parts if p)
