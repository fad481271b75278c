"""Parsing the real recorded responses: HF daily_papers JSON, arXiv API Atom, arXiv RSS."""

from __future__ import annotations

import copy
import json
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from bot.models import Paper
from bot.sources import (
    SourceFormatError,
    detect_and_parse,
    parse_arxiv_atom,
    parse_arxiv_rss,
    parse_hf_item,
    parse_hf_json,
    sample_files,
)
from bot.sources.errors import SourceUnavailable
from tests.upstream_server import rss_feed_for

SAMPLE = {path.name: path for path in sample_files()}
ARXIV = Path(__file__).resolve().parent / "fixtures" / "arxiv"
META_RL = "2508.01287"  # "Exploitation Is All You Need... for Exploration", 2025-08-05


def load(name: str) -> Any:
    return json.loads(SAMPLE[name].read_bytes())


def papers_of(name: str) -> dict[str, Paper]:
    """The papers of one sample file, by id."""
    papers, _ = parse_hf_json(SAMPLE[name].read_bytes(), name=name)
    return {paper.id: paper for paper in papers}


def meta_rl_item() -> dict[str, Any]:
    """The real daily_papers item of the meta-RL paper, to be bent by a test."""
    items = load("daily_papers_2025-08-05.json")
    return copy.deepcopy(next(item for item in items if item["paper"]["id"] == META_RL))


# -- the bundled sample -------------------------------------------------------------------


def test_sample_files_are_every_day_oldest_first() -> None:
    names = [path.name for path in sample_files()]
    assert len(names) == 27
    assert names[0] == "daily_papers_2024-10-25.raw.json"
    assert names[1] == "daily_papers_2025-08-01.json"
    assert names[-1] == "daily_papers_2026-08-21.json"
    assert names == sorted(names)  # ISO dates sort as text


@pytest.mark.parametrize(
    ("name", "count", "day"),
    [
        ("daily_papers_2024-10-25.raw.json", 29, date(2024, 10, 25)),
        ("daily_papers_2025-08-05.json", 13, date(2025, 8, 5)),
        ("daily_papers_2025-08-27.json", 21, date(2025, 8, 27)),
        ("daily_papers_2026-08-18.json", 29, date(2026, 8, 18)),
    ],
)
def test_every_item_of_a_day_parses_and_is_added_on_that_day(
    name: str, count: int, day: date
) -> None:
    papers, skipped = parse_hf_json(SAMPLE[name].read_bytes(), name=name)
    assert skipped == []
    assert len(papers) == count
    assert {paper.added for paper in papers} == {day}
    assert all(paper.sources == ("hf",) and paper.is_arxiv for paper in papers)


def test_whole_sample_parses_without_a_skip_and_without_wrapped_text() -> None:
    total = 0
    for path in sample_files():
        papers, skipped = parse_hf_json(path.read_bytes())
        assert skipped == [], path.name
        total += len(papers)
        for paper in papers:
            for text in (paper.title, paper.abstract, paper.ai_summary or ""):
                assert "\n" not in text and "  " not in text and text == text.strip()
    assert total == 421


def test_meta_rl_paper_fields() -> None:
    paper = papers_of("daily_papers_2025-08-05.json")[META_RL]
    assert paper.title == "Exploitation Is All You Need... for Exploration"
    assert paper.authors == ("Micah Rentschler", "Jesse Roberts")
    assert paper.abstract.startswith(
        "Ensuring sufficient exploration is a central challenge when training "
        "meta-reinforcement learning (meta-RL) agents to solve novel environments."
    )
    assert paper.published == date(2025, 8, 2)  # paper.publishedAt, the arXiv date
    assert paper.added == date(2025, 8, 5)  # submittedOnDailyAt, not the wrapper's publishedAt
    assert (paper.upvotes, paper.comments) == (1, 1)
    assert paper.ai_summary is not None
    assert paper.ai_summary.startswith("Meta-reinforcement learning agents can exhibit")
    assert paper.keywords[:2] == ("meta-reinforcement learning", "meta-RL")
    assert paper.github_repo is None and paper.project_page is None
    assert paper.thumbnail == (
        "https://cdn-thumbnails.huggingface.co/social-thumbnails/papers/2508.01287.png"
    )


