"""The /papers grammar: parsed once here, answered with platform-neutral replies."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from bot import bibtex
from bot.models import Channel, Subscription, canonical_id
from bot.ports import ChatPoster
from bot.replies import (
    FileReply,
    HelpReply,
    PaperListReply,
    Reply,
    SettingsReply,
    TextReply,
)
from bot.search import HELP_LINES

if TYPE_CHECKING:
    from bot.core import PapersBot

MAX_INPUT = 5000
MAX_TOPICS = 10
DAY_NAMES = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


class UserError(Exception):
    """A request the bot cannot do as asked; its message is shown to the user as is."""


@dataclass(frozen=True, slots=True)
class CommandContext:
    """Who asked, where, and how to post there (None where posting is not possible)."""

    channel: Channel
    user: str
    poster: ChatPoster | None = None


@dataclass(frozen=True, slots=True)
class Command:
    """A parsed /papers command: a subcommand name and the rest of the text."""

    name: str
    arg: str


def clean_input(text: str) -> str:
    """User text made safe to handle: control characters dropped, length capped, trimmed."""
    text = "".join(
        ch if ch in "\t\n" or unicodedata.category(ch)[0] != "C" else " " for ch in text[:MAX_INPUT]
    )
    return " ".join(text.split())


def parse_command(text: str) -> Command:
    """'/papers saved' -> Command('saved', ''); any text that is not a subcommand is a search."""
    text = clean_input(text)
    if text.lower().startswith("/papers"):
        text = text[len("/papers") :].strip()
    if not text:
        return Command("help", "")
    head, _, rest = text.partition(" ")
    name = head.lower()
    if name in HANDLERS:
        return Command(name, rest.strip())
    return Command("search", text)


Handler = Callable[["PapersBot", CommandContext, str], Awaitable[Reply]]


async def _help(bot: PapersBot, ctx: CommandContext, arg: str) -> Reply:
    return HelpReply(
        title="papers-bot: trending research papers in this channel",
        entries=COMMAND_HELP + tuple((f"/papers {s}", m) for s, m in HELP_LINES),
        footer="React with 🔖 to a paper message to save it; /papers saved lists what you saved.",
    )


async def _search(bot: PapersBot, ctx: CommandContext, arg: str) -> Reply:
    if not arg:
        return TextReply("Type some words to search for, e.g. /papers meta-rl", error=True)
    return bot.storage.search.search(arg, limit=bot.search_limit, now=bot.clock())


async def _today(bot: PapersBot, ctx: CommandContext, arg: str) -> Reply:
    sub = bot.subscription(ctx.channel)
    day = bot.local_day(sub)
    ids = bot.storage.ledger.papers_posted_on(ctx.channel, day)
    papers = bot.storage.papers.get_many(ids)
    posted = [papers[pid] for pid in ids if pid in papers]
    if posted:
        return PaperListReply(f"Posted here today ({day:%a %d %b})", tuple(posted), "")
    digest = bot.runner.preview(sub, day)
    return PaperListReply(
        f"Today's picks for this channel ({day:%a %d %b}), not posted yet",
        tuple(item.paper for item in digest.items),
        digest.empty_reason or "Nothing to pick today.",
    )


async def _saved(bot: PapersBot, ctx: CommandContext, arg: str) -> Reply:
    marks = bot.storage.activity.bookmarks(ctx.channel.member(ctx.user))
    return PaperListReply(
        f"Your saved papers ({len(marks)})",
        tuple(mark.paper for mark in marks),
        "You have not saved any paper yet. React with 🔖 to a paper message to save it.",
    )


async def _save(bot: PapersBot, ctx: CommandContext, arg: str) -> Reply:
    paper = bot.find_paper(arg)
    changed = bot.storage.activity.set_bookmark(
        ctx.channel.member(ctx.user), paper.id, True, bot.clock(), ctx.channel.channel
    )
    state = "Saved" if changed else "Already saved"
    return TextReply(f"{state}: {paper.title} · /papers saved")


async def _unsave(bot: PapersBot, ctx: CommandContext, arg: str) -> Reply:
    paper = bot.find_paper(arg)
    changed = bot.storage.activity.set_bookmark(
        ctx.channel.member(ctx.user), paper.id, False, bot.clock()
    )
    if not changed:
        return TextReply(f"{paper.id} was not in your saved papers.", error=True)
    return TextReply(f"Removed from your saved papers: {paper.title}")


async def _export(bot: PapersBot, ctx: CommandContext, arg: str) -> Reply:
    marks = bot.storage.activity.bookmarks(ctx.channel.member(ctx.user))
    if not marks:
        return TextReply("Nothing to export yet: save papers with 🔖 first.", error=True)
    content = bibtex.entries([mark.paper for mark in marks])
    return FileReply("papers.bib", content, f"Your {len(marks)} saved paper(s) as BibTeX")


async def _subscribe(bot: PapersBot, ctx: CommandContext, arg: str) -> Reply:
    existing = bot.storage.activity.get_subscription(ctx.channel)
    sub = existing or bot.subscription(ctx.channel)
    topic = arg.strip()
    if topic:
        if topic in sub.topics:
            return SettingsReply(sub, f"Already following “{topic}”.")
        if len(sub.topics) >= MAX_TOPICS:
            raise UserError(f"A channel can follow at most {MAX_TOPICS} topics.")
        sub = replace(sub, topics=(*sub.topics, topic))
    elif existing:
        return SettingsReply(sub, "This channel already gets the daily digest.")
    bot.save_subscription(sub)
    said = f"Now following “{topic}”." if topic else "This channel now gets the daily digest."
    return SettingsReply(sub, said)


async def _unsubscribe(bot: PapersBot, ctx: CommandContext, arg: str) -> Reply:
    sub = bot.storage.activity.get_subscription(ctx.channel)
    if sub is None:
        return TextReply("This channel is not subscribed.", error=True)
    topic = arg.strip()
    if not topic:
        bot.delete_subscription(ctx.channel)
        return TextReply("This channel will no longer get the daily digest.", ephemeral=False)
    if topic not in sub.topics:
        known = ", ".join(sub.topics) or "none"
        raise UserError(f"This channel does not follow “{topic}” (topics: {known}).")
    sub = replace(sub, topics=tuple(t for t in sub.topics if t != topic))
    bot.save_subscription(sub)
    return SettingsReply(sub, f"No longer following “{topic}”.")


async def _settings(bot: PapersBot, ctx: CommandContext, arg: str) -> Reply:
    existing = bot.storage.activity.get_subscription(ctx.channel)
    sub = existing or bot.subscription(ctx.channel)
    if not arg:
        note = "" if existing else "Not subscribed yet: /papers subscribe starts the daily digest."
        return SettingsReply(sub, note)
    key, _, value = arg.partition(" ")
    setter = SETTERS.get(key.lower().replace("-", "_"))
    if setter is None:
        raise UserError(f"Unknown setting “{key}”. Settings: {', '.join(SETTING_NAMES)}.")
    changed = setter(sub, value.strip())
    bot.save_subscription(changed)
    return SettingsReply(changed, f"Updated {key.lower()}.")


async def _digest(bot: PapersBot, ctx: CommandContext, arg: str) -> Reply:
    if ctx.poster is None:
        raise UserError("Posting is not available here.")
    outcome = await bot.post_digest_now(ctx.poster, ctx.channel)
    return TextReply(outcome.message.capitalize() + ".")


HANDLERS: dict[str, Handler] = {
    "help": _help,
    "search": _search,
    "today": _today,
    "saved": _saved,
    "save": _save,
    "unsave": _unsave,
    "export": _export,
    "subscribe": _subscribe,
    "unsubscribe": _unsubscribe,
    "settings": _settings,
    "digest": _digest,
}

COMMAND_HELP: tuple[tuple[str, str], ...] = (
    ("/papers <words>", "search every paper the bot has seen (see the search syntax below)"),
    ("/papers today", "this channel's picks for today"),
    ("/papers saved", "the papers you saved with 🔖"),
    ("/papers save <id>", "save a paper by its arXiv id"),
    ("/papers unsave <id>", "remove a paper from your saved list"),
    ("/papers export", "your saved papers as a BibTeX file"),
    ("/papers subscribe [topic]", "start the daily digest here, or follow a topic"),
    ("/papers unsubscribe [topic]", "stop following a topic, or stop the digest"),
    (
        "/papers settings [name value]",
        "show or change: time, timezone, count, min_upvotes, weekdays, empty, roundup",
    ),
    ("/papers digest", "post the digest here now"),
    ("/papers help", "this help"),
)


# -- settings --------------------------------------------------------------------------------


def _set_time(sub: Subscription, value: str) -> Subscription:
    match = re.fullmatch(r"([01]?\d|2[0-3])[:.h]?([0-5]\d)?", value.lower())
    if not match:
        raise UserError(f"“{value}” is not a time: use HH:MM, e.g. 09:00 or 17:30.")
    return replace(sub, post_time=f"{int(match[1]):02d}:{match[2] or '00'}")


def _set_timezone(sub: Subscription, value: str) -> Subscription:
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError):
        raise UserError(
            f"“{value}” is not a time zone: use an IANA name like Europe/Berlin or Asia/Kolkata."
        ) from None
    return replace(sub, timezone=value)


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
}
SETTING_NAMES = ("time", "timezone", "count", "min_upvotes", "weekdays", "empty", "roundup")


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
    ]


def paper_id_arg(arg: str) -> str:
    """The paper id in a command argument (an id, an arXiv or HF URL)."""
    text = arg.strip().split(" ")[0] if arg.strip() else ""
    if not text:
        raise UserError("Give a paper id, e.g. /papers unsave 2401.01234")
    return canonical_id(text.removeprefix("https://huggingface.co/papers/"))
