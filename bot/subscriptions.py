"""Channels' digest settings: the defaults for a new channel, and telling the scheduler."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import date, datetime
from zoneinfo import ZoneInfo

from bot.config import Settings
from bot.models import Channel, Digest, DigestKind, Pause, Subscription
from bot.ports import ChatPoster, Clock, PostFailed
from bot.storage import ChannelActivity

log = logging.getLogger(__name__)

ScheduleListener = Callable[[Channel], None]


class SubscriptionBook:
    """The Subscriptions port: every change is stored, then the listeners are told."""

    def __init__(self, activity: ChannelActivity, settings: Settings, clock: Clock) -> None:
        self._activity = activity
        self._settings = settings
        self._clock = clock
        self._listeners: list[ScheduleListener] = []

    def get(self, channel: Channel) -> Subscription | None:
        """A channel's settings, or None when it has not subscribed."""
        return self._activity.get_subscription(channel)

    def effective(self, channel: Channel) -> Subscription:
        """A channel's settings, or the defaults for a channel that has not subscribed."""
        return self.get(channel) or Subscription(
            channel=channel,
            count=self._settings.digest_count,
            post_time=self._settings.digest_time,
            timezone=self._settings.digest_timezone,
        )

    def all(self) -> list[Subscription]:
        """Every subscribed channel."""
        return self._activity.subscriptions()

    def save(self, sub: Subscription) -> None:
        """Store a channel's settings and tell the scheduler."""
        self._activity.save_subscription(sub, self._clock())
        self._notify(sub.channel)

    def delete(self, channel: Channel) -> None:
        """Stop a channel's digests and tell the scheduler."""
        self._activity.delete_subscription(channel)
        self._notify(channel)

    def pause(self, channel: Channel, failure: PostFailed) -> bool:
        """Stop a channel's digests after a post failure retrying cannot fix; True when that
        paused it (False: not subscribed, or paused already)."""
        sub = self.get(channel)
        if sub is None or sub.paused is not None:
            return False
        self._activity.pause_subscription(
            channel, Pause(failure.reason, failure.said, self._clock())
        )
        self._notify(channel)
        return True

    def resume(self, channel: Channel) -> bool:
        """Restart a paused channel's digests (it was fixed); True when it was paused."""
        if not self._activity.resume_subscription(channel):
            return False
        log.info("digests for %s resumed", channel)
        self._notify(channel)
        return True

    async def announce(self, poster: ChatPoster, sub: Subscription, title: str, line: str) -> None:
        """Post a subscription change in the channel the way a digest header is posted, so a
        channel the bot cannot post in fails now (PostFailed) rather than at the first digest."""
        day = self.local_day(sub.channel)
        await poster.post_header(Digest(sub.channel, day, (), title, line, DigestKind.SHARE))

    def pause_workspace(self, platform: str, workspace: str, failure: PostFailed) -> list[Channel]:
        """Pause every channel of a workspace that removed the app (its settings are kept for
        a reinstall); the channels this paused."""
        return [
            sub.channel
            for sub in self._activity.subscriptions(platform)
            if sub.channel.workspace == workspace and self.pause(sub.channel, failure)
        ]

    def resume_workspace(self, platform: str, workspace: str, reason: str) -> list[Channel]:
        """Resume every channel of a workspace paused for `reason` (the app was removed, and
        is installed again); channels paused for another reason wait for their fix. The
        channels this resumed."""
        return [
            sub.channel
            for sub in self._activity.subscriptions(platform)
            if sub.channel.workspace == workspace
            and sub.paused is not None
            and sub.paused.reason == reason
            and self.resume(sub.channel)
        ]

    def local_day(self, channel: Channel, at: datetime | None = None) -> date:
        """The date in the channel's time zone."""
        zone = ZoneInfo(self.effective(channel).timezone)
        return (at or self._clock()).astimezone(zone).date()

    def on_change(self, listener: ScheduleListener) -> None:
        """Call `listener(channel)` whenever a channel's schedule may have changed."""
        self._listeners.append(listener)

    def _notify(self, channel: Channel) -> None:
        for listener in self._listeners:
            listener(channel)
