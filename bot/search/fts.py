"""The SQL behind search: FTS5 ranking, snippets, the abbreviation table, query deadlines.

bot/search builds the FTS5 MATCH expressions (from parsed, quoted tokens only) and decides how to
rank; this module runs them over the SQLite store's papers table and its FTS5 index. Every
function takes the store's sqlite_utils Database.
"""

from __future__ import annotations

import sqlite3
import threading
import time
from collections.abc import Callable, Collection, Iterable, Iterator, Sequence
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass
from datetime import date
from typing import Any, Literal

from sqlite_utils import Database

from bot.models import has_code_sql, paper_day_sql, title_keys
from bot.search.abbreviations import definitions

# The paper's own date for since:/year: filters (Paper.day).
PAPER_DAY = paper_day_sql("p.")
PAPER_COLUMNS = (
    "p.rowid AS rowid_, p.id, p.title, p.abstract, p.authors, p.published, p.added, p.upvotes,"
    " p.comments, p.github_repo, p.github_stars, p.project_page, p.thumbnail, p.ai_summary,"
    " p.keywords, p.categories, p.organization, p.sources, p.first_seen, p.last_seen"
)
_FTS_COLUMNS = ("title", "abstract", "authors", "keywords")  # papers_fts, in order
SnippetSource = Literal["walk", "look up", "own table"]  # see snippets()
# Ticks of the progress handler: SQLite VM instructions between deadline checks.
_TICK = 2000
MERGE_LEVEL = 2  # FTS5 `usermerge`: a level with this many segments is merged (the fewest)
MERGE_PAGES = 100  # index pages one `merge` step writes
MERGE_SECONDS = 0.1  # segment merging at the end of a write of papers, at most
_STOPS: dict[int, list[float]] = {}  # connection id -> the stop times of its open deadlines


class SearchTimeout(Exception):
    """A search statement ran past its deadline and was interrupted."""

    def __init__(self, seconds: float) -> None:
        super().__init__(f"search took longer than {seconds:.3f}s")
        self.seconds = seconds


@dataclass(frozen=True, slots=True)
class PaperFilter:
    """Which papers a search may find besides its words: inclusive bounds on a paper's date
    (None is open), and with `code`, only papers with code (see Paper.code_url)."""

    since: date | None = None
    until: date | None = None
    code: bool = False

    def sql(self) -> tuple[str, list[str]]:
        """A WHERE fragment over papers `p` and its parameters."""
        parts, params = [], []
        if self.since:
            parts.append(f"{PAPER_DAY} >= ?")
            params.append(self.since.isoformat())
        if self.until:
            parts.append(f"{PAPER_DAY} <= ?")
            params.append(self.until.isoformat())
        if self.code:  # LIKE ignores ASCII case, as code_url does
            parts.append(has_code_sql(table="p."))  # as the papers_code indexes (schema v9)
        return (" AND " + " AND ".join(parts) if parts else ""), params


# -- schema ---------------------------------------------------------------------------------


ABBREVIATIONS_TABLE = "search_abbreviations"
TITLES_TABLE = "search_titles"  # (title key, paper seq): exact titles by index
VOCABULARY_TABLE = "search_vocabulary"  # (term, papers): how many papers hold each indexed term
# The titles alone in an FTS5 index of their own, tokenized as papers_fts: which papers have a
# word in the title, without walking the word's whole doclist (abstracts included) in papers_fts.
TITLE_INDEX = "search_title_fts"
_TITLE_INDEX_DDL = [
    "CREATE VIRTUAL TABLE search_title_fts USING fts5(title, tokenize='porter', content='papers')",
    "CREATE TRIGGER search_title_fts_ai AFTER INSERT ON papers BEGIN"
    " INSERT INTO search_title_fts (rowid, title) VALUES (new.rowid, new.title); END",
    "CREATE TRIGGER search_title_fts_ad AFTER DELETE ON papers BEGIN"
    " INSERT INTO search_title_fts (search_title_fts, rowid, title)"
    " VALUES ('delete', old.rowid, old.title); END",
    "CREATE TRIGGER search_title_fts_au AFTER UPDATE OF title ON papers"
    " WHEN old.title IS NOT new.title BEGIN"
    " INSERT INTO search_title_fts (search_title_fts, rowid, title)"
    " VALUES ('delete', old.rowid, old.title);"
    " INSERT INTO search_title_fts (rowid, title) VALUES (new.rowid, new.title); END",
]


