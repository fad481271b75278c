"""arXiv: API Atom and RSS 2.0 feeds into Papers (defensively), and the polite fetcher."""

from __future__ import annotations

import asyncio
import logging
import re
import xml.sax
from collections.abc import AsyncIterator, Callable, Collection, Mapping, Sequence
from contextlib import asynccontextmanager
from datetime import date, datetime
from email.utils import parsedate_to_datetime
from typing import Any
from zoneinfo import ZoneInfo

import aiohttp
import feedparser
from aiolimiter import AsyncLimiter

from bot.config import Settings
from bot.models import IngestReport, Paper, canonical_id, normalise_space
from bot.sources.errors import SourceFormatError, SourceUnavailable, Transient
from bot.sources.transport import RetryPolicy, get_bytes

log = logging.getLogger(__name__)

SOURCE = "arxiv"
ANNOUNCE_TYPES = ("new", "cross", "replace", "replace-cross")
MIN_INTERVAL = 3.0  # arXiv's terms: at most one request every 3 seconds
ARXIV_ZONE = ZoneInfo("America/New_York")  # arXiv announces on US-Eastern weekdays

# RSS descriptions open with "arXiv:2411.17700v1 Announce Type: new \nAbstract: ...".
_RSS_PREFIX = re.compile(
    r"^\s*arXiv:(?P<id>\S+)\s+Announce Type:\s*(?P<type>[\w-]+)\s*(?:Abstract:)?\s*", re.I
)
_AUTHOR_SPLIT = re.compile(r",\s*|\s+and\s+")


class EntryError(ValueError):
    """One feed entry cannot become a Paper; the message is the reason it was skipped."""


def read_feed(data: bytes | str, name: str) -> Any:
    """The feedparser result for an Atom or RSS body; SourceFormatError when it is neither."""
    feed = feedparser.parse(data)
    if feed.get("bozo") and isinstance(feed.get("bozo_exception"), xml.sax.SAXException):
        raise SourceFormatError(name, f"malformed XML ({feed['bozo_exception']})")
    if not str(feed.get("version", "")).startswith(("atom", "rss")):
        raise SourceFormatError(name, "not an Atom or RSS feed")
    return feed


def is_atom(feed: Any) -> bool:
    """True for an Atom feed (the arXiv API); False for RSS."""
    return str(feed.get("version", "")).startswith("atom")


def parse_arxiv_atom(
    data: bytes | str, name: str = "arXiv API response"
) -> tuple[list[Paper], list[str]]:
    """Papers from an export.arxiv.org API Atom response, and one reason per skipped entry."""
    return _parse_entries(read_feed(data, name).entries, _atom_entry)


def parse_arxiv_rss(
    data: bytes | str,
    name: str = "arXiv RSS feed",
    announce_types: Collection[str] | None = None,
) -> tuple[list[Paper], list[str]]:
    """Papers from an rss.arxiv.org feed, optionally only some announce types (new, cross...)."""
    return parse_feed(read_feed(data, name), announce_types)


def parse_feed(
    feed: Any, announce_types: Collection[str] | None = None
) -> tuple[list[Paper], list[str]]:
    """Papers from an already-read feed, Atom or RSS; `announce_types` filters RSS items only."""
    if is_atom(feed):
        return _parse_entries(feed.entries, _atom_entry)
    entries = feed.entries
    if announce_types is not None:
        # Leaving out a `replace` (an old paper revised) is a choice, not a skip worth reporting.
        entries = [e for e in entries if _announce_type(e) in announce_types]
    return _parse_entries(entries, _rss_entry)


def _parse_entries(
    entries: list[Any], parse: Callable[[Any], Paper]
) -> tuple[list[Paper], list[str]]:
    papers: list[Paper] = []
    skipped: list[str] = []
    for index, entry in enumerate(entries):
        try:
            papers.append(parse(entry))
        except EntryError as exc:
            reason = f"entry {index}: {exc}"
            log.warning("skipped arXiv %s", reason)
            skipped.append(reason)
    return papers, skipped


