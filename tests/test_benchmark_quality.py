"""How benchmarks.quality compares a system with plain FTS5, query by query."""

from __future__ import annotations

import json
from collections import defaultdict
from pathlib import Path

import pytest

from benchmarks import quality


def test_a_paired_difference_is_the_mean_with_196_standard_errors() -> None:
    # differences 1, 1, 0: mean 2/3, standard deviation 0.577, standard error 0.333
    assert quality.paired([1.0, 1.0, 0.5], [0.0, 0.0, 0.5]) == "+0.667 ± 0.653"
    assert quality.paired([0.25], [0.5]) == "-0.250 ± 0.000"


def test_each_class_is_compared_with_plain_fts5_on_the_same_queries(
    capsys: pytest.CaptureFixture[str],
) -> None:
    rows = {  # (nDCG@5, recall@10, unjudged) per query, in the same query order
        "search": [(1.0, 1.0, 0.0), (0.5, 0.8, 0.0)],
        quality.BASELINE: [(0.5, 1.0, 0.0), (0.5, 0.6, 0.0)],
    }
    table = {("test", "all"): rows, ("test", "typo"): rows}
    quality.print_differences(table, ("dev", "test"), ["search", quality.BASELINE])
    lines = capsys.readouterr().out.splitlines()
    typo = next(line for line in lines if line.split()[:2] == ["test", "typo"])
    assert "+0.250 ± 0.490 / +0.100 ± 0.196" in typo
    assert not any(line.startswith("dev") for line in lines)  # no queries, no row


def test_the_held_out_splits_are_also_read_as_one_per_class() -> None:
    table: dict[tuple[str, str], dict[str, list[tuple[float, float, float]]]] = defaultdict(
        lambda: defaultdict(list)
    )
    for split, score in [("dev", 0.1), ("test", 0.2), ("fresh", 0.3), ("stems", 0.4)]:
        for cls in ("all", "typo"):
            table[split, cls]["search"].append((score, score, 0.0))
    assert quality.pooled(table, quality.SPLITS) == ("held-out",)
    # test and fresh, never dev (tuned on) nor stems (a targeted check)
    assert table["held-out", "typo"]["search"] == [(0.2, 0.2, 0.0), (0.3, 0.3, 0.0)]
    assert table["held-out", "all"]["search"] == [(0.2, 0.2, 0.0), (0.3, 0.3, 0.0)]
    assert quality.pooled(table, ("dev", "test")) == ()  # one held-out split: nothing to pool


def test_each_systems_recall_is_also_given_as_a_share_of_what_the_judged_pool_allows(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    queries = [{"id": "a", "split": "test"}, {"id": "b", "split": "test"}]
    judged = {"a": {"p1": 2, "p2": 1, "p3": 0}, "b": {"p4": 2}}
    # the best pooled top 10 finds both of a's relevant papers and none of b's: ceiling 0.5
    runs = {"one": {"a": ["p1", "p3"], "b": ["p5"]}, "two": {"a": ["p2", "p1"], "b": ["p6"]}}
    (tmp_path / "pool_runs.json").write_text(json.dumps(runs))
    monkeypatch.setattr(quality, "RELEVANCE", tmp_path)
    table = {("test", "all"): {"search": [(1.0, 0.5, 0.0), (0.0, 0.0, 0.0)]}}
    quality.print_ceiling(queries, judged, ("dev", "test"), table)
    lines = capsys.readouterr().out.strip().splitlines()
    assert lines[0] == "recall@10 of the best pooled top 10 per query (2 runs): test 0.500"
    assert lines[1:] == ["  as a share of it, test: search 0.500"]  # 0.25 of 0.5


def test_each_chat_phrasing_asks_for_one_topic_of_the_set_in_its_own_words() -> None:
    queries, _ = quality.load_judgments()
    topics = {q["id"]: q for q in queries}
    chats = quality.chat_queries(queries)
    assert len(chats) == len({c["judged_as"] for c in chats}) > 150
    for chat in chats:
        topic = topics[chat["judged_as"]]
        assert topic["class"] in ("keyword", "abbreviation", "hyphenation", "multi_concept")
        assert (chat["split"], chat["class"]) == (topic["split"], "chat")
        assert topic["query"].lower() in chat["query"].lower()
        assert chat["query"].lower() != topic["query"].lower()