def ensure_tables(db: Database) -> None:
    """Create the search side's own tables when missing, filled from the papers already stored
    (a database from before they existed gets them this way): the learned abbreviations, the
    title keys that find an exact title by index, the indexed terms' paper counts and the
    index of titles alone."""
    _ensure_table(
        db,
        ABBREVIATIONS_TABLE,
        [
            "CREATE TABLE search_abbreviations (short TEXT NOT NULL, long TEXT NOT NULL,"
            " spelling TEXT NOT NULL, papers INTEGER NOT NULL DEFAULT 0,"
            " PRIMARY KEY (short, long)) WITHOUT ROWID",
            "CREATE INDEX search_abbreviations_long ON search_abbreviations(long)",
        ],
        rebuild_abbreviations,
    )
    _ensure_table(
        db,
        TITLES_TABLE,
        [
            "CREATE TABLE search_titles (key TEXT NOT NULL, seq INTEGER NOT NULL,"
            " whole INTEGER NOT NULL, PRIMARY KEY (key, seq)) WITHOUT ROWID"
        ],
        rebuild_titles,
    )
    _ensure_table(
        db,
        VOCABULARY_TABLE,
        [
            "CREATE TABLE search_vocabulary (term TEXT PRIMARY KEY, papers INTEGER NOT NULL)"
            " WITHOUT ROWID"
        ],
        rebuild_vocabulary,
    )
    _ensure_table(db, TITLE_INDEX, _TITLE_INDEX_DDL, rebuild_title_index)


def _ensure_table(
    db: Database, name: str, ddl: list[str], fill: Callable[[Database], None]
) -> None:
    if db[name].exists():
        return
    # IMMEDIATE: a second process opening the same new file waits, then finds the table.
    db.execute("BEGIN IMMEDIATE")
    try:
        if not db[name].exists():
            for statement in ddl:
                db.execute(statement)
            fill(db)
    except BaseException:
        db.conn.rollback()
        raise
    db.conn.commit()


# -- writes ---------------------------------------------------------------------------------


Pairs = dict[tuple[str, str, str], int]  # (short, long, spelling) -> papers defining it


def learn_abbreviations(db: Database, rows: Iterable[dict[str, Any]]) -> None:
    """Record the abbreviations that these paper rows' abstracts define (call inside the write)."""
    _store_pairs(db, _count_definitions(row.get("abstract") or "" for row in rows))


def learn_titles(db: Database, rows: Iterable[dict[str, Any]]) -> None:
    """Record the title keys of these new paper rows (call inside the write)."""
    ids = [row["id"] for row in rows]
    for start in range(0, len(ids), 500):
        chunk = ids[start : start + 500]
        marks = ",".join("?" * len(chunk))
        found = db.execute(f"SELECT seq, title FROM papers WHERE id IN ({marks})", chunk)
        _store_titles(db, found.fetchall())


def rebuild_titles(db: Database) -> None:
    """Recompute every paper's title keys."""
    db.execute("DELETE FROM search_titles")
    cursor = db.conn.execute("SELECT seq, title FROM papers")
    while batch := cursor.fetchmany(20_000):
        _store_titles(db, batch)


