"""The domain: papers, channels, subscriptions, digests, bookmarks."""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta
from enum import StrEnum
from typing import Any

HF_PAPER_URL = "https://huggingface.co/papers/{id}"
ARXIV_ABS_URL = "https://arxiv.org/abs/{id}"
ARXIV_PDF_URL = "https://arxiv.org/pdf/{id}"
ARXIV_DOI = "10.48550/arXiv.{id}"  # the DOI arXiv registers for every paper (DataCite)

# New-style (2401.01234) and old-style (astro-ph/0601001, math.AG/0601001) arXiv ids.
ARXIV_ID = re.compile(r"^(?:\d{4}\.\d{4,5}|[a-z-]+(?:\.[A-Z]{2})?/\d{7})$")
_VERSION = re.compile(r"v\d+$")
# A paper id or link as people paste it: an arXiv id (any version, "arXiv:" or not), an arXiv
# or alphaXiv abs/pdf/html link, or a Hugging Face paper page; the id is group 1.
_REFERENCE = re.compile(
    r"(?i:(?:https?://)?(?:www\.|export\.)?(?:arxiv\.org|alphaxiv\.org)/(?:abs|pdf|html)/"
    r"|(?:https?://)?(?:huggingface\.co|hf\.co)/papers/|arxiv:)?"
    r"(\d{4}\.\d{4,5}|[a-z-]+(?:\.[A-Z]{2})?/\d{7})(?i:v\d+)?(?i:\.pdf)?/?(?:[?#]\S*)?"
)
_REFERENCES_SEPARATOR = re.compile(r"[\s,;]+")
_WORD = re.compile(r"[^\W_]+")  # a word as the full-text index splits text (unicode61)
_SPACE = re.compile(r"\s+")
# A paper has code when it names its repository, or its abstract links one ("Code is available
# at https://github.com/org/repo."). CODE_IN_ABSTRACT is that test as the SQL LIKE pattern
# the stores' "papers with code" filter uses, so the papers it keeps show a Code link.
_GITHUB = re.compile(r"(?:https?://)?(?:www\.)?github\.com/[\w.-]+(?:/[\w.-]+)?", re.IGNORECASE)
CODE_IN_ABSTRACT = "%github.com/%"


def paper_day_sql(table: str = "") -> str:
    """Paper.day as SQL over the papers table (`table`: its alias and a dot): the first known of
    Paper.DAY_FIELDS, as an ISO date. The search's date filters and the index of days (schema
    v8) both write it so, so that the planner uses the index."""
    columns = []
    for name in Paper.DAY_FIELDS:
        # Dates are stored as ISO dates, datetimes as ISO datetimes: their first ten characters.
        is_datetime = str(Paper.__dataclass_fields__[name].type).startswith("datetime")
        columns.append(f"substr({table}{name}, 1, 10)" if is_datetime else f"{table}{name}")
    return f"coalesce({', '.join(columns)})"


def has_code_sql(like: str = "LIKE", table: str = "") -> str:
    """The test as an SQL condition over the papers table (`table`: its alias and a dot),
    written out with no parameter, so a store's planner can use an index kept for these papers
    alone; `like` is the store's LIKE that ignores case (PostgreSQL's ILIKE)."""
    return f"({table}github_repo IS NOT NULL OR {table}abstract {like} '{CODE_IN_ABSTRACT}')"


# How long a platform event id is remembered, so that a retry of it is dropped. Slack retries
# an event it got no 200 for three times within about five minutes (at once, after a minute,
# after five); an hour leaves room for a slow restart. Discord's gateway does not redeliver.
EVENT_RETENTION = timedelta(hours=1)
# How long fetch attempts stay in the fetch log; the newest of each source is kept however old.
FETCH_LOG_RETENTION = timedelta(days=30)


def normalise_space(text: str | None) -> str:
    """Collapse runs of whitespace (hard wraps, padding) into single spaces."""
    return _SPACE.sub(" ", text or "").strip()


