"""The terminal adapter: digests and /papers replies printed as they would appear in a channel."""

from __future__ import annotations

import itertools
import sys
from collections.abc import Callable, Iterator
from typing import Any

from rich.console import Console, Group, RenderableType
from rich.markup import escape
from rich.padding import Padding
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

from bot.commands import describe_subscription
from bot.models import Channel, Digest, DigestItem, MessageRef, Paper, short_authors
from bot.presentation import digest_header, no_matches, save_hint, search_heading
from bot.replies import (
    FileReply,
    HelpReply,
    PaperListReply,
    Reply,
    SearchReply,
    SettingsReply,
    Snippet,
    TextReply,
)

PLATFORM = "terminal"


def terminal_channel(name: str = "terminal") -> Channel:
    """The channel the terminal adapter posts to."""
    return Channel(PLATFORM, "local", name)


class TerminalAdapter:
    """Posts to a rich Console; message refs are sequence numbers."""

    platform = PLATFORM

    def __init__(self, console: Console | None = None) -> None:
        self.console = console or Console()
        self._ids = itertools.count(1)

    @property
    def connected(self) -> bool:
        """The terminal is always there."""
        return True

    async def start(self) -> None:
        """Nothing to connect."""

    async def stop(self) -> None:
        """Nothing to disconnect."""

    async def post_header(self, digest: Digest) -> MessageRef:
        """Print the digest's header line (or why there is nothing today)."""
        self.console.print()
        title, rest = digest_header(digest, "🔖")
        self.console.print(Text(f"📰 {title}", style="bold"))
        self.console.print(Text(rest, style="dim" if digest.items else "italic"))
        return self._ref(digest.channel)

    async def post_paper(self, digest: Digest, item: DigestItem) -> MessageRef:
        """Print one paper as its own message."""
        self.console.print(paper_panel(item.paper, item.why))
        return self._ref(digest.channel)

    def _ref(self, channel: Channel) -> MessageRef:
        return MessageRef(channel, str(next(self._ids)))

    def show(self, reply: Reply) -> None:
        """Print a /papers reply."""
        self.console.print(render(reply))

    async def print_digest(self, digest: Digest) -> None:
        """Print a whole digest: its header, then each paper."""
        await self.post_header(digest)
        for item in digest.items:
            await self.post_paper(digest, item)

    def typed_lines(self, interactive: bool) -> Iterator[str]:
        """The lines typed at a `/papers ` prompt until Ctrl-D, or stdin's lines when piped."""
        if not interactive:
            yield from sys.stdin
            return
        while True:
            try:
                yield input("/papers ")
            except EOFError:
                self.console.print()
                return


def paper_panel(paper: Paper, why: str = "", snippet: Snippet = ()) -> Panel:
    """One paper as a panel: title, authors, stats, summary, links."""
    body: list[RenderableType] = []
    if authors := short_authors(paper.authors):
        body.append(Text(authors, style="dim"))
    if why:  # the digest's reason already names the votes, comments and stars
        body.append(Text(why, style="cyan"))
    else:
        stats = [f"▲ {paper.upvotes}", f"💬 {paper.comments}"]
        if paper.github_stars:
            stats.append(f"★ {paper.github_stars}")
        body.append(Text("  ".join(stats), style="cyan"))
    body.append(snippet_text(snippet) if snippet else Text(paper.summary_line))
    links = (("Paper", paper.url), *paper.links)  # a panel title cannot be a link
    shown = [f"[link={escape(url)}]{name}[/link]" for name, url in links if url]
    if shown:
        body.append(Text.from_markup(" · ".join(shown), style="blue"))
    title = Text(paper.title, style="bold")
    return Panel(Group(*body), title=title, title_align="left", subtitle=paper.id, expand=True)


def snippet_text(snippet: Snippet) -> Text:
    """A search snippet with matched terms highlighted."""
    text = Text()
    for run, matched in snippet:
        text.append(run, style="bold yellow" if matched else "")
    return text


