"""A synthetic paper archive: real abstract sentences mixed with a Zipf vocabulary.

Each abstract is a few sentences from the real Hugging Face abstracts in ../shared/data plus
filler drawn from a Zipf distribution whose head is the real corpus' own word frequencies and
whose tail is made-up words, so common ML words ("model", "learning", "data") are as common as
in a real archive, mid-frequency words are spread realistically and rare words exist.
Lengths follow arXiv: titles of 6-16 words, abstracts of 120-260 words.
"""

from __future__ import annotations

import random
import re
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, timedelta
from itertools import accumulate

from benchmarks.realdata import real_papers

ZIPF_S = 1.05
TAIL_WORDS = 200_000
_SENTENCE = re.compile(r"(?<=[.!?])\s+")
_WORD = re.compile(r"[A-Za-z][A-Za-z0-9-]*")
_SYLLABLES = ("ka", "lo", "mi", "ne", "ru", "sa", "ti", "vo", "xe", "zu", "bra", "cle", "dri")


@dataclass(frozen=True, slots=True)
class SyntheticPaper:
    """A row for the papers table."""

    id: str
    title: str
    abstract: str
    authors: str  # JSON list text, as the store keeps it
    published: str
    upvotes: int


class Archive:
    """Generates papers deterministically from a seed."""

    def __init__(self, seed: int = 7) -> None:
        self.rng = random.Random(seed)
        papers = real_papers()
        self.sentences = [
            s for p in papers for s in _SENTENCE.split(p.abstract) if 40 < len(s) < 400
        ]
        self.titles = [p.title for p in papers]
        self.names = sorted({a for p in papers for a in p.authors})
        counts = Counter(
            w.lower() for p in papers for w in _WORD.findall(p.title + " " + p.abstract)
        )
        head = [w for w, _ in counts.most_common()]
        tail = self._made_up_words(TAIL_WORDS, set(head))
        self.vocabulary = head + tail
        self.cum_weights = list(
            accumulate(1.0 / (r**ZIPF_S) for r in range(1, len(self.vocabulary) + 1))
        )

    def _made_up_words(self, n: int, taken: set[str]) -> list[str]:
        words: list[str] = []
        seen = set(taken)
        while len(words) < n:
            word = "".join(self.rng.choices(_SYLLABLES, k=self.rng.randint(2, 5)))
            if word not in seen:
                seen.add(word)
                words.append(word)
        return words

    def _words(self, k: int) -> list[str]:
        return self.rng.choices(self.vocabulary, cum_weights=self.cum_weights, k=k)

    def paper(self, number: int, start: date = date(2015, 1, 1)) -> SyntheticPaper:
        """The number-th paper: later numbers are newer, like ingest order."""
        rng = self.rng
        if rng.random() < 0.01:
            title = rng.choice(self.titles)
        else:
            title = " ".join(self._words(rng.randint(6, 16))).capitalize()
        parts = rng.sample(self.sentences, rng.randint(1, 3))
        filler = self._words(rng.randint(120, 260) - sum(len(p.split()) for p in parts))
        for i in range(0, len(filler), 18):
            parts.append(" ".join(filler[i : i + 18]).capitalize() + ".")
        rng.shuffle(parts)
        authors = rng.sample(self.names, rng.randint(1, 6))
        authors_json = "[" + ", ".join(f'"{a}"' for a in authors) + "]"
        day = start + timedelta(days=number // 250)
        upvotes = int(rng.paretovariate(1.3)) - 1
        return SyntheticPaper(
            id=f"syn.{number:08d}",
            title=title,
            abstract=" ".join(parts),
            authors=authors_json,
            published=day.isoformat(),
            upvotes=upvotes,
        )

    def papers(self, count: int, first: int = 0) -> Iterator[SyntheticPaper]:
        """`count` papers numbered from `first`."""
        for number in range(first, first + count):
            yield self.paper(number)