def _store_titles(db: Database, papers: Iterable[tuple[int, str]]) -> None:
    rows = [
        (key, seq, int(whole))
        for seq, title in papers
        for key, whole in zip(title_keys(title or ""), (True, False), strict=True)
        if key
    ]
    db.conn.executemany(
        "INSERT OR IGNORE INTO search_titles (key, seq, whole) VALUES (?, ?, ?)", rows
    )


def learn_vocabulary(db: Database, rows: Iterable[dict[str, Any]]) -> None:
    """Count the terms of these new paper rows into the vocabulary (call inside the write): the
    rows are tokenized as the index tokenizes them, in a temporary FTS5 table of their own.
    A known paper's changed text is not recounted (a few papers' worth of drift in counts that
    only compare typed words with their one-edit neighbours); a rebuild recounts everything."""
    texts = [tuple(row.get(c) for c in _FTS_COLUMNS) for row in rows]
    if not texts:
        return
    columns = ", ".join(_FTS_COLUMNS)
    db.execute(
        f"CREATE VIRTUAL TABLE IF NOT EXISTS temp.search_new_text USING fts5({columns},"
        " content='', tokenize=porter)"
    )
    db.execute(
        "CREATE VIRTUAL TABLE IF NOT EXISTS temp.search_new_terms"
        " USING fts5vocab(temp, search_new_text, row)"
    )
    db.conn.executemany(f"INSERT INTO temp.search_new_text ({columns}) VALUES (?, ?, ?, ?)", texts)
    db.execute(
        "INSERT INTO search_vocabulary (term, papers) SELECT term, doc FROM temp.search_new_terms"
        " WHERE true ON CONFLICT (term) DO UPDATE SET papers = papers + excluded.papers"
    )
    db.execute("INSERT INTO temp.search_new_text (search_new_text) VALUES ('delete-all')")


def rebuild_vocabulary(db: Database) -> None:
    """Recount every indexed term's papers: one walk of the whole full-text index."""
    db.execute(
        "CREATE VIRTUAL TABLE IF NOT EXISTS temp.search_fts_terms"
        " USING fts5vocab(main, papers_fts, row)"
    )
    db.execute("DELETE FROM search_vocabulary")
    db.execute(
        "INSERT INTO search_vocabulary (term, papers) SELECT term, doc FROM temp.search_fts_terms"
    )


def vocabulary(db: Database, terms: Sequence[str]) -> dict[str, int]:
    """How many papers hold each of these indexed terms (stems); a term no paper holds is
    left out."""
    found: dict[str, int] = {}
    unique = list(dict.fromkeys(terms))
    for start in range(0, len(unique), 500):
        chunk = unique[start : start + 500]
        marks = ",".join("?" * len(chunk))
        sql = f"SELECT term, papers FROM search_vocabulary WHERE term IN ({marks})"
        found.update((str(t), int(n)) for t, n in db.execute(sql, chunk))
    return found


def rebuild_abbreviations(db: Database) -> None:
    """Recompute the learned abbreviations from every stored abstract."""
    pairs = _count_definitions(r[0] or "" for r in db.execute("SELECT abstract FROM papers"))
    db.execute("DELETE FROM search_abbreviations")
    _store_pairs(db, pairs)


def rebuild_fts(db: Database) -> None:
    """Rebuild the full-text index from the papers table (after a bulk load without triggers),
    then merge its segments into one (FTS5 `optimize`): every term look-up reads each segment,
    and a bulk rebuild leaves a dozen at a million papers. The rebuild starts the index
    structure afresh, so the one `optimize` adds only a level or two to it (see merge_segments
    for why a live index is never optimized)."""
    db.execute("INSERT INTO papers_fts(papers_fts) VALUES ('rebuild')")
    db.execute("INSERT INTO papers_fts(papers_fts) VALUES ('optimize')")


def rebuild_title_index(db: Database) -> None:
    """Rebuild the index of titles alone from the papers table, in one segment."""
    db.execute("INSERT INTO search_title_fts (search_title_fts) VALUES ('rebuild')")
    db.execute("INSERT INTO search_title_fts (search_title_fts) VALUES ('optimize')")


