"""FtsSearch: search and topic matching over the SQLite store's FTS5 index (a SearchIndex)."""

from __future__ import annotations

import json
import logging
import math
import re
import time
from collections import Counter
from collections.abc import Callable, Collection, Iterable, Sequence
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from itertools import pairwise
from typing import TYPE_CHECKING, Any

from sqlite_utils import Database

from bot.models import Paper
from bot.replies import SearchHit, SearchReply, Snippet
from bot.search import fts as index
from bot.search import ranking, stems
from bot.search.abbreviations import stem
from bot.search.expansion import Expression, expand, phrase
from bot.search.grammar import (
    DESCRIPTION_TERMS,
    NAME_STOPWORDS,
    STOPWORDS,
    TRENDING,
    TRENDING_DAYS,
    Query,
    parse,
    tokens,
    unaccented,
)
from bot.search.spelling import Speller, rejoined
from bot.store import SqliteStore, row_to_paper

if TYPE_CHECKING:
    from bot.search.dense import DenseIndex

log = logging.getLogger(__name__)

DEFAULT_DEADLINE = 0.25  # seconds for the whole search, snippets included
FALLBACK_BUDGET = 0.1  # seconds for the newest-first answer when ranking ran out of time
SNIPPET_GRACE = 0.1  # seconds past the deadline the snippets of papers found in time may take
# BM25 costs a few microseconds per matching paper, so it is computed for at most CANDIDATES
# matches (the newest); exact titles come from their own index at any age. Queries of rare and
# mid-frequency words match fewer and are ranked exactly.
CANDIDATES = 2000
RERANK = 30  # best BM25 candidates that get the upvote/recency boosts
# With fewer papers than this matching every term, papers matching some of them follow.
RELAX_BELOW = 10
PARTIAL_CANDIDATES = 2000
EXACT_RANK_CAP = 20000  # papers matching some terms: up to this many are all ranked
COMMON_PAPERS = 20_000  # a term in more papers than this is scored without bm25 (see _Scorer)
COUNTS_KEPT = 10_000  # term counts remembered, for COUNTS_SECONDS
COUNTS_SECONDS = 600.0
# A paper with an abbreviation as typed ranks a little above one with only its expansion, in
# queries of up to TYPED_BONUS_TERMS terms (in longer ones the lift only favours generic words).
TYPED_BONUS = 0.05
TYPED_BONUS_TERMS = 2
DENSE_CANDIDATES = 30  # papers closest in meaning offered to the fusion
TITLE_BOOST = 1.0  # lift for a paper with every term in its title
# Lift for a paper whose author list holds two typed words side by side ("Heng Zhang"): the
# name as written on the paper, not two authors' words; in queries of up to NAME_TOKENS words.
NAME_BOOST = 1.0
NAME_TOKENS = 4
SNIPPET_COLUMNS = (1, 2, 3, 0)  # abstract, then authors, keywords, title
_VERSION_PARTS = re.compile(r"(?<=\d) (?=\d)")  # "3 5" in a form: version 3.5
# Snippets come from one walk of the archive's matches up to this many, else from a look-up of
# each hit, or with common terms (long doclists) from the hits indexed on their own.
SNIPPET_WALK_MATCHES = 300
EMPTY_NOTE = (
    "Type some words to search, e.g. /papers diffusion transformers, "
    '/papers "chain of thought" -survey, or /papers help for the full syntax.'
)
CODE_NOTE = "Only papers with code (a repository, or a GitHub link in the abstract)."
NO_CODE_NOTE = "No paper with code matches, so these are the papers without."
BROWSE_NOTE = (
    "No words to search, so these are the filter's papers by upvotes. Add words to narrow."
)
BROWSE_NEWEST_NOTE = (
    "Too many papers to rank by upvotes in time: these are the newest. Add words to narrow."
)
BROWSE_EMPTY_NOTE = "I have seen no papers{span}."
BROWSE_SLOW_NOTE = "Too many papers{span} to list in time. Add words to narrow."
BOUNDED_NOTE = (
    "More than {n:,} papers match: ranked the newest {n:,} of them. "
    'Add a rarer word or a "phrase" to narrow it.'
)
SLOW_NOTE = (
    "Showing the newest matches: finding and ranking them all took too long. "
    'Add a rarer word or a "phrase" to narrow it.'
)


