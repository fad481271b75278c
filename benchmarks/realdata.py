"""The real Hugging Face daily papers in ../shared/data, as Paper objects."""

from __future__ import annotations

import json
import os
from datetime import date
from pathlib import Path
from typing import Any

from bot.models import Paper, normalise_space

# ../shared/data next to the checkout, unless PAPERS_BOT_DATA points elsewhere.
DATA = (
    Path(
        os.environ.get("PAPERS_BOT_DATA") or Path(__file__).resolve().parents[2] / "shared" / "data"
    )
    / "hf"
)


def _paper(item: dict[str, Any]) -> Paper | None:
    inner = item.get("paper") or {}
    pid = inner.get("id")
    title = normalise_space(item.get("title") or inner.get("title"))
    if not pid or not title:
        return None
    day = (inner.get("submittedOnDailyAt") or item.get("publishedAt") or "")[:10]
    published = (inner.get("publishedAt") or "")[:10]
    return Paper(
        id=pid,
        title=title,
        abstract=normalise_space(inner.get("summary")),
        authors=tuple(a.get("name", "") for a in inner.get("authors") or [] if a.get("name")),
        published=date.fromisoformat(published) if published else None,
        added=date.fromisoformat(day) if day else None,
        upvotes=int(inner.get("upvotes") or 0),
        keywords=tuple(inner.get("ai_keywords") or ()),
        sources=("hf",),
    )


def real_papers(folder: Path = DATA) -> list[Paper]:
    """Every paper in the HF daily_papers JSON files of a folder, first sighting wins."""
    papers: dict[str, Paper] = {}
    for path in sorted(folder.glob("*.json")):
        for item in json.loads(path.read_text()):
            paper = _paper(item)
            if paper and paper.id not in papers:
                papers[paper.id] = paper
    return list(papers.values())
