"""How benchmarks.quality compares a system with plain FTS5, query by query."""

from __future__ import annotations

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