def with_meaning(
    reply: SearchReply,
    query: Query,
    limit: int,
    dense: DenseIndex,
    papers: Callable[[list[int]], dict[int, Paper]],
    every_term: int = 0,
) -> SearchReply:
    """The word matches fused with the papers closest in meaning to the query as the search
    understood it (typos corrected; see semantic.fuse); `papers` gives those the words did not
    find, by rowid. Left as they are for queries with author, title, date or exclusion
    filters, which meaning cannot honour, for a query naming an author, whose papers share no
    meaning, and for a short query whose words found plenty (`every_term`: how many papers
    hold every term; see keeps_words)."""
    if query.authors or query.titled or query.excluded or query.since or query.until:
        return reply
    typed = [t for w in query.words for t in tokens(w)]
    if keeps_words(query, every_term) or names_an_author(typed, [h.paper for h in reply.hits]):
        return reply
    from bot.search.semantic import MIN_COSINE, fuse

    meaning = " ".join([*query.words, *(" ".join(p) for p in query.phrases)])
    by_rowid = {hit.rowid: hit for hit in reply.hits}
    nearest = dense.nearest(meaning, k=DENSE_CANDIDATES, also=list(by_rowid))
    closeness = dict(nearest)
    found = papers([r for r, cosine in nearest if r not in by_rowid and cosine >= MIN_COSINE])
    if query.with_code:
        found = {r: paper for r, paper in found.items() if paper.code_url}
    held = {rowid: hit.paper for rowid, hit in by_rowid.items()} | found
    in_phrases = [t for phrase in query.phrases for t in phrase]
    wanted = {stem(t) for t in [*typed, *in_phrases] if t not in STOPWORDS}
    cover = {r: _share(wanted, paper) for r, paper in held.items()}
    order = fuse(list(by_rowid), closeness, cover, limit, keep=every_term)
    hits = tuple(
        by_rowid.get(r) or SearchHit(found[r], round(closeness[r], 4), (), r)
        for r in order
        if r in by_rowid or r in found
    )
    return replace(reply, hits=hits)


def _share(wanted: set[str], paper: Paper) -> float:
    """The share of the typed words (plurals as singulars) in a paper's title or abstract."""
    if not wanted:
        return 0.0
    held = {stem(t) for t in tokens(paper.title)} | {stem(t) for t in tokens(paper.abstract)}
    return len(wanted & held) / len(wanted)


def typed_words(expression: Expression) -> list[str]:
    """The words typed for the plain terms, the abbreviations left out (their forms are the
    learned ones, not a stem's guess)."""
    return [t for term in expression.terms if not term.expanded for t in tokens(term.typed)]


def keeps_words(query: Query, every_term: int) -> bool:
    """Whether the word ranking is answer enough, meaning left out: when it needed no partial
    matches (RELAX_BELOW papers or more hold every term) for a short query, one of fewer than
    DESCRIPTION_TERMS words. Such a keyword ranking is precise, and the embedding of a bare
    abbreviation or a two-word topic is not; a longer query describes what it means, which
    papers put in other words."""
    words = [t for w in query.words for t in tokens(w) if t not in STOPWORDS]
    return every_term >= RELAX_BELOW and len(words) < DESCRIPTION_TERMS


def names_an_author(typed: Sequence[str], papers: Iterable[Paper]) -> bool:
    """Whether a typed word is a person's name: more of the papers found hold it in an author's
    name than in their title or abstract ("Levine", "neubig agents"; not "GUI agents", which
    some authors are named)."""
    found = ((p.authors, f"{p.title} {p.abstract}") for p in papers)
    return _more_in_names({unaccented(t) for t in typed} - STOPWORDS, found)


def _more_in_names(wanted: set[str], papers: Iterable[tuple[Sequence[str], str]]) -> bool:
    """Whether more of the papers (author names, text) hold one of the words in an author's
    name than in their text (accents off)."""
    found = [(unaccented(" ".join(authors).lower()), text) for authors, text in papers]
    wanted = {t for t in wanted if any(t in names for names, _ in found)}  # a cheap first test
    if not wanted:
        return False
    words = "|".join(map(re.escape, sorted(wanted)))
    whole = re.compile(rf"(?<![^\W_])(?:{words})(?![^\W_])")  # as tokens() splits words
    as_name: Counter[str] = Counter()
    as_word: Counter[str] = Counter()
    for names, text in found:
        as_name.update(set(whole.findall(names)))
        as_word.update(set(whole.findall(text.lower())))
    return any(as_name[t] > as_word[t] for t in wanted)


