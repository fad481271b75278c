"""PgSearch: search and topic matching on the PostgreSQL store (a SearchIndex).

The same grammar, abbreviations and answer order as the SQLite engine (bot/search/engine.py),
over PostgreSQL's own full-text search: each term's forms become a tsquery
(`phraseto_tsquery`, combined with `||` and `&&`: user text only ever reaches PostgreSQL as a
parameter), matched against the papers' weighted tsvector (title A, authors B, abstract and
keywords C) through its GIN index and ranked by `ts_rank_cd`, each term weighted by its rarity
as bm25 does on SQLite. Typos are corrected from the index's stems and their paper counts, as
on SQLite. Spelled-out abbreviation forms (FTS5 NEAR on SQLite) match when all their words are
in the paper, in any place. With the semantic extra, papers close in meaning (pgvector, see
bot/search/pg_vectors.py) are fused in as on SQLite.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Collection, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import TYPE_CHECKING, Any

import psycopg
from psycopg import errors

from bot.models import Paper, has_code_sql, title_keys
from bot.replies import SearchHit, SearchReply, Snippet
from bot.search import engine, ranking, spelling, stems
from bot.search.abbreviations import definitions
from bot.search.engine import (
    BOUNDED_NOTE,
    EMPTY_NOTE,
    FALLBACK_BUDGET,
    SLOW_NOTE,
    SNIPPET_GRACE,
    answered,
    corrected,
    expansion_note,
    join,
)
from bot.search.expansion import Expression, Term, expand
from bot.search.grammar import STOPWORDS, Query, parse
from bot.search.spelling import WRITTEN_PAPERS, corrections
from bot.store.postgres import PgStore, row_to_paper

if TYPE_CHECKING:
    from bot.search.dense import DenseIndex

log = logging.getLogger(__name__)

# ts_rank_cd weights for labels D, C, B, A: title 4x the abstract and keywords, authors 2x,
# as ranking.WEIGHTS gives bm25 on SQLite.
RANK_WEIGHTS = "{0, 0.25, 0.5, 1.0}"
NOT_AUTHORS = "AC"  # the papers' tsvector labels but the authors' (B)
RANK_FUNCTION = "ts_rank_cd"  # cover density: words of the query close together rank higher
RANK_NORMALISATION = 2  # divide by the document length (best of 0, 1, 2, 8, 32 on the dev split)
# Each term's rank, weighted by its rarity, is saturated (rank / (rank + 1), normalisation 32),
# for papers with every term also divided by 1 + log(length) (1): a paper with hundreds of
# authors must not outrank the author's own. Best of 32, 33, 34 on the dev split.
FULL_NORMALISATION = 33
PARTIAL_NORMALISATION = 32
# How a query's newest matches are found, by about how many papers match (the papers-per-word
# counts tell; the planner's estimate for tsqueries is off by up to 100x):
# - a query at least NEWEST_FIRST_SHARE of the papers match walks the papers newest first,
#   testing each (a few microseconds), not through the GIN index, whose bitmap makes PostgreSQL
#   read every match before it can sort them: 300,000 rows for "large language models" in 1M;
# - one of at least WINDOW_FROM times the matches wanted ANDs the GIN bitmap with the newest
#   papers (the BRIN index on seq) that should hold WINDOW_SPAN times as many, and reads only
#   those: 4,000 rather than 20,000 for "speculative decoding" in 1M papers. When they hold
#   fewer (the counts are rough), a window as much wider as they fell short is tried, up to
#   WINDOWS in all, then every match;
# - any other reads every match through the GIN bitmap.
# The counts are of all time and over-state a phrase or spelled-out form by the count of its
# rarest word ("reinforcement learning from human feedback": 8% of 1M papers, in truth 2%), so
# before a walk the matches among the newest PROBE papers are counted: the walk goes ahead when
# they are at least WALKED_SHARE of them (at most 67,000 papers tested for 2,001 matches, about
# what the deadline allows), and a window or every match is read otherwise.
NEWEST_FIRST_SHARE = 0.05
PROBE = 1000
WALKED_SHARE = 0.03
WINDOW_FROM = 5
WINDOW_SPAN = 2
WINDOWS = 2
_WALK = {"enable_bitmapscan": "off", "enable_seqscan": "off"}
_BITMAP = {"enable_indexscan": "off", "enable_seqscan": "off"}
SNIPPET_OPTIONS = (
    f"StartSel={ranking.MARK_OPEN}, StopSel={ranking.MARK_CLOSE},"
    " MaxWords=24, MinWords=12, ShortWord=2, MaxFragments=1"
)

Fragment = tuple[str, list[Any]]  # SQL text with %s placeholders, and its parameters


@dataclass(frozen=True, slots=True)
class _Filter:
    """A WHERE condition over papers `p`, built from parsed tokens only."""

    sql: str
    params: list[Any]
    query: Fragment  # the positive tsquery, for ranking and snippets


@dataclass(frozen=True, slots=True)
class _Size:
    """How many of a query's newest matches are wanted, and about how many of the `total`
    papers match (0 of 0: not known)."""

    wanted: int
    total: int = 0
    likely: int = 0
    probed: bool = False  # `likely` counted among the newest papers (see WALKED_SHARE)

    @property
    def walk(self) -> bool:
        """Whether the matches are found walking the papers newest first."""
        share = WALKED_SHARE if self.probed else NEWEST_FIRST_SHARE
        return bool(self.total) and self.likely >= share * self.total

    @classmethod
    def every(cls, wanted: int, total: int, found: Sequence[int]) -> _Size:
        """Papers with every term, about `found` papers having each: as many as if the terms
        fell on papers independently."""
        if not total or not found:
            return cls(wanted)
        return cls(wanted, total, int(total * math.prod(n / total for n in found)))

    @classmethod
    def some(cls, wanted: int, total: int, found: Sequence[int]) -> _Size:
        """Papers with some of the terms: at least as many as have the commonest."""
        return cls(wanted, total, max(found)) if total and found else cls(wanted)


class _Timeout(Exception):
    """A search statement ran past its deadline and was cancelled."""


class PgSearch:
    """Search over a PgStore's tsvector index; learns abbreviations, exact titles and the words
    typo correction compares against as papers are written."""

    def __init__(self, store: PgStore, dense: DenseIndex | None = None) -> None:
        self.db = store.db
        self.dense = dense  # search by meaning (the semantic extra), fused with the words
        self._stop_stems: frozenset[str] | None = None  # see _corrections
        self._ambiguous = stems.Stems(self._counted, self._written)
        store.papers.on_new_papers(learn)

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
        deadline = engine.DEFAULT_DEADLINE if deadline is None else deadline
        at = now or datetime.now(UTC)

        def words(query: Query, limit: int) -> tuple[SearchReply, Query, int]:
            return self._search(query, limit, at, started, deadline)

        def browse(query: Query, limit: int) -> tuple[Query, list[int], bool]:
            query = engine.trending(query, self._newest_day)
            found = engine.listed(
                lambda by_upvotes, within: self._listing(query, by_upvotes, limit, within),
                _left(started, deadline),
            )
            return query, *found

        dense = self.dense if meaning else None
        return answered(text, limit, words, dense, self._papers_by_seq, at, browse)

    def _papers_by_seq(self, seqs: list[int]) -> dict[int, Paper]:
        rows = self.db.rows("SELECT * FROM papers WHERE seq = ANY(%s)", [seqs]) if seqs else []
        return {int(row["seq"]): row_to_paper(row) for row in rows}

    def match_ids(self, text: str, among: Collection[str]) -> set[str]:
        """The ids among `among` that match a search query (topic filters of the daily digest)."""
        query = parse(text)
        if not query.has_positive or not among:
            return set()
        expression = self._expression(query)
        where = _where(expression, query)
        if where is None:
            return set()
        # A typed word whose stem other words share: the papers that write it (see stems).
        starts = self._ambiguous(engine.typed_words(expression)).values()
        rows = self.db.rows(
            f"SELECT p.id FROM papers p WHERE p.id = ANY(%s) AND {where.sql}{_writes_sql(starts)}",
            [sorted(among), *where.params, *_word_starts(starts)],
        )
        return {row["id"] for row in rows}

    def rebuild(self) -> None:
        """Recompute the learned abbreviations, title keys and words (after a bulk load); the
        tsvectors are generated columns, always in step."""
        with self.db.transaction() as conn:
            for table in ("search_abbreviations", "search_titles", "search_words"):
                conn.execute(f"DELETE FROM {table}")
            with conn.cursor(name="papers_for_search") as cursor:
                cursor.itersize = 5000
                cursor.execute("SELECT seq, title, abstract FROM papers")
                for batch in _batches(cursor, 5000):
                    papers = [
                        (int(seq), Paper("", title, abstract)) for seq, title, abstract in batch
                    ]
                    _learn_text(conn, papers)
            _learn_words(conn, None)

    # -- the search -----------------------------------------------------------------------

    def _search(
        self, query: Query, limit: int, now: datetime, started: float, deadline: float
    ) -> tuple[SearchReply, Query, int]:
        """The reply, the query as understood (typos corrected) and how many papers hold every
        term (up to engine.CANDIDATES)."""
        notes = list(query.problems)
        query = spelling.rejoined(query, self._counted, self._written)
        fixes = self._corrections(query.spellable())
        if fixes:
            query, note = corrected(query, fixes)
            notes.append(note)
        expression = self._expression(query)
        where = _where(expression, query)
        if where is None:
            reply = SearchReply(
                query=query.text, hits=(), note=join(*notes, EMPTY_NOTE), searched=False
            )
            return reply, query, 0
        exact = self._exact_titles(expression, where)
        full, in_time = self._newest_scored(
            where, engine.CANDIDATES + 1, _left(started, deadline / 2), expression
        )
        if not in_time:
            notes.append(SLOW_NOTE)
        if len(full) > engine.CANDIDATES:
            notes.append(BOUNDED_NOTE.format(n=engine.CANDIDATES))
            full = full[: engine.CANDIDATES]
        # As on SQLite: a typed word whose stem other words share is held only by the papers
        # that write it (see stems).
        if starts := self._ambiguous(engine.typed_words(expression)):
            seqs = [seq for seq, _ in full]
            writing = self._writing(seqs, starts.values(), _left(started, deadline / 2))
            full, partial = stems.split(full, writing)
        else:
            partial = []
        further: list[tuple[int, float]] = []
        relaxed = _where(expression, query, any_term=True)
        if len(full) < engine.RELAX_BELOW and relaxed and relaxed.sql != where.sql:

            def ranked_by(some: Expression) -> list[tuple[int, float]]:
                return self._best_partial(some, query, _left(started, deadline * 0.75))

            partial, further = engine.partial_tiers(expression, full, partial, ranked_by)
        if not full and not partial and not exact and not in_time:
            full = self._newest_typed(expression, query, limit)
        tiers = (full, partial, further)
        within = _left(started, deadline)
        ordered = self._ranked(expression, exact, tiers, now, within, limit)[:limit]
        snippets = self._snippets(
            (relaxed or where).query,
            [row["seq"] for row in ordered],
            _left(started, deadline + SNIPPET_GRACE),
        )
        hits = tuple(
            SearchHit(
                row_to_paper(row), round(row["score"], 4), snippets.get(row["seq"], ()), row["seq"]
            )
            for row in ordered
        )
        notes.append(expansion_note(expression))
        return SearchReply(query=query.text, hits=hits, note=join(*notes)), query, len(full)

    def _expression(self, query: Query) -> Expression:
        query, other = spelling.other_spellings(query, self._counted, self._written)
        return expand(query, self._abbreviation_pairs, other)

    def _abbreviation_pairs(
        self, shorts: Sequence[str], longs: Sequence[str]
    ) -> list[tuple[str, str, str, int]]:
        rows = self.db.rows(
            "SELECT short, long, spelling, papers FROM search_abbreviations"
            " WHERE short = ANY(%s) OR long = ANY(%s)",
            [list(dict.fromkeys(shorts))[:200], list(dict.fromkeys(longs))[:200]],
        )
        return [(r["short"], r["long"], r["spelling"], r["papers"]) for r in rows]

    def _newest_day(self) -> date | None:
        day: date | None = self.db.rows("SELECT max(day) AS day FROM papers")[0]["day"]
        return day

    def _listing(
        self, query: Query, by_upvotes: bool, limit: int, within: float
    ) -> list[int] | None:
        """As fts.listing: the seqs of `limit` papers the query's filters keep, the most upvoted
        or the newest; None when `within` seconds run out first."""
        sql, params = _combine([("TRUE", []), *_bounds(query)], "AND")
        order = "p.upvotes DESC, p.day DESC, p.seq DESC" if by_upvotes else "p.day DESC"
        try:
            with self._deadline(within) as conn:
                found = conn.execute(
                    f"SELECT p.seq FROM papers p WHERE {sql} ORDER BY {order} LIMIT %s",
                    [*params, limit],
                )
                return [int(row[0]) for row in found]
        except _Timeout:
            return None

    def _newest_scored(
        self, where: _Filter, limit: int, within: float, expression: Expression
    ) -> tuple[list[tuple[int, float]], bool]:
        """The newest `limit` matches with their ts_rank_cd, and False when time ran out."""
        sql, params = where.query
        score = f"{RANK_FUNCTION}(%s, p.search, {sql}, %s)"
        score_params = [RANK_WEIGHTS, *params, RANK_NORMALISATION]
        size = _Size(limit)
        if expression.terms:
            total, found = self._term_papers(expression.terms)
            rarity, rarity_params = _rarity_score(
                expression.terms, total, found, FULL_NORMALISATION
            )
            score, score_params = f"({rarity} + {score})", [*rarity_params, *score_params]
            size = _Size.every(limit, total, found)
        try:
            scored = self._scored((score, score_params), where, size, within)
        except _Timeout:
            return [], False
        return scored, True

    def _writing(self, seqs: list[int], starts: Collection[str], within: float) -> set[int] | None:
        """The papers among `seqs` whose title or abstract has a word beginning with each of
        `starts`; None when time ran out."""
        try:
            with self._deadline(within) as conn:
                rows = conn.execute(
                    f"SELECT seq FROM papers WHERE seq = ANY(%s){_writes_sql(starts)}",
                    [seqs, *_word_starts(starts)],
                ).fetchall()
        except _Timeout:
            return None
        return {int(seq) for (seq,) in rows}

    def _best_partial(
        self, expression: Expression, query: Query, within: float
    ) -> list[tuple[int, float]]:
        """Papers with some of the terms, best first: each scores the sum over the terms it has
        of the term's rarity times its saturated, field-weighted ts_rank_cd (what bm25 does on
        SQLite). All of them are scored when the rarer terms (in at most COMMON_PAPERS papers
        each) pick few enough candidates, else the newest PARTIAL_CANDIDATES."""
        terms = [t for t in expression.terms if not t.quoted]
        total, found = self._term_papers(terms)
        rare = [(t, n) for t, n in zip(terms, found, strict=True) if n <= engine.COMMON_PAPERS]
        among = None
        limit = engine.PARTIAL_CANDIDATES
        if rare and len(rare) < len(terms) and sum(n for _, n in rare) <= engine.EXACT_RANK_CAP:
            # Every paper with a rarer term; one with only the common ones would rank below.
            among, limit = [t for t, _ in rare], engine.EXACT_RANK_CAP
        elif sum(found) <= engine.EXACT_RANK_CAP:
            limit = engine.EXACT_RANK_CAP
        where = _where(expression, query, any_term=True, among=among)
        if where is None:
            return []
        score, params = _rarity_score(terms, total, found, PARTIAL_NORMALISATION)
        size = _Size.some(limit, total, [n for _, n in rare] if among else found)
        best = (" ORDER BY score DESC, p.seq DESC LIMIT %s", [engine.PARTIAL_CANDIDATES])
        try:
            return self._scored((score, params), where, size, within, best)
        except _Timeout:
            return []

    def _term_papers(self, terms: Sequence[Term], typed: bool = False) -> tuple[int, list[int]]:
        """How many papers there are, and about how many have each term (with `typed`, its
        forms as typed): for each form the count of its rarest word's stem, summed."""
        forms = {t: _forms(t, typed) for t in terms}
        words = sorted({w for t in terms for f in forms[t] for w in f})
        papers = self._papers(words)
        row = self.db.one(
            "SELECT CASE WHEN reltuples >= 100000 THEN reltuples::bigint"
            " ELSE (SELECT count(*) FROM papers) END FROM pg_class WHERE oid = 'papers'::regclass"
        )
        total = int(row[0]) if row else 0
        found = [
            min(total, sum(min(papers.get(w, 0) for w in f) for f in forms[t] if f)) for t in terms
        ]
        return total, found

    def _newest_typed(
        self, expression: Expression, query: Query, limit: int
    ) -> list[tuple[int, float]]:
        """The newest papers with the words as typed, unranked: what a query that ran out of
        time shows rather than nothing (found newest first when the typed words are common:
        "KD" may be rare where "knowledge distillation" is not)."""
        typed = _where(expression, query, typed=True)
        if typed is None:
            return []
        total, found = self._term_papers(expression.terms, typed=True)
        unranked: Fragment = ("0.0", [])
        try:
            return self._scored(unranked, typed, _Size.every(limit, total, found), FALLBACK_BUDGET)
        except _Timeout:
            return []

    def _exact_titles(self, expression: Expression, where: _Filter) -> list[int]:
        """Papers whose title (or name before its colon) is exactly the typed words, that also
        match the rest of the query: an index lookup, however old the paper."""
        keys = expression.title_keys()
        if not keys:
            return []
        extra = ""
        params: list[Any] = [keys]
        if expression.authors or expression.excluded:
            extra = f" AND {where.sql}"
            params += where.params
        rows = self.db.rows(
            "SELECT t.seq FROM search_titles t JOIN papers p ON p.seq = t.seq"
            f" WHERE t.key = ANY(%s){extra} ORDER BY t.whole DESC, t.seq DESC LIMIT 20",
            params,
        )
        return [int(row["seq"]) for row in rows]

    def _ranked(
        self,
        expression: Expression,
        exact: list[int],
        scored: Sequence[list[tuple[int, float]]],
        now: datetime,
        within: float,
        limit: int,
    ) -> list[dict[str, Any]]:
        """Paper rows in answer order: exact titles, then the best of each tier of `scored` (the
        papers with every term, then those with some: engine.RERANK of them, or `limit` when
        more are asked for), and past them those by a person the query names
        (engine.asks_for_a_person); within each, the rank with the title lift and near-tie
        boosts."""
        tiers, rows = engine.answer_tiers(
            expression,
            exact,
            scored,
            limit,
            lambda seqs: self._rows(expression, seqs),
            lambda candidates: self._in_names(expression, candidates, within / 4),
        )
        scores = {seq: score for tier in scored for seq, score in tier}
        ranked = [rows[seq] for tier in tiers[1:] for seq in tier if seq in rows]
        by_name = engine.named(expression, ranked)
        lift = {
            seq: 1.0
            + engine.TITLE_BOOST * row["titled"]
            + engine.TYPED_BONUS * row["as_typed"]
            + engine.NAME_BOOST * (seq in by_name)
            for seq, row in rows.items()
            if seq not in exact
        }
        return ranking.in_tiers(engine.by_name_first(tiers, by_name), rows, scores, lift, now)

    def _rows(self, expression: Expression, seqs: list[int]) -> dict[int, dict[str, Any]]:
        """The papers' rows by seq, each with whether it has every term in its title and, as on
        SQLite (engine._lifts), an abbreviation as typed: what lifts their scores."""
        if not seqs:
            return {}
        titled: Fragment = ("false", [])
        as_typed: Fragment = ("false", [])
        if expression.terms:
            # the title's part of the papers' tsvector (label A), read as the search reads it
            every = _combine([_term(t) for t in expression.terms], "&&")
            titled = _prefixed("ts_filter(p.search, '{a}') @@ ", every)
        if engine.typed_bonus(expression):
            typed = _combine([_term(t, typed=True) for t in expression.terms], "&&")
            as_typed = _prefixed("p.search @@ ", typed)
        return {
            row["seq"]: row
            for row in self.db.rows(
                f"SELECT p.*, p.seq AS rowid, {titled[0]} AS titled, {as_typed[0]} AS as_typed"
                " FROM papers p WHERE p.seq = ANY(%s)",
                [*titled[1], *as_typed[1], seqs],
            )
        }

    def _in_names(self, expression: Expression, past: list[int], within: float) -> set[int]:
        """As on SQLite (engine._in_names): of `past` (engine.name_candidates), the papers
        whose author list holds a typed name."""
        pairs = sorted(engine.name_pairs(expression))
        names = " || ".join(["phraseto_tsquery('papers_names', %s)"] * len(pairs))
        try:
            with self._deadline(within) as conn:
                rows = conn.execute(
                    f"SELECT seq FROM papers WHERE seq = ANY(%s) AND author_words @@ ({names})",
                    [past, *(" ".join(pair) for pair in pairs)],
                ).fetchall()
        except _Timeout:
            return set()
        return {int(seq) for (seq,) in rows}

    def _snippets(self, query: Fragment, seqs: list[int], within: float) -> dict[int, Snippet]:
        """Why each hit matched: the abstract passage with matches, else authors, keywords,
        title (ts_headline marks the matched words); none when that takes longer than `within`
        seconds, as on SQLite: hits without a snippet are still hits."""
        if not seqs:
            return {}
        sql, params = query
        columns = [
            "p.abstract",
            "array_to_string(ARRAY(SELECT jsonb_array_elements_text(p.authors)), ', ')",
            "array_to_string(ARRAY(SELECT jsonb_array_elements_text(p.keywords)), ', ')",
            "p.title",
        ]
        heads = ", ".join(f"ts_headline('papers', {c}, q.q, %s)" for c in columns)
        try:
            with self._deadline(within) as conn:
                rows = conn.execute(
                    "SELECT array_agg(ARRAY[p.seq::text, " + heads + "])"
                    f" FROM papers p, (SELECT {sql} AS q) q WHERE p.seq = ANY(%s)",
                    [*[SNIPPET_OPTIONS] * len(columns), *params, seqs],
                ).fetchone()
        except _Timeout:
            return {}
        out: dict[int, Snippet] = {}
        for seq, *texts in rows[0] if rows and rows[0] else []:
            out[int(seq)] = _why(texts)
        return out

    def _corrections(self, words: list[str]) -> dict[str, str]:
        """{typed word: correction} for the words that look misspelt, compared as the index
        stores them, stemmed, as on SQLite (so "jailbrake" finds "jailbreak" through
        "jailbreake"; see spelling.corrections)."""
        if self._stop_stems is None:
            stems = self._counted(sorted(STOPWORDS))
            self._stop_stems = frozenset(stem for stem, _ in stems.values())
        return corrections(words, self._counted, self._a_name, self._stop_stems, self._written)

    def _written(self, words: str) -> str:
        """The titles and abstracts, lower-cased, of up to WRITTEN_PAPERS papers holding the
        word's stem (or the words', side by side)."""
        rows = self.db.rows(
            "SELECT title, abstract FROM papers"
            " WHERE search @@ phraseto_tsquery('papers', %s) LIMIT %s",
            [words, WRITTEN_PAPERS],
        )
        return " ".join(f"{r['title']} {r['abstract'] or ''}" for r in rows).lower()

    def _a_name(self, word: str) -> bool:
        """True when some paper's author list holds the word (weight B: authors), as on SQLite
        a name is never a typo ("McLean" is not "clean")."""
        row = self.db.one(
            "SELECT EXISTS (SELECT 1 FROM papers WHERE search @@ to_tsquery('papers', %s))",
            [f"{word}:B"],
        )
        return bool(row and row[0])

    def _papers(self, words: list[str]) -> dict[str, int]:
        """How many papers have each word's stem (words no paper has are left out)."""
        return {word: n for word, (_, n) in self._counted(words).items() if n}

    def _counted(self, words: list[str]) -> dict[str, tuple[str, int]]:
        """Each word's stem, by the index's own dictionary, and how many papers have it."""
        rows = self.db.rows(
            "SELECT w.word, l.stem, coalesce(s.papers, 0) AS papers"
            " FROM unnest(%s::text[]) AS w(word)"
            " CROSS JOIN LATERAL"
            " (SELECT (ts_lexize('papers_stem', unaccent(w.word)))[1] AS stem) AS l"
            " LEFT JOIN search_words s ON s.word = l.stem WHERE l.stem IS NOT NULL",
            [words],
        )
        return {row["word"]: (row["stem"], row["papers"]) for row in rows}

    @contextmanager
    def _deadline(
        self, seconds: float, plan: dict[str, str] | None = None
    ) -> Iterator[psycopg.Connection]:
        """A transaction whose statements are cancelled after `seconds` (_Timeout), with the
        planner `plan` settings (_WALK, _BITMAP; see NEWEST_FIRST_SHARE)."""
        settings = {"statement_timeout": f"{max(1, int(seconds * 1000))}ms", **(plan or {})}
        try:
            with self.db.transaction() as conn:
                conn.execute(
                    "SELECT " + ", ".join(["set_config(%s, %s, true)"] * len(settings)),
                    [value for pair in settings.items() for value in pair],
                )
                yield conn
        except errors.QueryCanceled as exc:
            raise _Timeout from exc

    def _scored(
        self,
        score: Fragment,
        where: _Filter,
        size: _Size,
        within: float,
        tail: Fragment = (" ORDER BY p.seq DESC", []),
    ) -> list[tuple[int, float]]:
        """The newest `size.wanted` papers matching `where`, each with its `score` (newest first,
        or as `tail` orders and limits them). Raises _Timeout when `within` seconds run out."""
        started = time.perf_counter()
        sql, params = score
        if size.walk:  # by the counts, which every caller's size comes from
            size = self._probed(where, size, within)
        newest = self._in_window(where, size, _left(started, within))
        if newest is not None:
            statement = f"SELECT p.seq, {sql} AS score FROM papers p WHERE p.seq = ANY(%s)"
            args, plan = [*params, newest, *tail[1]], None
        else:
            # Only the matches' seqs are sorted: with their search vectors, the 15,670 matches
            # of "mamba" in 1M papers spill 35 MB to disk.
            statement = (
                f"SELECT p.seq, {sql} AS score FROM papers p JOIN (SELECT p.seq FROM papers p"
                f" WHERE {where.sql} ORDER BY p.seq DESC LIMIT %s) newest ON newest.seq = p.seq"
            )
            args = [*params, *where.params, size.wanted, *tail[1]]
            plan = _WALK if size.walk else None
        with self._deadline(_left(started, within), plan) as conn:
            rows = conn.execute(statement + tail[0], args).fetchall()
        return [(int(seq), float(score)) for seq, score in rows]

    def _probed(self, where: _Filter, size: _Size, within: float) -> _Size:
        """`size` with its share of the papers that match counted among the newest PROBE (see
        WALKED_SHARE). Raises _Timeout when `within` seconds run out."""
        with self._deadline(within) as conn:
            row = conn.execute(
                f"SELECT count(*) FILTER (WHERE {where.sql}), count(*)"
                " FROM (SELECT * FROM papers ORDER BY seq DESC LIMIT %s) p",
                [*where.params, PROBE],
            ).fetchone()
        matched, probed = (int(row[0]), int(row[1])) if row else (0, 0)
        if not probed:
            return size
        return _Size(size.wanted, size.total, size.total * matched // probed, probed=True)

    def _in_window(self, where: _Filter, size: _Size, within: float) -> list[int] | None:
        """The newest `size.wanted` papers matching `where`, when a query of many matches finds
        them among the newest papers (see NEWEST_FIRST_SHARE); None when it does not try or
        they hold too few. Raises _Timeout when `within` seconds run out."""
        if size.walk or size.likely < WINDOW_FROM * size.wanted:
            return None
        started = time.perf_counter()
        row = self.db.one("SELECT max(seq) FROM papers")  # before _BITMAP: the index's end
        newest = row[0] if row and row[0] is not None else 0
        span = WINDOW_SPAN * size.wanted * size.total / size.likely
        for _ in range(WINDOWS):
            with self._deadline(_left(started, within), _BITMAP) as conn:
                rows = conn.execute(
                    f"SELECT p.seq FROM papers p WHERE {where.sql} AND p.seq > %s"
                    " ORDER BY p.seq DESC LIMIT %s",
                    [*where.params, newest - math.ceil(span), size.wanted],
                ).fetchall()
            if len(rows) >= size.wanted:
                return [int(seq) for (seq,) in rows]
            if not rows:
                return None
            span *= WINDOW_SPAN * size.wanted / len(rows)  # as many as the window held
            if span >= newest:
                return None
        return None


# -- learning from new papers ---------------------------------------------------------------


def learn(conn: psycopg.Connection, papers: list[tuple[int, Paper]]) -> None:
    """Record the abbreviations, title keys and words of new papers (inside their write)."""
    if papers:
        _learn_text(conn, papers)
        _learn_words(conn, [seq for seq, _ in papers])


def _learn_text(conn: psycopg.Connection, papers: list[tuple[int, Paper]]) -> None:
    pairs: dict[tuple[str, str, str], int] = {}
    titles: list[tuple[str, int, bool]] = []
    for seq, paper in papers:
        for pair in set(definitions(paper.abstract or "")):
            pairs[pair] = pairs.get(pair, 0) + 1
        whole, name = title_keys(paper.title or "")
        titles += [(key, seq, is_whole) for key, is_whole in ((whole, True), (name, False)) if key]
    with conn.cursor() as cursor:
        # In key order, so replicas writing at once take the rows' locks in one order.
        cursor.executemany(
            "INSERT INTO search_abbreviations (short, long, spelling, papers)"
            " VALUES (%s, %s, %s, %s) ON CONFLICT (short, long)"
            " DO UPDATE SET papers = search_abbreviations.papers + excluded.papers",
            [(*pair, n) for pair, n in sorted(pairs.items())],
        )
        cursor.executemany(
            "INSERT INTO search_titles (key, seq, whole) VALUES (%s, %s, %s)"
            " ON CONFLICT DO NOTHING",
            titles,
        )


def _learn_words(conn: psycopg.Connection, seqs: list[int] | None) -> None:
    """Count the papers with each word of the index (stemmed, as searches match them) among
    these papers (all papers for None): what typo correction compares against."""
    if seqs is None:
        conn.execute(
            "INSERT INTO search_words (word, papers) SELECT word, ndoc"
            " FROM ts_stat('SELECT search FROM papers') ORDER BY word"
        )
        return
    conn.execute(
        "INSERT INTO search_words (word, papers)"
        " SELECT word, count(*) FROM papers, unnest(tsvector_to_array(search)) AS word"
        " WHERE seq = ANY(%s) GROUP BY word ORDER BY word"
        " ON CONFLICT (word) DO UPDATE SET papers = search_words.papers + excluded.papers",
        [seqs],
    )


def _writes_sql(starts: Collection[str]) -> str:
    """SQL that holds for a paper whose title or abstract has a word beginning with each of
    `starts` (one parameter each: see _word_starts)."""
    return "".join(" AND lower(title || ' ' || coalesce(abstract, '')) ~ %s" for _ in starts)


def _word_starts(starts: Collection[str]) -> list[str]:
    return [rf"\m{start}" for start in starts]


def _batches(cursor: psycopg.Cursor[Any], size: int) -> Iterable[list[Any]]:
    while batch := cursor.fetchmany(size):
        yield batch


# -- from parsed queries to tsqueries -------------------------------------------------------


def _form(toks: Sequence[str], labels: str = "") -> Fragment:
    """A phrase of tokens. PostgreSQL's English stemmer leaves a plural without a vowel as it is
    ("llms"), where SQLite's porter makes it "llm": such a word also matches its plural, or
    singular, so "LLM" finds "LLMs" on both stores. With `labels`, its words are matched only
    in the parts of the papers' tsvector so labelled (A: the title; NOT_AUTHORS; see
    Term.not_typed and Term.in_title): each is a run of letters and digits, so it reaches
    to_tsquery as one word."""
    words = [" ".join(toks)]
    if len(toks) == 1 and not set(toks[0][:-1]) & set("aeiouy0123456789"):
        word = toks[0]
        words += [word[:-1]] if word.endswith("s") and len(word) > 2 else [word + "s"]
    if labels:
        phrases = [" <-> ".join(f"{t}:{labels}" for t in w.split()) for w in words]
        return _combine([("to_tsquery('papers', %s)", [w]) for w in phrases], "||")
    return _combine([("phraseto_tsquery('papers', %s)", [w]) for w in words], "||")


def _term(term: Term, typed: bool = False) -> Fragment:
    """Any of a term's forms: exact phrases, and spelled-out forms with all their words; a
    title:phrase's in the title alone."""
    if term.in_title:
        return _form(term.forms[0], "A")
    if typed:
        return _combine([_form(f) for f in (term.typed_forms or term.forms)], "||")
    forms = [_form(f, NOT_AUTHORS if term.not_typed(f) else "") for f in term.forms]
    forms += [("plainto_tsquery('papers', %s)", [" ".join(f)]) for f in term.near]
    return _combine(forms, "||")


def _forms(term: Term, typed: bool) -> tuple[tuple[str, ...], ...]:
    if typed:
        return term.typed_forms or term.forms
    return (*term.forms, *term.near)


def _rarity_score(
    terms: Sequence[Term], total: int, found: Sequence[int], normalisation: int
) -> Fragment:
    """The sum over the terms of each term's rarity (log N / papers with it, bm25's IDF) times
    its field-weighted ts_rank_cd, saturated (rank / (rank + 1)), over papers `p`."""
    rarity = [math.log((total + 1) / (n + 1)) for n in found]
    parts = [_term(t) for t in terms]
    sql = " + ".join(f"%s * {RANK_FUNCTION}(%s, p.search, {q}, {normalisation})" for q, _ in parts)
    params = [v for r, (_, ps) in zip(rarity, parts, strict=True) for v in (r, RANK_WEIGHTS, *ps)]
    return f"({sql})", params


def _combine(parts: Sequence[Fragment], operator: str) -> Fragment:
    sql = "(" + f" {operator} ".join(p[0] for p in parts) + ")"
    return sql, [value for _, params in parts for value in params]


def _where(
    expression: Expression,
    query: Query,
    any_term: bool = False,
    typed: bool = False,
    among: Sequence[Term] | None = None,
) -> _Filter | None:
    """The papers a query matches (with `any_term`, those matching at least one of the plain
    terms, or of the terms `among`, and every quoted phrase; with `typed`, the words as typed,
    no expansions); None when nothing is left to match."""
    if any_term:
        plain = list(among) if among is not None else [t for t in expression.terms if not t.quoted]
        some = [_term(t) for t in plain]
        if len(some) == 1 and among is None:
            some += [_form((w,)) for w in plain[0].words()]
        if not some:
            return None
        positive = [_term(t) for t in expression.terms if t.quoted] + [_combine(some, "||")]
    else:
        positive = [_term(t, typed) for t in expression.terms]
    # Relaxed with an author, the words may all be missing: that author's other papers follow,
    # the words still ranking them (as on SQLite); quoted phrases stay required.
    required = positive[:-1] if any_term and expression.authors else positive
    parts: list[Fragment] = []
    if required:
        parts.append(_prefixed("p.search @@ ", _combine(required, "&&")))
    for author in expression.authors:
        by = "p.author_words @@ phraseto_tsquery('papers_names', %s)"
        parts.append((by, [" ".join(author)]))
    if not parts:
        return None
    if expression.excluded:
        excluded = _combine([_form(e) for e in expression.excluded], "||")
        parts.append(_prefixed("NOT p.search @@ ", excluded))
    sql, params = _combine(parts + _bounds(query), "AND")
    # Ranking and snippets look for every positive word, authors' names included.
    names = [("plainto_tsquery('papers', %s)", [" ".join(a)]) for a in expression.authors]
    return _Filter(sql, params, _combine(positive + names, "||" if any_term else "&&"))


def _bounds(query: Query) -> list[Fragment]:
    """The conditions of a query's filters besides its words: dates, and papers with code."""
    parts: list[Fragment] = []
    if query.since:
        parts.append(("p.day >= %s", [query.since]))
    if query.until:
        parts.append(("p.day <= %s", [query.until]))
    if query.with_code:  # as Paper.code_url and the SQLite store's filter: ILIKE ignores case
        # written out, as the papers_code indexes are (schema v14); % doubled for psycopg
        parts.append((has_code_sql("ILIKE", "p.").replace("%", "%%"), []))
    return parts


def _prefixed(prefix: str, fragment: Fragment) -> Fragment:
    return prefix + fragment[0], fragment[1]


def _why(texts: Sequence[str | None]) -> Snippet:
    """The first snippet with a match (abstract, authors, keywords, title), else the first
    non-empty one."""
    fallback: Snippet = ()
    for text in texts:
        runs = ranking.snippet_runs(text or "")
        if ranking.has_match(runs):
            return runs
        fallback = fallback or runs
    return fallback


def _left(started: float, budget: float) -> float:
    return max(0.001, budget - (time.perf_counter() - started))
