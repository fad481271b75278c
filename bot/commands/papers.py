"""The /papers subcommands, each declared once: name, options, help line and handler.

Add a subcommand here (or in a module imported by `bot/commands/__init__.py`) with
`@REGISTRY.command(...)`: the text grammar, help, Discord and the docs pick it up.
"""

from __future__ import annotations

from dataclasses import replace

from bot import bibtex, ris
from bot.commands.channel_settings import (
    SETTING_NAMES,
    change_setting,
    changed_settings,
    schedule_line,
)
from bot.commands.context import (
    Bookmarks,
    CommandContext,
    DigestDesk,
    PaperLookup,
    Subscriptions,
    UserError,
    ZoteroLibraries,
)
from bot.commands.registry import Invocation, Option, Registry
from bot.models import canonical_id, paper_references
from bot.replies import FileReply, HelpReply, PaperListReply, Reply, SettingsReply, TextReply
from bot.search import HELP_LINES
from bot.search import parse as parse_query
from bot.search.semantic import HELP_LINE as SEMANTIC_HELP_LINE

MAX_TOPICS = 10
ZOTERO = "zotero"  # the setting that picks a channel's Zotero group library
REGISTRY = Registry()
command = REGISTRY.command


async def _saved_choices(
    ctx: CommandContext, current: str, bookmarks: Bookmarks
) -> list[tuple[str, str]]:
    needle = current.lower()
    return [
        (f"{paper.id} · {paper.title}", paper.id)
        for paper in bookmarks.saved(ctx.channel, ctx.user)
        if needle in paper.id.lower() or needle in paper.title.lower()
    ]


async def _setting_choices(ctx: CommandContext, current: str) -> list[tuple[str, str]]:
    return [(name, name) for name in (*SETTING_NAMES, ZOTERO) if current.lower() in name]


PAPER = Option(
    "paper",
    "a paper's arXiv id or link",
    required=True,
    placeholder="id",
    example="2401.01234",
)
TOPIC = Option("topic", "a topic: words as in a search, e.g. diffusion", rest=True)


@command(
    "search",
    "search every paper the bot has seen (see the search syntax below)",
    Option(
        "query",
        'words, "a phrase", -exclude, author:name, since:2025-01, year:2024',
        required=True,
        rest=True,
        placeholder="words",
        asks="some words to search for",
        example="meta-rl",
    ),
    default=True,
)
async def search(ctx: CommandContext, call: Invocation, papers: PaperLookup) -> Reply:
    query = call.arg("query")
    if ids := paper_references(query):  # pasted ids or links: those papers, not their words
        return await papers.by_id(ids)
    return papers.search(query)


@command(
    "arxiv",
    "search all of arXiv live, and save from the results",
    Option(
        "query",
        'words, "a phrase", ti:title-word, au:surname, cat:cs.LG',
        required=True,
        rest=True,
        placeholder="words",
        asks="some words to search arXiv for",
        example="meta-rl",
    ),
)
async def arxiv(ctx: CommandContext, call: Invocation, papers: PaperLookup) -> Reply:
    return await papers.search_arxiv(call.arg("query"))


@command("today", "this channel's picks for today")
async def today(ctx: CommandContext, call: Invocation, digests: DigestDesk) -> Reply:
    day = digests.local_day(ctx.channel)
    posted = digests.posted_on(ctx.channel, day)
    if posted:
        return PaperListReply(f"Posted here today ({day:%a %d %b})", tuple(posted), "")
    digest = digests.preview(ctx.channel, day)
    return PaperListReply(
        f"Today's picks for this channel ({day:%a %d %b}), not posted yet",
        tuple(item.paper for item in digest.items),
        digest.empty_reason or "Nothing to pick today.",
    )


@command("like", "the papers most like one paper, and what they share", PAPER)
async def like(ctx: CommandContext, call: Invocation, papers: PaperLookup) -> Reply:
    paper = papers.find(call.arg("paper"))
    reply = papers.similar(paper)
    if not reply.hits:
        return TextReply(f"No other stored paper is like {paper.id} yet.", error=True)
    return reply


@command("saved", "the papers you saved with 🔖")
async def saved(ctx: CommandContext, call: Invocation, bookmarks: Bookmarks) -> Reply:
    papers = tuple(bookmarks.saved(ctx.channel, ctx.user))
    return PaperListReply(
        f"Your saved papers ({len(papers)})",
        papers,
        "You have not saved any paper yet. React with 🔖 to a paper message to save it.",
    )


@command("save", "save a paper by its arXiv id or link (any arXiv paper)", PAPER)
async def save(
    ctx: CommandContext, call: Invocation, papers: PaperLookup, bookmarks: Bookmarks
) -> Reply:
    paper = await papers.fetch(call.arg("paper"))
    state = "Saved" if bookmarks.save(ctx.channel, ctx.user, paper) else "Already saved"
    return TextReply(f"{state}: {paper.title} · /papers saved")


