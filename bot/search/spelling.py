"""Typo correction from the index's own vocabulary (FTS5 `fts5vocab`), never a word list.

A typed word that (almost) no paper contains is replaced by the one-edit variant (a letter
dropped, added, changed, or two swapped) that the most papers contain, when that variant is far
more common. A word in some paper's author list is a name, never a typo ("McLean" is not
"clean"). Words are compared as the index stores them, porter-stemmed; SQLite's own porter
tokenizer stems the candidates (an in-memory FTS5 table), so the comparison is exact. The papers
holding each stem come from the vocabulary table (one lookup for all the candidates, counted
when papers are written), taken up to COUNT_CAP so very common candidates compare as equals.
"""

from __future__ import annotations

import string
from collections.abc import Callable

from sqlite_utils import Database

from bot.search.fts import capped_count, vocabulary

MIN_LENGTH = 4  # shorter words have too many one-edit neighbours to guess from
RARE = 2  # a word in at most this many papers may be a typo
MIN_PAPERS = 5  # a correction must be in at least this many papers
MIN_RATIO = 20  # and in this many times more papers than the typed word
MIN_SPLIT_PAPERS = 20  # each half of a word split in two must be in this many papers
COUNT_CAP = 2000  # papers counted per word: enough to compare
_LETTERS = string.ascii_lowercase


def edits(word: str) -> set[str]:
    """Every string one edit from `word`: deletion, transposition, substitution, insertion."""
    splits = [(word[:i], word[i:]) for i in range(len(word) + 1)]
    deletes = {a + b[1:] for a, b in splits if b}
    swaps = {a + b[1] + b[0] + b[2:] for a, b in splits if len(b) > 1}
    changes = {a + c + b[1:] for a, b in splits if b for c in _LETTERS}
    inserts = {a + c + b for a, b in splits for c in _LETTERS}
    return (deletes | swaps | changes | inserts) - {word}


def split(word: str, papers: Callable[[list[str]], dict[str, int]]) -> str | None:
    """Two words run together ("longcontext" -> "long context"), when both are common;
    `papers` counts the papers with each of some words (a word it leaves out has none)."""
    pairs = [(word[:i], word[i:]) for i in range(2, len(word) - 1)]
    counts = papers(sorted({part for pair in pairs for part in pair}))
    best = max(pairs, key=lambda pair: min(counts.get(pair[0], 0), counts.get(pair[1], 0)))
    if min(counts.get(best[0], 0), counts.get(best[1], 0)) >= MIN_SPLIT_PAPERS:
        return " ".join(best)
    return None


class Speller:
    """Corrects typed words against one database's full-text vocabulary."""

    def __init__(self, db: Database) -> None:
        self.db = db
        self._ready = False

    def _prepare(self) -> None:
        # Temporary tables live with this connection only: nothing is written to the file.
        # Contentless: emptied by FTS5's 'delete-all', not by tokenizing each row again.
        self.db.execute(
            "CREATE VIRTUAL TABLE IF NOT EXISTS temp.search_stems"
            " USING fts5(word, tokenize=porter, content='')"
        )
        self.db.execute(
            "CREATE VIRTUAL TABLE IF NOT EXISTS temp.search_stems_i"
            " USING fts5vocab(temp, search_stems, instance)"
        )
        self._ready = True

    def corrections(self, words: list[str]) -> dict[str, str]:
        """{typed word: correction} for the words that look misspelt; the rest are left out."""
        suspects = [w for w in dict.fromkeys(words) if len(w) >= MIN_LENGTH and w.isalpha()]
        if not suspects:
            return {}
        if not self._ready:
            self._prepare()
        counts = self._papers(suspects)
        found: dict[str, str] = {}
        for word in (w for w in suspects if counts[w] <= RARE and not self._a_name(w, counts)):
            candidates = sorted(edits(word))
            papers = self._papers(candidates)
            best = max(candidates, key=lambda c: (papers[c], -len(c)))
            if papers[best] >= MIN_PAPERS and papers[best] >= MIN_RATIO * max(1, counts[word]):
                found[word] = best
            elif halves := split(word, self._papers):
                found[word] = halves
        return found

    def _a_name(self, word: str, counts: dict[str, int]) -> bool:
        """True when an author list holds the word (an index lookup of the rare word)."""
        return counts[word] > 0 and capped_count(self.db, f'authors : "{word}"', 1) > 0

    def _papers(self, words: list[str]) -> dict[str, int]:
        """How many papers contain each word (as the index stems it), up to COUNT_CAP."""
        stems = self._stems(words)
        by_stem = vocabulary(self.db, list(stems.values()))
        return {w: min(COUNT_CAP, by_stem.get(stems.get(w, ""), 0)) for w in words}

    def _stems(self, words: list[str]) -> dict[str, str]:
        """Each word as the index stores it (porter), through SQLite's own tokenizer."""
        conn = self.db.conn
        with conn:  # commits at once, so no transaction stays open on the shared connection
            conn.executemany(
                "INSERT INTO temp.search_stems (rowid, word) VALUES (?, ?)", list(enumerate(words))
            )
            rows = conn.execute("SELECT doc, term FROM temp.search_stems_i").fetchall()
            conn.execute("INSERT INTO temp.search_stems (search_stems) VALUES ('delete-all')")
        return {words[doc]: term for doc, term in rows}
