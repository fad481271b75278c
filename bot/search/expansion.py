"""From a parsed Query to FTS5 MATCH expressions: compounds, abbreviations, exclusions.

Every token placed in an expression is a run of letters and digits inside double quotes, so no
user input can reach the FTS5 query parser as syntax.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace

from bot.models import text_key
from bot.search.abbreviations import (
    curated_pairs,
    long_key,
    numbers_agree,
    short_key,
    spelled_out,
    stem,
)
from bot.search.grammar import DESCRIPTION_TERMS, FILLER, STOPWORDS, Query, tokens

# (short keys, long keys) -> (short key, long key, spelling, papers) rows from the corpus.
Lookup = Callable[[Sequence[str], Sequence[str]], list[tuple[str, str, str, int]]]

MAX_SPAN_WORDS = 6
MAX_FORMS = 4  # long forms per abbreviation: the most-defined ones
# The curated pairs count as defined by this many papers, so their long forms list first.
CURATED_PAPERS = 10**6
# Spelled-out forms match with this many extra words in between, in any order, so
# "on-policy distillation" finds "on-policy self-distillation" (FTS5 NEAR).
NEAR_SLACK = 2
MIN_MEANING_SHARE = 0.05  # of the papers defining a short form's most common long form
MAX_JOINED_CHARS = 24  # "metarl", "fewshot"; longer joined forms never occur in text
# "o1-style reasoning", "CLIP-like encoders": a named model with one of these after it asks
# for work on or around that model, which papers mostly name alone ("OpenAI's o1"), so the
# name alone matches too. A plain word keeps its compound: "content-style", "human-like".
_LIKENESS = frozenset({"like", "style"})
EITHER = "OR"  # typed in capitals between two words: either matches ("LLM OR VLM")
OUTSIDE_AUTHORS = "{title abstract keywords}"  # FTS5 column filter: every column but authors

_CURATED = curated_pairs()
_CURATED_KEYS = frozenset((short, long) for short, long, _ in _CURATED)


def near_words(form: tuple[str, ...]) -> tuple[str, ...]:
    """The words of a spelled-out form that its NEAR group looks for: its stop words left out
    while two words remain ("mixture of experts": mixture, experts), as reading the doclist of
    "of" or "to" costs more than the rest of a search at a million papers."""
    kept = tuple(t for t in form if t not in STOPWORDS)
    return kept if len(kept) >= 2 else form


def near_group(form: tuple[str, ...]) -> str:
    """The FTS5 NEAR group of a spelled-out form: its words within NEAR_SLACK extra words of
    each other, in any order, a stop word left out widening the window by one."""
    words = near_words(form)
    slack = NEAR_SLACK + len(form) - len(words)
    return f"NEAR({' '.join(phrase((t,)) for t in words)}, {slack})"


@dataclass(frozen=True, slots=True)
class Term:
    """One thing the user asked for, with every form that counts as a match for it."""

    typed: str
    forms: tuple[tuple[str, ...], ...]  # exact token phrases
    near: tuple[tuple[str, ...], ...] = ()  # spelled-out forms, matched with NEAR_SLACK
    expanded: bool = False  # True when abbreviation forms were added
    typed_forms: tuple[tuple[str, ...], ...] = ()  # of `forms`, those of the words as typed
    quoted: bool = False  # a "quoted phrase": required even when a query is relaxed
    in_title: bool = False  # title:word, title:"phrase": matched in the title alone (quoted too)

    def fts(self, in_titles: bool = False) -> str:
        """The FTS5 expression: any of the forms, a word the user did not type matched outside
        the author list (see not_typed); `in_titles` for the index of titles alone, which has
        no other column."""
        if self.in_title:
            return phrase(self.forms[0]) if in_titles else f"title : {phrase(self.forms[0])}"
        parts = [
            f"{OUTSIDE_AUTHORS} : {phrase(f)}" if not in_titles and self.not_typed(f) else phrase(f)
            for f in self.forms
        ]
        parts += [near_group(f) for f in self.near]
        return parts[0] if len(parts) == 1 else "(" + " OR ".join(parts) + ")"

    def not_typed(self, form: tuple[str, ...]) -> bool:
        """Whether a form is one word the user did not type: the short form of a typed long
        form ("machine unlearning": MU) or a long form joined. Such a word is often a surname
        too (Yao Mu), and the user asked for the topic, so both stores match it only in a
        paper's title, abstract and keywords."""
        return self.expanded and len(form) == 1 and form not in self.typed_forms

    def phrases(self) -> tuple[str, ...]:
        """Every FTS5 phrase bm25 counts for this term: each form, and each word of a NEAR."""
        spelled = [phrase((t,)) for f in self.near for t in near_words(f)]
        return tuple(dict.fromkeys([phrase(f) for f in self.forms] + spelled))

    def words(self) -> tuple[str, ...]:
        """The single words of the forms typed, stop words left out."""
        forms = self.typed_forms or self.forms
        return tuple(dict.fromkeys(t for f in forms for t in f if t not in STOPWORDS))

    def typed_fts(self) -> str:
        """The FTS5 expression of the words as typed, without the expansion's other forms."""
        if self.in_title:
            return self.fts()
        forms = self.typed_forms or self.forms
        parts = [phrase(f) for f in forms]
        return parts[0] if len(parts) == 1 else "(" + " OR ".join(parts) + ")"


