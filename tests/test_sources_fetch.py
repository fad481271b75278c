"""Fetching from a real local server that replays Hugging Face and arXiv, faults included."""

from __future__ import annotations

import asyncio
import itertools
import time
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime, timedelta
from typing import Any

import aiohttp
import pytest

from bot.sources import ArxivSource, HuggingFaceSource, RetryPolicy, SourceUnavailable
from bot.sources.arxiv import MIN_INTERVAL
from bot.sources.transport import retry_after_seconds
from tests.upstream_server import UpstreamServer

FAST = RetryPolicy(timeout=2.0, retries=3, backoff=0.01, max_wait=2.0)
DAY = date(2025, 8, 5)  # a Tuesday with 13 papers in the sample
THURSDAY = date(2024, 11, 28)  # the day of the recorded RSS feed
SATURDAY = date(2024, 11, 30)


def hf(
    upstream: UpstreamServer,
    http_session: aiohttp.ClientSession,
    policy: RetryPolicy = FAST,
    page_size: int = 100,
) -> HuggingFaceSource:
    return HuggingFaceSource(http_session, upstream.hf_api_url, policy, page_size)


def arxiv(
    upstream: UpstreamServer,
    http_session: aiohttp.ClientSession,
    categories: tuple[str, ...] = ("cs.LG",),
    feeds: tuple[str, ...] = ("rss",),
    min_interval: float = 0.05,
    **options: Any,
) -> ArxivSource:
    return ArxivSource(
        http_session,
        categories,
        api_url=upstream.arxiv_api_url,
        rss_url=upstream.arxiv_rss_url,
        feeds=feeds,
        policy=FAST,
        min_interval=min_interval,
        **options,
    )


def gaps(times: list[float]) -> list[float]:
    return [later - earlier for earlier, later in itertools.pairwise(times)]


def arrivals(upstream: UpstreamServer) -> list[float]:
    return [request.at for request in upstream.requests]


@pytest.fixture
async def sent() -> AsyncIterator[tuple[aiohttp.ClientSession, list[float]]]:
    """A client session and the loop times its requests left at: spacing is the client's
    promise, while arrival at a local server jitters with a busy machine's scheduling."""
    times: list[float] = []

    async def on_request_start(*_: object) -> None:
        times.append(asyncio.get_running_loop().time())

    trace = aiohttp.TraceConfig()
    trace.on_request_start.append(on_request_start)
    async with aiohttp.ClientSession(trace_configs=[trace]) as session:
        yield session, times


# -- Hugging Face -------------------------------------------------------------------------


async def test_hf_fetches_a_day(
    upstream: UpstreamServer, http_session: aiohttp.ClientSession
) -> None:
    papers, report = await hf(upstream, http_session).fetch(DAY)
    assert len(papers) == 13 and report.seen == 13 and report.skipped == []
    assert "2508.01287" in {paper.id for paper in papers}
    assert {paper.added for paper in papers} == {DAY}
    [request] = upstream.requests
    assert request.path == "/api/daily_papers"
    assert request.query == {"date": "2025-08-05", "limit": "100", "p": "0"}


async def test_hf_pages_until_a_short_page(
    upstream: UpstreamServer, http_session: aiohttp.ClientSession
) -> None:
    papers, _ = await hf(upstream, http_session, page_size=5).fetch(DAY)
    assert len({paper.id for paper in papers}) == 13
    assert [r.query["p"] for r in upstream.requests] == ["0", "1", "2"]
    assert {r.query["limit"] for r in upstream.requests} == {"5"}


async def test_hf_weekend_is_an_empty_day(
    upstream: UpstreamServer, http_session: aiohttp.ClientSession
) -> None:
    papers, report = await hf(upstream, http_session).fetch(date(2025, 8, 9))
    assert papers == [] and report.seen == 0
    assert len(upstream.requests) == 1


async def test_hf_future_date_fails_at_once_without_retrying(
    upstream: UpstreamServer, http_session: aiohttp.ClientSession
) -> None:
    with pytest.raises(SourceUnavailable, match="HTTP 400") as caught:
        await hf(upstream, http_session).fetch(upstream.today + timedelta(days=2))
    assert caught.value.source == "hf"
    assert len(upstream.requests) == 1


async def test_hf_429_waits_out_retry_after_then_succeeds(
    upstream: UpstreamServer, http_session: aiohttp.ClientSession
) -> None:
    upstream.inject("429", retry_after="1")
    papers, _ = await hf(upstream, http_session).fetch(DAY)
    assert len(papers) == 13
    assert len(upstream.requests) == 2
    assert gaps(arrivals(upstream))[0] >= 0.95  # Retry-After: 1, honoured literally


