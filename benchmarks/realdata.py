"""The real Hugging Face daily papers, parsed by the bot's own source parser."""

from __future__ import annotations

import os
from pathlib import Path

from bot.models import Paper
from bot.sources import detect_and_parse, sample_files


def data_files() -> list[Path]:
    """The HF daily_papers files: PAPERS_BOT_DATA/hf if set, else the bundled sample.

    The bundled sample (bot/sample) is a copy of ../shared/data/hf.
    """
    folder = os.environ.get("PAPERS_BOT_DATA")
    return sorted((Path(folder) / "hf").glob("*.json")) if folder else sample_files()


def real_papers(files: list[Path] | None = None) -> list[Paper]:
    """Every paper in the files, merged across days as the store would merge them."""
    papers: dict[str, Paper] = {}
    for path in files if files is not None else data_files():
        parsed, _skipped = detect_and_parse(path.read_bytes(), str(path))
        for paper in parsed:
            known = papers.get(paper.id)
            papers[paper.id] = known.merged(paper) if known else paper
    return list(papers.values())
