"""papers-bot for Slack: a bolt app over Socket Mode or HTTP (`app.py`), Block Kit rendering
(`blocks.py`, `replies.py`), Web API calls (`client.py`) and the settings checks (`config.py`).
Set-up for a workspace admin: README.md beside this file."""

from __future__ import annotations

from typing import TYPE_CHECKING

from adapters.platform import Platform
from adapters.slack.settings import SlackSettings

if TYPE_CHECKING:
    from bot.core import PapersBot
    from bot.ports import ChatAdapter


def _build(bot: PapersBot, settings: SlackSettings) -> ChatAdapter:
    from adapters.slack.app import SlackAdapter

    return SlackAdapter(bot, settings)


PLATFORM = Platform("slack", SlackSettings, _build, guide="adapters/slack/README.md")
