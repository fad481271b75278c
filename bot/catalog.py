"""arXiv live: any paper by its id, and searches of all of arXiv, through the API.

One `ArxivCatalog` per process, so every lookup shares one `ArxivSource` and with it arXiv's
one-request-every-3-seconds rule and the retries of every other fetch.
"""

from __future__ import annotations

import asyncio
import re
import warnings
from collections import OrderedDict
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager

import aiohttp

from bot.config import Settings
from bot.models import Paper
from bot.sources.arxiv import ArxivSource

# The terminal answers each command on a new event loop, one after another, and the shared
# limiter carries arXiv's 3 seconds from one to the next (aiolimiter moves to the running loop
# and measures time by the monotonic clock every loop shares); it warns on each move all the same.
warnings.filterwarnings(
    "ignore",
    message="This AsyncLimiter instance is being re-used across loops",
    category=RuntimeWarning,
)

SEARCH_LIMIT = 5  # results of one /papers arxiv
REMEMBERED = 200  # papers from recent searches kept, so Save needs no second request

# What a user types, as API terms: "a phrase", field:value (ti, au, abs, cat, all), or a word.
_TOKEN = re.compile(
    r'"(?P<phrase>[^"]+)"|(?P<field>ti|au|abs|cat|all):(?P<value>\S+)|(?P<word>\S+)'
)
_UNSAFE = re.compile(r"[^\w.\-']+")  # what arXiv's query parser would read as syntax


def api_query(text: str) -> str:
    """A /papers arxiv query as an API search_query: every word required, anywhere in the
    paper ('diffusion "video generation" au:ho' -> 'all:diffusion AND all:"video generation"
    AND au:ho'); '' when nothing searchable is left."""
    terms: list[str] = []
    for match in _TOKEN.finditer(text):
        if match["phrase"]:
            words = _UNSAFE.sub(" ", match["phrase"]).split()
            if words:
                terms.append(f'all:"{" ".join(words)}"')
            continue
        field, raw = (match["field"].lower(), match["value"]) if match["field"] else ("all", "")
        for word in (w.strip("-.'") for w in _UNSAFE.sub(" ", raw or match["word"]).split()):
            if word and word.upper() not in ("AND", "OR", "ANDNOT"):
                terms.append(f"{field}:{word}")
    return " AND ".join(terms)


class ArxivCatalog:
    """Papers fetched live from the arXiv API.

    Each lookup opens its own HTTP session (the terminal runs every command on a new event
    loop, and a session belongs to one loop) but all go through one ArxivSource, whose limiter
    keeps them 3 seconds apart.
    """

    def __init__(
        self,
        settings: Settings,
        source: Callable[[aiohttp.ClientSession], ArxivSource] | None = None,
    ) -> None:
        self._build = source or (lambda session: ArxivSource.from_settings(settings, session))
        self._source: ArxivSource | None = None
        self._lock = asyncio.Lock()
        self._recent: OrderedDict[str, Paper] = OrderedDict()

    @asynccontextmanager
    async def _api(self) -> AsyncIterator[ArxivSource]:
        async with self._lock, aiohttp.ClientSession() as session:
            if self._source is None:
                self._source = self._build(session)
            self._source.session = session
            yield self._source

    async def paper(self, paper_id: str) -> Paper | None:
        """The paper with this arXiv id, or None when arXiv has none; SourceError when arXiv
        cannot be reached."""
        if paper_id in self._recent:
            return self._recent[paper_id]
        async with self._api() as api:
            found = [paper for paper in await api.papers([paper_id]) if paper.id == paper_id]
        return found[0] if found else None

    async def search(self, text: str, limit: int = SEARCH_LIMIT) -> list[Paper]:
        """arXiv's best matches for what a user typed (see api_query)."""
        query = api_query(text)
        if not query:
            return []
        async with self._api() as api:
            papers = await api.search(query, limit)
        for paper in papers:
            self._recent[paper.id] = paper
            self._recent.move_to_end(paper.id)
        while len(self._recent) > REMEMBERED:
            self._recent.popitem(last=False)
        return papers