def answered(
    text: str,
    limit: int,
    words: Callable[[Query, int], tuple[SearchReply, Query, int]],
    dense: DenseIndex | None = None,
    papers: Callable[[list[int]], dict[int, Paper]] | None = None,
    now: datetime | None = None,
    browse: Callable[[Query, int], tuple[Query, list[int], bool]] | None = None,
) -> SearchReply:
    """The boundary of every engine's search(): the text parsed (a time in words counting from
    `now`), an empty query told how to search, `words(query, limit)` for the rest (limit kept
    within 1..100: the reply by words, the query as understood and how many papers hold every
    term), fused with the papers closest in meaning when `dense` is given (see with_meaning;
    `papers` reads them by rowid), a filter with no words listed by `browse(query, limit)` (the
    query as listed, and see browsed), and any failure below answered with a note, never
    raised."""
    query = parse(text, now.date() if now else None)
    limit = max(1, min(limit, 100))
    if query.browses and browse is not None and papers is not None:
        try:
            return browsed(*browse(query, limit), papers)
        except Exception:  # as below: a failure is answered, never raised
            log.exception("listing papers failed for %r", query.text)
    if not query.has_positive:
        note = join(*query.problems, EMPTY_NOTE)
        return SearchReply(query=query.text, hits=(), note=note, searched=False)
    try:
        reply, understood, every_term = words(query, limit)
        code = CODE_NOTE if query.with_code else ""
        if query.with_code and not reply.hits:  # the papers without code, said so
            reply, understood, every_term = words(replace(query, with_code=False), limit)
            code = NO_CODE_NOTE if reply.hits else ""
        if dense is not None and papers is not None:
            reply = with_meaning(reply, understood, limit, dense, papers, every_term)
        return replace(reply, note=join(query.dates_note(), code, reply.note))
    except Exception:  # the one boundary: a search must answer, whatever went wrong below
        log.exception("search failed for %r", query.text)
        return SearchReply(
            query=query.text, hits=(), note="Search failed on this query; try other words."
        )


def trending(query: Query, newest: Callable[[], date | None]) -> Query:
    """A request for what is trending ("/papers trending", "anything new?") as the papers of
    the TRENDING_DAYS up to the newest paper seen (the day `newest()` reads): today's, for a
    bot that fetches daily, and the last days it fetched for one that has not lately."""
    day = newest() if query.when == TRENDING else None
    return replace(query, since=day - timedelta(days=TRENDING_DAYS)) if day else query


def listed(
    listing: Callable[[bool, float], list[int] | None], within: float
) -> tuple[list[int], bool]:
    """Both stores' listing of a filter without words: `listing(by_upvotes, seconds)`, the most
    upvoted papers when ranking them ends within `within` seconds (and True), else the newest
    found within FALLBACK_BUDGET, or none (and False). listing gives None when out of time."""
    ranked = listing(True, within)
    if ranked is not None:
        return ranked, True
    return listing(False, FALLBACK_BUDGET) or [], False


def browsed(
    query: Query, keys: list[int], ranked: bool, papers: Callable[[list[int]], dict[int, Paper]]
) -> SearchReply:
    """The reply to a filter with no words (Query.browses): the papers by their index `keys`,
    the most upvoted first when `ranked`, else the newest (ranking ran out of time)."""
    found = papers(keys)
    hits = tuple(SearchHit(found[k], float(found[k].upvotes), rowid=k) for k in keys if k in found)
    if not hits:
        said = (BROWSE_EMPTY_NOTE if ranked else BROWSE_SLOW_NOTE).format(span=query.span())
        return SearchReply(query.text, (), note=join(*query.problems, said), searched=False)
    heading = f"The {'most upvoted' if ranked else 'newest'} papers{query.span()}"
    note = join(*query.problems, BROWSE_NOTE if ranked else BROWSE_NEWEST_NOTE)
    return SearchReply(query.text, hits, note=note, heading=heading)


class FtsSearch:
    """Search over a SqliteStore's FTS5 index; learns abbreviations as papers are written."""

    def __init__(self, store: SqliteStore, dense: DenseIndex | None = None) -> None:
        self.db = store.db
        self.dense = dense  # search by meaning (the semantic extra), fused with the words
        self.speller = Speller(store.db)
        self.counts = TermCounts(store.db)
        self.stems = stems.Stems(self.speller.counted, self.speller.written)
        index.ensure_tables(self.db)
        store.papers.on_new_papers(index.learn_abbreviations)
        store.papers.on_new_papers(index.learn_titles)
        store.papers.on_new_papers(index.learn_vocabulary)
        store.papers.on_new_papers(index.merge_after_write)

    def search(
        self,
        text: str,
        *,
        limit: int = 10,
        now: datetime | None = None,
        deadline: float | None = None,
        meaning: bool = True,
    ) -> SearchReply:
        """Answer /papers <text>: ranked hits with snippets; never raises for any input text.
        With the semantic extra, papers close in meaning join unless `meaning` is False."""
        started = time.perf_counter()
        deadline = DEFAULT_DEADLINE if deadline is None else deadline
        at = now or datetime.now(UTC)

        def words(query: Query, limit: int) -> tuple[SearchReply, Query, int]:
            return _search(
                self.db, self.speller, self.counts, self.stems, query, limit, at, started, deadline
            )

        def browse(query: Query, limit: int) -> tuple[Query, list[int], bool]:
            query = trending(query, lambda: index.newest_day(self.db))
            bounds = _filter(query)
            found = listed(
                lambda by_upvotes, within: index.listing(
                    self.db, bounds, by_upvotes, limit, within
                ),
                _left(started, deadline),
            )
            return query, *found

        dense = self.dense if meaning else None
        return answered(text, limit, words, dense, self._papers, at, browse)

    def _papers(self, rowids: list[int]) -> dict[int, Paper]:
        return {r: row_to_paper(row) for r, row in index.paper_rows(self.db, rowids).items()}

    def match_ids(self, text: str, among: Collection[str]) -> set[str]:
        """The ids among `among` that match a search query (topic filters of the daily digest)."""
        query = parse(text)
        if not query.has_positive or not among:
            return set()
        expression = _expression(self.db, query, self.speller)
        match = expression.match()
        if not match:
            return set()
        found = index.matching_ids(self.db, match, sorted(among), _filter(query))
        if found and (starts := self.stems(typed_words(expression))):
            writing = index.writing(self.db, sorted(found), starts.values(), DEFAULT_DEADLINE, "id")
            found = found if writing is None else writing
        return found

    def rebuild(self) -> None:
        """Rebuild the full-text index and the learned abbreviations (after a bulk load)."""
        index.rebuild(self.db)


