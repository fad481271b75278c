"""The /papers search grammar: raw text in, a structured Query out. Never raises."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from datetime import date, timedelta

# Long input is cut rather than refused: the first few hundred characters carry the intent,
# and a bounded query keeps the FTS expression (and its cost) bounded.
MAX_QUERY_CHARS = 500
MAX_TERMS = 16

HELP_LINES: tuple[tuple[str, str], ...] = (
    ("<words>", "papers with these words (all of them first, then most); typos corrected"),
    ('"exact phrase"', "match the words in this order"),
    ('-word  -"a phrase"', "exclude papers with this word or phrase"),
    ("LLM OR VLM  NOT survey", "either word; NOT excludes, as -word does (in capitals)"),
    ('author:name  author:"Full Name"', "papers by this author"),
    ('title:word  title:"a phrase"', "papers with this word or phrase in their title"),
    ("since:2025-01  since:2025-01-15", "papers from this month or day on"),
    ("year:2025", "papers from this year"),
    ("has:code  <words> with code", "papers with code (a repository, or a GitHub link)"),
    ("this week  past 3 days  in may 2025", "time in words filters the dates as since: does"),
    ("top papers last week  has:code", "a filter without words: its most upvoted papers"),
    ("meta-rl  RLHF  LLM  ViT", "abbreviations also find their spelled-out forms, and back"),
    ("2401.01234  <arXiv or HF link>", "that paper (one not seen yet is fetched from arXiv)"),
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
using very want way ways well what work working works would everything"""
FILLER = frozenset(_FILLER_TEXT.split())
DESCRIPTION_TERMS = 5
# How a chat message asks for papers, around its topic ("hey bot, any good papers on world
# models?", "need some SFT papers", "tool-use, got papers?"): these words name the request, not
# the topic, and a paper holding them ("Segment Anything", "this paper") is no closer to it.
# _ASKS make the words around them a request; _VERBS and QUALITIES ask or describe what is
# asked for, but can open a topic too ("people counting", "key frame", "few shot"), as can the
# _REQUESTED words that name it ("research agents", "reading comprehension"); so these go only
# before a _CONNECTOR ("papers on"), beside an _ASKS word, or before a topic whose clause ends in
# a request: _TRAILING words ("... papers please", "... work for me"). The _SAFE ones open no
# topic, so they go from the start of any clause ("latest diffusion models").
_ASKS_TEXT = """anybody anyone asap btw can catch catching could curious d dig explain fetch gimme
got hello hey hi hows hunting i idk im imo interested lol lookin looking m me my need needed ok
okay please pls plz recommend recommendations recs rn s should someone sorry suggest suggestions
tbh thank thanks thx trying u want whats wondering would you your"""
_ASKS = frozenset(_ASKS_TEXT.split())
_VERBS_TEXT = """been bot cite cited did do does drop find get give has have help know learn people
point pull send share show written"""
_VERBS = frozenset(_VERBS_TEXT.split())
# Commands that open a request when its end asks too ("find X's papers", "show X's papers"),
# never a topic (unlike "point" of point clouds or "people" of people counting); "fetch" and
# "gimme" are _ASKS already
_COMMANDS = frozenset({"find", "get", "give", "pull", "send", "share", "show"})
# Commands that ask only with a word of the request after them ("pull up", "pull me"): before a
# topic's word they are the topic's ("pull request generation")
_PHRASAL_COMMANDS = frozenset({"pull"})
# Papers named in the plural after a command ("show me papers of X"): unlike "paper" ("paper
# writing agents") they open no topic
_PAPERS = frozenset({"articles", "papers", "preprints", "publications", "pubs"})
# Words of a request that also open a topic ("point clouds", "people counting", "few shot"):
# kept when the topic follows them directly (see _opening)
_OPENS = frozenset({"few", "people", "point"})
_SAFE_TEXT = """any classic classics essential foundational fresh good great hello hey hi hot
important interesting latest must new newer newest notable popular read recent recently relevant
seminal some trending upvoted yo"""
_SAFE = frozenset(_SAFE_TEXT.split())
# A request for what is new or popular, with no topic: the papers of the last TRENDING_DAYS up
# to the newest paper seen (see engine.trending)
TRENDING = "trending"
_TRENDING_TEXT = "best hot latest new newest popular recent top trending upvoted"
_TRENDING = frozenset(_TRENDING_TEXT.split())
TRENDING_DAYS = 7
_NOT_TOPICAL = _ASKS | STOPWORDS | FILLER | _SAFE | _PAPERS  # follow a command: "show me the new"
# A plain-English description often opens with what it wants done ("making LLMs faster",
# "getting robots to fold laundry"): the verb names no topic, and a paper writing it is no
# closer (a "Getting-Up" policy). Left out when it opens a clause of two topic words or more; a
# longer description loses every FILLER word anyway (see expansion.expand).
_DOING = frozenset({"doing", "getting", "keeping", "letting", "making", "trying", "using"})
_QUALITIES_TEXT = (
    "accessible best classic core couple few go key main major practical similar solid top"
)
# Words a request takes off the front of a topic, which may open a compound papers write joined
# ("key frame": keyframe, "core set": coreset; see spelling.rejoined)
QUALITIES = _SAFE | frozenset(_QUALITIES_TEXT.split())
_REQUESTED_TEXT = """anything approaches article articles follow followup followups intro
introduction list literature material materials methods overview paper papers pointers preprint
preprints primer reading reads references refs research resources search something studies study
stuff techniques tutorial work works"""
_REQUESTED = frozenset(_REQUESTED_TEXT.split())
_CONNECTOR_TEXT = """about around by concerning cover covering covers for from in into of on re
regarding related that to which"""
_CONNECTOR = frozenset(_CONNECTOR_TEXT.split())
# Stop words that a name may hold ("An Yang", "Yang You", "Or Patashnik") and a request may take
# off the topic's edge ("an yang papers"): those that do not join a request to its topic.
NAME_STOPWORDS = STOPWORDS - _CONNECTOR


