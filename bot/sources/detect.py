"""Tell a saved response's format from its content, then parse it."""

from __future__ import annotations

from datetime import date

from bot.models import Paper
from bot.sources.arxiv import parse_feed, read_feed
from bot.sources.errors import SourceFormatError
from bot.sources.hf import parse_hf_json

_UTF8_BOM = b"\xef\xbb\xbf"


def detect_and_parse(
    data: bytes, name: str, day: date | None = None
) -> tuple[list[Paper], list[str]]:
    """Papers and skip reasons from HF JSON, arXiv Atom or arXiv RSS, told apart by content."""
    # Saved files may start with a BOM or blank lines; XML allows neither before its declaration.
    body = data.lstrip().removeprefix(_UTF8_BOM).lstrip()
    if body[:1] in (b"[", b"{"):
        return parse_hf_json(body, day=day, name=name)
    if body[:1] == b"<":
        return parse_feed(read_feed(body, name))
    if not body:
        raise SourceFormatError(name, "file is empty")
    raise SourceFormatError(name, "not Hugging Face daily-papers JSON, arXiv API Atom or arXiv RSS")
