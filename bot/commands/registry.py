"""The /papers command registry: each subcommand declared once, with its options and handler.

Everything a platform shows of a command comes from its declaration here: the text grammar
(`/papers save 2401.01234`), `/papers help`, the Discord command group, the Slack manifest's
usage hint and the README table. A new subcommand is one decorated function in `bot/commands/`;
no adapter changes.

A handler names the ports it needs as keyword parameters (`bookmarks`, `subscriptions`, …);
the registry checks the names when the command is declared and passes only those ports in.
"""

from __future__ import annotations

import inspect
import unicodedata
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field, fields
from typing import Any

from bot.commands.context import CommandContext, NotAllowed, Ports, UserError
from bot.replies import Reply

MAX_INPUT = 5000
PREFIX = "/papers"

Handler = Callable[..., Awaitable[Reply]]
Completer = Callable[..., Awaitable[list[tuple[str, str]]]]  # -> (label, value) choices
PORT_NAMES = frozenset(f.name for f in fields(Ports))


@dataclass(frozen=True, slots=True)
class Option:
    """One typed option of a subcommand. `rest` takes the remaining text (last option only)."""

    name: str
    description: str  # shown by Discord beside the option, at most 100 characters
    required: bool = False
    rest: bool = False
    placeholder: str = ""  # what help shows: <placeholder>; the name when empty
    asks: str = ""  # what a missing required value is called: "Give <asks>, e.g. …"
    example: str = ""  # a value for error messages: "e.g. /papers save 2401.01234"
    complete: Completer | None = None  # suggestions while typing, where a platform offers them
    manager_only: bool = False  # giving this option changes the channel: managers only

    @property
    def asked(self) -> str:
        """'<id>' whether or not the option is required, for a usage that gives it."""
        return f"<{self.placeholder or self.name}>"

    @property
    def shown(self) -> str:
        """'<id>' or '[topic]' as help and usage hints show it."""
        label = self.placeholder or self.name
        return f"<{label}>" if self.required else f"[{label}]"


@dataclass(frozen=True, slots=True)
class Invocation:
    """A subcommand and its option values, as an adapter hands it to the core."""

    name: str
    args: Mapping[str, str] = field(default_factory=dict)
    extra: str = ""  # typed text left over after the last option: refused, never dropped

    def arg(self, name: str) -> str:
        """An option's value made safe to handle (see clean_input); '' when not given."""
        return clean_input(self.args.get(name) or "")


@dataclass(frozen=True, slots=True)
class Command:
    """A declared subcommand."""

    name: str
    summary: str  # one line for help and the Discord command description
    options: tuple[Option, ...]
    handler: Handler
    ports: tuple[str, ...]  # the ports the handler takes, by name
    default: bool = False  # text that names no subcommand runs this one (search)
    manager_only: bool = False  # changes the channel: channel managers only (see CommandContext)

    @property
    def usage(self) -> str:
        """'/papers save <id>'; the default command shows only its options: '/papers <words>'."""
        parts = [PREFIX] if self.default else [PREFIX, self.name]
        return " ".join(parts + [option.shown for option in self.options])

    @property
    def hint(self) -> str:
        """The usage without '/papers ', for Slack's usage hint."""
        return self.usage.removeprefix(PREFIX).strip()

    @property
    def restriction(self) -> str:
        """What of the command needs a channel manager, as help shows it; '' when nothing."""
        if self.manager_only:
            return "channel managers only"
        guarded = next((o for o in self.options if o.manager_only), None)
        return f"{guarded.asked}: channel managers only" if guarded else ""

    def managed_usage(self, invocation: Invocation) -> str | None:
        """The usage this invocation needs a channel manager for ('/papers digest',
        '/papers settings <name> <value>'); None when anyone may run it."""
        if self.manager_only:
            return self.usage
        given = [i for i, o in enumerate(self.options) if o.manager_only and invocation.arg(o.name)]
        if not given:
            return None
        return " ".join([PREFIX, self.name, *(o.asked for o in self.options[given[0] :])])

    def option(self, name: str) -> Option:
        """The option called `name`."""
        return next(option for option in self.options if option.name == name)

    async def run(self, ctx: CommandContext, invocation: Invocation, ports: Ports) -> Reply:
        """Check the member's rights and the required options, then call the handler with the
        ports it asked for."""
        managed = self.managed_usage(invocation)
        if managed and not await ctx.may_manage():
            raise NotAllowed(f"Only {ctx.managers.who} can use {managed} in this channel.")
        for option in self.options:
            if option.required and not invocation.arg(option.name):
                what = option.asks or option.description
                example = f", e.g. {self.usage.split(' <')[0]} {option.example}"
                raise UserError(f"Give {what}{example if option.example else ''}.")
        if invocation.extra:
            raise UserError(
                f"“{invocation.extra}” is more than {self.usage} takes, so nothing was done: "
                f"give one {self.options[-1].asked} per command."
            )
        return await self.handler(ctx, invocation, **_chosen(self.ports, ports))