def _last_tokens(words: frozenset[str]) -> frozenset[tuple[str]]:
    """Each word as the one-token slice a typed word's tokens end in (`toks[-1:]`)."""
    return frozenset((w,) for w in words)


_TRAILING_TEXT = """advance al anyone asap authored beginner beginners days drop dropped et first
go lately latest list lists material materials me needed new newcomers newest out paper papers
please pls plz point pointers preprint preprints project publish published put read recent
recently references refs released rn stuff thanks thx to work works worth yet"""
_TRAILING = frozenset(_TRAILING_TEXT.split())
_TRAILED = _last_tokens(_TRAILING)
_KEEP = frozenset({"position", "white"})  # "position paper": a kind of paper
_KEPT = _last_tokens(_KEEP)
# Inside a chat message, what the papers asked for are on: "... would love a reading list on X",
# "is there a tutorial style paper on X", "whats the state of the art in X". The words before
# go when they ask (an _ASKS word) or when the anchor names papers (_PAPER_ANCHORS), which no
# topic does before one of these connectors ("architecture search on mobile devices" stays).
_PAPER_ANCHORS_TEXT = """anything article articles list literature material materials paper papers
pointers preprint preprints reading references refs resources something stuff"""
_PAPER_ANCHORS = frozenset(_PAPER_ANCHORS_TEXT.split())
_ANCHORS_TEXT = """advances art background basics challenges developments hype intro introduction
overview primer problems progress recommendations recs research sota speed studies study
suggestions survey surveys trends tutorial work works"""
# Verbs that take the topic asked for ("we want to cover X", "want to understand X")
_ANCHOR_VERBS = frozenset({"cover", "explore", "learn", "understand"})
_ANCHORS = _PAPER_ANCHORS | _ANCHOR_VERBS | frozenset(_ANCHORS_TEXT.split())
_ANCHORED = frozenset({"about", "around", "concerning", "covering", "in", "into", "on", "re"})
_ANCHORED_WORDS = _last_tokens(_ANCHORED)
# Where a topic asked for after a connector ends: a clause of its own begins ("... X so i can
# read up", "... X plus a couple of the newest", "X and we need code")
_RELATIVE = frozenset({"that", "which"})
_PERSONS_TEXT = "anybody anyone i id im ive me my our someone somebody u us we you"
_PERSONS = frozenset(_PERSONS_TEXT.split())
_BREAKS = _PERSONS | {"because", "but", "cause", "dont", "if", "plus", "so", "whats"}
# ... and where one of these opens a clause about the asker ("... X that i should include",
# "X after i was away"), not one about the topic ("models that reason", "forgetting after
# fine-tuning")
_ABOUT_ASKER = _RELATIVE | {"after", "while"}
# Words of a clause about the asker or the wish, not the topic ("ideally with code")
_ASIDES = frozenset({"doing", "dont", "following", "ideally", "preferably", "team", "working"})
# A clause opening with one is a wish beside the request, never its topic ("..., preferably
# newer ones")
_WISHES = frozenset({"ideally", "preferably"})
# Chat words that ask nothing of what follows them: "sorry in a rush" is no request for
# papers in anything
_INTERJECTIONS_TEXT = "asap btw hello hey hi idk imo lol ok okay rn sorry tbh thank thanks thx yo"
_INTERJECTIONS = frozenset(_INTERJECTIONS_TEXT.split())
# Words that make a clause with no request in it chat about the asker ("working on a survey",
# "im totally new to this", "mix of classics and newer stuff"): left out beside a clause that
# asks for papers on a topic
_CONTEXT = ((_ASKS | _SAFE | _PAPER_ANCHORS) - STOPWORDS) | _PERSONS | _ASIDES
_LISTED = frozenset({"list", "lists", "material", "materials"})  # "reading list": both go
_ASKING = _ASKS | _VERBS | QUALITIES | STOPWORDS | FILLER  # words that can open a request
# Words that open no topic before one whose clause ends in a request that no word asks ("key
# scalable oversight papers"), but the compounds spelling.rejoined gives back: _OPENS stay
_UNASKED = (QUALITIES - _OPENS) | STOPWORDS | _PAPERS
_OPENING = _ASKING | _REQUESTED  # ... before a connector
_ASKING_FOR = _ASKS | _VERBS | _SAFE | _REQUESTED  # one makes the words before a connector ask
_ASKING_BEFORE = _ASKING_FOR - STOPWORDS - _INTERJECTIONS  # see _asks
_ENDING = _TRAILING | _ASKS | STOPWORDS  # words that can end a request
# Words with no topic: English words of a chat request, never typos (see spelling)
CHAT_WORDS = _ASKING | _REQUESTED | _TRAILING  # stop words and FILLER too (see _ASKING)
_CLAUSE_END = tuple(",;:?!.")

