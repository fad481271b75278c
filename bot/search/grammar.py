"""The /papers search grammar: raw text in, a structured Query out. Never raises."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from datetime import date

# Long input is cut rather than refused: the first few hundred characters carry the intent,
# and a bounded query keeps the FTS expression (and its cost) bounded.
MAX_QUERY_CHARS = 500
MAX_TERMS = 16

HELP_LINES: tuple[tuple[str, str], ...] = (
    ("<words>", "papers with these words (all of them first, then most); typos corrected"),
    ('"exact phrase"', "match the words in this order"),
    ('-word  -"a phrase"', "exclude papers with this word or phrase"),
    ('author:name  author:"Full Name"', "papers by this author"),
    ("since:2025-01  since:2025-01-15", "papers from this month or day on"),
    ("year:2025", "papers from this year"),
    ("meta-rl  RLHF  LLM  ViT", "abbreviations also find their spelled-out forms, and back"),
)

# Common English words that carry no topic: dropped from plain words (phrases keep them).
_STOPWORDS_TEXT = """a an and are as at be but by for from has have how i if in into is it its no
not of on or our so such than that the their then there these they this to was we were what when
where which while who why will with without you your vs via"""
STOPWORDS = frozenset(_STOPWORDS_TEXT.split())
# Everyday words that carry no topic in a plain-English question ("how can I make models run
# faster"): left out of queries of DESCRIPTION_TERMS words or more, kept in short ones.
_FILLER_TEXT = """about across after again all also any anything before being better between big
can could did do does doing done during each even every get gets getting give go going good got
just keep keeping keeps kind let lets letting like lot make makes making many may might more most
much must need needs new one ones only other others out over own really same should some
something stay still stop stopping take thing things through too try trying up use used uses
using very want way ways well what work working works would"""
FILLER = frozenset(_FILLER_TEXT.split())
DESCRIPTION_TERMS = 5
# How a chat question asks for papers, around its topic ("any recent papers on world models?",
# "studies of sycophancy", "GRPO papers"): the words name the request, not the topic, and a
# paper holding them ("Segment Anything", "this paper") is no closer to it. A leading run of
# these words that asks for something (not only stop words) and ends in a _CONNECTOR is left
# out, as is a trailing "papers" with the asking words before the topic; see topic().
_ASKING_TEXT = """any anything are can could do find give good have i im interesting is know latest
list look looking m me new newest please recent recently s show some something there want what"""
_ASKING = frozenset(_ASKING_TEXT.split())
_REQUESTED_TEXT = """anything approaches article articles literature methods paper papers preprint
preprints research something studies study techniques work works"""
_REQUESTED = frozenset(_REQUESTED_TEXT.split())
_CONNECTOR_TEXT = """about around concerning covering for in into of on re regarding related that
which"""
_CONNECTOR = frozenset(_CONNECTOR_TEXT.split())
_TRAILING = frozenset({("paper",), ("papers",), ("preprint",), ("preprints",)})
_KEEP = frozenset({("position",), ("white",)})  # "position paper": a kind of paper

_TOKEN = re.compile(r"[^\W_]+")
_FIELDS = "author|authors|by|since|year"
_CLAUSE = re.compile(
    rf"""(?P<bare>{_FIELDS})\s*:\s*$
        |(?P<neg>-)?
        (?:(?P<field>{_FIELDS})\s*:\s*)?
        (?:"(?P<phrase>[^"]*)"?|(?P<word>[^\s"]+))""",
    re.VERBOSE | re.IGNORECASE,
)
_EDGES = "?!.,;:()[]"  # punctuation around a typed word ("mamba?", "(LLMs)"): not the word
_MONTH = re.compile(r"^(\d{4})(?:[-/.](\d{1,2})(?:[-/.](\d{1,2}))?)?$")


@dataclass(frozen=True, slots=True)
class Query:
    """A parsed search: positive words and phrases, exclusions, author and date filters."""

    text: str
    words: tuple[str, ...] = ()  # as typed (hyphens kept); stop words too, for "mixture of experts"
    phrases: tuple[tuple[str, ...], ...] = ()  # tokens of each "quoted phrase"
    excluded: tuple[tuple[str, ...], ...] = ()  # tokens of each -word / -"phrase"
    authors: tuple[tuple[str, ...], ...] = ()
    since: date | None = None
    until: date | None = None
    problems: tuple[str, ...] = field(default=())  # parts we could not use, told to the user

    @property
    def has_positive(self) -> bool:
        """True when something must match (a bare exclusion or date cannot drive a search)."""
        content = any(t not in STOPWORDS for w in self.words for t in tokens(w))
        return bool(content or self.phrases or self.authors)


def tokens(text: str) -> tuple[str, ...]:
    """Lower-case word tokens split the way the FTS5 unicode61 tokenizer splits them."""
    return tuple(t.lower() for t in _TOKEN.findall(text))


def clean(text: str) -> str:
    """User text with control characters (NUL included) removed and length bounded."""
    text = unicodedata.normalize("NFKC", text or "")
    text = "".join(ch if ch.isprintable() else " " for ch in text)
    return text[:MAX_QUERY_CHARS].strip()


def parse(text: str) -> Query:
    """Parse /papers search text; anything not in the grammar becomes plain words."""
    cleaned = clean(text)
    words: list[str] = []
    phrases: list[tuple[str, ...]] = []
    excluded: list[tuple[str, ...]] = []
    authors: list[tuple[str, ...]] = []
    problems: list[str] = []
    since: date | None = None
    until: date | None = None
    for match in _CLAUSE.finditer(cleaned):
        if match["bare"]:
            problems.append(_needs(match["bare"]))
            continue
        neg = bool(match["neg"])
        name = (match["field"] or "").lower()
        raw = match["phrase"] if match["phrase"] is not None else match["word"] or ""
        quoted = match["phrase"] is not None
        if name in ("since", "year"):
            span = _date_span(raw, whole_year=name == "year")
            if span is None:
                problems.append(f"{name}:{raw} is not a date (try since:2025-01 or year:2025).")
            elif name == "year":
                since, until = span
            else:
                since = span[0]
            continue
        toks = tokens(raw)
        if not toks:
            if name:
                problems.append(_needs(name))
            continue
        if name:
            authors.append(toks)
        elif neg:
            excluded.append(toks)
        elif quoted:
            phrases.append(toks)
        else:
            words.append(raw.strip(_EDGES) or raw)
    return Query(
        text=cleaned,
        words=tuple(topic(words, not (phrases or authors))[:MAX_TERMS]),
        phrases=tuple(phrases[:MAX_TERMS]),
        excluded=tuple(excluded[:MAX_TERMS]),
        authors=tuple(authors[:4]),
        since=since,
        until=until,
        problems=tuple(problems),
    )


def topic(words: list[str], alone: bool = True) -> list[str]:
    """The plain words without the request around the topic: "papers about video generation",
    "anything on mamba?", "what's the latest on GRPO" and "recent GRPO papers" search their
    topic alone. The words are left as typed when nothing topical would remain and they are the
    whole query (`alone`: no phrase or author beside them)."""
    split = [tokens(w) for w in words]
    start = 0
    for i, toks in enumerate(split):
        if len(toks) == 1 and toks[0] in _CONNECTOR and _asks(split[start:i]):
            start = i + 1  # and on: "I'm looking for papers about" asks twice
        elif not toks or not set(toks) <= _ASKING | _REQUESTED | STOPWORDS:
            break
    end = len(words)
    if end - start > 1 and split[-1] in _TRAILING and split[-2][-1:] not in _KEEP:
        end -= 1  # and "recent", "any good" before the topic ask for the papers too
        while end - start > 1 and set(split[start]) <= _ASKING | STOPWORDS:
            start += 1
    kept = words[start:end]
    if alone and not any(t not in STOPWORDS | FILLER for w in kept for t in tokens(w)):
        return words
    return kept


def _asks(lead: list[tuple[str, ...]]) -> bool:
    """Whether the words before a connector ask for papers, not merely say nothing ("in",
    "what is")."""
    return any(t in _ASKING | _REQUESTED and t not in STOPWORDS for toks in lead for t in toks)


def _needs(field: str) -> str:
    """What a field typed without a value is told (`author:`, `since:`)."""
    field = field.lower()
    if field == "since":
        return "since: needs a date (try since:2025-01)."
    if field == "year":
        return "year: needs a year (try year:2025)."
    return f'{field}: needs a name (try {field}:Levine or {field}:"Sergey Levine").'


def _date_span(raw: str, whole_year: bool) -> tuple[date, date] | None:
    found = _MONTH.match(raw.strip())
    if not found:
        return None
    year = int(found[1])
    month = int(found[2] or 1)
    day = int(found[3] or 1)
    try:
        start = date(year, month, day)
    except ValueError:
        return None
    if whole_year:
        if found[2]:
            return None
        return start, date(year, 12, 31)
    return start, start
