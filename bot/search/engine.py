"""FtsSearch: search and topic matching over the SQLite store's FTS5 index (a SearchIndex)."""

from __future__ import annotations

import heapq
import logging
import time
from collections.abc import Collection
from datetime import UTC, datetime

from sqlite_utils import Database

from bot.replies import SearchHit, SearchReply, Snippet
from bot.search import fts as index
from bot.search import ranking
from bot.search.expansion import Expression, expand
from bot.search.grammar import Query, parse, tokens
from bot.store import SqliteStore, row_to_paper

log = logging.getLogger(__name__)

DEFAULT_DEADLINE = 0.25  # seconds for the whole search, snippets included
FALLBACK_SHARE = 0.3  # of the deadline kept back for the newest-first fallback
# BM25 costs a few microseconds per matching paper, so it is computed for at most CANDIDATES
# matches (the newest) plus TITLE_CANDIDATES papers with every word in the title. Queries of
# rare and mid-frequency words match fewer and are ranked exactly.
CANDIDATES = 2000
TITLE_CANDIDATES = 1000
RERANK = 30  # best BM25 candidates that get the upvote/recency boosts
# Snippets come from one walk over all matches up to this many, else from one lookup per hit:
# a lookup costs about as much as walking a hundred or so matches (measured at 1M papers).
SNIPPET_WALK_MATCHES = 300
SNIPPET_COLUMNS = (1, 2, 3, 0)  # abstract, then authors, keywords, title
# Best-effort lookups with their own budgets (seconds): they return what they found by then.
TITLE_TIER_BUDGET = 0.015
EXACT_TITLE_BUDGET = 0.015
EMPTY_NOTE = (
    "Type some words to search, e.g. /papers diffusion transformers, "
    '/papers "chain of thought" -survey, or /papers help for the full syntax.'
)
BOUNDED_NOTE = (
    "These words are very common: ranked the newest {n:,} matching papers, titles with every "
    'word first. Add a rarer word or a "phrase" to narrow it.'
)
SLOW_NOTE = (
    "Showing the newest matches: ranking every paper with these common words took too long. "
    'Add a rarer word or a "phrase" to narrow it.'
)


