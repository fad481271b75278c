"""The blind judging shards that benchmarks.quality --pool-out writes for unjudged pairs."""

from __future__ import annotations

import json
from pathlib import Path

from benchmarks import pool
from bot.models import Paper

QUERIES = [
    {
        "id": "q1",
        "query": "speculative decoding",
        "intent": "Draft-and-verify.",
        "class": "keyword",
    },
    {"id": "q2", "query": "author:Hooker", "intent": "Papers by Sara Hooker.", "class": "author"},
    {"id": "q3", "query": "kv cache", "intent": "KV cache compression.", "class": "keyword"},
]
AUTHORS = tuple(f"Author {n}" for n in range(9))


def paper(pid: str) -> Paper:
    return Paper(id=pid, title=f"Title of {pid}", abstract="word " * 400, authors=AUTHORS)


def written(tmp_path: Path, size: int = pool.SHARD_PAIRS) -> tuple[int, int]:
    runs = {
        "system a": {"q1": ["p1", "p2", "p3"], "q2": ["p4"], "q3": ["p7"]},
        "system b": {"q1": ["p3", "p5"], "q2": ["p4", "p6"], "q3": ["p7"]},
    }
    judged = {"q1": {"p1": 2}, "q3": {"p7": 0}}
    guidelines = tmp_path / "guidelines.md"
    guidelines.write_text("# Judging guidelines\n")

    def fetch(ids: list[str]) -> dict[str, Paper]:
        return {pid: paper(pid) for pid in ids}

    return pool.write(tmp_path / "pool", QUERIES, runs, judged, fetch, guidelines, size)


def test_only_unjudged_pairs_of_any_systems_top_10_are_written(tmp_path: Path) -> None:
    assert written(tmp_path) == (5, 1)
    answers = (tmp_path / "pool" / "answers_1.tsv").read_text().splitlines()
    assert answers[0] == "query_id\tpaper_id\tgrade"
    rows = [line.split("\t") for line in answers[1:]]
    pairs = {("q1", "p2"), ("q1", "p3"), ("q1", "p5"), ("q2", "p4"), ("q2", "p6")}
    assert [(q, p) for q, p, _ in rows] == shown(tmp_path)  # in the shard's order
    assert {(q, p) for q, p, _ in rows} == pairs
    assert all(grade == "" for _, _, grade in rows)
    assert (tmp_path / "pool" / "guidelines.md").read_text() == "# Judging guidelines\n"
    runs = json.loads((tmp_path / "pool" / "runs.json").read_text())
    assert runs["system b"]["q2"] == ["p4", "p6"]


def shown(tmp_path: Path) -> list[tuple[str, str]]:
    """The (query, paper) pairs in the order the first shard shows them."""
    text = (tmp_path / "pool" / "shard_1.md").read_text()
    heads = [line[4:].split(" · ") for line in text.splitlines() if line.startswith("### ")]
    return [(q, p) for q, p in heads]


def test_a_shard_shows_the_query_never_the_system_or_rank(tmp_path: Path) -> None:
    written(tmp_path)
    text = (tmp_path / "pool" / "shard_1.md").read_text()
    assert "## q1: speculative decoding" in text
    assert "- class: keyword" in text and "- intent: Draft-and-verify." in text
    assert "system" not in text.lower() and "rank" not in text.lower()
    assert "q3" not in text  # every pair of q3 is judged


def test_authors_are_cut_after_six_except_for_author_queries(tmp_path: Path) -> None:
    written(tmp_path)
    text = (tmp_path / "pool" / "shard_1.md").read_text()
    q1, q2 = text.split("\n## q2:")
    assert "Authors: Author 0, Author 1, Author 2, Author 3, Author 4, Author 5 +3 more" in q1
    assert "Authors: " + ", ".join(f"Author {n}" for n in range(9)) + "\n" in q2


def test_the_abstract_is_cut_at_a_word_near_900_characters() -> None:
    shown = pool.cut("word " * 400)
    assert shown.endswith(" …") and 880 <= len(shown) <= pool.ABSTRACT_CHARS + 2
    assert pool.cut("short abstract") == "short abstract"


def test_shards_hold_whole_queries_and_a_rerun_writes_the_same_files(tmp_path: Path) -> None:
    assert written(tmp_path, size=2) == (5, 2)
    first = {f.name: f.read_text() for f in (tmp_path / "pool").iterdir()}
    assert sorted(first) == [
        "answers_1.tsv",
        "answers_2.tsv",
        "guidelines.md",
        "runs.json",
        "shard_1.md",
        "shard_2.md",
    ]
    assert "## q1" in first["shard_1.md"] and "## q2" in first["shard_2.md"]
    written(tmp_path, size=2)
    assert {f.name: f.read_text() for f in (tmp_path / "pool").iterdir()} == first
