"""Typo correction from the index's own vocabulary (FTS5 `fts5vocab`), never a word list.

A typed word that (almost) no paper contains is replaced by the one-edit variant (a letter
dropped, added, changed, or two swapped) that the most papers contain, when that variant is far
more common; of the variants that stem alike, the one those papers write ("attentin" ->
"attention", not "attentic", which stems as "attention" does), and a stem none of a few of
its papers write a variant of gives way to the next ("dataet" -> "dataset", not "datae",
which stems as "data" does). A word in some paper's author list is a name, never a typo
("McLean" is not "clean"), and neither is an everyday English word ("things", rare in a small
archive). Words are compared as the index stores them, stemmed, so a variant whose stem is a
stop word's or shorter than MIN_STEM is no correction: "theings" stems to "the" and "usings"
to "us", which nearly every paper has. SQLite's own porter tokenizer stems the candidates (an
in-memory FTS5 table), so the comparison is exact. The papers holding each stem come from the
vocabulary table (one lookup for all the candidates, counted when papers are written), taken
up to COUNT_CAP so very common candidates compare as equals.
"""

from __future__ import annotations

import re
import string
from collections.abc import Callable, Collection, Sequence
from dataclasses import replace
from itertools import pairwise

from sqlite_utils import Database

from bot.search.expansion import MAX_JOINED_CHARS
from bot.search.fts import capped_count, vocabulary
from bot.search.grammar import CHAT_WORDS, FILLER, MAX_TERMS, QUALITIES, STOPWORDS, Query, tokens

MIN_LENGTH = 4  # shorter words have too many one-edit neighbours to guess from
# Longer words are no slip of a word papers use (the longest a dev corpus's papers share are
# about 20 letters), and each letter adds 54 variants to look up.
MAX_LENGTH = 32
MIN_STEM = 3  # a correction's stem has at least this many letters
RARE = 2  # a word in at most this many papers may be a typo
MIN_PAPERS = 5  # a correction must be in at least this many papers
MIN_RATIO = 20  # and in this many times more papers than the typed word, if any paper has it
# (a word no paper holds finds nothing as typed: a variant in MIN_PAPERS is worth showing)
MIN_SPLIT_PAPERS = 20  # each half of a word split in two must be in this many papers
# A joined word ("multiview") is also searched spaced when each part is in this many times its
# papers or more: the spaced spelling is then the usual one, and the joined one a variant.
SPACED_RATIO = 2
CONNECTIVES = ("to", "2")  # "textto3d", "text2sql": text-to-3d, text-to-sql
COUNT_CAP = 2000  # papers counted per word: enough to compare
WRITTEN_PAPERS = 20  # papers read for how a stem's words are written
WRITTEN_STEMS = 3  # stems read, commonest first, for a variant their papers write
_LETTERS = string.ascii_lowercase
_NAMED_NUMBER = re.compile(r"([^\W\d_]+)(\d+)")  # "gpt4": gpt, 4
EVERYDAY = STOPWORDS | FILLER  # English words, never typos however few papers use them
NO_TYPOS = EVERYDAY | CHAT_WORDS  # ... and the words a chat message asks for papers with
# (stem, papers holding it) of each word, by the index's stemmer; leaves out words it has none for
Counted = Callable[[list[str]], dict[str, tuple[str, int]]]
# the titles and abstracts, lower-cased, of up to WRITTEN_PAPERS papers holding a word's stem
# (or words' stems, side by side)
Written = Callable[[str], str]


def corrections(
    words: list[str],
    counted: Counted,
    a_name: Callable[[str], bool],
    stop_stems: Collection[str],
    written: Written,
) -> dict[str, str]:
    """{typed word: correction} for the words that look misspelt: MIN_LENGTH to MAX_LENGTH
    letters, in at most RARE papers, not a name (`a_name`: some paper's author list holds it),
    an everyday word nor a British or American spelling (see respellings). The correction is
    a one-edit variant in at least MIN_PAPERS and MIN_RATIO times the typed word's papers,
    leaving out variants whose stem is in `stop_stems` (the stop words' stems) or shorter
    than MIN_STEM, the most papers first, written as its papers write it (see _best); else
    two common words run together (see split)."""
    suspects = [
        w
        for w in dict.fromkeys(words)
        if MIN_LENGTH <= len(w) <= MAX_LENGTH and w.isalpha() and w not in NO_TYPOS
    ]
    if not suspects:
        return {}
    counts = {word: n for word, (_, n) in counted(suspects).items()}
    rare = [w for w in suspects if counts.get(w, 0) <= RARE]
    spelt = respellings(rare, counted, written) if rare else {}
    found: dict[str, str] = {}
    for word in rare:
        typed = counts.get(word, 0)
        if word in spelt or (typed and a_name(word)):
            continue
        enough = max(MIN_PAPERS, MIN_RATIO * typed)
        papers: dict[str, int] = {}
        variants: dict[str, list[str]] = {}
        for variant, (stem, n) in counted(sorted(edits(word))).items():
            if n >= enough and len(stem) >= MIN_STEM and stem not in stop_stems:
                papers[stem] = n
                variants.setdefault(stem, []).append(variant)
        if best := _best(variants, papers, written):
            found[word] = best
        elif halves := split(
            word, lambda parts: {w: n for w, (_, n) in counted(parts).items()}, written
        ):
            found[word] = halves
    return found


