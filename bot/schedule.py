"""When things run: digest and roundup triggers per channel, catch-up after downtime.

Pure functions of a subscription and a time, so DST days and far-away zones are easy to test.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from apscheduler.triggers.cron import CronTrigger

from bot.models import Channel, Subscription

DAY_ABBR = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
# arXiv announces new papers at 20:00 US Eastern, Sunday to Thursday; fetch half an hour later.
ARXIV_ANNOUNCE = CronTrigger(
    day_of_week="mon-thu,sun", hour=20, minute=30, timezone="America/New_York"
)


def job_id(kind: str, channel: Channel) -> str:
    """A stable scheduler job id, e.g. 'digest:slack:T1:C1'."""
    return f"{kind}:{channel.platform}:{channel.workspace}:{channel.channel}"


def _clock_time(sub: Subscription) -> time:
    hour, minute = sub.post_time.split(":")
    return time(int(hour), int(minute))


def digest_trigger(sub: Subscription) -> CronTrigger | None:
    """The channel's daily digest trigger, in its own zone; None when it has no weekdays."""
    if not sub.weekdays:
        return None
    at = _clock_time(sub)
    days = ",".join(DAY_ABBR[d] for d in sorted(sub.weekdays))
    return CronTrigger(
        day_of_week=days, hour=at.hour, minute=at.minute, timezone=ZoneInfo(sub.timezone)
    )


def roundup_trigger(sub: Subscription) -> CronTrigger | None:
    """The weekly roundup trigger: the roundup day, one hour after the daily digest time."""
    if sub.roundup_weekday is None:
        return None
    at = _clock_time(sub)
    moment = datetime.combine(date(2000, 1, 1), at) + timedelta(hours=1)
    weekday = (sub.roundup_weekday + (moment.day - 1)) % 7  # past midnight: the next day
    return CronTrigger(
        day_of_week=DAY_ABBR[weekday],
        hour=moment.hour,
        minute=moment.minute,
        timezone=ZoneInfo(sub.timezone),
    )


def next_digest(sub: Subscription, now: datetime) -> datetime | None:
    """When the channel's next digest is due."""
    trigger = digest_trigger(sub)
    return trigger.get_next_fire_time(None, now) if trigger else None


def last_due(sub: Subscription, now: datetime) -> datetime | None:
    """The most recent scheduled digest time at or before `now` (within the last week)."""
    zone = ZoneInfo(sub.timezone)
    local_now = now.astimezone(zone)
    at = _clock_time(sub)
    for back in range(8):
        day = local_now.date() - timedelta(days=back)
        if day.weekday() not in sub.weekdays:
            continue
        due = datetime.combine(day, at, tzinfo=zone)
        if due <= local_now:
            return due
    return None


@dataclass(frozen=True, slots=True)
class CatchUp:
    """What to do at start-up about a digest that was due while the bot was down."""

    action: str  # post | skip | none
    due: datetime | None
    reason: str


def catch_up(
    sub: Subscription,
    now: datetime,
    status_on: Callable[[date], str | None],
    grace: timedelta,
) -> CatchUp:
    """Decide whether a missed digest is posted late or skipped (and why).

    `status_on(local_day)` is the stored state of that day's digest: None (never started),
    'claimed' (started, not finished: the start-up sweep finishes it, see
    DigestRunner.settle), 'done' or 'abandoned'.
    """
    due = last_due(sub, now)
    if due is None:
        return CatchUp("none", None, "no digest was due in the last week")
    status = status_on(due.date())
    late = now - due
    if status in ("done", "abandoned"):
        return CatchUp("none", due, f"already {status}")
    if status == "claimed":
        return CatchUp("none", due, "interrupted: finished or abandoned at start-up")
    if late <= grace:
        return CatchUp("post", due, f"{_hours(late)} late, within the {_hours(grace)} grace window")
    return CatchUp(
        "skip", due, f"{_hours(late)} late, beyond the {_hours(grace)} grace window: skipped"
    )


def _hours(span: timedelta) -> str:
    hours = span.total_seconds() / 3600
    return f"{hours:.1f} h" if hours < 10 else f"{hours:.0f} h"