def _search(
    db: Database,
    speller: Speller,
    counts: TermCounts,
    ambiguous: stems.Stems,
    query: Query,
    limit: int,
    now: datetime,
    started: float,
    deadline: float,
) -> tuple[SearchReply, Query, int]:
    """The reply, the query as understood (typos corrected) and how many papers hold every
    term (up to CANDIDATES)."""
    notes = list(query.problems)
    query = rejoined(query, speller.counted, speller.written)
    fixes = speller.corrections(query.spellable())
    if fixes:
        query, note = corrected(query, fixes)
        notes.append(note)
    expression = _expression(db, query, speller)
    match = expression.match()
    if not match:
        reply = SearchReply(
            query=query.text, hits=(), note=join(*notes, EMPTY_NOTE), searched=False
        )
        return reply, query, 0
    bounds = _filter(query)
    exact = _exact_titles(db, expression, match, bounds)
    # Papers with every term, the newest CANDIDATES of them ranked by bm25; with few of those,
    # papers with some of the terms follow (bm25 ranks those with more and rarer terms first).
    scorer = _Scorer(db, counts, expression, bounds, _left(started, deadline / 4))
    full, in_time = scorer.newest(match, CANDIDATES + 1, _left(started, deadline / 2), True)
    if not in_time:
        notes.append(SLOW_NOTE)
    if len(full) > CANDIDATES:
        notes.append(BOUNDED_NOTE.format(n=CANDIDATES))
        full = full[:CANDIDATES]
    # A typed word whose stem other words share ("generalization": generation) is held only by
    # the papers that write it; the others follow with the partial matches. The best scored
    # are looked at first, until RERANK are found: those past them rank among the partial.
    if starts := ambiguous(typed_words(expression)):
        best = [rowid for rowid, _ in sorted(full, key=lambda pair: -pair[1])]
        within = _left(started, deadline / 2)
        writing = index.writing(db, best, starts.values(), within, enough=RERANK)
        full, partial = stems.split(full, writing)
    else:
        partial = []
    further: list[tuple[int, float]] = []
    relaxed = expression.match(any_term=True)
    if len(full) < RELAX_BELOW and relaxed and relaxed != match:

        def ranked_by(some: Expression) -> list[tuple[int, float]]:
            return scorer.best_or_newest(some.match(any_term=True), _left(started, deadline * 0.75))

        partial, further = partial_tiers(expression, full, partial, ranked_by)
    if not full and not partial and not exact and not in_time:
        full = _newest_typed(db, expression, bounds, limit)
    titled = scorer.titled
    tiers = (full, partial, further)
    within = _left(started, deadline)
    ordered = _ranked(db, expression, exact, tiers, titled, now, within, limit)[:limit]
    walk = len(full) + len(partial) + len(further) <= SNIPPET_WALK_MATCHES
    source: index.SnippetSource = "walk" if walk else "own table" if scorer.common else "look up"
    snippets = _snippets(db, relaxed or match, ordered, source, started, deadline)
    hits = tuple(
        SearchHit(row_to_paper(r), round(r["score"], 4), snippets.get(r["rowid"], ()), r["rowid"])
        for r in ordered
    )
    notes.append(expansion_note(expression))
    return SearchReply(query=query.text, hits=hits, note=join(*notes)), query, len(full)