def merge_segments(db: Database, within: float) -> None:
    """Merge the full-text index's segments, then the title index's, a few pages at a time
    (FTS5's `merge` command, MERGE_PAGES pages a step) until no level holds more than one
    segment or `within` seconds have passed; a merge left unfinished goes on at the next call.
    Each write of new papers adds a segment, and every term look-up reads every segment.

    A positive `merge` with `usermerge` 2 merges any level holding two segments or more and
    never moves the one large segment of a rebuild. `optimize`, or a negative `merge`, would
    merge everything into one segment, but rewrites the whole index each time and adds levels
    to its structure (with SQLite 3.40, about two per call once the index has had a few hundred
    writes), and FTS5 takes a structure of more than 2,000 levels for a corrupt one."""
    stop = time.perf_counter() + within
    for table in ("papers_fts", TITLE_INDEX):
        usermerge = db.execute(f"SELECT v FROM {table}_config WHERE k = 'usermerge'").fetchone()
        if usermerge != (MERGE_LEVEL,):  # kept in the index's own config table, set once
            db.execute(
                f"INSERT INTO {table} ({table}, rank) VALUES ('usermerge', ?)", [MERGE_LEVEL]
            )
        while time.perf_counter() < stop:
            before = db.conn.total_changes
            db.execute(f"INSERT INTO {table} ({table}, rank) VALUES ('merge', ?)", [MERGE_PAGES])
            if db.conn.total_changes - before < 2:  # FTS5's sign that nothing was left to merge
                break


def merge_after_write(db: Database, rows: Iterable[dict[str, Any]]) -> None:
    """End a write of papers with up to MERGE_SECONDS of segment merging (merge_segments)."""
    merge_segments(db, MERGE_SECONDS)


def segments(db: Database) -> int:
    """How many segments the full-text index has (each has its entries in `papers_fts_idx`)."""
    return int(db.execute("SELECT count(DISTINCT segid) FROM papers_fts_idx").fetchone()[0])


def rebuild(db: Database) -> None:
    """Rebuild the full-text index (merged into one segment) and the learned abbreviations,
    side by side on two cores, then the title keys and the vocabulary."""
    path = db.execute("PRAGMA database_list").fetchone()[2]
    if not path:  # in memory: nothing else can read it
        rebuild_fts(db)
        rebuild_title_index(db)
        rebuild_abbreviations(db)
        rebuild_titles(db)
        rebuild_vocabulary(db)
        return
    pairs: Pairs = {}

    def learn() -> None:
        # A second connection reads the committed rows while FTS5 indexes them; sqlite3 lets
        # go of the GIL while the rebuild runs, so the regex work gets the other core.
        reader = sqlite3.connect(path)
        try:
            rows = reader.execute("SELECT abstract FROM papers")
            pairs.update(_count_definitions(r[0] or "" for r in rows))
        finally:
            reader.close()

    worker = threading.Thread(target=learn, name="abbreviations")
    worker.start()
    rebuild_fts(db)
    rebuild_title_index(db)
    worker.join()
    db.execute("DELETE FROM search_abbreviations")
    _store_pairs(db, pairs)
    rebuild_titles(db)
    rebuild_vocabulary(db)


def _count_definitions(abstracts: Iterable[str]) -> Pairs:
    counts: Pairs = {}
    for abstract in abstracts:
        for pair in set(definitions(abstract)):
            counts[pair] = counts.get(pair, 0) + 1
    return counts


def _store_pairs(db: Database, pairs: Pairs) -> None:
    if pairs:
        db.conn.executemany(
            "INSERT INTO search_abbreviations (short, long, spelling, papers) VALUES (?, ?, ?, ?)"
            " ON CONFLICT (short, long) DO UPDATE SET papers = papers + excluded.papers",
            [(short, long, spelling, n) for (short, long, spelling), n in pairs.items()],
        )