@dataclass(frozen=True, slots=True)
class Expression:
    """The FTS5 expressions of one query."""

    terms: tuple[Term, ...]  # plain words and phrases, each must match
    authors: tuple[tuple[str, ...], ...]
    excluded: tuple[tuple[str, ...], ...]
    typed: tuple[str, ...] = ()  # every token of the plain words, stop words too
    asked: tuple[str, ...] = ()  # every token of the words typed, a chat request too (Query.asked)

    def title_keys(self) -> list[str]:
        """The text keys (models.text_key) an exact-title lookup looks for: the typed words, and
        with a chat request taken out of them, every word typed ("Are We There Yet?")."""
        return [text_key(" ".join(words)) for words in (self.typed, self.asked) if words]

    def match(self, column: str | None = None, any_term: bool = False) -> str:
        """The MATCH expression, words limited to one column if given; with `any_term`, papers
        matching at least one of the terms; "" if nothing to match."""
        parts = [t.fts() for t in self.terms]
        if any_term:
            # Relaxed: any of the plain terms (one term of several words, "meta-RL": any of its
            # words), and still every quoted phrase and author. With an author, the words may
            # all be missing: that author's other papers follow, the words still ranking them.
            plain = [t for t in self.terms if not t.quoted]
            some = [t.fts() for t in plain]
            if len(some) == 1:
                some += [phrase((w,)) for w in plain[0].words()]
            if some:
                some += [f"authors : {phrase(a)}" for a in self.authors]
            parts = [t.fts() for t in self.terms if t.quoted]
            if not some:
                return ""
            parts.append("(" + " OR ".join(dict.fromkeys(some)) + ")")
        if column and parts:
            parts = [f"{column} : (" + " AND ".join(parts) + ")"]
        parts += [f"authors : {phrase(a)}" for a in self.authors]
        if not parts:
            return ""
        text = " AND ".join(parts)
        if self.excluded:
            text = f"({text}) NOT (" + " OR ".join(phrase(e) for e in self.excluded) + ")"
        return text

    def as_typed(self) -> Expression:
        """The expression with each abbreviation's term reduced to the forms typed ("VLM": vlm;
        "reinforcement learning": that phrase, without RL or its words apart)."""
        terms = tuple(
            replace(t, forms=t.typed_forms, near=(), expanded=False)
            if t.expanded and t.typed_forms
            else t
            for t in self.terms
        )
        return replace(self, terms=terms)

    def typed_match(self) -> str:
        """The MATCH expression of the words as typed (no expansions), "" if none."""
        parts = [t.typed_fts() for t in self.terms]
        parts += [f"authors : {phrase(a)}" for a in self.authors]
        text = " AND ".join(parts)
        if text and self.excluded:
            text = f"({text}) NOT (" + " OR ".join(phrase(e) for e in self.excluded) + ")"
        return text