_TOKEN = re.compile(r"[^\W_]+")
_LATIN_END = "\u0250"  # past Latin Extended-B: the letters whose accents unaccented takes off
# author: and title:, with the names arXiv (au:, ti:) and Google Scholar (intitle:) give them
_FIELDS = "author|authors|by|au|title|ti|intitle|since|year|has"
_TITLE_FIELDS = ("title", "ti", "intitle")
_CLAUSE = re.compile(
    rf"""(?P<bare>{_FIELDS})\s*:\s*$
        |(?P<neg>-)?
        (?:(?P<field>{_FIELDS})\s*:\s*)?
        (?:"(?P<phrase>[^"]*)"?|(?P<word>[^\s"]+))""",
    re.VERBOSE | re.IGNORECASE,
)
# Chat shorthand read as the word it stands for: "agents w/ tools" asks for agents with tools,
# not for the letter w.
_SHORTHAND = {"w/": "with", "w/o": "without", "w/out": "without"}
# A possessive ending ("An Yang's papers", "GPT-4's reasoning"): the name without it is meant,
# which papers write with or without one.
_POSSESSIVE = re.compile(r"(?<=\w)['’]s(?=[^\w]*$)", re.IGNORECASE)
# "DPO/PPO", "text/image": words typed with a slash between them are words of their own (so
# each expands: DPO as direct preference optimization), not a phrase. Not "I/O" or "A/B" (a
# side of one letter) and not a link ("arxiv.org/abs/…": a host, a dot and a letter).
_HOST = re.compile(r"\.[A-Za-z]")
_EDGES = "?!.,;:()[]"  # punctuation around a typed word ("mamba?", "(LLMs)"): not the word
_MONTH = re.compile(r"^(\d{4})(?:[-/.](\d{1,2})(?:[-/.](\d{1,2}))?)?$")


@dataclass(frozen=True, slots=True)
class Query:
    """A parsed search: positive words and phrases, exclusions, author and date filters."""

    text: str
    words: tuple[str, ...] = ()  # as typed (hyphens kept); stop words too, for "mixture of experts"
    # Every plain word as typed, when a chat request around the topic was taken out of `words`
    # ("papers about X"; see topic): an exact title may still be all of them ("Do As I Can").
    asked: tuple[str, ...] = ()
    phrases: tuple[tuple[str, ...], ...] = ()  # tokens of each "quoted phrase"
    excluded: tuple[tuple[str, ...], ...] = ()  # tokens of each -word / -"phrase"
    titled: tuple[tuple[str, ...], ...] = ()  # tokens of each title:word / title:"phrase"
    titled_quoted: tuple[bool, ...] = ()  # of each of `titled`: typed in quotes, so as typed
    authors: tuple[tuple[str, ...], ...] = ()
    since: date | None = None
    until: date | None = None
    when: str = ""  # the time written in words that set since and until ("this week")
    with_code: bool = False  # only papers with code: has:code, "... papers with code"
    problems: tuple[str, ...] = field(default=())  # parts we could not use, told to the user

    @property
    def browses(self) -> bool:
        """True for a filter with no words to search ("top papers from last week", has:code):
        it lists the papers the filter keeps, the most upvoted first."""
        filtered = self.since or self.until or self.with_code
        return bool(filtered) and not (self.has_positive or self.excluded)

    def span(self) -> str:
        """The papers a browse lists, in words: " with code of 2026-01-05 or later"."""
        return (" with code" if self.with_code else "") + self._dates()

    def dates_note(self) -> str:
        """What the dates of a time written in words are, for the reply; "" without one."""
        if not self.when or self.since is None:
            return ""
        return f"Papers{self._dates()} (“{self.when}”)."

    def _dates(self) -> str:
        """The date filter in words: " of 2026-01-05", " of 2026-01-05 to 2026-01-31", " of
        2026-01-05 or later" ("or earlier" with only an end); "" without one."""
        if self.since and self.until:
            return f" of {self.since}" + ("" if self.until == self.since else f" to {self.until}")
        if self.since:
            return f" of {self.since} or later"
        return f" of {self.until} or earlier" if self.until else ""

    @property
    def has_positive(self) -> bool:
        """True when something must match (a bare exclusion or date cannot drive a search)."""
        content = any(t not in STOPWORDS for w in self.words for t in tokens(w))
        return bool(content or self.phrases or self.authors or self.titled)

    def titles(self) -> list[tuple[tuple[str, ...], bool]]:
        """Each title:word or title:"phrase" as tokens, and whether it was typed in quotes."""
        quoted = self.titled_quoted or (False,) * len(self.titled)
        return list(zip(self.titled, quoted, strict=True))

    def spellable(self) -> list[str]:
        """The tokens a typo may be in: the plain words' and the title:words' (a quoted word
        is searched as typed)."""
        in_titles = [t for toks, quoted in self.titles() if not quoted for t in toks]
        return [t for w in self.words for t in tokens(w)] + in_titles