async def test_hf_500_twice_is_retried_then_succeeds(
    upstream: UpstreamServer, http_session: aiohttp.ClientSession
) -> None:
    upstream.inject("500", times=2)
    papers, _ = await hf(upstream, http_session).fetch(DAY)
    assert len(papers) == 13
    assert len(upstream.requests) == 3


async def test_hf_500_for_good_is_unavailable_after_every_retry(
    upstream: UpstreamServer, http_session: aiohttp.ClientSession
) -> None:
    upstream.inject("500", times=99)
    with pytest.raises(SourceUnavailable) as caught:
        await hf(upstream, http_session).fetch(DAY)
    assert len(upstream.requests) == FAST.retries + 1
    assert str(caught.value) == (
        f"Hugging Face unreachable: 127.0.0.1:{upstream.url.rsplit(':', 1)[1]} answered HTTP 500 "
        "(after 4 tries)"
    )


async def test_no_retries_says_one_try(
    upstream: UpstreamServer, http_session: aiohttp.ClientSession
) -> None:
    upstream.inject("500", times=99)
    once = RetryPolicy(timeout=2.0, retries=0, backoff=0.01, max_wait=2.0)
    with pytest.raises(SourceUnavailable) as caught:
        await hf(upstream, http_session, once).fetch(DAY)
    assert len(upstream.requests) == 1
    assert str(caught.value).endswith("answered HTTP 500 (after 1 try)")


async def test_an_unresolvable_host_gives_up_at_once(http_session: aiohttp.ClientSession) -> None:
    # .invalid never resolves (RFC 2606): offline, or a typo in HF_API_URL. A retry would wait
    # a full backoff second first; none is made.
    slow = RetryPolicy(timeout=2.0, retries=4, backoff=1.0, max_wait=2.0)
    source = HuggingFaceSource(http_session, "http://papers-bot.invalid/api", slow)
    started = time.monotonic()
    with pytest.raises(SourceUnavailable, match=r"cannot resolve papers-bot\.invalid"):
        await source.fetch(DAY)
    assert time.monotonic() - started < 1.0


async def test_hf_hang_times_out_and_is_unavailable(
    upstream: UpstreamServer, http_session: aiohttp.ClientSession
) -> None:
    upstream.inject("hang", times=99)
    policy = RetryPolicy(timeout=0.2, retries=1, backoff=0.01)
    started = time.monotonic()
    with pytest.raises(SourceUnavailable, match=r"timed out after 0\.2s \(after 2 tries\)"):
        await hf(upstream, http_session, policy=policy).fetch(DAY)
    assert time.monotonic() - started < 2.0
    assert len(upstream.requests) == 2


# -- arXiv --------------------------------------------------------------------------------


async def test_arxiv_rss_keeps_new_and_cross_papers_of_the_category(
    upstream: UpstreamServer, http_session: aiohttp.ClientSession
) -> None:
    papers, report = await arxiv(upstream, http_session).fetch(THURSDAY)
    assert report.skipped == [] and report.seen == len(papers) > 100
    assert all("cs.LG" in paper.categories for paper in papers)
    assert all(paper.sources == ("arxiv",) for paper in papers)
    ecg = next(paper for paper in papers if paper.id == "2411.17702")
    assert ecg.authors == ("Hyewon Jeong", "Suyeol Yun", "Hammaad Adam")
    assert [r.path for r in upstream.requests] == ["/rss/cs.LG"]


async def test_arxiv_rss_can_include_replaced_papers(
    upstream: UpstreamServer, http_session: aiohttp.ClientSession
) -> None:
    new_only, _ = await arxiv(upstream, http_session).fetch(THURSDAY)
    everything, _ = await arxiv(upstream, http_session, announce_types=None).fetch(THURSDAY)
    replaced = {p.id for p in everything} - {p.id for p in new_only}
    assert "1903.04209" in replaced  # a 2019 paper revised on the day
    assert all(p.published is None for p in everything if p.id in replaced)


async def test_arxiv_api_query_and_request_spacing(
    upstream: UpstreamServer, sent: tuple[aiohttp.ClientSession, list[float]]
) -> None:
    http_session, times = sent
    source = arxiv(
        upstream,
        http_session,
        categories=("cs.LG", "cs.CL", "stat.ML"),
        feeds=("api",),
        min_interval=0.25,
        max_results=50,
    )
    papers, _ = await source.fetch(THURSDAY)
    assert len(papers) == 50  # max_results of the same recorded response per category, merged
    assert [r.query["search_query"] for r in upstream.requests] == [
        "cat:cs.LG",
        "cat:cs.CL",
        "cat:stat.ML",
    ]
    assert upstream.requests[0].query == {
        "search_query": "cat:cs.LG",
        "sortBy": "submittedDate",
        "sortOrder": "descending",
        "start": "0",
        "max_results": "50",
    }
    assert len(times) == 3 and all(gap >= 0.24 for gap in gaps(times))