def phrase(toks: Sequence[str]) -> str:
    """A quoted FTS5 phrase of plain tokens."""
    return '"' + " ".join(toks) + '"'


def expand(
    query: Query, lookup: Lookup, other: Mapping[str, tuple[str, ...]] | None = None
) -> Expression:
    """Group the plain words into terms, adding spaced/joined compounds and abbreviation forms;
    `other` gives the other spelling of compounds papers write both ways, keyed by a word typed
    joined ("multiview" -> multi view) or two typed apart ("self play" -> selfplay; see
    spelling.compounds): a term that matches either spelling.

    A description keeps its spelled-out words as typed: a query with DESCRIPTION_TERMS or more
    words that are neither stop words nor FILLER (a hyphenated compound is one word; unlike
    engine.keeps_words, which counts tokens and filler too) adds no short form or alternate
    spelling for a run of words that is a known long form, so "reinforcement learning from
    human feedback for chat assistants" adds no "RLHF"; every such form widens a long
    plain-English query past what it describes. Only a short form typed in it ("RLHF") still
    expands to its long forms. Counting filler too would make "how to stop language models
    making things up" a description and lose its "LLM", which the relevance set's dev split
    needs.
    """
    words = [(w, tokens(w)) for w in query.words]
    words = [(w, t) for w, t in words if t]
    content = [t for _, t in words if not (len(t) == 1 and t[0] in STOPWORDS)]
    if len(content) >= DESCRIPTION_TERMS:
        words = [(w, t) for w, t in words if not (len(t) == 1 and t[0] in FILLER)]
    topical = [t for t in content if not (len(t) == 1 and t[0] in FILLER)]
    description = len(topical) >= DESCRIPTION_TERMS
    spans = _spans(words)
    learned = lookup([s for s, _, _ in spans], [lk for _, lk, _ in spans])
    # Pairs learned before numbers_agree and spelled_out were checked at learning are checked
    # here too.
    learned = [p for p in learned if numbers_agree(p[0], p[1]) and spelled_out(p[2], p[1])]
    pairs = [(s, lk, sp, CURATED_PAPERS) for s, lk, sp in _CURATED] + learned
    terms: list[Term] = []
    either = False  # the word before was OR: this term is an alternative to the one before
    i = 0
    while i < len(words):
        if words[i][0] == EITHER:
            either = bool(terms)
            i += 1
            continue
        term, used = _abbreviation_term(
            words, i, pairs, _other_tokens(words, i), spelled_out=not description
        )
        if term is None:
            term, used = _word_term(words, i, other or {})
            if term is None:
                i += 1
                continue
        if i + used < len(words) and _version(words[i + used][1]) and term.typed[-1].isalpha():
            term = _versioned(term, *words[i + used])
            used += 1
        if either and not terms[-1].quoted:
            term = _either(terms.pop(), term)
        either = False
        terms.append(term)
        i += used
    terms += [Term(" ".join(p), (p,), quoted=True) for p in query.phrases]
    terms += [Term(" ".join(t), (t,), quoted=True, in_title=True) for t in query.titled]
    # A term typed twice ("meta-RL meta-rl") asks for the same papers once: kept twice, it
    # would count twice in bm25, be noted twice and lose the relaxing of a one-term query.
    once: dict[str, Term] = {}
    for term in terms:
        once.setdefault(term.fts(), term)
    terms = list(once.values())
    typed = tuple(t for _, toks in words for t in toks)
    asked = tuple(t for w in query.asked for t in tokens(w))
    return Expression(tuple(terms), query.authors, query.excluded, typed, asked)


def _either(first: Term, second: Term) -> Term:
    """One term matched by either of two ("LLM OR VLM")."""
    typed = (first.typed_forms or first.forms) + (second.typed_forms or second.forms)
    return Term(
        f"{first.typed} {EITHER} {second.typed}",
        tuple(dict.fromkeys(first.forms + second.forms)),
        first.near + second.near,
        expanded=first.expanded or second.expanded,
        typed_forms=tuple(dict.fromkeys(typed)) if first.expanded or second.expanded else (),
    )


