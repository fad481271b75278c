"""The taste's tf-idf over the real bundled papers: term counts kept across digest runs give the
vectors a fresh process would compute, read only the papers no run read before, and stay right
when a paper's text changes or unused terms are forgotten."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
from sklearn.feature_extraction.text import TfidfVectorizer

from bot.models import Paper
from bot.sources import detect_and_parse, sample_files
from bot.taste import PaperVectors, SharedVectors, TermCounts, paper_text


@pytest.fixture(scope="module")
def papers() -> list[Paper]:
    found: dict[str, Paper] = {}
    for path in sample_files():
        parsed, _ = detect_and_parse(path.read_bytes(), str(path))
        found.update((p.id, p) for p in parsed)
    return sorted(found.values(), key=lambda p: p.id)


def _closeness(vectors: PaperVectors) -> np.ndarray:
    return np.asarray((vectors.matrix @ vectors.matrix.T).todense())


@pytest.mark.parametrize("min_df", [1, 2])  # the taste keeps terms of one paper, /papers like not
def test_vectors_are_tf_idf_of_title_and_abstract(papers: list[Paper], min_df: int) -> None:
    vectors = PaperVectors(papers, TermCounts(), min_df=min_df)
    plain = TfidfVectorizer(
        strip_accents="unicode",
        stop_words="english",
        token_pattern=r"(?u)\b[a-zA-Z][a-zA-Z0-9_-]+\b",
        ngram_range=(1, 2),
        sublinear_tf=True,
        min_df=min_df if len(papers) >= 200 else 1,
        max_df=0.5 if len(papers) >= 200 else 1.0,
    ).fit_transform([paper_text(p) for p in papers])
    assert vectors.matrix.shape == plain.shape  # no two terms of these papers share a hash
    expected = np.asarray((plain @ plain.T).todense())
    assert np.abs(_closeness(vectors) - expected).max() < 1e-5


def test_a_later_run_reads_only_the_new_papers_and_gets_what_a_fresh_process_gets(
    papers: list[Paper],
) -> None:
    counts = TermCounts()
    first, later = papers[:-20], papers[20:]
    PaperVectors(first, counts)
    assert counts.read == len(first)
    warm = PaperVectors(later, counts)
    assert counts.read == len(first) + 20  # only the 20 papers the first run had not
    fresh = PaperVectors(later, TermCounts())
    assert np.array_equal(warm.hashes, fresh.hashes)
    assert np.abs(_closeness(warm) - _closeness(fresh)).max() < 1e-6
    outside = papers[:5]  # papers the later set lacks, such as a channel's older saves
    assert np.abs((warm.transform(outside) - fresh.transform(outside)).toarray()).max() < 1e-6


def test_a_paper_whose_text_changed_is_read_again(papers: list[Paper]) -> None:
    counts = TermCounts()
    PaperVectors(papers, counts)
    changed = replace(papers[0], abstract="Speech separation with diffusion transformers.")
    vectors = PaperVectors([changed, *papers[1:]], counts)
    assert counts.read == len(papers) + 1
    row = vectors.matrix[0]
    names = vectors.names(changed)
    assert {names[int(i)] for i in row.indices} >= {"separation", "diffusion"}


def test_forgetting_unused_terms_keeps_every_vector_right(papers: list[Paper]) -> None:
    counts = TermCounts(keep=len(papers) // 2, terms=1000)  # forgets at every run
    older = PaperVectors(papers[: len(papers) // 2], counts)
    before = older.transform(papers[-5:])
    newer = PaperVectors(papers[len(papers) // 2 :], counts)  # the first half is forgotten
    fresh = PaperVectors(papers[len(papers) // 2 :], TermCounts())
    assert np.abs(_closeness(newer) - _closeness(fresh)).max() < 1e-6
    assert np.abs((older.transform(papers[-5:]) - before).toarray()).max() < 1e-6


def test_shared_vectors_are_computed_once_per_set_of_papers(papers: list[Paper]) -> None:
    shared = SharedVectors(counts=TermCounts())
    assert shared.over(papers) is shared.over(list(papers))
    shared.over(papers[1:])
    assert shared.fits == 2 and shared.counts.read == len(papers)


def test_a_run_larger_than_what_is_kept_is_kept_whole_for_the_next(papers: list[Paper]) -> None:
    counts = TermCounts(keep=10)
    PaperVectors(papers, counts)
    PaperVectors(papers[1:], counts)
    assert counts.read == len(papers)  # the next run, over the same papers but one, read none
    PaperVectors(papers[:1], counts)
    assert counts.read == len(papers) + 1  # the one the last run lacked was let go
    PaperVectors(papers[-5:], counts)
    assert counts.read == len(papers) + 1  # among the 10 used last
    PaperVectors(papers[1:2], counts)
    assert counts.read == len(papers) + 2  # not among them
