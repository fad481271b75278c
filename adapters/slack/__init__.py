"""papers-bot for Slack: `SlackAdapter(bot, settings)`, started by `papers-bot run`."""

from __future__ import annotations

from adapters.slack.app import SlackAdapter
from adapters.slack.config import check_settings

__all__ = ["SlackAdapter", "check_settings"]