def _best(variants: dict[str, list[str]], papers: dict[str, int], written: Written) -> str:
    """The variant to search, "" for none: of the WRITTEN_STEMS stems the most papers hold,
    the first whose papers write one of its variants, as they most often write it; when none
    do, the commonest stem's shortest variant."""
    stems = sorted(variants, key=lambda stem: (-papers[stem], min(map(len, variants[stem]))))
    for stem in stems[:WRITTEN_STEMS]:
        text = written(variants[stem][0])
        seen = {v: len(re.findall(rf"\b{v}\b", text)) for v in variants[stem]}
        if forms := [v for v in variants[stem] if seen[v]]:
            return max(forms, key=lambda v: (seen[v], -len(v), v))
    return min(variants[stems[0]], key=lambda v: (len(v), v)) if stems else ""


def edits(word: str) -> set[str]:
    """Every string one edit from `word`: deletion, transposition, substitution, insertion."""
    splits = [(word[:i], word[i:]) for i in range(len(word) + 1)]
    deletes = {a + b[1:] for a, b in splits if b}
    swaps = {a + b[1] + b[0] + b[2:] for a, b in splits if len(b) > 1}
    changes = {a + c + b[1:] for a, b in splits if b for c in _LETTERS}
    inserts = {a + c + b for a, b in splits for c in _LETTERS}
    return (deletes | swaps | changes | inserts) - {word}


def split(word: str, papers: Callable[[list[str]], dict[str, int]], written: Written) -> str | None:
    """Two words run together ("longcontext" -> "long context"), when both are common and
    some paper writes them side by side (`written`, given the two words: "alphaevolve" is no
    "alpha evolve" where no paper says that); `papers` counts the papers with each of some
    words (a word it leaves out has none)."""
    pairs = [(word[:i], word[i:]) for i in range(2, len(word) - 1)]
    counts = papers(sorted({part for pair in pairs for part in pair}))
    best = max(pairs, key=lambda pair: min(counts.get(pair[0], 0), counts.get(pair[1], 0)))
    two = " ".join(best)
    if min(counts.get(best[0], 0), counts.get(best[1], 0)) >= MIN_SPLIT_PAPERS and written(two):
        return two
    return None


def compounds(
    words: Sequence[tuple[str, ...]], counted: Counted, written: Written
) -> dict[str, tuple[str, ...]]:
    """The other spelling of compounds typed one way that papers also write the other; `words`
    are the typed words' tokens, in order, and the one-token words are the candidates.

    - A word typed joined that papers mostly write apart or hyphenated gets its parts:
      "multiview" -> (multi, view), and across a connective "to" or "2", "textto3d" -> (text,
      to, 3d), "text2sql" -> (text, to, sql). Each part is a word (not a stop word) in at least
      MIN_PAPERS papers and SPACED_RATIO times the joined word's papers; of the splits, the one
      whose rarer part is the most common; and some paper writes the parts side by side.
      A name and its number ("gpt4", "π0") need no MIN_PAPERS: they are no guess at words.
    - Two words typed apart that at least MIN_PAPERS papers write joined get the joined word,
      keyed by the two: "multi agent" -> (multiagent,).

    Both spellings match: neither is a correction. One count of every candidate word."""
    splits = {w: o for w in dict.fromkeys(t[0] for t in words if len(t) == 1) if (o := _splits(w))}
    pairs = {
        f"{a[0]} {b[0]}": a[0] + b[0]
        for a, b in pairwise(words)
        if len(a) == len(b) == 1 and not STOPWORDS & {a[0], b[0]} and a[0].isalpha()
    }
    parts = {p for options in splits.values() for o in options for p in (o[0], o[-1])}
    asked = parts | set(splits) | set(pairs.values())
    papers = {w: n for w, (_, n) in counted(sorted(asked)).items()} if asked else {}
    found: dict[str, tuple[str, ...]] = {}
    for word, options in splits.items():
        best = max(options, key=lambda o: min(papers.get(o[0], 0), papers.get(o[-1], 0)))
        fewest = min(papers.get(best[0], 0), papers.get(best[-1], 0))
        # A name and its number are words of their own: papers writing them apart suffice.
        least = 1 if _NAMED_NUMBER.fullmatch(word) else MIN_PAPERS
        enough = max(least, SPACED_RATIO * papers.get(word, 0))
        if fewest >= enough and written(" ".join(best)):
            found[word] = best
    found |= {p: (j,) for p, j in pairs.items() if papers.get(j, 0) >= MIN_PAPERS}
    return found