@command(
    "unsave",
    "remove a paper from your saved papers",
    replace(PAPER, complete=_saved_choices),
)
async def unsave(
    ctx: CommandContext, call: Invocation, papers: PaperLookup, bookmarks: Bookmarks
) -> Reply:
    paper = papers.find(call.arg("paper"))
    if not bookmarks.unsave(ctx.channel, ctx.user, paper):
        return TextReply(f"{paper.id} was not in your saved papers.", error=True)
    return TextReply(f"Removed from your saved papers: {paper.title}")


# format name -> (file name, what it is called, writer)
EXPORT_FORMATS = {
    "bibtex": ("papers.bib", "BibTeX", bibtex.entries),
    "ris": ("papers.ris", "RIS", ris.records),
}


async def _format_choices(ctx: CommandContext, current: str) -> list[tuple[str, str]]:
    return [(name, name) for name in EXPORT_FORMATS if name.startswith(current.lower())]


@command(
    "export",
    "your saved papers as a BibTeX file, or RIS (Zotero, EndNote, Mendeley)",
    Option(
        "format",
        "bibtex (the default) or ris",
        placeholder="ris",
        complete=_format_choices,
    ),
)
async def export(ctx: CommandContext, call: Invocation, bookmarks: Bookmarks) -> Reply:
    name = call.arg("format").lower() or "bibtex"
    if name not in EXPORT_FORMATS:
        raise UserError(f"I export bibtex or ris, not “{name}”: /papers export ris.")
    filename, label, write = EXPORT_FORMATS[name]
    papers = list(bookmarks.saved(ctx.channel, ctx.user))
    if not papers:
        return TextReply("Nothing to export yet: save papers with 🔖 first.", error=True)
    return FileReply(filename, write(papers), f"Your {len(papers)} saved paper(s) as {label}")


@command("subscribe", "start the daily digest here, or follow a topic", TOPIC, manager_only=True)
async def subscribe(ctx: CommandContext, call: Invocation, subscriptions: Subscriptions) -> Reply:
    existing = subscriptions.get(ctx.channel)
    sub = existing or subscriptions.effective(ctx.channel)
    paused = sub.paused is not None
    topic = call.arg("topic")
    same = followed(sub.topics, topic) if topic else None
    if topic and same is None:
        check_topic(topic)
        if len(sub.topics) >= MAX_TOPICS:
            raise UserError(f"A channel can follow at most {MAX_TOPICS} topics.")
        sub = replace(sub, topics=(*sub.topics, topic))
    elif topic and not paused:
        return SettingsReply(sub, f"Already following “{same}”.")
    elif existing and not paused:
        return SettingsReply(sub, "This channel already gets the daily digest.")
    said = f"Now following “{topic}”." if topic else "This channel now gets the daily digest."
    if paused and not topic:
        said = "The daily digest is back on in this channel."
    if ctx.poster is not None:  # said in the channel first: a bot that cannot post here says so
        await subscriptions.announce(ctx.poster, sub, said, schedule_line(sub))
    subscriptions.save(sub)
    subscriptions.resume(ctx.channel)
    return SettingsReply(replace(sub, paused=None), said)


def followed(topics: tuple[str, ...], topic: str) -> str | None:
    """The followed topic `topic` names, in any case (a search ignores case); None if none."""
    return next((t for t in topics if t.casefold() == topic.casefold()), None)


def check_topic(topic: str) -> None:
    """UserError for a topic that is no search (`-`, `author:`, `since:2025-13`): it would
    match nothing, every day."""
    query = parse_query(topic)
    if query.has_positive and not query.problems:
        return
    raise UserError(
        " ".join(
            [
                *query.problems,
                "Nothing followed: a topic is words to look for, as in a search, "
                "e.g. /papers subscribe diffusion models.",
            ]
        )
    )