def text_key(text: str) -> str:
    """Text as its lower-case words joined by single spaces: "Seed-Prover: Deep…" ->
    "seed prover deep…". Two titles are the same title when their keys are equal."""
    return " ".join(word.lower() for word in _WORD.findall(text))


def title_keys(title: str) -> tuple[str, str | None]:
    """The keys an exact-title search looks up: the whole title, and its name before a colon
    ("Seed-Prover" of "Seed-Prover: Deep and Broad Reasoning …"), if it has one."""
    name, colon, _ = title.partition(":")
    return text_key(title), (text_key(name) or None) if colon else None


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


def paper_references(text: str) -> list[str]:
    """The arXiv ids of a text made only of paper ids and links (see _REFERENCE; a link in
    Slack's <url|label> form too), in order and once each; [] when the text holds anything
    else, such as words to search for."""
    found: list[str] = []
    for part in _REFERENCES_SEPARATOR.split(text.strip()):
        if not part:
            continue
        match = _REFERENCE.fullmatch(part.strip("<>()[]").split("|", 1)[0])
        if match is None:
            return []
        found.append(match.group(1))
    return list(dict.fromkeys(found))


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

    # A paper's own date is the first of these that is known: its first arXiv version, else
    # the day it appeared on Hugging Face, else the day the bot first saw it. The store builds
    # its SQL for date filters from this order, so both agree.
    DAY_FIELDS = ("published", "added", "first_seen")  # not annotated: not a dataclass field

    @property
    def day(self) -> date | None:
        """The paper's date: first arXiv version, else its Hugging Face day, else first seen."""
        for name in Paper.DAY_FIELDS:
            value = getattr(self, name)
            if isinstance(value, datetime):
                return value.date()
            if value is not None:
                return value
        return None

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
    def code_url(self) -> str | None:
        """The paper's code: its repository, else the first GitHub link in its abstract."""
        if self.github_repo:
            return self.github_repo
        found = _GITHUB.search(self.abstract)
        if not found:
            return None
        url = found[0].rstrip(".")
        return url if url.lower().startswith("http") else f"https://{url}"

    @property
    def abs_url(self) -> str | None:
        """The arXiv abstract page, for arXiv papers."""
        return ARXIV_ABS_URL.format(id=self.id) if self.is_arxiv else None

    @property
    def doi(self) -> str | None:
        """The DOI arXiv assigned the paper, for arXiv papers."""
        return ARXIV_DOI.format(id=self.id) if self.is_arxiv else None

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
            ("Code", self.code_url),
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

    def member(self, user: str) -> Member:
        """A user of this channel's workspace."""
        return Member(self.platform, self.workspace, user)


@dataclass(frozen=True, slots=True)
class Member:
    """A person in a workspace, e.g. the one who saved a bookmark."""

    platform: str
    workspace: str
    user: str


@dataclass(frozen=True, slots=True)
class MessageRef:
    """A message the bot posted: its channel and the platform's id for it (Slack ts, Discord id)."""

    channel: Channel
    ref: str


DEFAULT_WEEKDAYS: tuple[int, ...] = (0, 1, 2, 3, 4)  # Monday-Friday


def clock_time(value: str) -> str | None:
    """'9:00', '0930', '9h30', '17' -> 'HH:MM'; None when the text is not a time of day."""
    match = re.fullmatch(r"([01]?\d|2[0-3])[:.h]?([0-5]\d)?", value.strip().lower())
    return f"{int(match[1]):02d}:{match[2] or '00'}" if match else None


@dataclass(frozen=True, slots=True)
class Pause:
    """Why a channel's digests stopped: a post failed in a way retrying cannot fix."""

    reason: str  # the platform's word for it: not_in_channel, 403 Missing Access
    said: str  # what is wrong and who can fix it: "I am not in this channel: invite me with …"
    since: datetime


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
    paused: Pause | None = None  # set when the bot cannot post here; subscribe again to resume
    taste: bool = True  # blend the channel's taste (what its members saved) into the picks


class PostKind(StrEnum):
    """Why a paper message was posted; a paper has one digest post per channel, ever."""

    DIGEST = "digest"
    ROUNDUP = "roundup"
    SHARE = "share"


