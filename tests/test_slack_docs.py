"""The Slack manifest and README agree with what the adapter does."""

from __future__ import annotations

import re
from pathlib import Path

from adapters.slack.app import SlackAdapter

HERE = Path(__file__).parent.parent / "adapters" / "slack"
MANIFEST = (HERE / "manifest.yml").read_text()
README = (HERE / "README.md").read_text()


def listed(after: str) -> list[str]:
    """The '- item' lines of the YAML list that follows a key."""
    block = MANIFEST.split(after, 1)[1]
    items = []
    for line in block.splitlines()[1:]:
        match = re.match(r"^\s+- (\S+)$", line)
        if not match:
            break
        items.append(match[1])
    return items


def test_every_scope_has_a_readme_line_saying_why() -> None:
    scopes = listed("    bot:")
    assert scopes == [
        "commands",
        "chat:write",
        "reactions:read",
        "reactions:write",
        "channels:history",
        "groups:history",
        "users:read",
    ]
    for scope in scopes:
        assert re.search(rf"^\| `{re.escape(scope)}` \| \w", README, re.M), scope


def test_manifest_has_the_command_reaction_events_interactivity_and_socket_mode() -> None:
    assert listed("    bot_events:") == ["reaction_added", "reaction_removed"]
    assert "command: /papers" in MANIFEST and "usage_hint:" in MANIFEST
    assert "socket_mode_enabled: true" in MANIFEST and "is_enabled: true" in MANIFEST


def test_readme_names_every_setting_the_adapter_reads() -> None:
    for name in (
        "SLACK_BOT_TOKEN",
        "SLACK_APP_TOKEN",
        "SLACK_SIGNING_SECRET",
        "SLACK_HTTP_HOST",
        "SLACK_HTTP_PORT",
        "SLACK_API_URL",
        "SEED_BOOKMARK_REACTION",
        "CONFIRM_BOOKMARKS",
        "BOOKMARK_EMOJI",
    ):
        assert name in README, name
    assert SlackAdapter.platform == "slack"