def _word_term(
    words: list[tuple[str, tuple[str, ...]]], start: int, other: Mapping[str, tuple[str, ...]]
) -> tuple[Term | None, int]:
    """The plain word at `start` as a Term (None for a stop word), with the words that follow
    when the two are a compound papers also write joined (`other`), and how many words it
    took."""
    word, toks = words[start]
    if len(toks) == 1 and toks[0] in STOPWORDS:
        return None, 1
    if start + 1 < len(words) and len(toks) == 1:
        after, more = words[start + 1]
        pair = f"{toks[0]} {more[0]}" if len(more) == 1 else ""
        if pair in other:
            return Term(f"{word} {after}", ((toks[0], more[0]), other[pair])), 2
    forms = _compound_forms(toks)
    if len(toks) == 1 and toks[0] in other:
        forms.append(other[toks[0]])
    if len(toks) > 1 and toks[-1] in _LIKENESS and _named(word.rsplit("-", 1)[0]):
        forms.append(toks[:-1])
    return Term(word, tuple(forms)), 1


def _version(toks: tuple[str, ...]) -> bool:
    """Whether a typed word starts with a number that versions the name before it ("qwen 2.5",
    "phi 3", "Qwen 2.5-VL"): matched beside the name, as papers write it, not anywhere in a
    paper. A year is not a version ("agents 2025")."""
    year = len(toks) == 1 and len(toks[0]) == 4
    return toks[0].isdigit() and not year


def _versioned(term: Term, word: str, number: tuple[str, ...]) -> Term:
    """The term of a name with the version typed after it: each form followed by the number,
    and joined to it as papers also write it ("Qwen2.5": qwen2, 5; "SD3"). A spelled-out form
    is a phrase with the number, not words near each other (NEAR would take "Stable Diffusion
    1.5 at 3 scales" for 3.5), and run together ("stablediffusion") it is left out: no paper
    versions that."""

    def grown(forms: tuple[tuple[str, ...], ...]) -> tuple[tuple[str, ...], ...]:
        out = [(*f, *number) for f in forms]
        out += [(*f[:-1], f[-1] + number[0], *number[1:]) for f in forms if f[-1][-1].isalpha()]
        return tuple(dict.fromkeys(out))

    joined = {("".join(f),) for f in term.near}
    forms = tuple(f for f in term.forms if f not in joined)
    return replace(
        term,
        typed=f"{term.typed} {word}",
        forms=grown(forms) + tuple((*f, *number) for f in term.near),
        near=(),
        typed_forms=grown(term.typed_forms),
    )


def _named(text: str) -> bool:
    """Whether a word is typed like a name: with a capital letter or a digit (GPT, o1, R1)."""
    return text != text.lower() or any(c.isdigit() for c in text)


def _spans(words: list[tuple[str, tuple[str, ...]]]) -> list[tuple[str, str, bool]]:
    """(short key, long key, typed with a capital) for every run of up to MAX_SPAN_WORDS words."""
    out = []
    for i in range(len(words)):
        for j in range(i + 1, min(len(words), i + MAX_SPAN_WORDS) + 1):
            toks = [t for _, ws in words[i:j] for t in ws]
            typed = " ".join(w for w, _ in words[i:j])
            out.append((short_key(typed), long_key(toks), typed != typed.lower()))
    return out


def _other_tokens(words: list[tuple[str, tuple[str, ...]]], start: int) -> set[str]:
    """The tokens typed outside the run of words that starts at `start` (its first word)."""
    return {stem(t) for i, (_, toks) in enumerate(words) if i != start for t in toks} - STOPWORDS