class DigestKind(StrEnum):
    """What a digest is: the daily one, the weekly roundup, an extra one on request, a share."""

    DAILY = "daily"
    ROUNDUP = "roundup"
    EXTRA = "extra"
    SHARE = "share"

    @property
    def post_kind(self) -> PostKind:
        """How this digest's paper messages are recorded in the posts ledger."""
        if self is DigestKind.ROUNDUP:
            return PostKind.ROUNDUP
        if self is DigestKind.SHARE:
            return PostKind.SHARE
        return PostKind.DIGEST

    def key(self, run: str = "") -> str:
        """The digest's name in the ledger: the kind, or kind-run for an extra digest."""
        return f"{self.value}-{run}" if run else self.value

    @staticmethod
    def of_key(key: str) -> tuple[DigestKind, str]:
        """The kind and run a ledger key names: "extra-093000" -> (EXTRA, "093000")."""
        kind, _, run = key.partition("-")
        return DigestKind(kind), run


class ClaimStatus(StrEnum):
    """A digest claim: picks fixed and delivery under way, fully delivered, or given up (too
    old to post when the bot came back; its unposted papers were released for later digests)."""

    CLAIMED = "claimed"
    DONE = "done"
    ABANDONED = "abandoned"


class PostStatus(StrEnum):
    """A paper message: claimed before sending, posted once its message ref is known."""

    CLAIMED = "claimed"
    POSTED = "posted"


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
    kind: DigestKind = DigestKind.DAILY
    run: str = ""  # HHMMSS of an extra digest: a channel may have several a day

    @property
    def key(self) -> str:
        """The digest's name in the ledger: "daily", "roundup", "extra-093000", "share"."""
        return self.kind.key(self.run)

    @property
    def header_key(self) -> str:
        """What tags this digest's header message, so a restart can find it on the platform."""
        return f"header:{self.key}:{self.day.isoformat()}"


@dataclass(frozen=True, slots=True)
class DigestClaim:
    """The state of one channel's digest for one day."""

    channel: Channel
    day: date
    kind: str  # the digest's key: "daily", "roundup", "extra-093000"
    status: ClaimStatus
    picks: tuple[tuple[str, str], ...]  # (paper id, why picked)
    header_ref: str | None
    fresh: bool  # True when this call made the claim
    claimed_at: datetime | None = None  # when delivery started: resume lookups go back to it
    owner: str | None = None  # the replica holding its lease (bot.digest.replica_id)
    lease_until: datetime | None = None  # another replica may take it over after this


@dataclass(frozen=True, slots=True)
class Bookmark:
    """A paper a member saved."""

    member: Member
    paper: Paper
    saved_at: datetime


@dataclass(frozen=True, slots=True)
class ChannelSave:
    """A paper saved from a channel: by how many of its members, and when last."""

    paper_id: str
    savers: int
    last_saved: datetime


@dataclass(frozen=True, slots=True)
class AppInstallation:
    """The app installed in one workspace (or one enterprise org) of a platform: what the
    platform's OAuth flow returned, its tokens included, kept as the adapter's own JSON data."""

    platform: str
    enterprise: str  # "" when the workspace belongs to no enterprise org
    team: str  # "" for an org-wide install
    data: dict[str, Any]
    installed_at: datetime


@dataclass(frozen=True, slots=True)
class ZoteroPush:
    """A saved paper on its way to a Zotero group library (pushed once, never deleted)."""

    library: str  # the Zotero group id
    paper_id: str
    token: str | None = None  # the write token of the batch it was last sent in
    attempts: int = 0
    error: str | None = None


@dataclass(frozen=True, slots=True)
class FetchRecord:
    """One fetch attempt of a source."""

    source: str
    started_at: datetime
    finished_at: datetime | None
    ok: bool
    seen: int
    new: int
    error: str | None


@dataclass(slots=True)
class IngestReport:
    """What one ingest or fetch did."""

    source: str
    seen: int = 0
    new: int = 0
    updated: int = 0
    skipped: list[str] = field(default_factory=list)  # one reason per skipped item