def partial_tiers(
    expression: Expression,
    full: list[tuple[int, float]],
    partial: list[tuple[int, float]],
    best: Callable[[Expression], list[tuple[int, float]]],
) -> tuple[list[tuple[int, float]], list[tuple[int, float]]]:
    """The papers missing a term (after `partial`, those already known), then those holding
    only an expansion's forms, while the first are fewer than RERANK; `best` gives the papers
    with any term of an expression, best first. The first are matched and ranked by the words
    as typed: bm25 counts each phrase on its own, so an expansion's spelled-out words ("vision",
    "language", "model" for VLM) would each lift a paper that holds them and misses the rest of
    the query. Both stores order partial matches so."""
    seen = {key for key, _ in full + partial}
    typed = expression.as_typed()
    partial = partial + [(key, score) for key, score in best(typed) if key not in seen]
    if typed == expression or len(partial) >= RERANK:
        return partial, []
    seen.update(key for key, _ in partial)
    return partial, [(key, score) for key, score in best(expression) if key not in seen]


def _ranked(
    db: Database,
    expression: Expression,
    exact: list[int],
    scored: Sequence[list[tuple[int, float]]],
    titled: dict[int, bool],
    now: datetime,
    within: float,
    limit: int,
) -> list[dict[str, Any]]:
    """Paper rows in answer order: exact titles, then the best of each tier of `scored` (the
    papers with every term, then those with some: RERANK of them, or `limit` when more are
    asked for); within each, bm25 with the lifts and the near-tie boosts."""
    started = time.perf_counter()
    tiers, rows = answer_tiers(
        expression,
        exact,
        scored,
        limit,
        lambda rowids: index.paper_rows(db, rowids),
        lambda candidates: _in_names(db, expression, candidates, within / 4),
    )
    scores = {rowid: score for tier in scored for rowid, score in tier}
    ranked = [r for tier in tiers[1:] for r in tier]
    try:
        with index.deadline(db, _left(started, within)):
            lift = _lifts(db, expression, ranked, titled)
    except index.SearchTimeout:
        lift = {}  # the lifts only reorder: without them the order is still bm25's
    by_name = named(expression, [rows[r] for r in ranked if r in rows])
    for rowid in by_name:
        lift[rowid] = lift.get(rowid, 1.0) + NAME_BOOST
    return ranking.in_tiers(by_name_first(tiers, by_name), rows, scores, lift, now)


class TermCounts:
    """How many papers each term matches, counted up to COMMON_PAPERS and remembered for
    COUNTS_SECONDS (a term's count changes slowly), at most COUNTS_KEPT terms."""

    def __init__(self, db: Database) -> None:
        self.db = db
        self._counts: dict[str, int] = {}
        self._papers = 0
        self._until = 0.0

    def papers(self) -> int:
        """How many papers there are (as of the last clearing)."""
        if not self._papers:
            self._papers = int(self.db.execute("SELECT count(*) FROM papers").fetchone()[0])
        return self._papers

    def __call__(self, match: str, within: float) -> int:
        """The term's papers up to COMMON_PAPERS; COMMON_PAPERS when counting ran out of time."""
        if len(self._counts) >= COUNTS_KEPT or time.monotonic() > self._until:
            self._counts.clear()
            self._papers = 0
            self._until = time.monotonic() + COUNTS_SECONDS
        if match not in self._counts:
            try:
                with index.deadline(self.db, within):
                    self._counts[match] = index.capped_count(self.db, match, COMMON_PAPERS)
            except index.SearchTimeout:
                return COMMON_PAPERS
        return self._counts[match]