def _atom_entry(entry: Any) -> Paper:
    raw_id = str(entry.get("id") or "")
    if "/api/errors" in raw_id:
        # The API reports a bad query as a feed with one "Error" entry.
        raise EntryError(f"arXiv API error: {normalise_space(entry.get('summary'))}")
    pid, title = _id_and_title(raw_id or str(entry.get("link") or ""), entry)
    primary = entry.get("arxiv_primary_category")
    first = [primary.get("term")] if isinstance(primary, Mapping) else []
    return Paper(
        id=pid,
        title=title,
        abstract=normalise_space(entry.get("summary")),
        authors=_names(entry.get("authors")),
        published=_struct_day(entry.get("published_parsed")),
        categories=_terms(first, entry.get("tags")),
        sources=(SOURCE,),
    )


def _rss_entry(entry: Any) -> Paper:
    description = str(entry.get("summary") or "")
    prefix = _RSS_PREFIX.match(description)
    raw_id = str(entry.get("link") or "") or str(entry.get("id") or "").removeprefix(
        "oai:arXiv.org:"
    )
    if not raw_id and prefix:
        raw_id = prefix["id"]
    pid, title = _id_and_title(raw_id, entry)
    abstract = description[prefix.end() :] if prefix else description
    # rss.arxiv.org puts every author in one dc:creator, comma-separated.
    authors = tuple(
        name
        for name in (normalise_space(part) for part in _AUTHOR_SPLIT.split(entry.get("author", "")))
        if name
    )
    # pubDate is the announcement day: the first-version date only for a `new` paper.
    published = _rfc822_day(entry.get("published")) if _announce_type(entry) == "new" else None
    return Paper(
        id=pid,
        title=title,
        abstract=normalise_space(abstract),
        authors=authors,
        published=published,
        categories=_terms([], entry.get("tags")),
        sources=(SOURCE,),
    )


def _announce_type(entry: Any) -> str:
    kind = entry.get("arxiv_announce_type")
    if not kind:
        prefix = _RSS_PREFIX.match(str(entry.get("summary") or ""))
        kind = prefix["type"] if prefix else ""
    return str(kind).strip().lower()


def _id_and_title(raw_id: str, entry: Any) -> tuple[str, str]:
    pid = canonical_id(raw_id) if raw_id.strip() else ""
    if not pid or any(ch.isspace() for ch in pid):
        raise EntryError(f"no usable arXiv id ({raw_id!r})")
    title = normalise_space(entry.get("title"))
    if not title:
        raise EntryError(f"{pid}: no title")
    return pid, title


def _names(authors: Any) -> tuple[str, ...]:
    if not isinstance(authors, list):
        return ()
    names = (normalise_space(a.get("name")) for a in authors if isinstance(a, Mapping))
    return tuple(name for name in names if name)


def _terms(first: list[Any], tags: Any) -> tuple[str, ...]:
    terms = list(first)
    if isinstance(tags, list):
        terms += [tag.get("term") for tag in tags if isinstance(tag, Mapping)]
    return tuple(dict.fromkeys(t.strip() for t in terms if isinstance(t, str) and t.strip()))


def _struct_day(parsed: Any) -> date | None:
    try:
        return date(parsed.tm_year, parsed.tm_mon, parsed.tm_mday)
    except (AttributeError, TypeError, ValueError):
        return None


def _rfc822_day(text: Any) -> date | None:
    # Keep the feed's own (US-Eastern) calendar day rather than converting to UTC.
    try:
        return parsedate_to_datetime(str(text)).date()
    except (TypeError, ValueError, IndexError):
        return None