# The British and American endings of one word ("optimisation", "optimization"), longest first
# within each family. An ending that derives from a verb in -ise or -yse ("normalisation",
# "tokeniser") is that verb's, so its other spelling is the same word; a bare "-ise" may not
# be a verb's ("expertise": no "expertize"), so papers must be seen to write the other.
_DERIVED = (
    *(("isations", "izations"), ("isation", "ization"), ("isers", "izers"), ("iser", "izer")),
    *(("ising", "izing"), ("ised", "ized"), ("ysing", "yzing"), ("ysed", "yzed")),
)
_RESPELT = (
    *_DERIVED,
    *(("ises", "izes"), ("ise", "ize"), ("yses", "yzes"), ("yse", "yze")),
    *(("ours", "ors"), ("our", "or"), ("ogues", "ogs"), ("ogue", "og")),
    *(("tres", "ters"), ("tre", "ter"), ("ences", "enses"), ("ence", "ense")),
)
MIN_RESPELT = 6  # letters: "four" is not "for"


def respellings(
    words: Sequence[str], counted: Counted, written: Written
) -> dict[str, tuple[str, str]]:
    """{typed word: (its spelling that more papers hold, the other)} for the typed words that
    papers also spell the other way, British or American ("optimisation", "optimization";
    "behavior", "behaviour"; "dialog", "dialogue"): the other spelling is a different stem
    that some paper holds, and (but for a derived ending, see _DERIVED) some of its papers
    write it as such."""
    options: dict[str, str] = {}
    for word in dict.fromkeys(words):
        if len(word) < MIN_RESPELT or not word.isalpha() or word in EVERYDAY:
            continue
        for british, american in _RESPELT:
            ending, other = (british, american) if word.endswith(british) else (american, british)
            if word.endswith(ending):
                options[word] = word[: -len(ending)] + other
                break
    if not options:
        return {}
    counts = counted(sorted({*options, *options.values()}))
    found: dict[str, tuple[str, str]] = {}
    for word, other in options.items():
        stem, papers = counts.get(word, ("", 0))
        other_stem, other_papers = counts.get(other, ("", 0))
        if not other_papers or other_stem == stem:
            continue
        derived = any(word.endswith(e) or other.endswith(e) for pair in _DERIVED for e in pair)
        if not derived and not re.search(rf"\b{other}\b", written(other)):
            continue
        found[word] = (other, word) if other_papers > papers else (word, other)
    return found


def rejoined(query: Query, counted: Counted, written: Written) -> Query:
    """The query with the word a chat request took off the front of its topic given back, when
    that word and the topic's first are a compound: at least MIN_PAPERS papers write the two
    joined, or the papers holding them side by side (those `written` reads) hyphenate them at
    least MIN_PAPERS times and more often than not. "send me key frame papers" searches "key
    frame" (keyframe), "need some key value cache papers" "key value cache" (key-value), while
    "drop me the key DPO papers" still searches DPO and "key insight papers" insight (papers
    write "key insight" apart). compounds then matches either spelling."""
    words, asked = query.words, query.asked
    if not words or not asked:
        return query
    head = words[:2]
    at = next((i for i in range(1, len(asked)) if asked[i : i + len(head)] == head), None)
    if at is None:
        return query
    before, first = asked[at - 1], words[0]
    if before.lower() not in QUALITIES or not (before + first).isalpha():
        return query
    pair = (before.lower(), first.lower())  # letters alone: no pattern characters
    joined = "".join(pair)
    if counted([joined]).get(joined, ("", 0))[1] < MIN_PAPERS:
        text = written(" ".join(pair))
        hyphenated = len(re.findall(rf"\b{'-'.join(pair)}\b", text))
        spaced = len(re.findall(rf"\b{' '.join(pair)}\b", text))
        if hyphenated < max(MIN_PAPERS, spaced + 1):
            return query
    return replace(query, words=(before, *words)[:MAX_TERMS])