class _Scorer:
    """Scores matches with bm25 while every term is rare enough for FTS5 to count its papers
    quickly; bm25 counts every paper with a term first, in one call no deadline can stop, so
    with a common term (more than COMMON_PAPERS papers) the newest matches are scored instead
    by which terms they contain, weighted by how rare each is, and where (title or elsewhere)."""

    def __init__(
        self,
        db: Database,
        counts: TermCounts,
        expression: Expression,
        bounds: index.PaperFilter,
        within: float,
    ) -> None:
        self.db = db
        self.bounds = bounds
        self.terms = [t.fts() for t in expression.terms]
        self.in_titles = [t.fts(in_titles=True) for t in expression.terms]
        self.titled: dict[int, bool] = {}  # scored papers: every term in the title?
        found = [counts(term, within) for term in self.terms]
        # bm25 counts each phrase on its own, the words of a NEAR group too ("language" in
        # NEAR(large language model)): one common phrase makes it slow however rare the term.
        phrases = {p for t in expression.terms for p in t.phrases()}
        self.common = any(n >= COMMON_PAPERS for n in found) or any(
            counts(p, within) >= COMMON_PAPERS for p in phrases
        )
        total = counts.papers() if self.common else 0
        self.rarity = [math.log((total + 1) / (n + 1)) + 1 for n in found]

    def newest(
        self, match: str, limit: int, within: float, every_term: bool = False
    ) -> tuple[list[tuple[int, float]], bool]:
        """The newest `limit` matches, scored, and False when `within` seconds ran out first;
        `every_term` when `match` requires every term."""
        if not self.common:
            return index.scored_newest(self.db, match, ranking.WEIGHTS, limit, self.bounds, within)
        rowids, in_time = index.newest_rowids(self.db, match, limit, self.bounds, within / 2)
        return self._by_terms(rowids, within / 2, every_term), in_time

    def best_or_newest(self, match: str, within: float) -> list[tuple[int, float]]:
        """The best-scored matches of all when few enough papers match to rank them all in
        time, else the newest PARTIAL_CANDIDATES matches, scored."""
        if not self.common:
            best = index.best_scored(
                self.db,
                match,
                ranking.WEIGHTS,
                PARTIAL_CANDIDATES,
                self.bounds,
                EXACT_RANK_CAP,
                within / 2,
            )
            if best is not None:
                return best
        return self.newest(match, PARTIAL_CANDIDATES, within / 2)[0]

    def _by_terms(
        self, rowids: list[int], within: float, every_term: bool
    ) -> list[tuple[int, float]]:
        """Each paper's sum over the terms it contains of the term's rarity, TITLE_WEIGHT-fold
        for a term in its title (one walk of each term's matches over the rowids' range, and
        one of its titles in the index of titles; when `every_term`, every paper contains every
        term and only the titles are walked: see _by_titles)."""
        if every_term:
            return self._by_titles(rowids, within)
        scores = dict.fromkeys(rowids, 0.0)
        in_title: Counter[int] = Counter()  # how many terms each paper has in its title
        try:
            with index.deadline(self.db, within):
                terms = zip(self.terms, self.in_titles, self.rarity, strict=True)
                for term, in_titles, rarity in terms:
                    anywhere = index.which_match(self.db, term, rowids)
                    titled = index.which_titles_match(self.db, in_titles, list(anywhere))
                    lifted = rarity * ranking.TITLE_WEIGHT
                    for rowid in anywhere:
                        scores[rowid] += lifted if rowid in titled else rarity
                    in_title.update(titled)
        except index.SearchTimeout:
            return list(scores.items())  # the terms scored so far order them; the rest tie
        self.titled.update((rowid, in_title[rowid] == len(self.terms)) for rowid in rowids)
        return list(scores.items())

    def _by_titles(self, rowids: list[int], within: float) -> list[tuple[int, float]]:
        """_by_terms for papers holding every term: only the titles are walked, and the papers
        with the same terms in their titles share one sum, added up term by term in the order
        _by_terms adds, so that equal scores stay exactly equal."""
        in_titles = dict.fromkeys(rowids, 0)  # which terms each paper has in its title, as bits
        walked = 0
        try:
            with index.deadline(self.db, within):
                for bit, term in enumerate(self.in_titles):
                    for rowid in index.which_titles_match(self.db, term, rowids):
                        in_titles[rowid] |= 1 << bit
                    walked += 1
        except index.SearchTimeout:
            pass  # the terms walked so far order them; the rest tie
        sums: dict[int, float] = {}
        for mask in set(in_titles.values()):
            total = 0.0
            for bit, rarity in enumerate(self.rarity[:walked]):
                total += rarity * ranking.TITLE_WEIGHT if mask >> bit & 1 else rarity
            sums[mask] = total
        if walked == len(self.terms):
            every = (1 << walked) - 1
            self.titled.update((rowid, mask == every) for rowid, mask in in_titles.items())
        return [(rowid, sums[mask]) for rowid, mask in in_titles.items()]


def corrected(query: Query, fixes: dict[str, str]) -> tuple[Query, str]:
    """The query with misspelt words replaced by their corrections, and the note saying what
    was searched instead and how to search the typed words as typed (a quoted word is never
    corrected)."""
    words = tuple(
        " ".join(fixes.get(t, t) for t in tokens(w)) if any(t in fixes for t in tokens(w)) else w
        for w in query.words
    )
    titled = tuple(
        toks if quoted else tuple(f for t in toks for f in fixes.get(t, t).split())
        for toks, quoted in query.titles()
    )
    understood = replace(query, words=words, titled=titled)
    searched = [
        *words,
        *(f'"{" ".join(p)}"' for p in query.phrases),
        *(f"title:{t[0]}" if len(t) == 1 else f'title:"{" ".join(t)}"' for t in titled),
    ]
    them = "them" if len(fixes) > 1 else "it"
    note = (
        f"Showing results for “{' '.join(searched)}”;"
        f" put “{'”, “'.join(fixes)}” in quotes to search {them} as typed."
    )
    return understood, note


def _exact_titles(
    db: Database, expression: Expression, match: str, bounds: index.PaperFilter
) -> list[int]:
    """Papers whose title is exactly the typed words (by index, at any age), that also match
    the rest of the query (authors, exclusions)."""
    keys = expression.title_keys()
    found = list(dict.fromkeys(r for key in keys for r in index.exact_titles(db, key, bounds)))
    if found and (expression.authors or expression.excluded):
        keep = index.which_match(db, match, found)
        found = [r for r in found if r in keep]
    return found