class ArxivSource:
    """arXiv's RSS and/or API feeds per category, one request at a time, one per 3 seconds."""

    name = SOURCE

    def __init__(
        self,
        session: aiohttp.ClientSession,
        categories: Sequence[str] = ("cs.LG",),
        *,
        api_url: str = "https://export.arxiv.org/api/query",
        rss_url: str = "https://rss.arxiv.org/rss",
        feeds: Sequence[str] = ("rss",),
        policy: RetryPolicy | None = None,
        min_interval: float = MIN_INTERVAL,
        max_results: int = 100,
        announce_types: Collection[str] | None = ("new", "cross"),
    ) -> None:
        unknown = [feed for feed in feeds if feed not in ("rss", "api")]
        if unknown or not feeds:
            raise ValueError(f"arXiv feeds are 'rss' and 'api', not {list(feeds)!r}")
        self.session = session
        self.categories = tuple(categories)
        self.api_url = api_url
        self.rss_url = rss_url.rstrip("/")
        self.feeds = tuple(feeds)
        self.policy = policy or RetryPolicy()
        self.min_interval = min_interval
        self.max_results = max_results
        self.announce_types = announce_types
        # arXiv's terms are per client, not per request: one limiter and one lock per source, so
        # share one ArxivSource between callers rather than building one per call.
        self._limiter = AsyncLimiter(1, min_interval)
        self._lock = asyncio.Lock()

    @classmethod
    def from_settings(
        cls,
        settings: Settings,
        session: aiohttp.ClientSession,
        policy: RetryPolicy | None = None,
        **options: Any,
    ) -> ArxivSource:
        """The source for ARXIV_CATEGORIES at ARXIV_API_URL / ARXIV_RSS_URL."""
        return cls(
            session,
            settings.arxiv_categories,
            api_url=settings.arxiv_api_url,
            rss_url=settings.arxiv_rss_url,
            policy=policy or RetryPolicy.from_settings(settings),
            **options,
        )

    async def fetch(self, day: date | None = None) -> tuple[list[Paper], IngestReport]:
        """The newest papers of every category; `day` only decides whether empty means 'retry'."""
        weekday = (day or datetime.now(ARXIV_ZONE).date()).weekday() < 5
        papers: dict[str, Paper] = {}
        report = IngestReport(source=SOURCE)
        failures: list[str] = []
        for category in self.categories:
            for feed in self.feeds:
                try:
                    found, skipped = await self._fetch_one(category, feed, weekday)
                except (SourceUnavailable, SourceFormatError) as exc:
                    failures.append(f"{category} {feed}: {getattr(exc, 'reason', exc)}")
                    continue
                report.skipped += [f"{category} {feed} {reason}" for reason in skipped]
                for paper in found:
                    papers.setdefault(paper.id, paper)
        if failures and len(failures) == len(self.categories) * len(self.feeds):
            raise SourceUnavailable(SOURCE, "; ".join(failures))
        # Some categories failed, others did not: keep what came, and say what did not.
        report.skipped += [f"fetch failed: {failure}" for failure in failures]
        report.seen = len(papers)
        return list(papers.values()), report

    async def _fetch_one(
        self, category: str, feed: str, weekday: bool
    ) -> tuple[list[Paper], list[str]]:
        if feed == "rss":
            url, params = f"{self.rss_url}/{category}", None
        else:
            url = self.api_url
            params = {
                "search_query": f"cat:{category}",
                "sortBy": "submittedDate",
                "sortOrder": "descending",
                "start": "0",
                "max_results": str(self.max_results),
            }
        # A request too soon can come back 200 with no entries; on a weekday that is a fault.
        feed_read = await self._get_feed(
            url, params, f"empty {category} feed on a weekday" * weekday
        )
        return parse_feed(feed_read, self.announce_types)

    async def papers(self, ids: Sequence[str]) -> list[Paper]:
        """The papers with these arXiv ids (`id_list`); an id arXiv does not know is left out."""
        params = {"id_list": ",".join(ids), "start": "0", "max_results": str(len(ids))}
        papers, _ = parse_feed(await self._get_feed(self.api_url, params))
        return papers

    async def search(self, query: str, limit: int = 10) -> list[Paper]:
        """The best `limit` matches of an API `search_query` (e.g. 'all:diffusion AND au:ho')."""
        params = {
            "search_query": query,
            "sortBy": "relevance",
            "sortOrder": "descending",
            "start": "0",
            "max_results": str(limit),
        }
        papers, _ = parse_feed(await self._get_feed(self.api_url, params))
        return papers

    async def _get_feed(
        self, url: str, params: Mapping[str, str] | None, empty_is_fault: str = ""
    ) -> Any:
        """One feed, politely and with retries; `empty_is_fault` retries an empty one."""
        parsed: list[Any] = []

        def check(body: bytes) -> None:
            parsed[:] = [read_feed(body, url)]
            if empty_is_fault and not parsed[0].entries:
                raise Transient(empty_is_fault)

        await get_bytes(
            self.session,
            url,
            source=SOURCE,
            policy=self.policy,
            params=params,
            gate=self._polite,
            check=check,
        )
        return parsed[0]

    @asynccontextmanager
    async def _polite(self) -> AsyncIterator[None]:
        async with self._lock:
            await self._limiter.acquire()
            yield