# -- reads ----------------------------------------------------------------------------------


def abbreviation_pairs(
    db: Database, short_keys: Sequence[str], long_keys: Sequence[str]
) -> list[tuple[str, str, str, int]]:
    """Learned (short, long, spelling, papers) pairs whose short or long form is a key."""
    found: list[tuple[str, str, str, int]] = []
    for column, keys in (("short", short_keys), ("long", long_keys)):
        keys = list(dict.fromkeys(keys))[:200]
        if not keys:
            continue
        marks = ",".join("?" * len(keys))
        found.extend(
            db.execute(
                "SELECT short, long, spelling, papers FROM search_abbreviations"
                f" WHERE {column} IN ({marks})",
                keys,
            ).fetchall()
        )
    return found


def scored_newest(
    db: Database,
    match: str,
    weights: Sequence[float],
    limit: int,
    bounds: PaperFilter,
    within: float | None = None,
) -> tuple[list[tuple[int, float]], bool]:
    """(rowid, bm25 score, higher is better) of the newest `limit` matches, newest first, and
    False when `within` seconds ran out first (the matches found by then are returned)."""
    rank = "bm25(" + ", ".join(f"{w:g}" for w in weights) + ")"
    found, complete = _newest(
        db, "f.rowid, -f.rank", " AND f.rank MATCH ?", [rank], match, limit, bounds, within
    )
    return [(int(row[0]), float(row[1])) for row in found], complete


def best_scored(
    db: Database,
    match: str,
    weights: Sequence[float],
    limit: int,
    bounds: PaperFilter,
    cap: int,
    within: float,
) -> list[tuple[int, float]] | None:
    """(rowid, bm25 score) of the `limit` best matches of all, when at most `cap` papers match
    and ranking them takes at most `within` seconds; None otherwise (rank the newest instead)."""
    where, params = bounds.sql()
    join = " JOIN papers p ON p.rowid = f.rowid" if where else ""
    try:
        with deadline(db, within):
            counted = db.execute(
                f"SELECT count(*) FROM (SELECT f.rowid FROM papers_fts f{join}"
                f" WHERE papers_fts MATCH ?{where} LIMIT ?)",
                [match, *params, cap + 1],
            ).fetchone()[0]
            if counted > cap:
                return None
            rank = "bm25(" + ", ".join(f"{w:g}" for w in weights) + ")"
            sql = (
                f"SELECT f.rowid, -f.rank FROM papers_fts f{join}"
                f" WHERE papers_fts MATCH ? AND f.rank MATCH ?{where} ORDER BY f.rank LIMIT ?"
            )
            rows = db.execute(sql, [match, rank, *params, limit]).fetchall()
    except SearchTimeout:
        return None
    return [(int(r[0]), float(r[1])) for r in rows]


def newest_rowids(
    db: Database, match: str, limit: int, bounds: PaperFilter, within: float
) -> tuple[list[int], bool]:
    """Rowids of the newest `limit` matches, newest first, without ranking; and False when the
    `within` seconds ran out first (the matches found by then are returned)."""
    found, complete = _newest(db, "f.rowid", "", [], match, limit, bounds, within)
    return [int(row[0]) for row in found], complete


def newest_day(db: Database) -> date | None:
    """The day of the newest paper (Paper.day), from the index of days."""
    found = db.execute(f"SELECT max({PAPER_DAY}) FROM papers p").fetchone()[0]
    return date.fromisoformat(found) if found else None