def test_hard_wrapped_title_and_github_fields() -> None:
    papers = papers_of("daily_papers_2025-08-05.json")
    assert papers["2508.01959"].title == (
        "SitEmb-v1.5: Improved Context-Aware Dense Retrieval for Semantic Association and "
        "Long Story Comprehension"
    )
    qwen = papers["2508.02324"]
    assert qwen.github_repo == "https://github.com/QwenLM/Qwen-Image"
    assert qwen.github_stars == 925
    assert qwen.upvotes == 20


def test_older_field_set_uses_the_wrapper_date_and_author_names() -> None:
    papers, _ = parse_hf_json(SAMPLE["daily_papers_2024-10-25.raw.json"].read_bytes())
    first = papers[0]
    assert first.id == "2410.17243"
    assert first.title == (
        "Breaking the Memory Barrier: Near Infinite Batch Size Scaling for Contrastive Loss"
    )
    assert first.authors[0] == "Zesen Cheng" and len(first.authors) == 9
    assert (first.upvotes, first.comments) == (64, 3)
    assert first.published == date(2024, 10, 22)
    assert first.added == date(2024, 10, 25)
    assert first.ai_summary is None and first.keywords == () and first.github_stars is None


def test_newest_format_reads_the_organization() -> None:
    papers = papers_of("daily_papers_2026-08-17.json")
    assert papers["2608.14391"].organization == "Hugging Face"
    assert papers["2608.13417"].organization == "LongCat"
    assert papers["2608.14290"].organization is None


# -- defensive parsing --------------------------------------------------------------------


def test_optional_fields_are_read_at_either_nesting_level() -> None:
    item = meta_rl_item()
    inner = item["paper"]
    for key in ("ai_summary", "ai_keywords", "upvotes"):
        item[key] = inner.pop(key)
    item["githubRepo"] = "https://github.com/example/explore"
    item["githubStars"] = 42
    item["projectPage"] = "https://example.org/explore"
    item["organization"] = {"name": "umass", "fullname": "UMass Amherst"}
    inner["numComments"], item["numComments"] = 4, None

    paper = parse_hf_item(item)
    assert paper.ai_summary and paper.ai_summary.startswith("Meta-reinforcement learning agents")
    assert "meta-RL" in paper.keywords
    assert paper.upvotes == 1
    assert paper.github_repo == "https://github.com/example/explore"
    assert paper.github_stars == 42
    assert paper.project_page == "https://example.org/explore"
    assert paper.organization == "UMass Amherst"
    assert paper.comments == 4


def test_null_and_missing_optional_fields_fall_back_to_defaults() -> None:
    item = meta_rl_item()
    for key in ("ai_summary", "ai_keywords", "upvotes", "publishedAt", "authors", "summary"):
        item["paper"][key] = None
    for key in ("numComments", "thumbnail", "summary", "submittedBy"):
        item[key] = None
    del item["paper"]["submittedOnDailyAt"]
    paper = parse_hf_item(item)
    assert paper.id == META_RL
    assert paper.title == "Exploitation Is All You Need... for Exploration"
    assert (paper.upvotes, paper.comments, paper.authors, paper.keywords) == (0, 0, (), ())
    assert paper.abstract == "" and paper.ai_summary is None and paper.thumbnail is None
    assert paper.published is None
    assert paper.added == date(2025, 8, 2)  # without submittedOnDailyAt: the wrapper's date part


def test_broken_items_are_skipped_with_a_reason_and_the_rest_load() -> None:
    items = load("daily_papers_2025-08-05.json")
    no_title = meta_rl_item()
    no_title["paper"]["title"] = None
    no_title["title"] = "   "
    no_id = meta_rl_item()
    del no_id["paper"]["id"]
    items[3:3] = [no_title, "not an item", no_id]

    papers, skipped = parse_hf_json(json.dumps(items).encode())
    assert len(papers) == 13
    assert skipped == [
        "item 3: 2508.01287: no title",
        "item 4: not an object but str",
        "item 5: no usable paper id (None)",
    ]