@command(
    "unsubscribe",
    "stop following a topic, or stop the digest",
    replace(TOPIC, description="the topic to stop following; none stops the digest"),
    manager_only=True,
)
async def unsubscribe(ctx: CommandContext, call: Invocation, subscriptions: Subscriptions) -> Reply:
    sub = subscriptions.get(ctx.channel)
    if sub is None:
        return TextReply("This channel is not subscribed.", error=True)
    topic = call.arg("topic")
    if not topic:
        subscriptions.delete(ctx.channel)
        said = "This channel will no longer get the daily digest."
        # Deleting forgets the settings too: name those a new subscribe would not bring back
        removed = changed_settings(sub, subscriptions.effective(ctx.channel))
        if removed:
            said += (
                f" Its settings were removed with it ({'; '.join(removed)}):"
                " /papers subscribe starts again from the defaults."
            )
        return TextReply(said, ephemeral=False)
    same = followed(sub.topics, topic)
    if same is None:
        known = ", ".join(sub.topics) or "none"
        raise UserError(f"This channel does not follow “{topic}” (topics: {known}).")
    sub = replace(sub, topics=tuple(t for t in sub.topics if t != same))
    subscriptions.save(sub)
    said = f"No longer following “{same}”."
    if not sub.topics:
        said += " The daily digest goes on with all trending papers: /papers unsubscribe stops it."
    return SettingsReply(sub, said)


@command(
    "settings",
    "show or change: " + ", ".join(SETTING_NAMES) + "; zotero <group id> (where saves go)",
    Option("name", "the setting to change", complete=_setting_choices, manager_only=True),
    Option("value", "its new value, e.g. 08:30", rest=True),
)
async def settings(
    ctx: CommandContext,
    call: Invocation,
    subscriptions: Subscriptions,
    zotero: ZoteroLibraries,
) -> Reply:
    existing = subscriptions.get(ctx.channel)
    sub = existing or subscriptions.effective(ctx.channel)
    name = call.arg("name")
    if not name:
        note = "" if existing else "Not subscribed yet: /papers subscribe starts the daily digest."
        return SettingsReply(sub, note)
    if name.lower() == ZOTERO:
        return choose_zotero(ctx, call.arg("value"), zotero)
    if not existing:
        raise UserError(
            "This channel is not subscribed: /papers subscribe starts the daily digest, "
            "then its settings can be changed."
        )
    changed = change_setting(sub, name, call.arg("value"))
    subscriptions.save(changed)
    return SettingsReply(changed, f"Updated {name.lower()}.")


def choose_zotero(ctx: CommandContext, value: str, zotero: ZoteroLibraries) -> Reply:
    """`/papers settings zotero [<group id>|off]`: where this channel's saves are pushed."""
    if not zotero.enabled:
        raise UserError(
            "Zotero is not connected: the bot's operator sets ZOTERO_API_KEY (a key with write "
            "access to the group) in its settings. Never type a key in chat."
        )
    if value.lower() == "off":
        zotero.choose(ctx.channel, None)
        default = zotero.library(ctx.channel)
        if default:
            return TextReply(f"This channel's saves go to the default Zotero group {default}.")
        return TextReply("This channel's saves are no longer added to Zotero.")
    if value:
        if not value.isdigit():
            raise UserError(
                "Give the group's number, from its page: zotero.org/groups/<number>/… "
                "(an API key never goes in chat: it belongs in ZOTERO_API_KEY)."
            )
        zotero.choose(ctx.channel, value)
    library = zotero.library(ctx.channel)
    if library is None:
        return TextReply("No Zotero group for this channel: /papers settings zotero <group id>.")
    return TextReply(
        f"Every paper saved with 🔖 here is added to Zotero group {library}, once. "
        "Removing a 🔖 does not delete it from Zotero."
    )


@command("digest", "post the digest here now", manager_only=True)
async def digest(ctx: CommandContext, call: Invocation, digests: DigestDesk) -> Reply:
    if ctx.poster is None:
        raise UserError("Posting is not available here.")
    said = await digests.post_now(ctx.poster, ctx.channel)
    return TextReply(said[:1].upper() + said[1:] + ".")  # capitalize() would lower channel ids


@command("help", "this help")
async def help_(ctx: CommandContext, call: Invocation) -> Reply:
    return HelpReply(
        title="papers-bot: trending research papers in this channel",
        entries=help_entries(REGISTRY),
        footer="React with 🔖 to a paper message to save it; /papers saved lists what you saved."
        f"\n{SEMANTIC_HELP_LINE}",
    )


def help_entries(registry: Registry) -> tuple[tuple[str, str], ...]:
    """(usage, summary) for every command, saying which need a channel manager, then the
    search syntax."""
    commands = tuple(
        (c.usage, f"{c.summary} ({c.restriction})" if c.restriction else c.summary)
        for c in registry
    )
    return commands + tuple((f"/papers {syntax}", meaning) for syntax, meaning in HELP_LINES)


def paper_id_arg(arg: str) -> str:
    """The paper id in a command argument (an id, an arXiv, alphaXiv or HF URL)."""
    text = arg.strip().split(" ")[0] if arg.strip() else ""
    if not text:
        raise UserError("Give a paper's arXiv id or link, e.g. /papers save 2401.01234.")
    if linked := paper_references(text):
        return linked[0]
    return canonical_id(text.removeprefix("https://huggingface.co/papers/"))
