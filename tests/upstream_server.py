"""A local stand-in for Hugging Face and arXiv that replays their real, recorded responses.

`/api/daily_papers?date=` serves the bundled bot/sample file of that day (paged by `limit` and
`p`), `[]` for a day with no file and 400 for a day after `today`; `/api/query` serves the
recorded arXiv API Atom responses: `id_list=1605.08386` that paper, any other id an empty feed
(what arXiv answers for an id it does not have), and any `search_query` the recorded "testing"
search cut to `max_results`; `/rss/<category>` serves the recorded arXiv RSS feed cut down
to that category's items. Faults are switched on per test with `inject`, and every request is
recorded with its arrival time so tests can check arXiv's request spacing.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import json
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

from aiohttp import web

from bot.config import Settings
from bot.sources import sample_files

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "arxiv"
ATOM_FIXTURE = FIXTURES / "api_query_testing_100.atom.xml"
ID_FIXTURES = {"1605.08386": FIXTURES / "api_id_1605.08386.atom.xml"}
RSS_FIXTURE = FIXTURES / "rss_all_2024-11-28.xml"
FAULTS = ("429", "500", "hang", "malformed", "empty")

EMPTY_ATOM = b"""<?xml version='1.0' encoding='UTF-8'?>
<feed xmlns:opensearch="http://a9.com/-/spec/opensearch/1.1/" xmlns="http://www.w3.org/2005/Atom">
  <id>https://arxiv.org/api/empty</id>
  <title>arXiv Query: search_query=cat:cs.LG</title>
  <updated>2024-11-28T00:00:00Z</updated>
  <opensearch:totalResults>0</opensearch:totalResults>
</feed>
"""
_NAMESPACES = {
    "arxiv": "http://arxiv.org/schemas/atom",
    "dc": "http://purl.org/dc/elements/1.1/",
    "atom": "http://www.w3.org/2005/Atom",
    "content": "http://purl.org/rss/1.0/modules/content/",
}


@dataclass
class Fault:
    """A misbehaviour served to the next `times` requests whose path starts with `path`."""

    kind: str
    times: int = 1
    path: str = "/"
    retry_after: str = "1"


@dataclass(frozen=True)
class Received:
    """One request the server got: path, query and arrival time on the event loop's clock."""

    path: str
    query: dict[str, str]
    at: float


