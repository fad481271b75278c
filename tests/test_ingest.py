"""Ingesting files and fetching sources into a real SQLite store file."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from pathlib import Path

import aiohttp
import pytest

from bot.ingest import Progress, fetch_sources, ingest_files
from bot.models import IngestReport
from bot.ports import PaperSource
from bot.sources import (
    ArxivSource,
    HuggingFaceSource,
    RetryPolicy,
    SourceFormatError,
    UnknownSource,
    sample_files,
)
from bot.storage import Storage
from tests.upstream_server import UpstreamServer, rss_feed_for

NOW = datetime(2025, 8, 5, 9, 0, tzinfo=UTC)
ARXIV = Path(__file__).resolve().parent / "fixtures" / "arxiv"
SAMPLE = {path.name: path for path in sample_files()}
FAST = RetryPolicy(timeout=2.0, retries=2, backoff=0.01, max_wait=2.0)
DAY = date(2025, 8, 5)
THURSDAY = date(2024, 11, 28)  # the day of the recorded RSS feed; no HF sample that day


def local_sources(
    upstream: UpstreamServer, http_session: aiohttp.ClientSession
) -> dict[str, PaperSource]:
    """Both sources pointed at the local server, with a fast retry policy."""
    return {
        "hf": HuggingFaceSource(http_session, upstream.hf_api_url, FAST),
        "arxiv": ArxivSource(
            http_session, ("cs.LG",), rss_url=upstream.arxiv_rss_url, policy=FAST, min_interval=0.05
        ),
    }


async def fetch_local(
    storage: Storage,
    upstream: UpstreamServer,
    http_session: aiohttp.ClientSession,
    names: tuple[str, ...],
    day: date,
    progress: Progress | None = None,
) -> list[IngestReport]:
    """fetch_sources with both sources pointed at the local server."""
    sources = local_sources(upstream, http_session)
    settings = upstream.settings()
    return await fetch_sources(
        storage, settings, http_session, names, day, NOW, progress, sources=sources
    )


# -- files --------------------------------------------------------------------------------


def test_whole_sample_ingests_with_progress(storage: Storage) -> None:
    calls: list[tuple[int, int]] = []
    reports = ingest_files(storage, sample_files(), NOW, progress=lambda *c: calls.append(c))
    assert len(reports) == 27
    assert sum(report.new for report in reports) == 421 == storage.papers.count()
    assert reports[2].source == "daily_papers_2025-08-04.json"
    assert (reports[2].seen, reports[2].new, reports[2].skipped) == (9, 9, [])
    assert calls == [(done, 27) for done in range(28)]
    paper = storage.papers.get("2508.01287")
    assert paper is not None
    assert paper.title == "Exploitation Is All You Need... for Exploration"
    assert paper.added == date(2025, 8, 5) and paper.first_seen == NOW


def test_ingesting_again_adds_nothing(storage: Storage) -> None:
    files = [SAMPLE["daily_papers_2025-08-05.json"]]
    ingest_files(storage, files, NOW)
    [again] = ingest_files(storage, files, NOW)
    assert (again.seen, again.new, again.updated) == (13, 0, 0)
    assert storage.papers.count() == 13


def test_a_bad_file_is_named_and_earlier_files_are_kept(storage: Storage, tmp_path: Path) -> None:
    bad = tmp_path / "notes.json"
    bad.write_text("these are my notes, not papers")
    files = [SAMPLE["daily_papers_2025-08-05.json"], bad, SAMPLE["daily_papers_2025-08-06.json"]]
    with pytest.raises(SourceFormatError) as caught:
        ingest_files(storage, files, NOW)
    assert str(bad) in str(caught.value)
    assert storage.papers.count() == 13  # the first file stays, the third was never read


def test_a_missing_file_is_a_named_error(storage: Storage, tmp_path: Path) -> None:
    with pytest.raises(SourceFormatError, match="cannot be read") as caught:
        ingest_files(storage, [tmp_path / "gone.json"], NOW)
    assert caught.value.name.endswith("gone.json")


def test_arxiv_files_ingest(storage: Storage, tmp_path: Path) -> None:
    rss = tmp_path / "rss_cs.LG.xml"
    rss.write_bytes(rss_feed_for("cs.LG"))  # the recorded feed's cs.LG items
    atom_report, rss_report = ingest_files(
        storage, [ARXIV / "api_query_testing_100.atom.xml", rss], NOW
    )
    assert (atom_report.seen, atom_report.new) == (100, 100)
    assert (rss_report.seen, rss_report.new) == (218, 218)
    assert storage.papers.count() == 318
    old = storage.papers.get("hep-ph/0301050")
    assert old is not None and old.sources == ("arxiv",)


def test_the_same_paper_from_arxiv_and_hf_is_one_row(storage: Storage, tmp_path: Path) -> None:
    hf_day = tmp_path / "daily_papers_2025-08-05.json"
    hf_day.write_text(
        json.dumps(
            [
                {
                    "paper": {
                        "id": "1605.08386v1",
                        "title": "Heat-bath random walks\n  with Markov bases",
                        "summary": "Graphs on lattice points are studied...",
                        "authors": [
                            {"name": "Caprice Stanley", "hidden": False},
                            {"name": "Tobias Windisch", "hidden": True},
                        ],
                        "publishedAt": "2016-05-26T17:59:46.000Z",
                        "submittedOnDailyAt": "2025-08-05T04:13:13.413Z",
                        "upvotes": 7,
                        "ai_summary": "Heat-bath random walks on lattice fibers mix fast.",
                    },
                    "numComments": 2,
                    "title": "Heat-bath random walks\n  with Markov bases",
                }
            ]
        )
    )
    ingest_files(storage, [ARXIV / "api_id_1605.08386.atom.xml", hf_day], NOW)
    assert storage.papers.count() == 1
    paper = storage.papers.get("1605.08386")
    assert paper is not None
    assert paper.title == "Heat-bath random walks with Markov bases"
    assert paper.sources == ("arxiv", "hf")
    assert paper.categories == ("math.CO", "math.ST")  # from arXiv
    assert (paper.upvotes, paper.comments, paper.added) == (7, 2, date(2025, 8, 5))  # from HF
    assert paper.authors == ("Caprice Stanley", "Tobias Windisch")
    assert paper.published == date(2016, 5, 26)


# -- live sources -------------------------------------------------------------------------


async def test_fetch_sources_stores_both_and_logs_each_fetch(
    storage: Storage, upstream: UpstreamServer, http_session: aiohttp.ClientSession
) -> None:
    calls: list[tuple[int, int]] = []
    reports = await fetch_local(
        storage, upstream, http_session, ("hf", "arxiv"), THURSDAY, lambda *c: calls.append(c)
    )
    assert [report.source for report in reports] == ["hf", "arxiv"]
    assert reports[0].seen == 0  # no HF sample for that Thursday
    assert reports[1].seen == reports[1].new == storage.papers.count() > 100
    assert calls == [(0, 2), (1, 2), (2, 2)]
    fetches = storage.activity.last_fetches()
    assert fetches["hf"].ok and fetches["arxiv"].ok
    assert fetches["arxiv"].new == reports[1].new and fetches["arxiv"].error is None
    assert fetches["arxiv"].finished_at is not None and fetches["arxiv"].finished_at >= NOW


async def test_a_failing_source_is_logged_and_the_others_still_run(
    storage: Storage, upstream: UpstreamServer, http_session: aiohttp.ClientSession
) -> None:
    upstream.inject("500", times=99, path="/api/daily_papers")
    reports = await fetch_local(storage, upstream, http_session, ("hf", "arxiv"), THURSDAY)
    assert [report.source for report in reports] == ["arxiv"]
    fetches = storage.activity.last_fetches()
    assert not fetches["hf"].ok
    assert fetches["hf"].error is not None
    assert fetches["hf"].error.startswith("Hugging Face unreachable: ")
    assert fetches["hf"].error.endswith("answered HTTP 500 (after 3 tries)")
    assert fetches["arxiv"].ok and storage.papers.count() == reports[0].new


async def test_malformed_json_leaves_the_store_unchanged(
    storage: Storage, upstream: UpstreamServer, http_session: aiohttp.ClientSession
) -> None:
    ingest_files(storage, [SAMPLE["daily_papers_2025-08-04.json"]], NOW)
    before = storage.papers.get_many([p.id for p in storage.papers.recent(NOW, DAY)])
    upstream.inject("malformed")
    reports = await fetch_local(storage, upstream, http_session, ("hf",), DAY)
    assert reports == []
    assert storage.papers.count() == 9
    assert storage.papers.get_many(list(before)) == before
    error = storage.activity.last_fetches()["hf"].error
    assert error is not None and "malformed JSON" in error


async def test_sources_are_built_from_settings(
    storage: Storage, upstream: UpstreamServer, http_session: aiohttp.ClientSession
) -> None:
    reports = await fetch_sources(
        storage, upstream.settings(), http_session, ("hf",), DAY, NOW, policy=FAST
    )
    assert [(report.source, report.seen, report.new) for report in reports] == [("hf", 13, 13)]
    assert upstream.requests[0].query["date"] == "2025-08-05"


async def test_an_unknown_source_name_is_a_clear_error(
    storage: Storage, upstream: UpstreamServer, http_session: aiohttp.ClientSession
) -> None:
    with pytest.raises(UnknownSource, match="unknown source 'scholar'"):
        await fetch_sources(storage, upstream.settings(), http_session, ("scholar",), DAY, NOW)
