"""A channel's digest settings as /papers settings reads and shows them."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from bot.commands.context import UserError
from bot.models import Subscription, clock_time

DAY_NAMES = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


def _set_time(sub: Subscription, value: str) -> Subscription:
    post_time = clock_time(value)
    if post_time is None:
        raise UserError(f"“{value}” is not a time: use HH:MM, e.g. 09:00 or 17:30.")
    return replace(sub, post_time=post_time)


def _set_timezone(sub: Subscription, value: str) -> Subscription:
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError):
        zones = _zones_meant(value)
        if len(zones) == 1:  # `europe/berlin`, or a city only one zone is named after
            return replace(sub, timezone=zones[0])
        meant = f" ({' or '.join(zones[:3])}?)" if zones else ""
        raise UserError(
            f"“{value}” is not a time zone{meant}: use an IANA name like Europe/Berlin or "
            "Asia/Kolkata."
        ) from None
    return replace(sub, timezone=value)


def _zones_meant(typed: str) -> list[str]:
    """The zones `typed` names in other case (`utc`), else those of the city it names
    (`berlin`, `new york`)."""
    key = typed.strip().lower().replace(" ", "_")
    zones = sorted(available_timezones())
    return [z for z in zones if z.lower() == key] or [
        z for z in zones if z.lower().rsplit("/", 1)[-1] == key
    ]


def _bounded_int(name: str, low: int, high: int) -> Callable[[Subscription, str], Subscription]:
    def setter(sub: Subscription, value: str) -> Subscription:
        if not value.isdigit() or not low <= int(value) <= high:
            raise UserError(f"{name} takes a whole number from {low} to {high}.")
        changes: dict[str, Any] = {name: int(value)}
        return replace(sub, **changes)

    return setter


def parse_weekdays(value: str) -> tuple[int, ...]:
    """'mon-fri', 'mon,wed,fri', 'daily', 'weekdays', 'weekends' -> weekday numbers (0 = Monday)."""
    text = value.lower().replace(" ", "")
    named = {
        "daily": "mon-sun",
        "everyday": "mon-sun",
        "weekdays": "mon-fri",
        "weekends": "sat-sun",
    }
    text = named.get(text, text)
    days: set[int] = set()
    for part in filter(None, text.split(",")):
        first, _, last = part.partition("-")
        start, end = _day(first), _day(last or first)
        span = range(start, end + 1) if start <= end else [*range(start, 7), *range(0, end + 1)]
        days.update(span)
    if not days:
        raise UserError("weekdays takes days like mon-fri, mon,wed,fri, daily or weekends.")
    return tuple(sorted(days))


def _day(name: str) -> int:
    key = name[:3]
    if key not in DAY_NAMES:
        raise UserError(f"“{name}” is not a day: use mon, tue, wed, thu, fri, sat or sun.")
    return DAY_NAMES.index(key)


def _set_weekdays(sub: Subscription, value: str) -> Subscription:
    return replace(sub, weekdays=parse_weekdays(value))


def _set_empty(sub: Subscription, value: str) -> Subscription:
    choice = value.lower()
    if choice not in ("say", "skip"):
        raise UserError("empty takes say (post a short note) or skip (post nothing).")
    return replace(sub, skip_empty=choice == "skip")


def _set_roundup(sub: Subscription, value: str) -> Subscription:
    if value.lower() in ("off", "none", "no"):
        return replace(sub, roundup_weekday=None)
    return replace(sub, roundup_weekday=_day(value.lower()))


def _set_taste(sub: Subscription, value: str) -> Subscription:
    choice = value.lower()
    if choice not in ("on", "off"):
        raise UserError(
            "taste takes on (what this channel's members save shapes its picks) or off"
            " (trending and topics only)."
        )
    return replace(sub, taste=choice == "on")


SETTERS: dict[str, Callable[[Subscription, str], Subscription]] = {
    "time": _set_time,
    "timezone": _set_timezone,
    "tz": _set_timezone,
    "count": _bounded_int("count", 1, 20),
    "min_upvotes": _bounded_int("min_upvotes", 0, 10000),
    "weekdays": _set_weekdays,
    "days": _set_weekdays,
    "empty": _set_empty,
    "roundup": _set_roundup,
    "taste": _set_taste,
}
SETTING_NAMES = (
    "time",
    "timezone",
    "count",
    "min_upvotes",
    "weekdays",
    "empty",
    "roundup",
    "taste",
)


# A value each setting takes, for the reply to a name given without one
EXAMPLES = {
    "time": "08:30",
    "timezone": "Europe/Berlin",
    "tz": "Europe/Berlin",
    "count": "5",
    "min_upvotes": "10",
    "weekdays": "mon-fri",
    "days": "mon-fri",
    "empty": "skip",
    "roundup": "fri",
    "taste": "off",
}


def describe_subscription(sub: Subscription) -> list[tuple[str, str]]:
    """A channel's settings as (name, value) lines, for every adapter to render."""
    days = ",".join(DAY_NAMES[d] for d in sub.weekdays) or "never"
    roundup = "off" if sub.roundup_weekday is None else DAY_NAMES[sub.roundup_weekday]
    return [
        ("time", f"{sub.post_time} ({sub.timezone})"),
        ("weekdays", days),
        ("count", str(sub.count)),
        ("min_upvotes", str(sub.min_upvotes)),
        ("topics", ", ".join(sub.topics) or "all trending papers"),
        ("empty", "skip" if sub.skip_empty else "say"),
        ("roundup", roundup),
        ("taste", "on" if sub.taste else "off"),
    ]


def changed_settings(sub: Subscription, defaults: Subscription) -> list[str]:
    """The settings where `sub` differs from `defaults`, as "name value" phrases."""
    default = dict(describe_subscription(defaults))
    return [
        f"{name} {value}" for name, value in describe_subscription(sub) if value != default[name]
    ]


def schedule_line(sub: Subscription) -> str:
    """When and what the channel gets, as one line for its public subscribe confirmation."""
    days = ",".join(DAY_NAMES[d] for d in sub.weekdays) or "no day"
    topics = f" about {', '.join(sub.topics)}" if sub.topics else ""
    return (
        f"Up to {sub.count} trending papers{topics} at {sub.post_time} ({sub.timezone}) on"
        f" {days} · /papers settings changes that · /papers unsubscribe stops it"
    )


def change_setting(sub: Subscription, name: str, value: str) -> Subscription:
    """The subscription with one setting changed; UserError for an unknown name or bad value."""
    key = name.lower().replace("-", "_")
    if key in ("topic", "topics"):  # shown among the settings, changed by their own commands
        raise UserError(
            "Topics are followed with /papers subscribe <topic> and dropped with "
            "/papers unsubscribe <topic>."
        )
    setter = SETTERS.get(key)
    if setter is None:
        raise UserError(f"Unknown setting “{name}”. Settings: {', '.join(SETTING_NAMES)}.")
    if not value.strip():
        raise UserError(f"Give {key} a value, e.g. /papers settings {key} {EXAMPLES[key]}.")
    return setter(sub, value.strip())