def answer_tiers(
    expression: Expression,
    exact: list[int],
    scored: Sequence[list[tuple[int, float]]],
    limit: int,
    read: Callable[[list[int]], dict[int, dict[str, Any]]],
    in_names: Callable[[list[int]], set[int]],
) -> tuple[list[list[int]], dict[int, dict[str, Any]]]:
    """The answer's tiers (ranking.tiers: of each tier of `scored`, the best RERANK, or `limit`
    when more are asked for) and their rows by rowid (`read`), both stores' way: when the query
    asks for a person, the papers of name_candidates that `in_names` finds holding the typed
    name join the tiers, below their best."""
    best = max(RERANK, limit)
    tiers = ranking.tiers(exact, scored, best)
    rows = read([r for tier in tiers for r in tier])
    candidates = name_candidates(expression, scored, list(rows.values()), best)
    if candidates and (keep := in_names(candidates)):
        tiers = ranking.tiers(exact, scored, best, keep)
        rows |= read([r for r in keep if r not in rows])
    return tiers, rows


def _in_names(db: Database, expression: Expression, past: list[int], within: float) -> set[int]:
    """Of `past` (see name_candidates), the papers whose author list holds a typed name (see
    name_pairs; `named` checks each is one author's)."""
    # NEAR(a b, 0): side by side in either order
    pairs = sorted({tuple(sorted(pair)) for pair in name_pairs(expression)})
    near = [f"NEAR({phrase((a,))} {phrase((b,))}, 0)" for a, b in pairs]
    match = "authors : (" + " OR ".join(near) + ")"
    try:
        with index.deadline(db, within):
            return index.which_match(db, match, past)
    except index.SearchTimeout:
        return set()  # the names are found among the best ranked still


def name_candidates(
    expression: Expression,
    scored: Sequence[list[tuple[int, float]]],
    rows: list[dict[str, Any]],
    best: int,
) -> list[int]:
    """The scored papers of the tiers with more than the `best` ranked, to look up by a typed
    name when the query asks for a person (see asks_for_a_person; `rows`: those of the best
    ranked), else none: a name shared by two authors of a paper ("Yang Li") leaves its papers'
    bm25 low, past the best, among those with both words apart."""
    past = [rowid for tier in scored if len(tier) > best for rowid, _ in tier]
    return past if past and asks_for_a_person(expression, rows) else []


def asks_for_a_person(expression: Expression, best: Iterable[dict[str, Any]]) -> bool:
    """Whether the words could be a person's name (see name_pairs) that the best ranked papers
    (rows) hold in author names more than in their text (see names_an_author): not "diffusion
    models", whose papers past the best are not worth a look for a name."""
    pairs = name_pairs(expression)
    if not pairs:
        return False
    found = ((_authors(row), f"{row['title']} {row.get('abstract') or ''}") for row in best)
    return _more_in_names({t for pair in pairs for t in pair} - STOPWORDS, found)


def _authors(row: dict[str, Any]) -> list[str]:
    """A row's author names: a list, or its JSON text (SQLite)."""
    names = row.get("authors") or []
    return json.loads(names) if isinstance(names, str) else list(names)


def _lifts(
    db: Database, expression: Expression, rowids: list[int], titled: dict[int, bool]
) -> dict[int, float]:
    """Score multipliers: TITLE_BOOST for every term in the title, NAME_BOOST for a typed name
    in the author list (see named), TYPED_BONUS for an abbreviation as typed rather than only its
    expansion (in short queries). `titled` says for the papers already scored by their terms
    whether every term is in the title; the others are found by a walk."""
    lift = dict.fromkeys(rowids, 1.0)
    unknown = [rowid for rowid in rowids if rowid not in titled]
    in_title = {rowid for rowid in rowids if titled.get(rowid)}
    in_title |= index.which_match(db, expression.match(column="title"), unknown)
    for rowid in rowids:
        if rowid in in_title:
            lift[rowid] += TITLE_BOOST
    if typed_bonus(expression):
        for rowid in index.which_match(db, expression.typed_match(), rowids):
            lift[rowid] += TYPED_BONUS
    return lift


def typed_bonus(expression: Expression) -> bool:
    """Whether the papers with an abbreviation as typed get TYPED_BONUS: in queries of up to
    TYPED_BONUS_TERMS terms, one of them expanded."""
    expanded = any(term.expanded for term in expression.terms)
    return expanded and len(expression.terms) <= TYPED_BONUS_TERMS


def name_pairs(expression: Expression) -> set[tuple[str, str]]:
    """Two typed words side by side, in either order, that a name may hold ("sara hooker",
    "zhang heng"), without accents: in queries of two to NAME_TOKENS words, else none."""
    typed = [unaccented(t) for t in _name_words(expression.typed, expression.asked)]
    if not 2 <= len(typed) <= NAME_TOKENS:
        return set()
    return {pair for a, b in pairwise(typed) for pair in ((a, b), (b, a))}


