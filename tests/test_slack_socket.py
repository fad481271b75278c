"""Socket Mode: the same adapter over a websocket, with no public URL."""

from __future__ import annotations

import json
from pathlib import Path
from urllib.parse import parse_qsl

import pytest

from bot.config import ConfigError
from tests.conftest import make_paper
from tests.slack_fake import APP_TOKEN, visible_text
from tests.slack_harness import CHANNEL, slack_harness


async def test_slash_command_and_reaction_arrive_over_socket_mode(tmp_path: Path) -> None:
    async with slack_harness(tmp_path, slack_app_token=APP_TOKEN) as slack:
        assert slack.adapter.mode == "socket" and slack.adapter.connected
        slack.seed([make_paper("2508.00001", "Socket papers")])
        posted = (await slack.post_digest()).posted
        response_url = slack.fake.new_response_url(CHANNEL)
        command = dict(parse_qsl(slack.command_body("socket", "U1", response_url)))
        ack = await slack.fake.push(
            {
                "envelope_id": "e1",
                "type": "slash_commands",
                "accepts_response_payload": True,
                "payload": command,
            }
        )
        assert ack["envelope_id"] == "e1"
        reaction = json.loads(slack.reaction_body(posted[0].ref, "U1", True, "bookmark"))
        await slack.fake.push({"envelope_id": "e2", "type": "events_api", "payload": reaction})
        await slack.adapter.idle()
        assert "Socket papers" in visible_text(slack.fake.replies_to(response_url)[0])
        [mark] = slack.storage.activity.bookmarks(slack.channel.member("U1"))
        assert mark.paper.title == "Socket papers"
    assert not slack.adapter.connected


async def test_a_rejected_app_token_stops_start_up(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="SLACK_APP_TOKEN was rejected"):
        async with slack_harness(tmp_path, slack_app_token="xapp-1-revoked"):
            pass
