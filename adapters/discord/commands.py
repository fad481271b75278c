"""The /papers slash command group, built from the core's command registry, and the Share
and Save buttons. Options reach the core as typed values (an Invocation), never re-parsed text."""

from __future__ import annotations

import inspect
from typing import Any, Protocol

import discord
from discord import app_commands

from bot.commands import Command, Invocation, Registry
from bot.models import shorten

POSITIONAL = inspect.Parameter.POSITIONAL_OR_KEYWORD

SHARE_ID = "papers:share:"
SAVE_ID = "papers:save:"
AUTOCOMPLETE_MAX = 25
DESCRIPTION_MAX = 100  # Discord's limit for command and option descriptions


class CommandRunner(Protocol):
    """What the group needs from the adapter: run a core command, complete an option."""

    async def run_command(self, interaction: discord.Interaction, invocation: Invocation) -> None:
        """Answer one slash command through the core."""
        ...

    async def complete(
        self, interaction: discord.Interaction, command: str, option: str, current: str
    ) -> list[app_commands.Choice[str]]:
        """Suggestions for an option being typed."""
        ...

    async def share(self, interaction: discord.Interaction, paper_id: str) -> None:
        """Post a paper to the interaction's channel for the user who clicked Share."""
        ...

    async def save(self, interaction: discord.Interaction, paper_id: str) -> None:
        """Save a paper (a live arXiv result) for the user who clicked Save."""
        ...


def papers_group(registry: Registry, runner: CommandRunner) -> app_commands.Group:
    """`/papers <subcommand>`: one Discord subcommand per registered command, options typed."""
    group = app_commands.Group(
        name="papers",
        description="Trending research papers: search, save, daily digest",
        guild_only=True,
    )
    for command in registry:
        group.add_command(_subcommand(command, runner, group))
    return group


def _subcommand(
    command: Command, runner: CommandRunner, group: app_commands.Group
) -> app_commands.Command[Any, ..., None]:
    async def callback(interaction: discord.Interaction, **options: str | None) -> None:
        values = {name: value for name, value in options.items() if value}
        await runner.run_command(interaction, Invocation(command.name, values))

    # discord.py reads a command's options from its callback's signature: build one.
    params = [inspect.Parameter("interaction", POSITIONAL, annotation=discord.Interaction)]
    params += [
        inspect.Parameter(
            option.name,
            POSITIONAL,
            annotation=str if option.required else str | None,
            default=inspect.Parameter.empty if option.required else None,
        )
        for option in sorted(command.options, key=lambda o: not o.required)
    ]
    callback.__signature__ = inspect.Signature(params)  # type: ignore[attr-defined]
    described = app_commands.describe(
        **{option.name: shorten(option.description, DESCRIPTION_MAX) for option in command.options}
    )(callback)
    slash: app_commands.Command[Any, ..., None] = app_commands.Command(
        name=command.name,
        description=shorten(command.summary[:1].upper() + command.summary[1:], DESCRIPTION_MAX),
        callback=described,
        parent=group,
    )
    for option in command.options:
        if option.complete is not None:
            slash.autocomplete(option.name)(_completer(runner, command.name, option.name))
    return slash


def _completer(runner: CommandRunner, command: str, option: str) -> Any:
    async def complete(
        interaction: discord.Interaction, current: str
    ) -> list[app_commands.Choice[str]]:
        return await runner.complete(interaction, command, option, current)

    return complete


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


class SaveButton(
    discord.ui.DynamicItem[discord.ui.Button[Any]], template=r"^papers:save:(?P<paper>\S{1,80})$"
):
    """'Save' under a live arXiv result; like Share, it keeps working after a restart."""

    def __init__(self, paper_id: str, label: str = "Save") -> None:
        super().__init__(
            discord.ui.Button(
                label=label, style=discord.ButtonStyle.success, custom_id=SAVE_ID + paper_id
            )
        )
        self.paper_id = paper_id

    @classmethod
    async def from_custom_id(
        cls, interaction: discord.Interaction, item: discord.ui.Item[Any], match: Any, /
    ) -> SaveButton:
        """Rebuild the button from a click."""
        return cls(match["paper"])

    async def callback(self, interaction: discord.Interaction) -> None:
        """Save the paper for the user who clicked."""
        runner: CommandRunner = interaction.client.adapter  # type: ignore[attr-defined]
        await runner.save(interaction, self.paper_id)


def buttons_view(
    share_ids: tuple[str, ...], save_ids: tuple[str, ...] = ()
) -> discord.ui.View | None:
    """One Share button per search result, or one Save button per live arXiv result (labelled
    by number when there are several)."""
    button, verb, ids = (
        (SaveButton, "Save", save_ids) if save_ids else (ShareButton, "Share", share_ids)
    )
    usable = [pid for pid in ids if len(pid) <= 80 and " " not in pid][:AUTOCOMPLETE_MAX]
    if not usable:
        return None
    view = discord.ui.View(timeout=None)
    for number, paper_id in enumerate(usable, 1):
        if verb == "Save":
            label = "Save" if len(usable) == 1 else f"Save #{number}"
        else:
            label = "Share in channel" if len(usable) == 1 else f"Share #{number} in channel"
        view.add_item(button(paper_id, label))
    return view
