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
    typo = next(line for line in lines if line.startswith("test  typo"))
    assert "+0.250 ± 0.490 / +0.100 ± 0.196" in typo
    assert not any(line.startswith("dev") for line in lines)  # no queries, no row
