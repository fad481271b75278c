"""Saved papers as BibTeX entries: valid LaTeX for any title or name, acronyms kept upper-case.

Characters outside ASCII and LaTeX's special characters are written as LaTeX by pylatexenc
(`Müller` -> `M{\\"u}ller`, `&` -> `{\\&}`), so the file compiles with plain BibTeX as well as
biber. Bibliography styles lower-case titles; words whose case matters (`RL`, `LLMs`, `ViT`)
are wrapped in braces, which styles leave alone.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from pylatexenc.latexencode import UnicodeToLatexEncoder

from bot.models import Paper

_KEY_CHARS = re.compile(r"[^A-Za-z0-9]")
# Case a style must keep: a word with a capital after a small letter (ViT, iPhone, DeepSeek)
# whole; in other words capitals before a digit (R1, GPT4o) and runs of two or more capitals
# (RL, the LLM of LLMs). Words first, then within a word: linear on any input.
_WORD = re.compile(r"[A-Za-z0-9]+")
_MIXED = re.compile(r"[a-z][A-Z]")
_CAPITALS = re.compile(r"[A-Z]+[0-9][A-Za-z0-9]*|[A-Z]{2,}")
_LATEX = UnicodeToLatexEncoder(
    non_ascii_only=False,  # & % $ # _ { } ~ ^ \ too
    replacement_latex_protection="braces-almost-all",  # {\"u}: the form BibTeX sorts and cases
    unknown_char_policy="keep",
)


def escape(text: str) -> str:
    """Text as LaTeX safe inside a BibTeX field: specials escaped, non-ASCII as macros."""
    return _LATEX.unicode_to_latex(text)


def title(text: str) -> str:
    """A title as LaTeX with its acronyms and mixed-case words braced: `{RL} for {LLM}s`."""
    out: list[str] = []
    end = 0
    for word in _WORD.finditer(text):
        spans = (
            [(0, len(word.group()))]
            if _MIXED.search(word.group())
            else [m.span() for m in _CAPITALS.finditer(word.group())]
        )
        for start, stop in spans:
            start, stop = word.start() + start, word.start() + stop
            out += [escape(text[end:start]), "{", text[start:stop], "}"]
            end = stop
    out.append(escape(text[end:]))
    return "".join(out)


def cite_key(paper: Paper) -> str:
    """A stable key: first author's surname, year, first title word, e.g. vaswani2017attention."""
    surname = paper.authors[0].split()[-1] if paper.authors else "paper"
    year = _year(paper) or ""
    word = next((w for w in paper.title.split() if len(w) > 3), "paper")
    return (_KEY_CHARS.sub("", surname) + year + _KEY_CHARS.sub("", word)).lower() or paper.id


def _year(paper: Paper) -> str | None:
    day = paper.day
    return str(day.year) if day else None


def entry(paper: Paper) -> str:
    """One @misc entry (the form arXiv itself exports)."""
    fields = [("title", title(paper.title))]
    if paper.authors:
        fields.append(("author", " and ".join(escape(name) for name in paper.authors)))
    if year := _year(paper):
        fields.append(("year", year))
    if paper.is_arxiv:
        fields += [("eprint", paper.id), ("archivePrefix", "arXiv")]
        if paper.categories:
            fields.append(("primaryClass", escape(paper.categories[0])))
    if paper.doi:
        fields.append(("doi", paper.doi))
    if paper.url:
        # Verbatim: escaping would break the link (the url package reads it as is).
        fields.append(("url", paper.abs_url or paper.url))
    body = ",\n".join(f"  {name} = {{{value}}}" for name, value in fields)
    return f"@misc{{{cite_key(paper)},\n{body}\n}}\n"


def entries(papers: Iterable[Paper]) -> str:
    """Entries for many papers, keys made unique."""
    seen: dict[str, int] = {}
    out = []
    for paper in papers:
        text = entry(paper)
        key = cite_key(paper)
        seen[key] = seen.get(key, 0) + 1
        if seen[key] > 1:
            text = text.replace(key, f"{key}{chr(ord('a') + seen[key] - 2)}", 1)
        out.append(text)
    return "\n".join(out)
