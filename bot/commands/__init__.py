"""The /papers commands: declared once in a registry, answered with platform-neutral replies.

- `registry.py`: how a subcommand is declared (options, help line, handler) and parsed.
- `context.py`: what a handler gets: the context of the request and the narrow ports.
- `papers.py`: the subcommands themselves. A new one is a decorated function there.
- `channel_settings.py`: the channel settings `/papers settings` reads and shows.
"""

from __future__ import annotations

from bot.commands.channel_settings import (
    SETTING_NAMES,
    describe_subscription,
    parse_weekdays,
)
from bot.commands.context import (
    OPERATOR,
    ChannelManagers,
    CommandContext,
    NotAllowed,
    Ports,
    UserError,
)
from bot.commands.papers import REGISTRY, help_entries, paper_id_arg
from bot.commands.registry import Command, Invocation, Option, Registry, clean_input

__all__ = [
    "OPERATOR",
    "REGISTRY",
    "SETTING_NAMES",
    "ChannelManagers",
    "Command",
    "CommandContext",
    "Invocation",
    "NotAllowed",
    "Option",
    "Ports",
    "Registry",
    "UserError",
    "clean_input",
    "describe_subscription",
    "help_entries",
    "paper_id_arg",
    "parse_weekdays",
]