def _render_search(reply: SearchReply) -> RenderableType:
    parts: list[RenderableType] = []
    heading = reply.heading or search_heading(len(reply.hits), reply.query, reply.source)
    parts.append(Text(f"🔎 {heading}", style="bold"))
    if reply.note:
        parts.append(Text(reply.note, style="italic"))
    if reply.offers_more:
        parts.append(Text(no_matches(reply.query, reply.source)))
    parts += [paper_panel(hit.paper, snippet=hit.snippet) for hit in reply.hits]
    if reply.hits and reply.source == "arxiv":  # no buttons here: say how to save one
        parts.append(Text(save_hint([hit.paper.id for hit in reply.hits]), style="italic"))
    return Group(*parts)


def _render_list(reply: PaperListReply) -> RenderableType:
    if not reply.papers:
        return Group(Text(reply.heading, style="bold"), Text(reply.empty_text, style="italic"))
    return Group(Text(reply.heading, style="bold"), *(paper_panel(p) for p in reply.papers))


def _render_text(reply: TextReply) -> RenderableType:
    return Text(("⚠ " if reply.error else "") + reply.text, style="red" if reply.error else "")


def _render_file(reply: FileReply) -> RenderableType:
    return Group(
        Text(f"{reply.text} ({reply.filename}):", style="bold"), Padding(Text(reply.content), 1)
    )


def _render_help(reply: HelpReply) -> RenderableType:
    table = Table(show_header=False, box=None, padding=(0, 2))
    for syntax, meaning in reply.entries:
        table.add_row(Text(syntax, style="bold"), Text(meaning))
    return Group(Text(reply.title, style="bold underline"), table, Text(reply.footer, style="dim"))


def _render_settings(reply: SettingsReply) -> RenderableType:
    table = Table(show_header=False, box=None, padding=(0, 2))
    for name, value in describe_subscription(reply.subscription):
        table.add_row(Text(name, style="bold"), Text(value))
    heading = Text(reply.text or "Settings for this channel", style="bold")
    return Group(heading, table)


def render_status(report: dict[str, Any], db: object) -> RenderableType:
    """`papers-bot status`: the health snapshot as a line and two tables."""
    head = Text(f"papers-bot {report['version']} · {report['papers']} papers in {db}")
    if report["problems"]:
        head.append("\nDegraded: " + "; ".join(report["problems"]), style="bold yellow")
    sources = Table("source", "last fetch", "result", title="Sources", title_justify="left")
    for name, info in report["sources"].items():
        result = f"{info['seen']} papers, {info['new']} new" if info["ok"] else info["error"]
        sources.add_row(name, info["last_fetch"] or "never", result)
    channels = Table(
        "channel", "schedule", "next digest", "last digest", title="Channels", title_justify="left"
    )
    for info in report["channels"]:
        last = info["last_digest"]
        paused = info["paused"]
        channels.add_row(
            info["channel"],
            info["schedule"],
            f"paused since {paused['since']}" if paused else info["next_digest"] or "never",
            f"{last['day']} ({last['status']})" if last else "never",
        )
    return Group(
        head,
        sources if report["sources"] else Text("No fetch yet: papers-bot fetch"),
        channels if report["channels"] else Text("No channel subscribed yet: /papers subscribe"),
    )


RENDERERS: dict[type, Callable[..., RenderableType]] = {
    SearchReply: _render_search,
    PaperListReply: _render_list,
    TextReply: _render_text,
    FileReply: _render_file,
    HelpReply: _render_help,
    SettingsReply: _render_settings,
}


def render(reply: Reply) -> RenderableType:
    """Any reply as a rich renderable, its notice (if any) first."""
    shown = RENDERERS[type(reply)](reply)
    if not reply.notice:
        return shown
    return Group(Text(reply.notice, style="bold yellow"), shown)
