"""`papers-bot --help` and each command's: flags show no type, values show what they take."""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator

import pytest
import typer
from typer.testing import CliRunner

from bot.cli import app

COMMANDS = sorted(typer.main.get_command(app).commands)

# What each command's help must show beside its options and arguments.
METAVARS = {
    "": ["--db", "FILE|URL"],
    "ingest": ["FILE..."],
    "fetch": ["--date", "YYYY-MM-DD", "--source", "hf|arxiv"],
    "search": ["QUERY...", "--limit", " N "],
    "digest": ["--date", "YYYY-MM-DD", "--channel", "NAME"],
    "chat": ["--channel", "NAME"],
    "migrate": ["--from", "FILE", "--to", "URL"],
    "health": ["--timeout", "SECONDS"],
}

# A type label beside a flag reads as if the flag took a value (typer 0.29's `--json <bool>`);
# beside a value it says the Python type, not what to type; `{query}` is the parameter's name.
TYPE_LABEL = re.compile(r"<(bool|str|int|float|list)\W|\bTEXT\b|\bBOOLEAN\b|\{[a-z_]+\}")


@pytest.fixture(autouse=True)
def keep_logging() -> Iterator[None]:
    """The app's callback sets up logging for a run (root at ERROR): later tests keep theirs."""
    root = logging.getLogger()
    level, handlers = root.level, root.handlers[:]
    yield
    root.setLevel(level)
    root.handlers[:] = handlers


def help_of(command: str) -> str:
    args = [command, "--help"] if command else ["--help"]
    result = CliRunner().invoke(app, args, env={"COLUMNS": "100", "NO_COLOR": "1"})
    assert result.exit_code == 0, result.output
    return result.output


@pytest.mark.parametrize("command", ["", *COMMANDS])
def test_help_shows_no_type_labels(command: str) -> None:
    text = help_of(command)
    assert not [found.group() for found in TYPE_LABEL.finditer(text)], text


@pytest.mark.parametrize("command", sorted(METAVARS))
def test_help_names_what_each_value_takes(command: str) -> None:
    text = help_of(command)
    for shown in METAVARS[command]:
        assert shown in text, f"{shown!r} missing from:\n{text}"


def test_date_help_says_its_format_once() -> None:
    for command in ("fetch", "digest"):
        assert help_of(command).count("YYYY-MM-DD") == 1


def test_every_command_is_covered() -> None:
    without_values = {"embed", "status", "run", "discord-invite"}
    assert set(COMMANDS) == set(METAVARS) - {""} | without_values