def _name_words(typed: tuple[str, ...], asked: tuple[str, ...]) -> tuple[str, ...]:
    """The typed words, with the stop word typed right beside them that the chat request took
    off (see grammar.NAME_STOPWORDS): "an yang papers" and "yang you papers" name An Yang and
    Yang You."""
    n = len(typed)
    for i in range(len(asked) - n + 1):
        if n and asked[i : i + n] == typed:
            before = [t for t in asked[max(i - 1, 0) : i] if t in NAME_STOPWORDS]
            after = [t for t in asked[i + n : i + n + 1] if t in NAME_STOPWORDS]
            return (*before, *typed, *after)
    return typed


def named(expression: Expression, rows: list[dict[str, Any]]) -> dict[int, bool]:
    """The rows with an author whose name holds two of the typed words side by side, in either
    order ("Sara Hooker", "zhang heng"), in queries of up to NAME_TOKENS words: the name as
    written on the paper, not the first name of one author and the surname of another. Each
    maps to whether that name holds every typed word: the query is the name. A row's authors
    are a list, or its JSON text (SQLite)."""
    wanted = name_pairs(expression)
    if not wanted:
        return {}
    typed = {t for pair in wanted for t in pair}
    found: dict[int, bool] = {}
    for row in rows:
        names = _authors(row)
        # Holds every token of the names: a cheap first test; accents off, as typed words match
        text = unaccented(" ".join(names).lower())
        if not any(a in text and b in text for a, b in wanted):
            continue
        for name in names:
            toks = tokens(unaccented(name))
            if wanted & set(pairwise(toks)):
                found[row["rowid"]] = found.get(row["rowid"], False) or typed <= set(toks)
    return found


def by_name_first(tiers: list[list[int]], by_name: dict[int, bool]) -> list[list[int]]:
    """The tiers with the papers by the person the query names (every typed word in one
    author's name: "sara hooker", "Li Ma") first, after the exact titles, as a title typed
    whole ranks first: among the papers holding the words apart, a name shared by many authors'
    first and last names ("Yang", "Li") scores low on a long author list."""
    whole = [rowid for tier in tiers[1:] for rowid in tier if by_name.get(rowid)]
    return [tiers[0], whole, *tiers[1:]] if whole else tiers


def _newest_typed(
    db: Database, expression: Expression, bounds: index.PaperFilter, limit: int
) -> list[tuple[int, float]]:
    """The newest papers with the words as typed, unranked (bm25 must first count every
    match): what a query that ran out of time shows rather than nothing."""
    typed = expression.typed_match()
    if not typed:
        return []
    rowids, _ = index.newest_rowids(db, typed, limit, bounds, within=FALLBACK_BUDGET)
    return [(rowid, 0.0) for rowid in rowids]


def _expression(db: Database, query: Query, speller: Speller) -> Expression:
    query, other = speller.other_spellings(query)
    return expand(query, lambda shorts, longs: index.abbreviation_pairs(db, shorts, longs), other)


def _snippets(
    db: Database,
    match: str,
    rows: list[dict[str, Any]],
    source: index.SnippetSource,
    started: float,
    deadline: float,
) -> dict[int, Snippet]:
    """Why each hit matched: the abstract passage with matches, else authors, keywords, title."""
    out: dict[int, Snippet] = {}
    marks = (ranking.MARK_OPEN, ranking.MARK_CLOSE)
    try:
        with index.deadline(db, _left(started, deadline + SNIPPET_GRACE)):
            # All four columns in one statement: most hits match in the abstract, but a second
            # statement for the rest would cost more than the short columns' snippets.
            found = index.snippets(db, match, rows, SNIPPET_COLUMNS, marks, 24, source)
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


def expansion_note(expression: Expression) -> str:
    extra = []
    for term in expression.terms:
        if not term.expanded:
            continue
        typed = set(tokens(term.typed))
        shown = [_shown(f) for f in (*term.forms, *term.near) if not set(f) <= typed]
        shown = [f for f in dict.fromkeys(shown) if " " in f or len(f) <= 6][:4]
        if shown:
            extra.append(f"{term.typed} = " + " / ".join(shown))
    return ("Also matching: " + "; ".join(extra)) if extra else ""


def _shown(form: tuple[str, ...]) -> str:
    """A form as the note shows it: its words, a version's numbers joined ("sd3 5": sd3.5)."""
    return _VERSION_PARTS.sub(".", " ".join(form))


def _filter(query: Query) -> index.PaperFilter:
    return index.PaperFilter(query.since, query.until, query.with_code)


def _left(started: float, budget: float) -> float:
    return max(0.001, budget - (time.perf_counter() - started))


def join(*parts: str) -> str:
    return " ".join(p for p in parts if p)
