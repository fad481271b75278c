"""The domain: papers, channels, subscriptions, digests, bookmarks."""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from typing import Any

HF_PAPER_URL = "https://huggingface.co/papers/{id}"
ARXIV_ABS_URL = "https://arxiv.org/abs/{id}"
ARXIV_PDF_URL = "https://arxiv.org/pdf/{id}"

# New-style (2401.01234) and old-style (astro-ph/0601001, math.AG/0601001) arXiv ids.
ARXIV_ID = re.compile(r"^(?:\d{4}\.\d{4,5}|[a-z-]+(?:\.[A-Z]{2})?/\d{7})$")
_VERSION = re.compile(r"v\d+$")
_SPACE = re.compile(r"\s+")


def normalise_space(text: str | None) -> str:
    """Collapse runs of whitespace (hard wraps, padding) into single spaces."""
    return _SPACE.sub(" ", text or "").strip()


def canonical_id(raw: str) -> str:
    """The paper key: an arXiv id without its version, from an id or an abs/pdf URL."""
    text = raw.strip()
    for marker in ("/abs/", "/pdf/"):
        if marker in text:
            text = text.split(marker, 1)[1]
    text = text.removesuffix(".pdf").strip("/")
    if text.lower().startswith("arxiv:"):
        text = text[6:]
    return _VERSION.sub("", text)


@dataclass(frozen=True, slots=True)
class Paper:
    """One paper as the bot knows it, merged across sources."""

    id: str
    title: str
    abstract: str = ""
    authors: tuple[str, ...] = ()
    published: date | None = None  # first arXiv version
    added: date | None = None  # the day it appeared on Hugging Face Daily Papers
    upvotes: int = 0
    comments: int = 0
    github_repo: str | None = None
    github_stars: int | None = None
    project_page: str | None = None
    thumbnail: str | None = None
    ai_summary: str | None = None
    keywords: tuple[str, ...] = ()
    categories: tuple[str, ...] = ()
    organization: str | None = None
    sources: tuple[str, ...] = ()
    first_seen: datetime | None = None
    last_seen: datetime | None = None

    @property
    def is_arxiv(self) -> bool:
        """True when the id is an arXiv id (so arXiv and HF links exist)."""
        return bool(ARXIV_ID.match(self.id))

    @property
    def url(self) -> str:
        """The page a title links to: Hugging Face for arXiv papers, else the project page."""
        if self.is_arxiv:
            return HF_PAPER_URL.format(id=self.id)
        return self.project_page or self.github_repo or ""

    @property
    def abs_url(self) -> str | None:
        """The arXiv abstract page, for arXiv papers."""
        return ARXIV_ABS_URL.format(id=self.id) if self.is_arxiv else None

    @property
    def pdf_url(self) -> str | None:
        """The arXiv PDF, for arXiv papers."""
        return ARXIV_PDF_URL.format(id=self.id) if self.is_arxiv else None

    @property
    def links(self) -> tuple[tuple[str, str], ...]:
        """(label, url) of the pages the paper has: arXiv, PDF, Code, Project."""
        pages = (
            ("arXiv", self.abs_url),
            ("PDF", self.pdf_url),
            ("Code", self.github_repo),
            ("Project", self.project_page),
        )
        return tuple((label, url) for label, url in pages if url)

    @property
    def summary_line(self) -> str:
        """A short summary: HF's ai_summary when present, else the abstract's first sentences."""
        if self.ai_summary:
            return self.ai_summary
        return shorten(self.abstract, 280)

    def merged(self, newer: Paper) -> Paper:
        """This paper updated with what a newer sighting knows; nothing known is forgotten."""
        changes: dict[str, Any] = {}
        for name in Paper.__dataclass_fields__:
            if name in ("id", "first_seen"):
                continue
            value = getattr(newer, name)
            if name == "sources":
                value = tuple(dict.fromkeys(self.sources + newer.sources))
            elif name in ("upvotes", "comments"):
                value = max(value, getattr(self, name))
            elif name == "github_stars" and value is not None and self.github_stars is not None:
                value = max(value, self.github_stars)
            elif name == "added" and self.added is not None:
                value = self.added if value is None else min(self.added, value)
            if value in (None, (), ""):
                continue
            changes[name] = value
        return replace(self, **changes)


def shorten(text: str, limit: int) -> str:
    """Text cut at a word boundary to at most `limit` characters, with an ellipsis when cut."""
    text = normalise_space(text)
    if len(text) <= limit:
        return text
    cut = text[: limit - 1]
    if " " in cut[limit // 2 :]:
        cut = cut.rsplit(" ", 1)[0]
    return cut.rstrip(" ,;:.") + "…"


def short_authors(authors: tuple[str, ...], keep: int = 3) -> str:
    """'A, B, C et al.' style author line."""
    if not authors:
        return ""
    if len(authors) <= keep:
        return ", ".join(authors)
    return ", ".join(authors[:keep]) + f" +{len(authors) - keep} more"


@dataclass(frozen=True, slots=True)
class Channel:
    """A place the bot posts to: platform, workspace (Slack team / Discord guild), channel."""

    platform: str
    workspace: str
    channel: str

    def __str__(self) -> str:
        return f"{self.platform}:{self.workspace}/{self.channel}"


@dataclass(frozen=True, slots=True)
class MessageRef:
    """A message the bot posted: its channel and the platform's id for it (Slack ts, Discord id)."""

    channel: Channel
    ref: str


DEFAULT_WEEKDAYS: tuple[int, ...] = (0, 1, 2, 3, 4)  # Monday-Friday


@dataclass(frozen=True, slots=True)
class Subscription:
    """A channel's digest settings."""

    channel: Channel
    topics: tuple[str, ...] = ()
    count: int = 5
    min_upvotes: int = 0
    weekdays: tuple[int, ...] = DEFAULT_WEEKDAYS
    post_time: str = "09:00"  # HH:MM local time
    timezone: str = "UTC"
    skip_empty: bool = False  # True: say nothing on days with nothing new
    roundup_weekday: int | None = 4  # weekly roundup (Friday); None turns it off


@dataclass(frozen=True, slots=True)
class DigestItem:
    """One picked paper and a one-line reason it was picked."""

    paper: Paper
    why: str
    score: float = 0.0


@dataclass(frozen=True, slots=True)
class Digest:
    """A day's picks for one channel."""

    channel: Channel
    day: date
    items: tuple[DigestItem, ...] = ()
    title: str = "Trending papers"
    empty_reason: str = ""  # what to say when items is empty
    kind: str = "daily"  # daily | roundup | extra-HHMMSS | share

    @property
    def header_key(self) -> str:
        """What tags this digest's header message, so a restart can find it on the platform."""
        return f"header:{self.kind}:{self.day.isoformat()}"


@dataclass(frozen=True, slots=True)
class Bookmark:
    """A paper a user saved."""

    platform: str
    workspace: str
    user: str
    paper: Paper
    saved_at: datetime


@dataclass(slots=True)
class IngestReport:
    """What one ingest or fetch did."""

    source: str
    seen: int = 0
    new: int = 0
    updated: int = 0
    skipped: list[str] = field(default_factory=list)  # one reason per skipped item
