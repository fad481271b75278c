"""What a /papers handler is given: who asked and where, and the narrow ports it may use."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import Protocol

from bot.models import Channel, Digest, Paper, Subscription
from bot.ports import ChatPoster, Clock
from bot.replies import SearchReply


class UserError(Exception):
    """A request the bot cannot do as asked; its message is shown to the user as is."""


class NotAllowed(UserError):
    """The member may not run this command here; the message names who can."""


class ChannelManagers(Protocol):
    """Who may change a channel's digest; each platform answers for its own members."""

    @property
    def who(self) -> str:
        """Who may, as a refusal names them: 'workspace admins and owners'."""
        ...

    async def is_manager(self, channel: Channel, user: str) -> bool:
        """True when `user` may subscribe, unsubscribe, change settings or post a digest."""
        ...


class Operator:
    """The person at the terminal runs the installation: always a channel manager."""

    who = "the operator"

    async def is_manager(self, channel: Channel, user: str) -> bool:
        """The operator manages every channel."""
        return True


OPERATOR = Operator()


@dataclass(frozen=True, slots=True)
class CommandContext:
    """Who asked, where, how to post there (None where posting is not possible), and whether
    the member may change the channel (adapters for shared chats pass their platform's check)."""

    channel: Channel
    user: str
    poster: ChatPoster | None = None
    managers: ChannelManagers = OPERATOR

    async def may_manage(self) -> bool:
        """True when the member may change this channel's digest."""
        return await self.managers.is_manager(self.channel, self.user)


class PaperLookup(Protocol):
    """Finding papers: by id or URL, and by search."""

    def find(self, arg: str) -> Paper:
        """The paper an id or URL names; UserError when the bot has never seen it."""
        ...

    def search(self, text: str) -> SearchReply:
        """Answer /papers <text>."""
        ...

    def similar(self, paper: Paper) -> SearchReply:
        """The stored papers most like one paper, each with what they share."""
        ...

    async def fetch(self, arg: str) -> Paper:
        """The paper an id or URL names; one the bot has not seen is fetched from arXiv and
        stored. UserError when arXiv has no such paper or cannot be reached."""
        ...

    async def search_arxiv(self, text: str) -> SearchReply:
        """Answer /papers arxiv <text>: arXiv's own best matches, live."""
        ...

    async def by_id(self, ids: Sequence[str]) -> SearchReply:
        """Answer /papers <ids or links>: those papers, the unseen fetched from arXiv and
        stored; UserError when none could be had."""
        ...


class Bookmarks(Protocol):
    """A member's saved papers."""

    def saved(self, channel: Channel, user: str) -> Sequence[Paper]:
        """What the user saved in this workspace, newest first."""
        ...

    def save(self, channel: Channel, user: str, paper: Paper) -> bool:
        """Save a paper; False when it was saved already."""
        ...

    def unsave(self, channel: Channel, user: str, paper: Paper) -> bool:
        """Remove a saved paper; False when it was not saved."""
        ...


class Subscriptions(Protocol):
    """Channels' digest settings; saving one moves its schedule."""

    def get(self, channel: Channel) -> Subscription | None:
        """A channel's settings, or None when it has not subscribed."""
        ...

    def effective(self, channel: Channel) -> Subscription:
        """A channel's settings, or the defaults for a channel that has not subscribed."""
        ...

    def save(self, sub: Subscription) -> None:
        """Store a channel's settings."""
        ...

    def delete(self, channel: Channel) -> None:
        """Stop a channel's digests."""
        ...

    def resume(self, channel: Channel) -> bool:
        """Restart a paused channel's digests; True when it was paused."""
        ...

    async def announce(self, poster: ChatPoster, sub: Subscription, title: str, line: str) -> None:
        """Post a subscription change publicly in the channel; PostFailed when that fails."""
        ...


class DigestDesk(Protocol):
    """A channel's digest: what it posted today, what it would post, posting one now."""

    def local_day(self, channel: Channel) -> date:
        """Today in the channel's time zone."""
        ...

    def posted_on(self, channel: Channel, day: date) -> Sequence[Paper]:
        """The papers the channel's digest posted that day."""
        ...

    def preview(self, channel: Channel, day: date) -> Digest:
        """The digest the channel would get now; nothing is claimed or posted."""
        ...

    async def post_now(self, poster: ChatPoster, channel: Channel) -> str:
        """Post the digest here now (today's, or an extra one); one line on what happened."""
        ...


class ZoteroLibraries(Protocol):
    """Which Zotero group library a channel's saves go to."""

    @property
    def enabled(self) -> bool:
        """True when the operator configured a Zotero API key."""
        ...

    def library(self, channel: Channel) -> str | None:
        """The channel's group library, else the default one, else None."""
        ...

    def choose(self, channel: Channel, library: str | None) -> None:
        """Send this channel's saves to a group library (None: back to the default)."""
        ...


@dataclass(frozen=True, slots=True)
class Ports:
    """Everything a handler may ask for, each by its name as a keyword parameter."""

    papers: PaperLookup
    bookmarks: Bookmarks
    subscriptions: Subscriptions
    digests: DigestDesk
    clock: Clock
    zotero: ZoteroLibraries
