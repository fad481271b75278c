"""Saved papers as BibTeX entries."""

from __future__ import annotations

import re
from collections.abc import Iterable

from bot.models import Paper

_SPECIAL = re.compile(r"([&%$#_{}])")
_KEY_CHARS = re.compile(r"[^A-Za-z0-9]")


def escape(text: str) -> str:
    """Text safe inside a BibTeX field: LaTeX special characters escaped."""
    text = text.replace("\\", r"\textbackslash{}")
    text = _SPECIAL.sub(r"\\\1", text)
    return text.replace("~", r"\textasciitilde{}").replace("^", r"\textasciicircum{}")


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
    fields = [("title", paper.title)]
    if paper.authors:
        fields.append(("author", " and ".join(paper.authors)))
    if year := _year(paper):
        fields.append(("year", year))
    if paper.is_arxiv:
        fields += [("eprint", paper.id), ("archivePrefix", "arXiv")]
        if paper.categories:
            fields.append(("primaryClass", paper.categories[0]))
    if paper.url:
        fields.append(("url", paper.abs_url or paper.url))
    raw = ("url", "eprint")  # verbatim fields: escaping would break the link
    body = ",\n".join(
        f"  {name} = {{{value if name in raw else escape(value)}}}" for name, value in fields
    )
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
