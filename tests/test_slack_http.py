"""The Slack adapter end to end: signed HTTP requests in, Web API calls out, the store between."""

from __future__ import annotations

import logging
import time
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path

import pytest

from bot.models import MessageRef
from tests.conftest import make_paper
from tests.slack_fake import BOT_USER, visible_text
from tests.slack_harness import CHANNEL, SlackHarness, slack_harness

META_RL = make_paper(
    "2508.01234",
    "Meta-RL agents that adapt in one episode",
    abstract="We study meta reinforcement learning for fast adaptation.",
    upvotes=40,
    comments=3,
    github_repo="https://github.com/example/meta-rl",
    thumbnail="https://cdn.example.org/thumb.png",
)
PAPERS = [META_RL, make_paper("2508.00002", upvotes=20), make_paper("2508.00003", upvotes=10)]


@pytest.fixture
async def slack(tmp_path: Path) -> AsyncIterator[SlackHarness]:
    async with slack_harness(tmp_path) as harness:
        harness.seed(PAPERS)
        yield harness


async def paper_messages(slack: SlackHarness) -> list[str]:
    """Post the digest; the ts of each paper message (the header left out)."""
    outcome = await slack.post_digest()
    assert outcome.status == "posted"
    return [ref.ref for ref in outcome.posted]


# -- signing ---------------------------------------------------------------------------------


async def test_forged_signature_and_stale_timestamp_get_401(slack: SlackHarness) -> None:
    body = slack.command_body("help", "U1", slack.fake.new_response_url(CHANNEL))
    form = "application/x-www-form-urlencoded"
    forged = await slack.send(body, form, secret="not-the-secret")
    stale = await slack.send(body, form, timestamp=int(time.time()) - 6 * 60)
    assert (forged.status, stale.status) == (401, 401)
    await slack.adapter.idle()
    assert slack.fake.responses == {"1": []}  # neither reached the bot


async def test_url_verification_is_answered_for_http_mode_setup(slack: SlackHarness) -> None:
    body = '{"token": "legacy", "challenge": "c-123", "type": "url_verification"}'
    response = await slack.send(body, "application/json")
    assert response.status == 200 and "c-123" in await response.text()


# -- the daily post --------------------------------------------------------------------------


async def test_digest_posts_header_then_one_message_per_paper_and_records_them(
    slack: SlackHarness,
) -> None:
    posted = await paper_messages(slack)
    messages = slack.fake.channel_messages(CHANNEL)
    assert len(messages) == 1 + len(PAPERS) == 1 + len(posted)
    assert "Trending papers" in visible_text(messages[0])
    first = messages[1]
    assert first.ts == posted[0]
    assert first.metadata == {
        "event_type": "papers_bot_paper",
        "event_payload": {"paper_id": META_RL.id},
    }
    shown = visible_text(first)
    for part in (META_RL.title, "Ada Lovelace, Alan Turing", "▲ 40", "💬 3", "meta reinforcement"):
        assert part in shown
    section = first.blocks[0]
    assert (
        f"<https://huggingface.co/papers/{META_RL.id}|{META_RL.title}>" in section["text"]["text"]
    )
    assert section["accessory"]["image_url"] == META_RL.thumbnail
    links = first.blocks[1]["elements"][0]["text"]
    assert "<https://arxiv.org/pdf/2508.01234|PDF>" in links
    assert "<https://github.com/example/meta-rl|Code>" in links
    for call in slack.fake.calls_to("chat.postMessage"):
        assert call.args["unfurl_links"] is False and call.args["unfurl_media"] is False
    for ref, paper in zip(posted, PAPERS, strict=True):
        assert slack.storage.ledger.paper_for_message(MessageRef(slack.channel, ref)) == paper.id
    assert [m.reactions for m in messages[1:]] == [[("bookmark", BOT_USER)]] * len(PAPERS)


async def test_title_with_channel_ping_is_escaped_everywhere(slack: SlackHarness) -> None:
    nasty = make_paper(
        "2508.06666",
        "Attention <!channel> & <@U123> <!here> &lt; <https://evil.example|click>",
        abstract="Ping <!everyone> and <!subteam^S1> please.",
        authors=("<@U999>", "Eve & <Mallory>"),
        upvotes=99,
    )
    slack.seed([nasty])
    posted = await paper_messages(slack)
    reply = await slack.command("attention")
    await slack.react(posted[0], "U1")
    assert slack.fake.pings() == []
    shown = dict(slack.channel_messages())[posted[0]]
    assert nasty.title in shown and "Eve & <Mallory>" in shown
    assert nasty.title in reply
    raw = slack.fake.channel_messages(CHANNEL)[1].blocks[0]["text"]["text"]
    assert "Attention &lt;!channel&gt; &amp; &lt;@U123&gt; &lt;!here&gt; &amp;lt;" in raw


async def test_a_search_reads_the_ampersand_slack_sends_as_an_entity(slack: SlackHarness) -> None:
    paper = make_paper("2508.07777", "R&D-Bench: agents that do R&D", abstract="Agents.")
    slack.seed([paper])
    shown = await slack.command("R&D agents")
    assert paper.title in shown and "R&D agents" in shown