class Registry:
    """The subcommands of /papers, in the order help lists them."""

    def __init__(self) -> None:
        self.commands: dict[str, Command] = {}
        self._completer_ports: dict[Completer, tuple[str, ...]] = {}  # read at declaration

    def command(
        self,
        name: str,
        summary: str,
        *options: Option,
        default: bool = False,
        manager_only: bool = False,
    ) -> Callable[[Handler], Handler]:
        """Declare a subcommand: `@registry.command("saved", "the papers you saved")`;
        `manager_only=True` for one that changes the channel (or the option that does)."""

        def declare(handler: Handler) -> Handler:
            ports = _ports_of(handler)
            self.add(Command(name, summary, options, handler, ports, default, manager_only))
            return handler

        return declare

    def add(self, command: Command) -> None:
        """Register a declared command; checks its options and ports."""
        if command.name in self.commands:
            raise ValueError(f"/papers {command.name} is declared twice")
        if any(option.rest for option in command.options[:-1]):
            raise ValueError(f"/papers {command.name}: only the last option may take the rest")
        if command.default and any(c.default for c in self.commands.values()):
            raise ValueError("only one command can be the default")
        for option in command.options:
            if option.complete is not None:
                self._completer_ports[option.complete] = _ports_of(option.complete)
        self.commands[command.name] = command

    def remove(self, name: str) -> None:
        """Forget a command (tests declare throw-away ones)."""
        del self.commands[name]

    def __iter__(self) -> Any:
        return iter(self.commands.values())

    def __getitem__(self, name: str) -> Command:
        return self.commands[name]

    def get(self, name: str) -> Command | None:
        """The command called `name`, or None."""
        return self.commands.get(name)

    @property
    def default(self) -> Command:
        """The command bare text runs."""
        return next(command for command in self if command.default)

    def parse(self, text: str) -> Invocation:
        """'/papers settings time 8:30' -> settings(name='time', value='8:30'); any text that
        names no subcommand goes to the default command; empty text asks for help."""
        text = clean_input(text)
        if text.lower().startswith(PREFIX):
            text = text[len(PREFIX) :].strip()
        if not text:
            return Invocation("help")
        head, _, rest = text.partition(" ")
        command = self.commands.get(head.lower())
        if command is None:
            command, rest = self.default, text
        values, extra = split_options(command.options, rest.strip())
        # words after a command that takes none (`/papers help save`) change nothing it does
        return Invocation(command.name, values, extra if command.options else "")

    async def complete(
        self, command: str, option: str, ctx: CommandContext, current: str, ports: Ports
    ) -> list[tuple[str, str]]:
        """Suggestions for an option being typed, as (label, value); [] where it has none."""
        completer = self.commands[command].option(option).complete
        if completer is None:
            return []
        return await completer(ctx, current, **_chosen(self._completer_ports[completer], ports))

    def usage_hint(self) -> str:
        """Every command's usage, for Slack's manifest: '<words> | today | saved | …'."""
        return " | ".join(command.hint for command in self)


def split_options(options: tuple[Option, ...], text: str) -> tuple[dict[str, str], str]:
    """Text after a subcommand as option values: one word each, the rest to a `rest` option;
    and the text no option took."""
    values: dict[str, str] = {}
    for option in options:
        if not text:
            break
        if option.rest:
            values[option.name], text = text, ""
        else:
            word, _, text = text.partition(" ")
            values[option.name], text = word, text.strip()
    return values, text


def clean_input(text: str) -> str:
    """User text made safe to handle: control characters dropped, length capped, trimmed."""
    text = "".join(
        ch if ch in "\t\n" or unicodedata.category(ch)[0] != "C" else " " for ch in text[:MAX_INPUT]
    )
    return " ".join(text.split())


def _chosen(names: tuple[str, ...], ports: Ports) -> dict[str, Any]:
    """The ports a handler or completer asked for, by name."""
    return {name: getattr(ports, name) for name in names}


def _ports_of(handler: Handler | Completer) -> tuple[str, ...]:
    """The port names a handler takes after (ctx, invocation); unknown names fail at import."""
    names = tuple(inspect.signature(handler).parameters)[2:]
    unknown = [name for name in names if name not in PORT_NAMES]
    if unknown:
        raise TypeError(f"{handler.__name__} asks for unknown ports {unknown}; see Ports")
    return names