def listing(
    db: Database, bounds: PaperFilter, by_upvotes: bool, limit: int, within: float
) -> list[int] | None:
    """Rowids of `limit` papers `bounds` keeps: the most upvoted (the newest first among
    equals), or without `by_upvotes` the newest (a walk back through the index of days); None
    when `within` seconds run out first (see engine.listed)."""
    where, params = bounds.sql()
    order = f"p.upvotes DESC, {PAPER_DAY} DESC, p.rowid DESC" if by_upvotes else f"{PAPER_DAY} DESC"
    sql = f"SELECT p.rowid FROM papers p WHERE 1{where} ORDER BY {order} LIMIT ?"
    try:
        with deadline(db, within):
            return [int(row[0]) for row in db.execute(sql, [*params, limit])]
    except SearchTimeout:
        return None


def capped_count(db: Database, match: str, cap: int) -> int:
    """How many papers match, counted up to `cap` (a walk of at most `cap` index entries)."""
    sql = "SELECT count(*) FROM (SELECT rowid FROM papers_fts WHERE papers_fts MATCH ? LIMIT ?)"
    return int(db.execute(sql, [match, cap]).fetchone()[0])


def _newest(
    db: Database,
    columns: str,
    rank: str,
    rank_params: list[str],
    match: str,
    limit: int,
    bounds: PaperFilter,
    within: float | None,
) -> tuple[list[tuple[Any, ...]], bool]:
    """Rows of the newest matches, and False if `within` seconds ran out before the last."""
    where, params = bounds.sql()
    join = " JOIN papers p ON p.rowid = f.rowid" if where else ""
    # rowid order is FTS5's native order, so the walk stops after `limit` matches and bm25 is
    # computed for those only: the cost is bounded however common the words are.
    sql = (
        f"SELECT {columns} FROM papers_fts f{join}"
        f" WHERE papers_fts MATCH ?{rank}{where} ORDER BY f.rowid DESC LIMIT ?"
    )
    found: list[tuple[Any, ...]] = []
    try:
        with deadline(db, within) if within is not None else nullcontext():
            for row in db.execute(sql, [match, *rank_params, *params, limit]):
                found.append(tuple(row))
    except SearchTimeout:
        if within is None:
            raise
        return found, False
    return found, True


def paper_rows(db: Database, rowids: Sequence[int]) -> dict[int, dict[str, Any]]:
    """Full papers rows by rowid, each with its `rowid`."""
    if not rowids:
        return {}
    marks = ",".join("?" * len(rowids))
    cursor = db.execute(
        f"SELECT {PAPER_COLUMNS} FROM papers p WHERE p.rowid IN ({marks})", list(rowids)
    )
    names = [d[0] for d in cursor.description]
    out = {}
    for values in cursor.fetchall():
        row = dict(zip(names, values, strict=True))
        row["rowid"] = row.pop("rowid_")
        out[row["rowid"]] = row
    return out


WRITING_CHUNK = 250  # papers whose text one statement looks at (see writing)


def writing(
    db: Database,
    keys: Sequence[Any],
    starts: Collection[str],
    within: float,
    key: Literal["rowid", "id"] = "rowid",
    enough: int | None = None,
) -> set[Any] | None:
    """The keys (rowids or ids) of the papers whose title or abstract has a word beginning with
    each of `starts` (lower-case letters); None when `within` seconds ran out first. The keys
    are looked at in order, WRITING_CHUNK at a time, until `enough` are found, if given. SQLite's
    LIKE (blind to case) finds the texts holding them anywhere; only those are read, for where
    the words begin."""
    test = " AND ".join("(title LIKE ? OR abstract LIKE ?)" for _ in starts)
    patterns = [f"%{start}%" for start in starts for _ in range(2)]
    found: set[Any] = set()
    try:
        with deadline(db, within):
            for first in range(0, len(keys), WRITING_CHUNK):
                if enough is not None and len(found) >= enough:
                    break
                chunk = list(keys[first : first + WRITING_CHUNK])
                marks = ",".join("?" * len(chunk))
                sql = f"SELECT {key}, title, abstract FROM papers WHERE {key} IN ({marks})"
                sql += f" AND {test}"
                for k, title, abstract in db.execute(sql, [*chunk, *patterns]):
                    text = f"{title} {abstract or ''}".lower()
                    if all(_starts_a_word(start, text) for start in starts):
                        found.add(k)
    except SearchTimeout:
        return None
    return found


