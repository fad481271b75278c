"""Paper sources: Hugging Face Daily Papers and arXiv, parsed from files or fetched over HTTP."""

from __future__ import annotations

import re
from pathlib import Path

import aiohttp

from bot.config import Settings
from bot.ports import PaperSource
from bot.sources.arxiv import ArxivSource, parse_arxiv_atom, parse_arxiv_rss
from bot.sources.detect import detect_and_parse
from bot.sources.errors import SourceError, SourceFormatError, SourceUnavailable, UnknownSource
from bot.sources.hf import HuggingFaceSource, parse_hf_item, parse_hf_json
from bot.sources.transport import RetryPolicy

__all__ = [
    "ArxivSource",
    "HuggingFaceSource",
    "RetryPolicy",
    "SourceError",
    "SourceFormatError",
    "SourceUnavailable",
    "UnknownSource",
    "detect_and_parse",
    "make_source",
    "parse_arxiv_atom",
    "parse_arxiv_rss",
    "parse_hf_item",
    "parse_hf_json",
    "sample_files",
]

SAMPLE_DIR = Path(__file__).resolve().parent.parent / "sample"
_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")


def sample_files() -> list[Path]:
    """The bundled offline sample: real HF daily_papers responses, oldest day first."""

    def day(path: Path) -> str:
        found = _DATE.search(path.name)
        return found.group() if found else path.name

    return sorted(SAMPLE_DIR.glob("*.json"), key=lambda path: (day(path), path.name))


def make_source(
    name: str,
    settings: Settings,
    session: aiohttp.ClientSession,
    policy: RetryPolicy | None = None,
) -> PaperSource:
    """The source called `name` ('hf' or 'arxiv'), configured from settings, on `session`."""
    if name == "hf":
        return HuggingFaceSource.from_settings(settings, session, policy)
    if name == "arxiv":
        return ArxivSource.from_settings(settings, session, policy)
    raise UnknownSource(name)