def test_flat_paper_object_and_version_suffix() -> None:
    flat = meta_rl_item()["paper"]
    flat["id"] = "2508.01287v3"
    flat["upvotes"] = "17"  # a number as text still counts
    paper = parse_hf_item(flat)
    assert paper.id == META_RL
    assert paper.upvotes == 17
    assert paper.published == date(2025, 8, 2)
    assert paper.added == date(2025, 8, 5)  # from paper.submittedOnDailyAt


def test_flat_object_without_a_daily_date_has_no_added_day() -> None:
    flat = meta_rl_item()["paper"]
    del flat["submittedOnDailyAt"]
    papers, skipped = parse_hf_json(json.dumps(flat))
    assert [paper.added for paper in papers] == [None] and skipped == []


def test_requested_day_is_the_added_day() -> None:
    papers, _ = parse_hf_json(
        SAMPLE["daily_papers_2025-08-05.json"].read_bytes(), day=date(2025, 8, 6)
    )
    assert {paper.added for paper in papers} == {date(2025, 8, 6)}


def test_weekend_day_is_an_empty_list() -> None:
    assert parse_hf_json(b"[]") == ([], [])


# -- arXiv --------------------------------------------------------------------------------


def test_atom_response_parses_every_entry() -> None:
    papers, skipped = parse_arxiv_atom((ARXIV / "api_query_testing_100.atom.xml").read_bytes())
    assert skipped == [] and len(papers) == 100
    first = papers[0]
    assert first.id == "2202.12139"  # http://arxiv.org/abs/2202.12139v1
    assert first.title == (
        "Testing Deep Learning Models: A First Comparative Study of Multiple Testing Techniques"
    )
    assert first.authors == ("Mohit Kumar Ahuja", "Arnaud Gotlieb", "Helge Spieker")
    assert first.categories == ("cs.SE", "cs.LG")  # primary first
    assert first.published == date(2022, 2, 24)
    assert first.sources == ("arxiv",)
    assert all("v" not in paper.id.split(".")[-1] for paper in papers)


def test_old_style_ids_keep_their_archive() -> None:
    papers = {
        p.id: p
        for p in parse_arxiv_atom((ARXIV / "api_query_testing_100.atom.xml").read_bytes())[0]
    }
    old = papers["hep-ph/0301050"]  # http://arxiv.org/abs/hep-ph/0301050v2
    assert old.title == "Statistical Test of Anarchy"
    assert old.is_arxiv and old.abs_url == "https://arxiv.org/abs/hep-ph/0301050"
    assert {"cs/0503050", "gr-qc/0103067"} <= set(papers)


def test_single_id_response() -> None:
    papers, _ = parse_arxiv_atom((ARXIV / "api_id_1605.08386.atom.xml").read_bytes())
    [paper] = papers
    assert paper.id == "1605.08386"
    assert paper.title == "Heat-bath random walks with Markov bases"
    assert paper.categories == ("math.CO", "math.ST")
    assert paper.authors == ("Caprice Stanley", "Tobias Windisch")


def test_atom_entry_without_a_title_is_skipped() -> None:
    body = (ARXIV / "api_query_testing_100.atom.xml").read_text()
    body = body.replace(
        "<title>Testing Deep Learning Models: A First Comparative Study of Multiple Testing "
        "Techniques</title>",
        "<title>  </title>",
    )
    papers, skipped = parse_arxiv_atom(body)
    assert len(papers) == 99
    assert skipped == ["entry 0: 2202.12139: no title"]


