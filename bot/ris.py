"""Saved papers as RIS records (EndNote, Zotero, Mendeley, Papers import them), written by rispy."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import rispy

from bot.models import Paper, normalise_space

RIS_TYPE = "UNPB"  # unpublished work: RIS has no preprint type, and arXiv papers are preprints


class _Writer(rispy.RisWriter):
    """rispy's writer without its '1.', '2.' counter line before each record, which the RIS
    specification does not have and some readers choke on."""

    def set_header(self, count: int) -> str:
        return ""


def record(paper: Paper) -> dict[str, Any]:
    """One RIS record as rispy's field names."""
    # One line per field: a line break inside a value could read as a tag of its own.
    fields: dict[str, Any] = {"type_of_reference": RIS_TYPE, "title": normalise_space(paper.title)}
    if paper.authors:
        fields["authors"] = [normalise_space(name) for name in paper.authors]
    if paper.abstract:
        fields["abstract"] = normalise_space(paper.abstract)
    if day := paper.day:
        fields["year"] = str(day.year)
        fields["date"] = f"{day:%Y/%m/%d}"
    if paper.is_arxiv:
        fields["accession_number"] = f"arXiv:{paper.id}"
        fields["publisher"] = "arXiv"
    if paper.doi:
        fields["doi"] = paper.doi
    if url := paper.abs_url or paper.url:
        fields["urls"] = [url]
    if paper.categories:
        fields["keywords"] = list(paper.categories)
    return fields


def records(papers: Iterable[Paper]) -> str:
    """The RIS file for many papers."""
    return rispy.dumps([record(paper) for paper in papers], implementation=_Writer)
