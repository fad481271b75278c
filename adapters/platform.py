"""What a chat platform contributes to papers-bot: its settings, its adapter, its commands.

A new platform is a package `adapters/<name>/` whose `__init__` defines `PLATFORM` (without
importing the platform's library, so the CLI stays fast), plus its line in
`adapters/__init__.py`'s PLATFORMS.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

from bot.config import EnvSettings

if TYPE_CHECKING:
    from bot.core import PapersBot
    from bot.ports import ChatAdapter


class PlatformSettings(Protocol):
    """A platform's settings class: EnvSettings saying whether it is configured."""

    @property
    def enabled(self) -> bool:
        """True when the settings ask for this platform to start."""
        ...

    @property
    def secrets(self) -> tuple[str | None, ...]:
        """Values the logs must never show (tokens, signing secrets)."""
        ...


@dataclass(frozen=True)
class Platform:
    """One chat platform papers-bot can run on."""

    name: str
    settings: type[EnvSettings]  # its environment variables; the class satisfies PlatformSettings
    build: Callable[[PapersBot, Any], ChatAdapter]  # imports the platform's library when called
    guide: str  # where an admin reads how to set it up
    # Extra `papers-bot` commands: name -> a function returning the text to print.
    commands: Mapping[str, Callable[[], str]] = field(default_factory=dict)

    def load(self) -> Any:
        """This platform's settings from the environment (ConfigError naming a bad one)."""
        return self.settings.load()
