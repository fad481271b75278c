"""Search over every paper the bot has seen: the /papers grammar, abbreviations, ranking."""

from __future__ import annotations

from bot.search.engine import FtsSearch
from bot.search.grammar import HELP_LINES, Query, parse

__all__ = ["HELP_LINES", "FtsSearch", "Query", "parse"]