async def test_arxiv_retries_respect_the_spacing_and_one_connection(
    upstream: UpstreamServer, sent: tuple[aiohttp.ClientSession, list[float]]
) -> None:
    http_session, times = sent
    upstream.inject("500", times=1)
    source = arxiv(upstream, http_session, min_interval=0.3)
    results = await asyncio.gather(source.fetch(THURSDAY), source.fetch(THURSDAY))
    assert all(len(papers) > 100 for papers, _ in results)
    assert len(upstream.requests) == 3
    assert len(times) == 3 and all(gap >= 0.29 for gap in gaps(times))
    assert upstream.max_in_flight == 1


async def test_arxiv_empty_feed_on_a_weekday_is_retried(
    upstream: UpstreamServer, http_session: aiohttp.ClientSession
) -> None:
    upstream.inject("empty", path="/rss")
    papers, _ = await arxiv(upstream, http_session).fetch(THURSDAY)
    assert len(papers) > 100
    assert len(upstream.requests) == 2


async def test_arxiv_empty_api_feed_for_good_is_unavailable(
    upstream: UpstreamServer, http_session: aiohttp.ClientSession
) -> None:
    upstream.inject("empty", times=99, path="/api/query")
    with pytest.raises(SourceUnavailable, match=r"empty cs\.LG feed on a weekday") as caught:
        await arxiv(upstream, http_session, feeds=("api",)).fetch(THURSDAY)
    assert caught.value.message.startswith("arXiv unreachable: cs.LG api: empty cs.LG feed")
    assert len(upstream.requests) == FAST.retries + 1


async def test_arxiv_empty_feed_on_a_saturday_is_no_papers(
    upstream: UpstreamServer, http_session: aiohttp.ClientSession
) -> None:
    upstream.inject("empty", path="/rss")
    papers, report = await arxiv(upstream, http_session).fetch(SATURDAY)
    assert papers == [] and report.seen == 0
    assert len(upstream.requests) == 1


async def test_arxiv_one_failing_category_does_not_lose_the_others(
    upstream: UpstreamServer, http_session: aiohttp.ClientSession
) -> None:
    upstream.inject("500", times=99, path="/rss/cs.CL")
    papers, report = await arxiv(upstream, http_session, categories=("cs.CL", "cs.LG")).fetch(
        THURSDAY
    )
    assert len(papers) > 100
    assert report.skipped == [
        f"fetch failed: cs.CL rss: {upstream.url.split('//')[1]} answered HTTP 500 (after 4 tries)"
    ]


async def test_arxiv_defaults_follow_the_terms_and_settings(
    upstream: UpstreamServer, http_session: aiohttp.ClientSession
) -> None:
    settings = upstream.settings(arxiv_categories="cs.LG,cs.CL", http_timeout=7, http_retries=2)
    source = ArxivSource.from_settings(settings, http_session)
    assert MIN_INTERVAL == 3.0 and source.min_interval == 3.0
    assert source.categories == ("cs.LG", "cs.CL")
    assert (source.policy.timeout, source.policy.retries) == (7.0, 2)


# -- Retry-After --------------------------------------------------------------------------


def test_retry_after_reads_seconds_and_http_dates() -> None:
    now = datetime(2025, 8, 5, 12, 0, 0, tzinfo=UTC)
    assert retry_after_seconds("7") == 7.0
    assert retry_after_seconds("Tue, 05 Aug 2025 12:00:30 GMT", now) == 30.0
    assert retry_after_seconds("soon") is None
    assert retry_after_seconds(None) is None


@pytest.mark.parametrize(
    ("source", "fault", "path", "message"),
    [
        (
            "hf",
            {"kind": "429", "retry_after": "3600"},
            "/api",
            "Hugging Face unreachable: 127.0.0.1:{port} rate-limited us for 3600s",
        ),
        ("hf", {"kind": "malformed"}, "/api", "Hugging Face unreachable: malformed JSON"),
        ("arxiv", {"kind": "malformed"}, "/rss", "arXiv unreachable: cs.LG rss: malformed XML"),
    ],
)
async def test_what_another_try_would_not_fix_fails_at_once(
    upstream: UpstreamServer,
    http_session: aiohttp.ClientSession,
    source: str,
    fault: dict[str, str],
    path: str,
    message: str,
) -> None:
    upstream.inject(path=path, **fault)
    fetcher = hf(upstream, http_session) if source == "hf" else arxiv(upstream, http_session)
    with pytest.raises(SourceUnavailable) as caught:
        await fetcher.fetch(THURSDAY if source == "arxiv" else DAY)
    assert str(caught.value).startswith(message.format(port=upstream.url.rsplit(":", 1)[1]))
    assert len(upstream.requests) == 1