def test_api_error_feed_is_a_skip_with_arxiv_s_message() -> None:
    body = """<?xml version="1.0" encoding="UTF-8"?>
<feed xmlns="http://www.w3.org/2005/Atom">
  <title>arXiv Query: search_query=cat:cs.LG&amp;max_results=99999</title>
  <entry>
    <id>http://arxiv.org/api/errors#max_results_too_large</id>
    <title>Error</title>
    <summary>max_results must be at most 30000</summary>
  </entry>
</feed>"""
    assert parse_arxiv_atom(body) == (
        [],
        ["entry 0: arXiv API error: max_results must be at most 30000"],
    )


def test_rss_feed_strips_the_announce_prefix_and_splits_authors() -> None:
    papers, skipped = parse_arxiv_rss((ARXIV / "rss_all_2024-11-28.xml").read_bytes())
    assert skipped == [] and len(papers) == 1504
    by_id = {paper.id: paper for paper in papers}
    first = by_id["2411.17700"]
    assert first.abstract.startswith("This study investigates the influence of generative")
    assert "Announce Type" not in first.abstract and "arXiv:" not in first.abstract[:10]
    assert first.published == date(2024, 11, 28)  # the announcement day, US-Eastern
    ecg = by_id["2411.17702"]
    assert ecg.authors == ("Hyewon Jeong", "Suyeol Yun", "Hammaad Adam")
    assert ecg.categories == ("eess.SP", "cs.LG")
    revised = by_id["1401.3665"]  # a `replace`: an old paper, still a real one
    assert revised.title == "The existence of designs"
    assert revised.categories == ("math.CO",)
    assert revised.published is None  # the announcement day is not its first-version date


def test_rss_can_keep_only_new_and_cross_announcements() -> None:
    data = rss_feed_for("math.CO")  # the recorded feed's math.CO items
    everything, _ = parse_arxiv_rss(data)
    announced, _ = parse_arxiv_rss(data, announce_types=("new", "cross"))
    assert "1401.3665" in {paper.id for paper in everything}  # a `replace`
    assert "1401.3665" not in {paper.id for paper in announced}
    assert 0 < len(announced) < len(everything)
    assert all(paper.published == date(2024, 11, 28) for paper in announced if paper.published)


# -- detection by content -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "count", "source"),
    [
        (SAMPLE["daily_papers_2025-08-05.json"], 13, "hf"),
        (ARXIV / "api_query_testing_100.atom.xml", 100, "arxiv"),
        (None, 218, "arxiv"),  # the recorded RSS feed's cs.LG items
    ],
)
def test_detect_and_parse_tells_formats_apart_by_content(
    path: Path | None, count: int, source: str
) -> None:
    data = path.read_bytes() if path else rss_feed_for("cs.LG")
    papers, skipped = detect_and_parse(b"\xef\xbb\xbf\n  " + data, "upload.bin")
    assert len(papers) == count and skipped == []
    assert {paper.sources for paper in papers} == {(source,)}


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"id,title\n2508.01287,Exploitation\n", "not Hugging Face daily-papers JSON"),
        (b"<html><body>Service Unavailable</body></html>", "not an Atom or RSS feed"),
        (b"<feed><entry><title>cut", "malformed XML"),
        (b"   \n", "file is empty"),
        (b'[{"paper": {"id": "2508.0', "malformed JSON"),
        (b'{"error": "Invalid date"}', "not a Hugging Face paper"),
        (b"[1, 2, 3]", "holds no Hugging Face papers"),
    ],
)
def test_detect_and_parse_names_a_file_of_no_known_format(data: bytes, message: str) -> None:
    with pytest.raises(SourceFormatError, match=message) as caught:
        detect_and_parse(data, "downloads/papers.txt")
    assert caught.value.name == "downloads/papers.txt"
    assert "downloads/papers.txt" in str(caught.value)


def test_unavailable_message_is_one_human_line() -> None:
    error = SourceUnavailable("hf", "huggingface.co timed out after 30s (after 5 tries)")
    assert str(error) == (
        "Hugging Face unreachable: huggingface.co timed out after 30s (after 5 tries)"
    )
    assert "\n" not in str(error)