def tokens(text: str) -> tuple[str, ...]:
    """Lower-case word tokens split the way the FTS5 unicode61 tokenizer splits them."""
    return tuple(t.lower() for t in _TOKEN.findall(text))


def unaccented(text: str) -> str:
    """The text with the accents of Latin letters taken off ("Gallé": Galle), as both stores
    fold the words they index; other scripts are left as they are."""
    if text.isascii():
        return text
    kept: list[str] = []
    for ch in unicodedata.normalize("NFD", text):
        if not (unicodedata.combining(ch) and kept and kept[-1] < _LATIN_END):
            kept.append(ch)
    return unicodedata.normalize("NFC", "".join(kept))


def clean(text: str) -> str:
    """User text with control characters (NUL included) removed and length bounded."""
    text = unicodedata.normalize("NFKC", text or "")
    text = "".join(ch if ch.isprintable() else " " for ch in text)
    return text[:MAX_QUERY_CHARS].strip()


def parse(text: str, today: date | None = None) -> Query:
    """Parse /papers search text; anything not in the grammar becomes plain words. A time
    written in words counts from `today` (the date now when not given; see dated)."""
    cleaned = clean(text)
    today = today or date.today()
    words: list[str] = []
    phrases: list[tuple[str, ...]] = []
    excluded: list[tuple[str, ...]] = []
    authors: list[tuple[str, ...]] = []
    titled: list[tuple[str, ...]] = []
    titled_quoted: list[bool] = []
    problems: list[str] = []
    since: date | None = None
    until: date | None = None
    with_code = False
    # A search engine's operators, typed in capitals: NOT leaves out what follows, as - does
    # ("diffusion NOT survey"); AND is what words do anyway; OR stays, to join the words either
    # side into one term (expansion.EITHER), and is no "operations research".
    negate = False
    for match in _CLAUSE.finditer(cleaned):
        if match["bare"]:
            problems.append(_needs(match["bare"]))
            continue
        neg = bool(match["neg"]) or negate
        name = (match["field"] or "").lower()
        raw = match["phrase"] if match["phrase"] is not None else match["word"] or ""
        quoted = match["phrase"] is not None
        negate = not (quoted or name or neg) and raw == "NOT"
        if negate or (not (quoted or name) and raw == "AND"):
            continue
        if name == "has":
            if raw.lower() == "code" and not neg:
                with_code = True
            else:
                problems.append(f"{'-' if neg else ''}has:{raw} is not a filter (try has:code).")
            continue
        if name in ("since", "year"):
            span = _date_span(raw, whole_year=name == "year")
            if span is None and name == "since":  # since:yesterday, since:"last week"
                left, start, _, _ = dated(raw.split(), today)
                span = (start, start) if start and not left else None
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
        if name in _TITLE_FIELDS and not neg:
            titled.append(toks)
            titled_quoted.append(quoted)
        elif name and not neg:
            authors.append(toks)
        elif neg:
            excluded.append(toks)
        elif quoted:
            phrases.append(toks)
        else:
            words += _alternatives(_SHORTHAND.get(raw.lower()) or _POSSESSIVE.sub("", raw))
    when = ""
    if since is None and until is None:
        words, since, until, when = dated(words, today)
    words, asked_code = coded(words)
    typed = [w.strip(_EDGES) or w for w in words]
    # A time or a wish for code with nothing topical beside it lists that time's papers (see
    # Query.browses): "top papers from last week" searches no "top papers".
    alone = not (phrases or authors or titled or since or until or with_code or asked_code)
    if alone and not excluded and _trending(words):  # "/papers trending", "any new papers?"
        since, when, alone = today - timedelta(days=TRENDING_DAYS), TRENDING, False
    topical = topic(words, alone)
    return Query(
        text=cleaned,
        words=tuple(topical[:MAX_TERMS]),
        asked=tuple(typed[:MAX_TERMS]) if topical != typed else (),
        phrases=tuple(phrases[:MAX_TERMS]),
        excluded=tuple(excluded[:MAX_TERMS]),
        titled=tuple(titled[:MAX_TERMS]),
        titled_quoted=tuple(titled_quoted[:MAX_TERMS]),
        authors=tuple(authors[:4]),
        since=since,
        until=until,
        when=when,
        with_code=with_code or asked_code,
        problems=tuple(problems),
    )