def _abbreviation_term(
    words: list[tuple[str, tuple[str, ...]]],
    start: int,
    pairs: list[tuple[str, str, str, int]],
    others: set[str],
    spelled_out: bool = True,
) -> tuple[Term | None, int]:
    """The longest run of words from `start` that is a known short or long form, as a Term.

    Expansions keep to the query: a long form that repeats another typed word would let the
    expansion satisfy that word too ("LoRA rank": low-*rank* adaptation), so it is left out,
    unless the short form has several meanings, where it is the meaning the query means
    ("TTS speech": text-to-speech, not test-time scaling). Without `spelled_out`, only a typed
    short form expands; a run of words that is a long form stays as typed."""
    for end in range(min(len(words), start + MAX_SPAN_WORDS), start, -1):
        typed = " ".join(w for w, _ in words[start:end])
        toks = tuple(t for _, ws in words[start:end] for t in ws)
        skey, lkey = short_key(typed), long_key(toks)
        trusted = [p for p in pairs if _trusted(p, typed, lkey)]
        as_short = [p for p in trusted if p[0] == skey and len(skey) >= 2]
        if skey.endswith("s") and not as_short:  # "llms", typed in lower case
            as_short = [p for p in trusted if p[0] == skey[:-1] and len(skey) >= 3]
        as_long = [p for p in trusted if spelled_out and p[1] == lkey and len(toks) >= 2]
        if not as_short and not as_long:
            continue
        shorts = {p[0]: p[2] for p in as_short + as_long}
        # Long forms of the abbreviation typed, most-defined first. A typed long form keeps
        # to itself: "text-to-speech" must not pull in TTS's other meaning, test-time scaling.
        by_papers: dict[str, int] = {}
        for pair in as_short:
            by_papers[pair[1]] = max(pair[3], by_papers.get(pair[1], 0))
        # A meaning defined by a few papers where another is defined by many is noise from the
        # learner ("large language model s"), not a second meaning.
        floor = MIN_MEANING_SHARE * max(by_papers.values(), default=0)
        by_papers = {lk: n for lk, n in by_papers.items() if n >= floor}
        longs = [tuple(lk.split()) for lk in sorted(by_papers, key=lambda k: -by_papers[k])]
        others_here = others - {stem(t) for t in toks}
        echoing = [lf for lf in longs if others_here & set(lf)]
        if len(longs) > 1 and echoing:
            longs = echoing
        elif echoing:
            longs = [lf for lf in longs if lf not in echoing]
        forms: list[tuple[str, ...]] = []
        near: list[tuple[str, ...]] = []
        if as_short:
            forms += _compound_forms(toks)
            typed_forms = tuple(forms)
        else:
            longs.insert(0, toks)
            typed_forms = tuple(_compound_forms(toks))
        for key, spelled in shorts.items():
            # A short form the user did not type is left out when it is a stop word, in nearly
            # every paper ("instruction tuning": IT), or when the porter stemmer would cut it to
            # another word ("NAS" -> "na", which matches authors named Na).
            if not as_short and (key in STOPWORDS or (key.endswith("s") and len(key) <= 5)):
                continue
            forms += [tuple(spelled.split()), (key,)]
        for long in longs[: MAX_FORMS + 1]:
            joined = "".join(long)
            if len(long) == 1 or len(joined) <= MAX_JOINED_CHARS:
                forms.append((joined,))
            if len(long) > 1:
                near.append(tuple(stem(t) for t in long))
        term = Term(
            typed,
            tuple(dict.fromkeys(forms)),
            tuple(dict.fromkeys(near)),
            expanded=True,
            typed_forms=typed_forms,
        )
        return term, end - start
    return None, 0


def _trusted(pair: tuple[str, str, str, int], typed: str, lkey: str) -> bool:
    """Whether a looked-up pair may expand what was typed.

    A learned pair is only as good as the parentheses it came from, and a lower-case word that
    is also a learned short form is usually just the word: "villa" is not "visual language
    latent action", and expanding it costs a walk of four very common words. So a learned pair
    expands a short form only when it is typed like one (a capital letter or a digit: "ViLLA",
    "GPPO", "t2v"), and always a typed long form. Curated pairs hold for any spelling
    ("meta-rl", "rlhf").
    """
    if (pair[0], pair[1]) in _CURATED_KEYS or pair[1] == lkey:
        return True
    return _named(typed)


def _compound_forms(toks: tuple[str, ...]) -> list[tuple[str, ...]]:
    """A word as typed plus, for compounds (few-shot, text-to-speech), the joined form."""
    if len(toks) == 1 or len("".join(toks)) > MAX_JOINED_CHARS:
        return [toks]
    return [toks, ("".join(toks),)]