async def test_a_429_is_waited_out_and_every_message_arrives_once(slack: SlackHarness) -> None:
    slack.fake.throttle("chat.postMessage", retry_after=0, times=2)
    await paper_messages(slack)
    assert len(slack.fake.calls_to("chat.postMessage", status=429)) == 2
    texts = [text for _, text in slack.channel_messages()]
    assert len(texts) == 1 + len(PAPERS)
    assert [sum(p.title in t for t in texts) for p in PAPERS] == [1] * len(PAPERS)


async def test_a_thumbnail_slack_cannot_fetch_does_not_lose_the_paper(slack: SlackHarness) -> None:
    slack.fake.refuse_images = True
    posted = await paper_messages(slack)
    assert len(posted) == len(PAPERS)
    assert "accessory" not in slack.fake.channel_messages(CHANNEL)[1].blocks[0]


async def test_find_posted_finds_our_paper_message_by_its_metadata(slack: SlackHarness) -> None:
    since = slack.now - timedelta(seconds=1)
    posted = await paper_messages(slack)
    found = await slack.adapter.find_posted(slack.channel, PAPERS[1].id, since)
    assert found == MessageRef(slack.channel, posted[1])
    assert await slack.adapter.find_posted(slack.channel, "2501.99999", since) is None
    later = since + timedelta(minutes=2)  # only messages after the digest started count
    assert await slack.adapter.find_posted(slack.channel, PAPERS[1].id, later) is None


# -- /papers ---------------------------------------------------------------------------------


async def test_search_is_acked_fast_and_answers_through_respond(slack: SlackHarness) -> None:
    response_url = slack.fake.new_response_url(CHANNEL)
    started = time.perf_counter()
    ack = await slack.send(
        slack.command_body("meta-rl", "U1", response_url), "application/x-www-form-urlencoded"
    )
    assert ack.status == 200 and time.perf_counter() - started < 3
    await slack.adapter.idle()
    [reply] = slack.fake.replies_to(response_url)
    assert reply["response_type"] == "ephemeral"
    shown = visible_text(reply)
    assert "meta-rl" in shown and META_RL.title in shown and "Share in channel" in shown
    buttons = [b for b in reply["blocks"] if b["type"] == "actions"]
    assert buttons[0]["elements"][0]["value"] == META_RL.id


async def test_every_subcommand_renders_within_block_kit_limits(slack: SlackHarness) -> None:
    await paper_messages(slack)
    await slack.react(slack.channel_messages()[1][0], "U1")
    for text in (
        "help",
        "today",
        "saved",
        "export",
        "subscribe",
        "subscribe diffusion",
        "settings",
        "settings time 10:30",
        "unsubscribe diffusion",
        "unsave 2508.01234",
        "save 2508.01234",
        "nonsense words",
        "",
        "settings colour blue",
        "unsubscribe",
    ):
        shown = await slack.command(text)
        assert shown.strip(), text
    assert all(c.status == 200 for c in slack.fake.calls)  # the fake refuses bad blocks


async def test_export_is_bibtex_in_a_private_code_block(slack: SlackHarness) -> None:
    await paper_messages(slack)
    await slack.react(slack.channel_messages()[1][0], "U1")
    response_url = slack.fake.new_response_url(CHANNEL)
    body = slack.command_body("export", "U1", response_url)
    await slack.send(body, "application/x-www-form-urlencoded")
    await slack.adapter.idle()
    [reply] = slack.fake.replies_to(response_url)
    assert reply["response_type"] == "ephemeral"
    code = reply["blocks"][1]["text"]["text"]
    assert code.startswith("```\n@") and "2508.01234" in code and code.endswith("\n```")


async def test_digest_command_posts_here(slack: SlackHarness) -> None:
    shown = await slack.command("digest")
    assert "Posted 3 papers" in shown
    assert len(slack.channel_messages()) == 1 + len(PAPERS)


async def test_a_failing_command_says_so_briefly_and_logs_the_traceback(
    slack: SlackHarness, caplog: pytest.LogCaptureFixture
) -> None:
    slack.storage.close()  # every store call now raises
    with caplog.at_level(logging.ERROR, logger="adapters.slack.app"):
        shown = await slack.command("saved")
    assert "went wrong" in shown and "Traceback" not in shown and len(shown) < 120
    assert any(r.exc_info for r in caplog.records)


async def test_digest_in_a_channel_without_the_bot_asks_for_an_invite(
    slack: SlackHarness,
) -> None:
    slack.fake.fail_next("chat.postMessage", "not_in_channel")
    shown = await slack.command("digest")
    assert "/invite @papers-bot" in shown


# -- Share in channel ------------------------------------------------------------------------


