"""Typed words whose stem the index shares with other, commoner words.

Both stores match words by their stem, so "models" finds "model". But a stemmer also cuts words
of different meaning down to one stem: SQLite's porter makes "generalization", "generation"
and "generative" all "gener", and "tokenizer" "token"; PostgreSQL's snowball makes "tokenizer"
"token" too. A search for "length generalization" would then rank papers on length and
generation, and one for "tokenizer" papers on tokens.

So a typed word is checked against a few of the papers holding its stem: when fewer than
AMBIGUOUS_SHARE of their words that start like the stem start like the typed word's family
(the word less an ending: "generaliz", "tokeniz"), the stem is ambiguous, and only a paper
whose title or abstract has a word of that family counts as holding it. The others follow, as
papers missing one of the query's words do.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterable, Sequence

from bot.search.spelling import EVERYDAY, Counted, Written

MIN_LENGTH = 5  # shorter words' stems are the words themselves, or nearly
MIN_START = 4  # letters a family's start keeps
AMBIGUOUS_SHARE = 0.125
REMEMBER_SECONDS = 600.0  # a stem's papers change slowly: each word's answer is kept this long
REMEMBERED = 10_000  # words, at most


# Endings cut from a typed word to find the words of its family ("generalization" ->
# "generaliz": generalize, generalizable), longest first; only where what is left is longer
# than the word's stem.
ENDINGS = tuple(
    sorted(
        (
            *("abilities", "ability", "able", "ations", "ation", "ities", "ity", "ments"),
            *("ment", "ences", "ence", "ents", "ent", "ness", "ives", "ive", "ings", "ing"),
            *("als", "al", "ers", "er", "ies", "es", "ed", "ly", "e", "s"),
        ),
        key=len,
        reverse=True,
    )
)


def family(word: str) -> str:
    """The start the typed word's family shares: the word without its first ending in ENDINGS
    that leaves MIN_START letters or more, a doubled last consonant made single
    ("tokenizers" -> "tokeniz", "running" -> "run")."""
    for ending in ENDINGS:
        if word.endswith(ending) and len(word) - len(ending) >= MIN_START:
            start = word[: -len(ending)]
            if start[-1] == start[-2] and start[-1] not in "aeiou":
                start = start[:-1]
            return start
    return word


def ambiguous(words: Iterable[str], counted: Counted, written: Written) -> dict[str, str]:
    """{typed word: the start a paper's word must have to write it} for the typed words whose
    stem is ambiguous (see the module's text); `counted` gives each word's stem, `written`
    the text of a few papers holding a word's stem."""
    candidates = sorted(
        {w for w in words if len(w) >= MIN_LENGTH and w.isalpha() and w not in EVERYDAY}
    )
    found: dict[str, str] = {}
    for word, (stem, papers) in counted(candidates).items() if candidates else ():
        start = family(word)
        if not papers or len(stem) < MIN_START or start == stem or not start.startswith(stem):
            continue  # the stem is the word as written, or no prefix of it to compare by
        text = written(word)
        alike = len(re.findall(rf"\b{stem}", text))
        if alike and len(re.findall(rf"\b{start}", text)) < AMBIGUOUS_SHARE * alike:
            found[word] = start
    return found


def split(
    scored: Sequence[tuple[int, float]], writing: set[int] | None
) -> tuple[list[tuple[int, float]], list[tuple[int, float]]]:
    """The scored papers in `writing` (those that write every typed word of an ambiguous
    stem), and the others; all of them when `writing` is None (not found out in time)."""
    if writing is None:
        return list(scored), []
    return [p for p in scored if p[0] in writing], [p for p in scored if p[0] not in writing]


class Stems:
    """ambiguous() over one store's index, each word's answer remembered for REMEMBER_SECONDS,
    at most REMEMBERED words."""

    def __init__(self, counted: Counted, written: Written) -> None:
        self.counted = counted
        self.written = written
        self._known: dict[str, str] = {}  # word -> its family's start, "" when unambiguous
        self._until = 0.0

    def __call__(self, words: Iterable[str]) -> dict[str, str]:
        """{typed word: start} for the words whose stem is ambiguous (see ambiguous)."""
        words = list(dict.fromkeys(words))
        if len(self._known) >= REMEMBERED or time.monotonic() > self._until:
            self._known.clear()
            self._until = time.monotonic() + REMEMBER_SECONDS
        if new := [w for w in words if w not in self._known]:
            found = ambiguous(new, self.counted, self.written)
            self._known.update((w, found.get(w, "")) for w in new)
        return {w: self._known[w] for w in words if self._known[w]}
