"""The /papers slash command group and the Share button, each a thin translation to the core.

Every subcommand turns its options back into the text a user would type after `/papers`, so
the core parses and answers it exactly as on every other platform.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Protocol

import discord
from discord import app_commands

from bot.commands import SETTING_NAMES, parse_command
from bot.models import Member, shorten

if TYPE_CHECKING:
    from bot.core import PapersBot

# Subcommand -> its options in the order the core reads them; mirrors bot.commands.HANDLERS.
SUBCOMMANDS: dict[str, tuple[str, ...]] = {
    "search": ("query",),
    "help": (),
    "today": (),
    "saved": (),
    "save": ("paper",),
    "unsave": ("paper",),
    "export": (),
    "subscribe": ("topic",),
    "unsubscribe": ("topic",),
    "settings": ("name", "value"),
    "digest": (),
}

SHARE_ID = "papers:share:"
AUTOCOMPLETE_MAX = 25


def command_text(subcommand: str, options: Mapping[str, str | None]) -> str:
    """The core text a slash command stands for: settings(time, 8:30) -> 'settings time 8:30'."""
    values = (str(options.get(name) or "").strip() for name in SUBCOMMANDS[subcommand])
    return " ".join([subcommand, *(value for value in values if value)])


def slash_command(text: str) -> tuple[str, dict[str, str]]:
    """The subcommand and options a user picks to send `text` ('meta-rl' -> search, query)."""
    command = parse_command(text)
    names = SUBCOMMANDS[command.name]
    if not names or not command.arg:
        return command.name, {}
    if len(names) == 1:
        return command.name, {names[0]: command.arg}
    first, _, rest = command.arg.partition(" ")
    options = {names[0]: first}
    if rest.strip():
        options[names[1]] = rest.strip()
    return command.name, options


class CommandRunner(Protocol):
    """What the group needs from the adapter: run a core command, reach the core."""

    bot: PapersBot

    async def run_command(
        self, interaction: discord.Interaction, subcommand: str, **options: str | None
    ) -> None:
        """Answer one slash command through the core."""
        ...

    async def share(self, interaction: discord.Interaction, paper_id: str) -> None:
        """Post a paper to the interaction's channel for the user who clicked Share."""
        ...


class PapersGroup(app_commands.Group):
    """`/papers <subcommand>`: one group whose subcommands mirror the core grammar."""

    def __init__(self, runner: CommandRunner) -> None:
        super().__init__(
            name="papers",
            description="Trending research papers: search, save, daily digest",
            guild_only=True,
        )
        self.runner = runner

    @app_commands.command(description="Search every paper the bot has seen")
    @app_commands.describe(query='words, "a phrase", -exclude, author:name, since:7d …')
    async def search(self, interaction: discord.Interaction, query: str) -> None:
        await self.runner.run_command(interaction, "search", query=query)

    @app_commands.command(description="How to use papers-bot")
    async def help(self, interaction: discord.Interaction) -> None:
        await self.runner.run_command(interaction, "help")

    @app_commands.command(description="This channel's picks for today")
    async def today(self, interaction: discord.Interaction) -> None:
        await self.runner.run_command(interaction, "today")

    @app_commands.command(description="The papers you saved with 🔖")
    async def saved(self, interaction: discord.Interaction) -> None:
        await self.runner.run_command(interaction, "saved")

    @app_commands.command(description="Save a paper by its arXiv id or link")
    @app_commands.describe(paper="arXiv id or link, e.g. 2401.01234")
    async def save(self, interaction: discord.Interaction, paper: str) -> None:
        await self.runner.run_command(interaction, "save", paper=paper)

    @app_commands.command(description="Remove a paper from your saved papers")
    @app_commands.describe(paper="arXiv id or link, e.g. 2401.01234")
    async def unsave(self, interaction: discord.Interaction, paper: str) -> None:
        await self.runner.run_command(interaction, "unsave", paper=paper)

    @unsave.autocomplete("paper")
    async def _saved_papers(
        self, interaction: discord.Interaction, current: str
    ) -> list[app_commands.Choice[str]]:
        activity = self.runner.bot.storage.activity
        member = Member("discord", str(interaction.guild_id), str(interaction.user.id))
        marks = activity.bookmarks(member)
        needle = current.lower()
        papers = [m.paper for m in marks]
        return [
            app_commands.Choice(name=shorten(f"{p.id} · {p.title}", 100), value=p.id)
            for p in papers
            if needle in p.id.lower() or needle in p.title.lower()
        ][:AUTOCOMPLETE_MAX]

    @app_commands.command(description="Your saved papers as a BibTeX file")
    async def export(self, interaction: discord.Interaction) -> None:
        await self.runner.run_command(interaction, "export")

    @app_commands.command(description="Start the daily digest here, or follow a topic")
    @app_commands.describe(topic="optional: a topic to follow, e.g. diffusion")
    async def subscribe(self, interaction: discord.Interaction, topic: str | None = None) -> None:
        await self.runner.run_command(interaction, "subscribe", topic=topic)

    @app_commands.command(description="Stop following a topic, or stop the digest")
    @app_commands.describe(topic="optional: the topic to stop following")
    async def unsubscribe(self, interaction: discord.Interaction, topic: str | None = None) -> None:
        await self.runner.run_command(interaction, "unsubscribe", topic=topic)

    @app_commands.command(description="Show or change this channel's digest settings")
    @app_commands.describe(name="the setting to change", value="its new value, e.g. 08:30")
    async def settings(
        self, interaction: discord.Interaction, name: str | None = None, value: str | None = None
    ) -> None:
        await self.runner.run_command(interaction, "settings", name=name, value=value)

    @settings.autocomplete("name")
    async def _setting_names(
        self, interaction: discord.Interaction, current: str
    ) -> list[app_commands.Choice[str]]:
        return [
            app_commands.Choice(name=name, value=name)
            for name in SETTING_NAMES
            if current.lower() in name
        ]

    @app_commands.command(description="Post the digest here now")
    async def digest(self, interaction: discord.Interaction) -> None:
        await self.runner.run_command(interaction, "digest")


class ShareButton(
    discord.ui.DynamicItem[discord.ui.Button[Any]], template=r"^papers:share:(?P<paper>\S{1,80})$"
):
    """'Share in channel' under a search result; its custom_id names the paper, so it keeps
    working after a restart."""

    def __init__(self, paper_id: str, label: str = "Share in channel") -> None:
        super().__init__(
            discord.ui.Button(
                label=label, style=discord.ButtonStyle.primary, custom_id=SHARE_ID + paper_id
            )
        )
        self.paper_id = paper_id

    @classmethod
    async def from_custom_id(
        cls, interaction: discord.Interaction, item: discord.ui.Item[Any], match: Any, /
    ) -> ShareButton:
        """Rebuild the button from a click."""
        return cls(match["paper"])

    async def callback(self, interaction: discord.Interaction) -> None:
        """Post the paper into the channel."""
        runner: CommandRunner = interaction.client.adapter  # type: ignore[attr-defined]
        await runner.share(interaction, self.paper_id)


def share_view(paper_ids: tuple[str, ...]) -> discord.ui.View | None:
    """One Share button per result (labelled by number when there are several)."""
    usable = [pid for pid in paper_ids if len(pid) <= 80 and " " not in pid][:AUTOCOMPLETE_MAX]
    if not usable:
        return None
    view = discord.ui.View(timeout=None)
    for number, paper_id in enumerate(usable, 1):
        label = "Share in channel" if len(usable) == 1 else f"Share #{number} in channel"
        view.add_item(ShareButton(paper_id, label))
    return view