class FtsSearch:
    """Search over a SqliteStore's FTS5 index; learns abbreviations as papers are written."""

    def __init__(self, store: SqliteStore) -> None:
        self.db = store.db
        index.ensure_abbreviation_table(self.db)
        store.papers.on_new_papers(index.learn_abbreviations)

    def search(
        self,
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
            return _search(self.db, query, max(1, min(limit, 100)), now, started, deadline)
        except Exception:  # the one boundary: a search must answer, whatever went wrong below
            log.exception("search failed for %r", query.text)
            return SearchReply(
                query=query.text, hits=(), note="Search failed on this query; try other words."
            )

    def match_ids(self, text: str, among: Collection[str]) -> set[str]:
        """The ids among `among` that match a search query (topic filters of the daily digest)."""
        query = parse(text)
        if not query.has_positive or not among:
            return set()
        expression = _expression(self.db, query)
        match = expression.match()
        if not match:
            return set()
        return index.matching_ids(self.db, match, sorted(among), _dates(query))

    def rebuild(self) -> None:
        """Rebuild the full-text index and the learned abbreviations (after a bulk load)."""
        index.rebuild(self.db)


def _search(
    db: Database, query: Query, limit: int, now: datetime, started: float, deadline: float
) -> SearchReply:
    expression = _expression(db, query)
    match = expression.match()
    if not match:
        return SearchReply(query=query.text, hits=(), note=_join(*query.problems, EMPTY_NOTE))
    dates = _dates(query)
    notes = list(query.problems)
    scores: dict[int, float] = {}
    first: set[int] = set()
    bounded = True
    tier_complete = False  # True when `first` holds every match with every word in the title
    try:
        with index.deadline(db, _left(started, deadline * (1 - FALLBACK_SHARE))):
            scored = index.scored_newest(db, match, ranking.WEIGHTS, CANDIDATES + 1, dates)
            scores = dict(scored[:CANDIDATES])
            bounded = len(scored) > CANDIDATES
            # Papers with every word in the title come first, in both modes, so the ranking
            # does not change character when a query crosses the candidate bound.
            title_match = expression.match(column="title")
            if bounded:
                notes.append(BOUNDED_NOTE.format(n=CANDIDATES))
                titled = index.scored_newest(
                    db,
                    title_match,
                    ranking.WEIGHTS,
                    TITLE_CANDIDATES,
                    dates,
                    within=TITLE_TIER_BUDGET,
                )
                first = {rowid for rowid, _ in titled}
                scores.update((rowid, score) for rowid, score in titled if rowid not in scores)
            else:
                # Every match is scored already, title matches included: the tier needs only
                # which they are, not a second bm25 pass.
                rowids, tier_complete = index.newest_rowids(
                    db, title_match, TITLE_CANDIDATES, dates, within=TITLE_TIER_BUDGET
                )
                first = set(rowids)
    except index.SearchTimeout:
        notes = [*query.problems, SLOW_NOTE]
        first = set()
        try:
            with index.deadline(db, _left(started, deadline)):
                scores = dict(index.scored_newest(db, match, ranking.WEIGHTS, limit, dates))
        except index.SearchTimeout:
            scores = {}
    best = heapq.nsmallest(RERANK, scores, key=lambda r: (r not in first, -scores[r]))
    # An exact title has every typed word in its title, so with few matches it is in a complete
    # title tier, and in `best` when the tier fits there. Only otherwise look for titles that
    # start with the typed words; with many matches the title tier already holds them (an exact
    # title is a short title of just these words, so it ranks high there) and another walk of
    # the long doclists would only spend the budget twice.
    exact_in_best = tier_complete and len(first) <= RERANK
    title_starts = [] if bounded or exact_in_best else _title_starts(db, expression, dates)
    rows = index.paper_rows(db, best + [r for r in title_starts if r not in best])
    exact = {r for r, row in rows.items() if ranking.is_exact_title(row["title"], expression.typed)}
    candidates = [{**row, "score": scores.get(rowid, 0.0)} for rowid, row in rows.items()]
    ordered = ranking.order(candidates, now, exact, first)[:limit]
    # With few matches, one walk over them all is cheaper than a lookup per hit.
    walk = not bounded and len(scores) <= SNIPPET_WALK_MATCHES
    rowids = [r["rowid"] for r in ordered]
    snippets = _snippets(db, match, rowids, walk, started, deadline)
    hits = tuple(
        SearchHit(row_to_paper(r), round(r["score"], 4), snippets.get(r["rowid"], ()))
        for r in ordered
    )
    notes.append(_expansion_note(expression))
    if not hits:
        notes.append("No papers match. Try fewer words, or check the spelling.")
    return SearchReply(query=query.text, hits=hits, note=_join(*notes))


def _expression(db: Database, query: Query) -> Expression:
    return expand(query, lambda shorts, longs: index.abbreviation_pairs(db, shorts, longs))


def _title_starts(db: Database, expression: Expression, dates: index.DateRange) -> list[int]:
    """Papers whose title starts with the typed words: candidates for an exact title hit."""
    match = expression.exact_title_match()
    if not match:
        return []
    found = index.scored_newest(db, match, ranking.WEIGHTS, 20, dates, within=EXACT_TITLE_BUDGET)
    return [rowid for rowid, _ in found]


def _snippets(
    db: Database, match: str, rowids: list[int], walk: bool, started: float, deadline: float
) -> dict[int, Snippet]:
    """Why each hit matched: the abstract passage with matches, else authors, keywords, title."""
    out: dict[int, Snippet] = {}
    marks = (ranking.MARK_OPEN, ranking.MARK_CLOSE)
    try:
        with index.deadline(db, _left(started, deadline + 0.1)):
            # All four columns in one statement: most hits match in the abstract, but a second
            # statement for the rest would cost more than the short columns' snippets.
            found = index.snippets(db, match, rowids, SNIPPET_COLUMNS, marks, 24, walk)
            for rowid, texts in found:
                out[rowid] = _why(texts)
    except index.SearchTimeout:
        pass  # hits without a snippet are still hits
    return out


def _why(texts: tuple[str, ...]) -> Snippet:
    """The first of the SNIPPET_COLUMNS snippets with a match, else the first non-empty one."""
    fallback: Snippet = ()
    for text, column in zip(texts, SNIPPET_COLUMNS, strict=False):
        runs = ranking.snippet_runs(_plain(text, column))
        if ranking.has_match(runs):
            return runs
        fallback = fallback or runs
    return fallback


def _plain(text: str, column: int) -> str:
    """Column text made readable: authors and keywords are stored as JSON lists."""
    if column in (2, 3):
        return text.replace('", "', ", ").replace('["', "").replace('"]', "").strip('[]"')
    return text


def _expansion_note(expression: Expression) -> str:
    extra = []
    for term in expression.terms:
        if not term.expanded:
            continue
        typed = set(tokens(term.typed))
        shown = [" ".join(f) for f in (*term.forms, *term.near) if set(f) != typed]
        shown = [f for f in dict.fromkeys(shown) if " " in f or len(f) <= 6][:4]
        if shown:
            extra.append(f"{term.typed} = " + " / ".join(shown))
    return ("Also matching: " + "; ".join(extra)) if extra else ""


def _dates(query: Query) -> index.DateRange:
    return index.DateRange(query.since, query.until)


def _left(started: float, budget: float) -> float:
    return max(0.001, budget - (time.perf_counter() - started))


def _join(*parts: str) -> str:
    return " ".join(p for p in parts if p)