# A wish for papers with code, written in a chat message: "world models papers with code",
# "any papers on X that come with open source code?", "X w/ code pls". It filters as has:code
# does and searches no words. Only after a word of the request ("papers", "ones") or in a
# message that asks for papers: "reasoning with code" alone is a topic, as is "code generation".
_CODE_TEXT = "code codebase github implementation implementations repo repos repository"
_CODE = frozenset(_CODE_TEXT.split())
_CODE_KINDS_TEXT = """accompanying available official open opensource public publicly released
source the their working"""
_CODE_KINDS = frozenset(_CODE_KINDS_TEXT.split())  # "with open source code"
_WITH_CODE_TEXT = "has have having include includes including w with"
_WITH_CODE = _last_tokens(frozenset(_WITH_CODE_TEXT.split()))
_CODE_LEAD_TEXT = "also and come comes coming ideally only plus preferably that which"
_CODE_LEAD = frozenset(_CODE_LEAD_TEXT.split())  # "... that come with code"
_CODE_AFTER = CHAT_WORDS | {"attached", "available", "included", "possible", "public", "released"}
_ASKS_FOR_PAPERS = _ASKS | _PAPERS | _PAPER_ANCHORS


def coded(words: list[str]) -> tuple[list[str], bool]:
    """The words without a wish for papers with code (see _CODE), and whether one was there."""
    split = [tokens(w) for w in words]
    ends = [w.endswith(_CLAUSE_END) for w in words]
    for i, toks in enumerate(split):
        if len(toks) != 1 or toks[0] not in _CODE:
            continue
        end = i + 1  # nothing but chat follows to the clause's end: "code if possible?"
        while not ends[end - 1] and end < len(words) and set(split[end]) <= _CODE_AFTER:
            end += 1
        with_at = i - 1
        while with_at >= 0 and not ends[with_at] and set(split[with_at]) <= _CODE_KINDS:
            with_at -= 1
        # or the papers' topic follows: "papers with code on X", "any papers w/ code about X?"
        opens = (
            not ends[i]
            and i + 1 < len(words)
            and len(split[i + 1]) == 1
            and split[i + 1][0] in _CONNECTOR
            and with_at > 0
            and bool(set(split[with_at - 1]) & _ASKS_FOR_PAPERS)
        )
        end = i + 1 if opens else end
        to_end = ends[end - 1] or end == len(words) or opens
        if not to_end or with_at < 0 or ends[with_at] or split[with_at] not in _WITH_CODE:
            continue
        start = with_at
        while start > 0 and not ends[start - 1] and set(split[start - 1]) <= _CODE_LEAD:
            start -= 1
        before = split[start - 1] if start > 0 and not ends[start - 1] else ()
        asked = any(set(t) & _ASKS_FOR_PAPERS for t in split)
        if before and not set(before) <= CHAT_WORDS and not asked:
            continue
        mark = words[end - 1][-1:] if ends[end - 1] else ""
        rest = words[:start] + ([mark] if mark else []) + words[end:]
        if any(t not in CHAT_WORDS for w in rest for t in tokens(w)):  # not "papers with code"
            return rest, True
    return words, False


def _alternatives(word: str) -> list[str]:
    """A typed word split at its slashes when it is words typed with a slash between them
    (see _HOST); punctuation around it stays with the first and last."""
    core = word.strip(_EDGES)
    parts = core.split("/")
    slashed = len(parts) > 1 and all(
        p[:1].isalnum() and sum(map(str.isalnum, p)) > 1 for p in parts
    )
    if not slashed or _HOST.search(parts[0]):
        return [word]
    start = word.index(core)
    parts[0] = word[:start] + parts[0]
    parts[-1] += word[start + len(core) :]
    return parts