async def test_share_button_posts_the_paper_to_the_channel(slack: SlackHarness) -> None:
    replies = await slack.share(META_RL.id, user="U7")
    [(ts, text)] = slack.channel_messages()
    assert META_RL.title in text
    assert slack.storage.ledger.paper_for_message(MessageRef(slack.channel, ts)) == META_RL.id
    assert replies[0]["response_type"] == "ephemeral" and replies[0]["replace_original"] is False
    assert "Shared" in visible_text(replies[0])
    await slack.react(ts, "U7")  # a shared paper can be saved like any other
    assert "1" in await slack.command("saved", user="U7")


async def test_share_of_an_unknown_paper_answers_with_the_reason(slack: SlackHarness) -> None:
    replies = await slack.share("2501.99999")
    assert "have not seen" in visible_text(replies[0])
    assert slack.channel_messages() == []


# -- 🔖 reactions ----------------------------------------------------------------------------


def saved_ids(slack: SlackHarness, user: str) -> list[str]:
    return [b.paper.id for b in slack.storage.activity.bookmarks(slack.channel.member(user))]


async def test_bookmark_reaction_saves_once_and_removal_unsaves(slack: SlackHarness) -> None:
    posted = await paper_messages(slack)
    body = slack.reaction_body(posted[0], "U1", True, "bookmark", event_id="Ev0SAME")
    assert await slack.event(body) == 200
    retry = {"X-Slack-Retry-Num": "1", "X-Slack-Retry-Reason": "http_timeout"}
    assert await slack.event(body, headers=retry) == 200
    assert saved_ids(slack, "U1") == [META_RL.id]
    [confirmation] = slack.fake.ephemerals
    assert confirmation.ephemeral_to == "U1" and "Saved" in visible_text(confirmation)
    await slack.react(posted[0], "U1", added=False)
    assert saved_ids(slack, "U1") == []
    assert "Removed" in visible_text(slack.fake.ephemerals[-1])


async def test_reactions_that_are_not_bookmarks_on_our_papers_are_ignored(
    slack: SlackHarness,
) -> None:
    posted = await paper_messages(slack)
    header = slack.channel_messages()[0][0]
    await slack.react(posted[0], "U1", emoji="thumbsup")
    await slack.react(header, "U1")
    await slack.react("1700000000.000001", "U1")
    await slack.react(posted[0], BOT_USER)  # the bot's own seeded 🔖
    assert saved_ids(slack, "U1") == [] and saved_ids(slack, BOT_USER) == []
    assert slack.fake.ephemerals == []


async def test_confirmation_can_be_turned_off(tmp_path: Path) -> None:
    async with slack_harness(tmp_path, confirm_bookmarks=False, seed_bookmark_reaction=False) as h:
        h.seed(PAPERS)
        posted = await paper_messages(h)
        await h.react(posted[1], "U2")
        assert saved_ids(h, "U2") == [PAPERS[1].id]
        assert h.fake.ephemerals == [] and h.fake.calls_to("reactions.add") == []


# -- who may change a channel ----------------------------------------------------------------


async def refusal(slack: SlackHarness, text: str, user: str) -> dict[str, object]:
    response_url = slack.fake.new_response_url(CHANNEL)
    await slack.send(
        slack.command_body(text, user, response_url), "application/x-www-form-urlencoded"
    )
    await slack.adapter.idle()
    (reply,) = slack.fake.replies_to(response_url)
    return reply


async def test_a_member_who_is_not_an_admin_is_refused_privately(slack: SlackHarness) -> None:
    reply = await refusal(slack, "subscribe", "U2")
    assert reply["response_type"] == "ephemeral"
    assert visible_text(reply).endswith(
        "Only workspace admins and owners can use /papers subscribe [topic] in this channel."
    )
    assert slack.storage.activity.get_subscription(slack.channel) is None
    owner = "U9"
    slack.fake.owners.add(owner)
    assert "now gets the daily digest" in await slack.command("subscribe", owner)


async def test_admin_answers_are_cached_briefly(slack: SlackHarness) -> None:
    await slack.command("subscribe", "U1")
    await slack.command("settings count 3", "U1")
    await slack.command("settings", "U2")  # reading asks nobody
    assert [c.args["user"] for c in slack.fake.calls_to("users.info")] == ["U1"]


async def test_admin_user_ids_may_change_channels_without_users_info(tmp_path: Path) -> None:
    async with slack_harness(tmp_path, admin_user_ids=("U2",)) as slack:
        assert "now gets the daily digest" in await slack.command("subscribe", "U2")
        assert slack.fake.calls_to("users.info") == []
        said = visible_text(await refusal(slack, "unsubscribe", "U3"))
        assert "Only workspace admins, owners and the bot's listed admins can" in said


async def test_without_users_read_members_are_refused_and_the_log_says_what_to_add(
    slack: SlackHarness, caplog: pytest.LogCaptureFixture
) -> None:
    slack.fake.fail_next("users.info", "missing_scope")
    with caplog.at_level(logging.WARNING):
        said = visible_text(await refusal(slack, "digest", "U1"))
    assert "Only workspace admins and owners can use /papers digest" in said
    assert "users:read" in caplog.text and "Traceback" not in caplog.text
    assert slack.channel_messages() == []
