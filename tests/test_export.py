"""BibTeX and RIS exports: what a reference manager or LaTeX reads back is what was saved."""

from __future__ import annotations

from datetime import date

import pytest
import rispy
from pylatexenc.latex2text import LatexNodes2Text

from bot import bibtex, ris
from tests.conftest import make_paper

TITLES = [
    "RL for LLMs: Scaling Test-Time Compute",
    "DeepSeek-R1: Incentivizing Reasoning in LLMs via RL",
    "ViT & friends: 100% of {curly} text_with $ and # and ~ and ^ and \\",
    "Zetta ζ: Über-fast Ångström-scale Models for Málaga",
]


def decoded(latex: str) -> str:
    """What a LaTeX reader shows for a BibTeX field (pylatexenc reads \\textasciicircum as the
    modifier letter ˆ, and keeps math as written)."""
    text = LatexNodes2Text(math_mode="verbatim").latex_to_text(latex)
    return text.replace("ˆ", "^").replace("$\\zeta$", "ζ")


@pytest.mark.parametrize("title", TITLES)
def test_bibtex_titles_are_latex_that_reads_back_as_the_title(title: str) -> None:
    latex = bibtex.title(title)
    assert latex.isascii()
    assert decoded(latex) == title


def test_bibtex_titles_brace_acronyms_and_mixed_case_words() -> None:
    assert bibtex.title("RL for LLMs") == "{RL} for {LLM}s"
    assert bibtex.title("DeepSeek-R1 beats a ViT") == "{DeepSeek}-{R1} beats a {ViT}"
    assert bibtex.title("Plain Title Case Words") == "Plain Title Case Words"


def test_bibtex_names_outside_ascii_are_latex_macros() -> None:
    paper = make_paper("2401.01234", "A title", authors=("Łukasz Kaiser", "José Müller"))
    text = bibtex.entry(paper)
    assert text.isascii()
    assert "author = {{\\L}ukasz Kaiser and Jos{\\'e} M{\\\"u}ller}" in text
    assert "doi = {10.48550/arXiv.2401.01234}" in text
    assert "url = {https://arxiv.org/abs/2401.01234}" in text


def test_bibtex_braces_balance_in_every_entry() -> None:
    for title in TITLES:
        text = bibtex.entry(make_paper("2401.01234", title))
        depth = 0
        for index, char in enumerate(text):
            if char in "{}" and text[index - 1] != "\\":
                depth += 1 if char == "{" else -1
                assert depth >= 0, text
        assert depth == 0, text


def test_ris_records_read_back_with_every_field() -> None:
    papers = [
        make_paper(
            "2401.01234",
            "RL for LLMs",
            abstract="Two\nlines\n\nTY  - JOUR of abstract",
            authors=("José Müller", "Ada Lovelace"),
            published=date(2024, 1, 2),
            categories=("cs.LG", "cs.CL"),
        ),
        make_paper("not-arxiv", "A project page paper", project_page="https://example.org/p"),
    ]
    text = ris.records(papers)
    assert text.startswith("TY  - UNPB\n")  # no "1." counter line before a record
    first, second = rispy.loads(text)
    assert first == {
        "type_of_reference": "UNPB",
        "title": "RL for LLMs",
        "authors": ["José Müller", "Ada Lovelace"],
        "abstract": "Two lines TY - JOUR of abstract",
        "year": "2024",
        "date": "2024/01/02",
        "accession_number": "arXiv:2401.01234",
        "publisher": "arXiv",
        "doi": "10.48550/arXiv.2401.01234",
        "urls": ["https://arxiv.org/abs/2401.01234"],
        "keywords": ["cs.LG", "cs.CL"],
    }
    assert second["title"] == "A project page paper"
    assert second["urls"] == ["https://example.org/p"] and "doi" not in second