def topic(words: list[str], alone: bool = True) -> list[str]:
    """The plain words without the chat request around their topic, and without punctuation
    around them: "/papers gaussian splatting", "anything on mamba?", "hey bot, what are the key
    papers on reward hacking?", "drop me the key DPO papers" and "tool-use, got papers?" search
    their topic alone. Each clause (words up to a comma, a question mark, ...) loses the request
    that opens and ends it, and a clause that is all request goes. The words are left as typed
    when nothing topical would remain and they are the whole query (`alone`: no phrase or author
    beside them)."""
    if words and words[0].startswith("/"):  # the command typed again: "/papers MoE"
        words = words[1:]
    clauses: list[list[str]] = [[]]
    for word in words:
        if stripped := word.strip(_EDGES):
            clauses[-1].append(stripped)
        if word.endswith(_CLAUSE_END):
            clauses.append([])
    topics = [_topic_of(clause) for clause in clauses]
    # Beside the clause that asks for papers on a topic, chat about the asker goes: "working
    # on a survey. anything on X?", "X papers? im new to this", "... papers on X, mix of
    # classics and newer stuff"
    asked = max(how for _, how in topics)
    kept = [
        w
        for clause, (words, how) in zip(clauses, topics, strict=True)
        if how == asked or not _chatty(clause)
        for w in words
    ]
    if alone and not _topical(kept):
        return [w.strip(_EDGES) or w for w in words]
    return kept


def _topic_of(clause: list[str]) -> tuple[list[str], int]:
    """One clause without the request before and after its topic (nothing when it has none),
    and how plainly it asks for papers on that topic: 2 when a connector opens the topic
    ("papers on X"), 1 for another request taken off it ("X papers pls", "papers that ..."), 0
    for none."""
    split = [tokens(w) for w in clause]
    end = len(clause)
    if split and (split[-1][-1:] in _TRAILED or _worth(split, len(split) - 1)):
        while end > 1 and _trails(split, end - 1):
            end -= 1
        if end < len(clause) and split[end - 1][-1:] and split[end - 1][-1] in _KEEP:
            end += 1  # "position paper"
    start = opener = 0
    relative = False  # "papers that ...": what follows describes them, not their topic
    for i, toks in enumerate(split[:end]):
        if len(toks) == 1 and toks[0] in _CONNECTOR and _asks(split[opener:i], toks[0]):
            start = opener = i + 1  # and on: "I'm looking for papers about" asks twice
            relative = toks[0] in _RELATIVE
        elif not toks or not set(toks) <= _OPENING:
            break
    anchor = _anchor(split, start, end)  # mid-clause: "... would love a reading list on X"
    anchored, start = start > 0 or anchor > start, anchor
    # Where its end asked for the papers, a request with no connector before the topic: "need
    # some SFT papers", "could you recommend a few NeRF papers", "recent GRPO papers". (Not
    # elsewhere: "you only look once", "can language models fix real bugs".)
    if end < len(clause):
        run = _run(split, start, end, _ASKING)
        asks = any(t in _ASKS for toks in split[start:run] for t in toks)
        if not asks and _commands(split, start):
            # "find X's papers": a command asks, but what follows it may be a topic ("find
            # point cloud papers"), so only words that never open one go with it
            start = _run(split, start, end, _COMMANDS | _NOT_TOPICAL)
        elif asks:
            start = _opening(split, start, run)
        else:  # "what papers has X put out lately", "best RAG papers": see _UNASKED
            start = _run(split, start, end, _UNASKED)
    else:  # "latest diffusion models", "some robotics": the _SAFE words before any topic
        run = _run(split, start, end, _SAFE | STOPWORDS, one_token=True)
        if any(t in _SAFE for toks in split[start:run] for t in toks):
            start = run
    if _does(split[start:end]):
        start += 1
    if anchored:
        end = _broken(split, start, end)
    kept = clause[start:end]
    if not _topical(kept):
        return [], 0
    if split[0][:1] and split[0][0] in _WISHES:
        return kept, 0
    if anchored and (set(split[start]) & _ASKS):  # "papers that i should read": no topic
        return kept, 0
    if anchored and not relative:
        return kept, 2
    return kept, int(start > 0 or end < len(clause))


def _run(
    split: list[tuple[str, ...]],
    start: int,
    end: int,
    allowed: frozenset[str],
    one_token: bool = False,
) -> int:
    """Where the words from `start` stop being `allowed` (at most at `end`, leaving one); with
    `one_token`, a word of several tokens stops it too ("any-to-any" is a topic of its own)."""
    while start < end - 1 and split[start] and set(split[start]) <= allowed:
        if one_token and len(split[start]) > 1:
            break
        start += 1
    return start


