"""The docs match the code: every setting, command and /papers subcommand is documented."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from typer.main import get_command

from adapters import PLATFORMS
from bot.cli import app
from bot.commands import REGISTRY, SETTING_NAMES, help_entries
from bot.config import Settings

ROOT = Path(__file__).resolve().parent.parent
EVERY_SETTING = {
    name
    for model in (Settings, *(platform.settings for platform in PLATFORMS))
    for name in model.model_fields
}
README = (ROOT / "README.md").read_text()


def test_env_example_lists_every_setting_and_nothing_else() -> None:
    text = (ROOT / ".env.example").read_text()
    listed = set(re.findall(r"^([A-Z_]+)=", text, re.MULTILINE))
    assert listed == {name.upper() for name in EVERY_SETTING}


def test_env_example_copied_as_is_is_a_valid_env_file() -> None:
    example = ROOT / ".env.example"
    settings = Settings(_env_file=example)  # type: ignore[call-arg]
    assert settings.zotero_group_id is None and settings.database_url is None
    for platform in PLATFORMS:
        assert not platform.settings(_env_file=example).enabled, platform.name  # type: ignore[call-arg]


def test_readme_configuration_table_lists_every_setting() -> None:
    for name in EVERY_SETTING:
        assert f"| `{name.upper()}` |" in README, name


def test_every_subcommand_is_in_the_readme_and_in_help() -> None:
    helped = [usage for usage, _ in help_entries(REGISTRY)]
    for command in REGISTRY:
        assert f"| `{command.usage}` |" in README, command.usage
        assert command.usage in helped, command.name
    for setting in SETTING_NAMES:
        assert f"`{setting}`" in README, setting


def test_every_cli_command_is_in_the_readme() -> None:
    group = get_command(app)
    for name in group.commands:  # type: ignore[attr-defined]
        assert f"`papers-bot {name}" in README, name


def test_readme_names_the_two_setup_commands_and_ci_runs_the_test_one() -> None:
    assert "make demo" in README and "make test" in README
    assert "make test" in (ROOT / ".ci" / "run").read_text()


@pytest.mark.parametrize("name", ["manifest.yml", "manifest.http.yml"])
def test_the_slack_manifest_hint_is_the_registry(name: str) -> None:
    manifest = (ROOT / "adapters" / "slack" / name).read_text()
    assert f'usage_hint: "{REGISTRY.usage_hint()}"' in manifest
