"""Platform-neutral answers to /papers commands; each adapter renders them its own way.

Every string in a reply is plain, untrusted-safe text: adapters escape it for their markup.
"""

from __future__ import annotations

from dataclasses import dataclass

from bot.models import Paper, Subscription

# A snippet is a sequence of (text, is_match) runs, so each adapter can mark matches its own way.
Snippet = tuple[tuple[str, bool], ...]


@dataclass(frozen=True, slots=True)
class SearchHit:
    """One search result: the paper, its rank score (higher is better) and why it matched."""

    paper: Paper
    score: float
    snippet: Snippet = ()
    rowid: int = 0  # the search index's key for the paper (0: not from an index)

    def as_dict(self) -> dict[str, object]:
        """The hit as JSON-ready data (`papers-bot search --json`); matches in **bold**."""
        return {
            "id": self.paper.id,
            "title": self.paper.title,
            "url": self.paper.url,
            "score": round(self.score, 4),
            "authors": list(self.paper.authors),
            "upvotes": self.paper.upvotes,
            "snippet": "".join(f"**{t}**" if m else t for t, m in self.snippet),
        }


@dataclass(frozen=True, slots=True)
class SearchReply:
    """Results of `/papers <words>`."""

    query: str
    hits: tuple[SearchHit, ...]
    note: str = ""  # e.g. "showing the newest matches: the full ranking took too long"
    ephemeral: bool = True
    notice: str = ""  # a line to show first (a paused channel says why)
    heading: str = ""  # instead of "3 papers matching “query”" (`/papers like`)
    source: str = "store"  # "arxiv": live arXiv results, offered with Save instead of Share
    searched: bool = True  # False when the text held nothing to search for (the note says so)

    @property
    def offers_more(self) -> bool:
        """True when an empty reply should say where else to look (presentation.no_matches):
        a search that ran and found nothing, not text with nothing to search for."""
        return not self.hits and self.searched


@dataclass(frozen=True, slots=True)
class PaperListReply:
    """A heading and a list of papers: `today`, `saved`."""

    heading: str
    papers: tuple[Paper, ...]
    empty_text: str
    ephemeral: bool = True
    notice: str = ""  # a line to show first (a paused channel says why)


@dataclass(frozen=True, slots=True)
class TextReply:
    """A short message; `error` marks it as a problem with the request."""

    text: str
    error: bool = False
    ephemeral: bool = True
    notice: str = ""  # a line to show first (a paused channel says why)


@dataclass(frozen=True, slots=True)
class FileReply:
    """A file to hand the user (BibTeX export)."""

    filename: str
    content: str
    text: str  # a line to show with it
    ephemeral: bool = True
    notice: str = ""  # a line to show first (a paused channel says why)


@dataclass(frozen=True, slots=True)
class HelpReply:
    """Usage lines: (syntax, what it does)."""

    title: str
    entries: tuple[tuple[str, str], ...]
    footer: str = ""
    ephemeral: bool = True
    notice: str = ""  # a line to show first (a paused channel says why)


@dataclass(frozen=True, slots=True)
class SettingsReply:
    """A channel's settings, after a show or a change."""

    subscription: Subscription
    text: str = ""  # what changed, if anything
    ephemeral: bool = True
    notice: str = ""  # a line to show first (a paused channel says why)


Reply = SearchReply | PaperListReply | TextReply | FileReply | HelpReply | SettingsReply