def _starts_a_word(start: str, text: str) -> bool:
    """Whether a word of the text begins with `start`."""
    at = text.find(start)
    while at > 0 and text[at - 1].isalnum():
        at = text.find(start, at + 1)
    return at >= 0


def snippets(
    db: Database,
    match: str,
    rows: Sequence[dict[str, Any]],
    columns: Sequence[int],
    marks: tuple[str, str],
    words: int,
    source: SnippetSource = "own table",
) -> Iterator[tuple[int, tuple[str, ...]]]:
    """(rowid, FTS5 snippets of some columns: 0 title, 1 abstract, 2 authors, 3 keywords) of
    these papers rows (each with its `rowid`).

    snippet() reads only the paper and the query, so the rows are indexed on their own in a
    temporary FTS5 table (tokenized as the archive's index is) and the snippets taken there:
    in the archive's index each hit would cost a look-up of every term in every segment, a walk
    of long doclists for common words. For rarer words the archive's index is cheaper:
    `source` "walk" (words in at most a few hundred papers) walks the matches between the
    lowest and highest rowid in one statement, "look up" looks each hit up.
    """
    if not rows:
        return
    cols = ", ".join("snippet(papers_fts, ?, ?, ?, '…', ?)" for _ in columns)
    params = [v for c in columns for v in (c, marks[0], marks[1], words)]
    if source == "look up":
        sql = f"SELECT rowid, {cols} FROM papers_fts WHERE papers_fts MATCH ? AND rowid = ?"
        for rowid in (row["rowid"] for row in rows):
            found = db.execute(sql, [*params, match, rowid]).fetchone()
            if found:
                yield int(found[0]), tuple(v or "" for v in found[1:])
        return
    if source == "walk":
        rowids = [row["rowid"] for row in rows]
        marks_in = ",".join("?" * len(rowids))
        # The unary + keeps the IN list out of FTS5's hands: given to FTS5 as rowid = ? it
        # would run one lookup per value. The range is what FTS5 walks.
        sql = (
            f"SELECT rowid, {cols} FROM papers_fts WHERE papers_fts MATCH ?"
            f" AND rowid BETWEEN ? AND ? AND +rowid IN ({marks_in})"
        )
        for row in db.execute(sql, [*params, match, min(rowids), max(rowids), *rowids]):
            yield int(row[0]), tuple(v or "" for v in row[1:])
        return
    conn = db.conn
    names = ", ".join(_FTS_COLUMNS)
    # The rows in a table of their own, indexed as external content: emptied at the end by
    # FTS5's 'delete-all', where deleting rows from an FTS5 table tokenizes each one again.
    conn.execute(
        f"CREATE TEMP TABLE IF NOT EXISTS search_hit_rows (id INTEGER PRIMARY KEY, {names})"
    )
    conn.execute(
        f"CREATE VIRTUAL TABLE IF NOT EXISTS temp.search_hits USING fts5({names},"
        " tokenize=porter, content='search_hit_rows', content_rowid='id')"
    )
    cols = cols.replace("papers_fts", "search_hits")
    values = [(row["rowid"], *(row.get(c) for c in _FTS_COLUMNS)) for row in rows]
    with conn:  # commits at once, so no transaction stays open on the shared connection
        places = ", ".join("?" * (1 + len(_FTS_COLUMNS)))
        for table, key in (("search_hit_rows", "id"), ("search_hits", "rowid")):
            insert = f"INSERT INTO temp.{table} ({key}, {names}) VALUES ({places})"
            conn.executemany(insert, values)
        found = conn.execute(
            f"SELECT rowid, {cols} FROM temp.search_hits WHERE search_hits MATCH ?",
            [*params, match],
        ).fetchall()
        conn.execute("INSERT INTO temp.search_hits (search_hits) VALUES ('delete-all')")
        conn.execute("DELETE FROM temp.search_hit_rows")
    for row in found:
        yield int(row[0]), tuple(v or "" for v in row[1:])