def _commands(split: list[tuple[str, ...]], start: int) -> bool:
    """Whether the words at `start` open with a command (see _PHRASAL_COMMANDS)."""
    first = split[start][:1]
    if not first or first[0] not in _COMMANDS:
        return False
    after = split[start + 1] if start + 1 < len(split) else ()
    return first[0] not in _PHRASAL_COMMANDS or (bool(after) and set(after) <= _NOT_TOPICAL)


def _opening(split: list[tuple[str, ...]], start: int, run: int) -> int:
    """Where the topic starts after a request that runs from `start` to `run`: its last word
    stays with the topic when it is one of _OPENS ("show me point cloud papers", "need some
    few shot papers"), unless it is the "few" of "a few" ("recommend a few NeRF papers")."""
    last = split[run - 1] if run > start else ()
    if len(last) != 1 or last[0] not in _OPENS:
        return run
    return run if last == ("few",) and split[start : run - 1][-1:] == [("a",)] else run - 1


def _anchor(split: list[tuple[str, ...]], start: int, end: int) -> int:
    """Where a topic asked for inside a clause starts, after the first of its _ANCHORS and
    connector that asks ("... would love a reading list on X"); `start` without one."""
    for i in range(start, end - 1):
        word, after = split[i], split[i + 1]
        if len(word) != 1 or word[0] not in _ANCHORS:
            continue
        papers = word[0] in _PAPER_ANCHORS and not (i and split[i - 1][-1:] in _KEPT)
        if not (papers or _words(split[:i]) & _ASKS):
            continue
        if after in _ANCHORED_WORDS and i + 2 < end:
            return i + 2
        if word[0] in _ANCHOR_VERBS:
            return i + 1
    return start


def _broken(split: list[tuple[str, ...]], start: int, end: int) -> int:
    """Where a topic asked for after a connector ends: before the first word that opens a
    clause of its own (_BREAKS: "papers on X so i can ..."; "... and we need ...") or one about
    the asker (_ABOUT_ASKER: "papers on X that i should read")."""
    for i in range(start + 1, end):
        word = split[i]
        if word == ("and",) and i + 1 < end:
            word = split[i + 1]
        if len(word) != 1:
            continue
        if word[0] in _BREAKS or (word[0] in _ABOUT_ASKER and _PERSONS & _words(split[i:end])):
            return i
    return end


def _words(split: list[tuple[str, ...]]) -> set[str]:
    """The tokens of these words."""
    return {t for toks in split for t in toks}


def _chatty(words: list[str]) -> bool:
    """Whether a clause holds chat about the asker or the papers (see _CONTEXT)."""
    return any(t in _CONTEXT for w in words for t in tokens(w))


def _trails(split: list[tuple[str, ...]], i: int) -> bool:
    """Whether the i-th word of a clause can end its request: "... papers please", "... work
    you can point me to", "... reading list"."""
    toks = split[i]
    if not toks:
        return True
    if _worth(split, i):
        return True
    if toks == ("reading",):  # "... reading list"
        return i + 1 < len(split) and bool(split[i + 1]) and split[i + 1][-1] in _LISTED
    return set(toks) <= _ENDING


def _worth(split: list[tuple[str, ...]], i: int) -> bool:
    """Whether the i-th word is what a request finds papers worth: "worth reading"."""
    return i > 0 and split[i - 1] == ("worth",) and split[i][-1:][0].endswith("ing")


def _asks(lead: list[tuple[str, ...]], connector: str = "") -> bool:
    """Whether the words before a connector ask for papers, not merely say nothing ("in",
    "what is") or describe ("best of n"); "what about" and "how about" ask too."""
    if connector == "about" and lead[-1:] in ([("what",)], [("how",)]):
        return True
    if connector in ("about", "on") and lead[-1:] == [("more",)]:  # a follow-up: "more on X"
        return True
    return any(t in _ASKING_BEFORE for toks in lead for t in toks)


def _does(split: list[tuple[str, ...]]) -> bool:
    """Whether a clause opens with a _DOING word to leave out: two topic words (not stop words,
    FILLER or a request) follow, and it is shorter than a description, which loses it with the
    other FILLER words."""
    if not split or len(split[0]) != 1 or split[0][0] not in _DOING:
        return False
    topic = sum(any(t not in CHAT_WORDS for t in toks) for toks in split[1:])
    content = sum(any(t not in STOPWORDS for t in toks) for toks in split)
    return topic > 1 and content < DESCRIPTION_TERMS


def _trending(words: list[str]) -> bool:
    """Whether the words only ask for what is new or popular: "trending", "top papers", "what's
    new?" (a browse of the last TRENDING_DAYS days; see Query.browses)."""
    toks = {t for w in words for t in tokens(w)}
    return bool(toks & _TRENDING) and toks <= CHAT_WORDS


def _topical(words: list[str]) -> bool:
    """Whether the words hold one that is not a stop word, filler or part of a request."""
    return any(t not in CHAT_WORDS for w in words for t in tokens(w))