@dataclass
class UpstreamServer:
    """A real aiohttp server on 127.0.0.1 and a free port; use `async with UpstreamServer()`."""

    today: date = field(default_factory=date.today)
    hang_seconds: float = 30.0
    requests: list[Received] = field(default_factory=list)
    faults: list[Fault] = field(default_factory=list)
    url: str = ""
    in_flight: int = 0
    max_in_flight: int = 0  # the most requests it was ever serving at once

    def __post_init__(self) -> None:
        self._days = {_day_of(path): path for path in sample_files()}
        self._runner: web.AppRunner | None = None
        self._closing = asyncio.Event()

    async def __aenter__(self) -> UpstreamServer:
        app = web.Application(middlewares=[self._record_and_misbehave])
        app.router.add_get("/api/daily_papers", self._daily_papers)
        app.router.add_get("/api/query", self._atom)
        app.router.add_get("/rss/{category}", self._rss)
        self._runner = web.AppRunner(app, shutdown_timeout=1.0)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        port = self._runner.addresses[0][1]
        self.url = f"http://127.0.0.1:{port}"
        return self

    async def __aexit__(self, *exc: object) -> None:
        self._closing.set()  # releases hanging handlers so shutdown does not wait for them
        if self._runner is not None:
            await self._runner.cleanup()

    @property
    def hf_api_url(self) -> str:
        """The HF_API_URL that points here."""
        return f"{self.url}/api"

    @property
    def arxiv_api_url(self) -> str:
        """The ARXIV_API_URL that points here."""
        return f"{self.url}/api/query"

    @property
    def arxiv_rss_url(self) -> str:
        """The ARXIV_RSS_URL that points here."""
        return f"{self.url}/rss"

    def settings(self, **overrides: Any) -> Settings:
        """Settings whose source URLs point at this server (no .env is read)."""
        values: dict[str, Any] = {
            "hf_api_url": self.hf_api_url,
            "arxiv_api_url": self.arxiv_api_url,
            "arxiv_rss_url": self.arxiv_rss_url,
            "http_timeout": 2.0,
            "http_retries": 3,
        }
        values.update(overrides)
        return Settings(_env_file=None, **values)  # type: ignore[call-arg]

    def inject(self, kind: str, times: int = 1, path: str = "/", retry_after: str = "1") -> None:
        """Misbehave (429, 500, hang, malformed, empty) on the next `times` matching requests."""
        if kind not in FAULTS:
            raise ValueError(f"unknown fault {kind!r}; one of {FAULTS}")
        self.faults.append(Fault(kind, times, path, retry_after))

    def paths(self, prefix: str = "/") -> list[str]:
        """The paths of the requests received so far that start with `prefix`."""
        return [r.path for r in self.requests if r.path.startswith(prefix)]

    @web.middleware
    async def _record_and_misbehave(self, request: web.Request, handler: Any) -> web.StreamResponse:
        loop_time = asyncio.get_running_loop().time()
        self.requests.append(Received(request.path, dict(request.query), loop_time))
        self.in_flight += 1
        self.max_in_flight = max(self.max_in_flight, self.in_flight)
        try:
            return await self._answer(request, handler)
        finally:
            self.in_flight -= 1

    async def _answer(self, request: web.Request, handler: Any) -> web.StreamResponse:
        fault = self._next_fault(request.path)
        if fault is None:
            return await handler(request)
        if fault.kind == "429":
            return web.Response(
                status=429, text="rate limited", headers={"Retry-After": fault.retry_after}
            )
        if fault.kind == "500":
            return web.Response(status=500, text="internal error")
        if fault.kind == "hang":
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._closing.wait(), self.hang_seconds)
            return web.Response(status=504, text="gave up")
        is_hf = request.path.startswith("/api/daily_papers")
        if fault.kind == "malformed":
            body = b'[{"paper": {"id": "2508.0' if is_hf else b"<feed><entry><title>cut"
            return web.Response(body=body, content_type=_content_type(request.path))
        empty = b"[]" if is_hf else EMPTY_ATOM if request.path == "/api/query" else rss_feed_for("")
        return web.Response(body=empty, content_type=_content_type(request.path))

    def _next_fault(self, path: str) -> Fault | None:
        for fault in self.faults:
            if fault.times > 0 and path.startswith(fault.path):
                fault.times -= 1
                return fault
        return None

    async def _daily_papers(self, request: web.Request) -> web.Response:
        wanted = request.query.get("date")
        try:
            day = date.fromisoformat(wanted) if wanted else max(self._days)
        except ValueError:
            return web.json_response({"error": f"Invalid date {wanted}"}, status=400)
        if day > self.today:
            return web.json_response({"error": "Date cannot be in the future"}, status=400)
        path = self._days.get(day)
        if path is None:
            return web.json_response([])
        limit = int(request.query.get("limit", "50"))
        page = int(request.query.get("p", "0"))
        body = path.read_bytes()
        items = json.loads(body)
        if page == 0 and len(items) <= limit:
            return web.Response(body=body, content_type="application/json")  # the bytes as recorded
        return web.json_response(items[page * limit : (page + 1) * limit])

    async def _atom(self, request: web.Request) -> web.Response:
        if "id_list" in request.query:
            ids = request.query["id_list"].split(",")
            known = [ID_FIXTURES[i] for i in ids if i in ID_FIXTURES]
            body = known[0].read_bytes() if len(known) == 1 == len(ids) else EMPTY_ATOM
        else:
            body = atom_first(int(request.query.get("max_results", "100")))
        return web.Response(body=body, content_type="application/atom+xml")

    async def _rss(self, request: web.Request) -> web.Response:
        body = rss_feed_for(request.match_info["category"])
        return web.Response(body=body, content_type="application/rss+xml")


@functools.cache
def rss_feed_for(category: str) -> bytes:
    """The recorded RSS feed cut to the items carrying `category`, like rss.arxiv.org/rss/<cat>."""
    for prefix, uri in _NAMESPACES.items():
        ET.register_namespace(prefix, uri)
    tree = ET.parse(RSS_FIXTURE)
    channel = tree.getroot().find("channel")
    assert channel is not None
    for item in channel.findall("item"):
        if category not in {c.text for c in item.findall("category")}:
            channel.remove(item)
    return ET.tostring(tree.getroot(), encoding="utf-8", xml_declaration=True)


@functools.cache
def atom_first(count: int) -> bytes:
    """The recorded API search response cut to its first `count` entries (max_results)."""
    for prefix, uri in _NAMESPACES.items():
        ET.register_namespace(prefix, uri)
    ET.register_namespace("opensearch", "http://a9.com/-/spec/opensearch/1.1/")
    tree = ET.parse(ATOM_FIXTURE)
    feed = tree.getroot()
    for entry in feed.findall("atom:entry", _NAMESPACES)[count:]:
        feed.remove(entry)
    return ET.tostring(feed, encoding="utf-8", xml_declaration=True)


def _content_type(path: str) -> str:
    if path.startswith("/api/daily_papers"):
        return "application/json"
    return "application/atom+xml" if path == "/api/query" else "application/rss+xml"


def _day_of(path: Path) -> date:
    return date.fromisoformat(path.name.removeprefix("daily_papers_")[:10])