def exact_titles(db: Database, key: str, bounds: PaperFilter) -> list[int]:
    """Rowids of papers whose title, or else name before its colon, is exactly `key` (a
    text_key), whole titles first, newest first: an index lookup, however old the paper and
    however large the archive."""
    if not key:
        return []
    where, params = bounds.sql()
    join = " JOIN papers p ON p.rowid = t.seq" if where else ""
    sql = (
        f"SELECT t.seq FROM search_titles t{join} WHERE t.key = ?{where}"
        " ORDER BY t.whole DESC, t.seq DESC LIMIT 20"
    )
    return [int(r[0]) for r in db.execute(sql, [key, *params])]


def which_titles_match(db: Database, match: str, rowids: Sequence[int]) -> set[int]:
    """Which of these rowids have a title matching an FTS5 expression (no column filters): as
    which_match(f"title : ({match})"), from the index of titles alone, whose doclists hold a
    word's titles only, not every abstract with it."""
    return which_match(db, match, rowids, TITLE_INDEX)


def which_match(
    db: Database, match: str, rowids: Sequence[int], table: str = "papers_fts"
) -> set[int]:
    """Which of these rowids match an FTS5 expression: one walk of the matches between the
    lowest and highest rowid (the unary + keeps the IN list from becoming one lookup each)."""
    if not rowids or not match:
        return set()
    marks = ",".join("?" * len(rowids))
    sql = (
        f"SELECT rowid FROM {table} WHERE {table} MATCH ?"
        f" AND rowid BETWEEN ? AND ? AND +rowid IN ({marks})"
    )
    return {int(r[0]) for r in db.execute(sql, [match, min(rowids), max(rowids), *rowids])}


def matching_ids(db: Database, match: str, ids: Sequence[str], bounds: PaperFilter) -> set[str]:
    """Which of these paper ids match an FTS5 expression and the filter `bounds`."""
    found: set[str] = set()
    where, params = bounds.sql()
    for start in range(0, len(ids), 500):
        chunk = list(ids[start : start + 500])
        marks = ",".join("?" * len(chunk))
        span = db.execute(
            f"SELECT min(rowid), max(rowid) FROM papers WHERE id IN ({marks})", chunk
        ).fetchone()
        if span[0] is None:
            continue
        # A rowid range is a constraint FTS5 applies while reading its index, so a topic filter
        # over today's papers never walks the whole archive's matches.
        sql = (
            "SELECT p.id FROM papers_fts f JOIN papers p ON p.rowid = f.rowid"
            f" WHERE papers_fts MATCH ? AND f.rowid BETWEEN ? AND ?{where}"
            f" AND p.id IN ({marks})"
        )
        found.update(r[0] for r in db.execute(sql, [match, span[0], span[1], *params, *chunk]))
    return found


@contextmanager
def deadline(db: Database, seconds: float) -> Iterator[None]:
    """Interrupt any statement still running `seconds` from now with SearchTimeout; nestable."""
    conn: sqlite3.Connection = db.conn
    stops = _STOPS.setdefault(id(conn), [])
    stops.append(time.perf_counter() + seconds)
    # One handler per connection reads the innermost (earliest) stop, so a short inner budget
    # (a best-effort lookup) ends early without cancelling the outer one.
    conn.set_progress_handler(lambda: int(time.perf_counter() > min(stops)), _TICK)
    try:
        yield
    except sqlite3.OperationalError as exc:
        if "interrupted" in str(exc):
            raise SearchTimeout(seconds) from exc
        raise
    finally:
        stops.pop()
        if not stops:
            conn.set_progress_handler(None, 0)
            del _STOPS[id(conn)]