def _needs(field: str) -> str:
    """What a field typed without a value is told (`author:`, `since:`)."""
    field = field.lower()
    if field == "since":
        return "since: needs a date (try since:2025-01)."
    if field == "year":
        return "year: needs a year (try year:2025)."
    if field == "has":
        return "has: needs what the papers have (try has:code)."
    if field in _TITLE_FIELDS:
        return f'{field}: needs words (try {field}:diffusion or {field}:"world model").'
    return f'{field}: needs a name (try {field}:Levine or {field}:"Sergey Levine").'


# Time typed in words ("diffusion this week", "RL papers from the past 3 days", "agents in
# 2025"): a date filter, as since: and year: are, not words to search. "this" counts from the
# start of the week, month or year; "last", "past" and "previous" count back from today.
_SPANS = {"day": 1, "week": 7, "month": 30, "year": 365}
_NUMBERS = {"two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7, "eight": 8}
_BACK = frozenset({"last", "past", "previous"})
_LEADING = frozenset({"from", "in", "over", "during", "for", "of", "within", "the"})
_OPENS_TIME = frozenset({"since", "in", "during", "from"})  # "since 2024", "in may"
_YEAR = re.compile(r"(19|20)\d\d")
_MONTH_NAMES = """january february march april may june july august september october november
december"""
# A month by its name, "sept", or its first three letters: "agents in march 2025"
_MONTHS = {name: number for number, name in enumerate(_MONTH_NAMES.split(), start=1)}
_MONTHS |= {"sept": 9}
_WRITTEN_MONTHS = frozenset(_MONTHS)  # in full: "in may", not "in MAR" (masked autoregressive)
_MONTHS |= {name[:3]: number for name, number in _MONTHS.items()}


def dated(words: list[str], today: date) -> tuple[list[str], date | None, date | None, str]:
    """The words without the first time written in them, the dates it spans (inclusive; None
    is open) and how it reads ("this week"); the words as they were, with no dates, when none
    is written."""
    low = [w.strip(_EDGES).lower() for w in words]
    for i in range(len(low)):
        found = _time_at(low, i, today)
        if found:
            end, since, until = found
            start = i
            while start > 0 and low[start - 1] in _LEADING:
                start -= 1
            said = " ".join(low[start:end])
            return words[:start] + words[end:], since, until, said
    return words, None, None, ""


def _time_at(low: list[str], i: int, today: date) -> tuple[int, date, date | None] | None:
    """(where it ends, since, until) of a time written from word i, if one is."""
    word, ahead = low[i], low[i + 1 : i + 3]
    if word == "today":
        return i + 1, today, today
    if word == "yesterday":
        return i + 1, today - timedelta(days=1), today - timedelta(days=1)
    if word in _OPENS_TIME and ahead[:1] and _YEAR.fullmatch(ahead[0]):
        year = int(ahead[0])
        if year > today.year:
            return None
        return i + 2, date(year, 1, 1), None if word == "since" else date(year, 12, 31)
    if month := _month_at(low, i, today):
        return month
    unit = ahead[0].removesuffix("s") if ahead else ""
    if word == "this" and unit in _SPANS and unit != "day":
        starts = {
            "week": today - timedelta(days=today.weekday()),
            "month": today.replace(day=1),
            "year": today.replace(month=1, day=1),
        }
        return i + 2, starts[unit], None
    if word in _BACK and unit in _SPANS:
        return i + 2, today - timedelta(days=_SPANS[unit]), None
    if word in _BACK and len(ahead) == 2:
        count = int(ahead[0]) if ahead[0].isdigit() else _NUMBERS.get(ahead[0], 0)
        unit = ahead[1].removesuffix("s")
        if 0 < count <= 3650 and unit in _SPANS:
            return i + 3, today - timedelta(days=count * _SPANS[unit]), None
    return None


def _month_at(low: list[str], i: int, today: date) -> tuple[int, date, date | None] | None:
    """(where it ends, since, until) of a month named from word i: with its year ("may 2024",
    "in sept 2025"), or in full after in, from, since or during ("papers since march": the last
    March up to today). "since" leaves the end open."""
    opened = low[i] in _OPENS_TIME
    at = i + opened
    month = _MONTHS.get(low[at]) if at < len(low) else None
    if month is None:
        return None
    if at + 1 < len(low) and _YEAR.fullmatch(low[at + 1]):
        year, end = int(low[at + 1]), at + 2
    elif opened and low[at] in _WRITTEN_MONTHS:
        year, end = today.year - (month > today.month), at + 1
    else:
        return None
    start = date(year, month, 1)
    if start > today:
        return None
    last = (start.replace(day=28) + timedelta(days=4)).replace(day=1) - timedelta(days=1)
    return end, start, None if low[i] == "since" else last


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
