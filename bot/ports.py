"""The seams between the core and the outside world, as Protocols so fakes need no base class."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime
from typing import Protocol

from bot.models import Digest, DigestItem, IngestReport, MessageRef, Paper

Clock = Callable[[], datetime]  # returns an aware datetime (UTC)


def utcnow() -> datetime:
    """The system clock: the current time, aware, in UTC."""
    return datetime.now(UTC)


class PostFailed(Exception):
    """A platform did not take a post. `permanent` when trying again cannot help until someone
    acts (the bot is not in the channel, the channel is archived or gone, a permission is
    missing); `said` then tells what is wrong and who can fix it, as one line without a final
    period ("I am not in this channel: invite me with /invite @papers-bot"). Transient failures
    (timeouts, 5xx, rate limits) carry only the platform's `reason`."""

    def __init__(self, reason: str, said: str = "", permanent: bool = False) -> None:
        super().__init__(said or reason)
        self.reason = reason
        self.said = said or f"the platform did not take the post ({reason})"
        self.permanent = permanent


class ChatPoster(Protocol):
    """What a platform adapter does for a digest: post a header, then one message per paper."""

    platform: str

    async def post_header(self, digest: Digest) -> MessageRef:
        """Post the digest's header message (or the 'nothing new' message when it is empty).
        Both posts raise PostFailed when the platform does not take them."""
        ...

    async def post_paper(self, digest: Digest, item: DigestItem) -> MessageRef:
        """Post one paper as its own message, so a reaction on it names exactly one paper."""
        ...


class PaperSource(Protocol):
    """A remote source of papers (Hugging Face Daily Papers, arXiv)."""

    name: str

    async def fetch(self, day: date | None = None) -> tuple[list[Paper], IngestReport]:
        """Papers for `day` (the newest when None) and a report of what was skipped and why."""
        ...


class PlatformUnreachable(Exception):
    """A chat platform could not be reached at start-up (no network, DNS, a 5xx, a timeout):
    worth retrying, unlike a rejected token. The message names the setting holding the address."""

    def __init__(self, platform: str, message: str) -> None:
        super().__init__(message)
        self.platform = platform


class ChatAdapter(ChatPoster, Protocol):
    """A platform connection run by `papers-bot run`: posts digests and answers users."""

    @property
    def connected(self) -> bool:
        """True while the platform connection is up (shown on /healthz)."""
        ...

    async def start(self) -> None:
        """Connect and start handling events; returns once running, without blocking.
        PlatformUnreachable when the network failed, ConfigError when a setting is wrong."""
        ...

    async def stop(self) -> None:
        """Disconnect; in-flight handlers finish first."""
        ...