def other_spellings(
    query: Query, counted: Counted, written: Written
) -> tuple[Query, dict[str, tuple[str, ...]]]:
    """The query with each word papers spell both the British and the American way in the
    spelling more of them hold, so that is the word searched (and checked for its stem, see
    stems), and the other spelling of such words and of compounds (see respellings and
    compounds), for expansion.expand: either spelling matches, and neither is a correction."""
    typed = [tokens(w) for w in query.words]
    spelt = respellings([t[0] for t in typed if len(t) == 1], counted, written)
    if spelt:
        words = [
            spelt[t[0]][0] if len(t) == 1 and t[0] in spelt else w
            for w, t in zip(query.words, typed, strict=True)
        ]
        query = replace(query, words=tuple(words))
        typed = [tokens(w) for w in query.words]
    other = compounds(typed, counted, written)
    return query, other | {usual: (rarer,) for usual, rarer in spelt.values()}


def _splits(word: str) -> list[tuple[str, ...]]:
    """The ways a typed word could be a compound run together: two parts of three letters or
    more, or two around a connective read as "to"; none whose first or last part is a stop
    word (see compounds). A name and its number ("gpt4", "llama3", "π0") splits between the
    two, as papers write "GPT-4", "Llama 3" and "π_0"; the name has two letters or more, or
    one that is not Latin ("π"): a Latin one ("o3", "t5") is not a name of its own."""
    if named := _NAMED_NUMBER.fullmatch(word):
        name = named[1]
        return [(name, named[2])] if len(name) > 1 or not name.isascii() else []
    if not 6 <= len(word) <= MAX_JOINED_CHARS or not word.isalnum() or word.isdigit():
        return []  # no compound, or one FTS5 keeps whole anyway
    if word in EVERYDAY:
        return []  # "together", "somewhere": English words, never compounds to search apart
    options: list[tuple[str, ...]] = [(word[:i], word[i:]) for i in range(3, len(word) - 2)]
    options += [
        (word[:i], "to", word[i + len(c) :])
        for c in CONNECTIVES
        for i in range(2, len(word) - len(c) - 1)
        if word.startswith(c, i)
    ]
    return [o for o in options if not STOPWORDS & {o[0], o[-1]} and o[0].isalpha()]


class Speller:
    """Corrects typed words against one database's full-text vocabulary."""

    def __init__(self, db: Database) -> None:
        self.db = db
        self._ready = False
        self._stop_stems: frozenset[str] | None = None

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
        """{typed word: correction} for the words that look misspelt (see corrections)."""
        if self._stop_stems is None:
            self._stop_stems = frozenset(self._stems(sorted(STOPWORDS)).values())
        return corrections(words, self.counted, self._a_name, self._stop_stems, self.written)

    def other_spellings(self, query: Query) -> tuple[Query, dict[str, tuple[str, ...]]]:
        """The query in the spelling most papers use, and the other spellings of its words
        (see other_spellings)."""
        return other_spellings(query, self.counted, self.written)

    def written(self, words: str) -> str:
        """The titles and abstracts, lower-cased, of the newest WRITTEN_PAPERS papers holding
        the word's stem in either (or the words', side by side)."""
        rows = self.db.execute(
            "SELECT title, abstract FROM papers WHERE rowid IN (SELECT rowid FROM papers_fts"
            " WHERE papers_fts MATCH ? ORDER BY rowid DESC LIMIT ?)",
            [f'{{title abstract}} : "{words}"', WRITTEN_PAPERS],
        )
        return " ".join(f"{title} {abstract or ''}" for title, abstract in rows).lower()

    def _a_name(self, word: str) -> bool:
        """True when an author list holds the word (an index lookup of the rare word)."""
        return capped_count(self.db, f'authors : "{word}"', 1) > 0

    def counted(self, words: list[str]) -> dict[str, tuple[str, int]]:
        """Each word's stem, as the index stems it, and how many papers hold it, up to
        COUNT_CAP."""
        stems = self._stems(words)
        by_stem = vocabulary(self.db, list(stems.values()))
        return {w: (stem, min(COUNT_CAP, by_stem.get(stem, 0))) for w, stem in stems.items()}

    def _stems(self, words: list[str]) -> dict[str, str]:
        """Each word as the index stores it (porter), through SQLite's own tokenizer."""
        if not self._ready:
            self._prepare()
        conn = self.db.conn
        with conn:  # commits at once, so no transaction stays open on the shared connection
            conn.executemany(
                "INSERT INTO temp.search_stems (rowid, word) VALUES (?, ?)", list(enumerate(words))
            )
            rows = conn.execute("SELECT doc, term FROM temp.search_stems_i").fetchall()
            conn.execute("INSERT INTO temp.search_stems (search_stems) VALUES ('delete-all')")
        return {words[doc]: term for doc, term in rows}
