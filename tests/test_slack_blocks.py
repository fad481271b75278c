"""Block Kit rendering stays within Slack's limits and escapes untrusted text, for any input."""

from __future__ import annotations

from datetime import date

import pytest

from adapters.slack.blocks import clip, escape, header_message, link, paper_message
from adapters.slack.replies import code_chunks, render_reply
from bot.bibtex import entries
from bot.models import Channel, Digest, DigestItem, Paper, Subscription
from bot.replies import (
    FileReply,
    HelpReply,
    PaperListReply,
    Reply,
    SearchHit,
    SearchReply,
    SettingsReply,
    TextReply,
)
from tests.conftest import make_paper
from tests.slack_fake import PING, block_kit_problem, mrkdwn_texts, visible_text

PING_TEXT = "<!channel> <!here> <!everyone> <@U123> <!subteam^S1|@team> &lt; "
CHANNEL = Channel("slack", "T1", "C1")

HOSTILE = [
    make_paper("2508.00001", PING_TEXT * 200, abstract=PING_TEXT * 500),
    make_paper("2508.00002", "&" * 3000, authors=tuple(f"<@U{i}> &" for i in range(5000))),
    make_paper("2508.00003", "x" * 20000, ai_summary="y" * 20000, keywords=("<!here>",) * 50),
    make_paper(
        "2508.00004",
        "Links",
        github_repo="javascript:alert(1)",
        project_page="https://ok.example/a|b>c",
        thumbnail="https://img.example/" + "z" * 5000,
    ),
    make_paper("2508.00005", "🔖" * 400, authors=("😀" * 3000,)),
    make_paper("weird/" + "9" * 3000, "An id longer than a button value"),
    make_paper("2508.00007", ""),
]


def assert_fits(message: dict[str, object]) -> None:
    assert block_kit_problem(message) is None
    assert [t for t in mrkdwn_texts(message) if PING.search(t)] == []


def as_payload(reply: Reply) -> dict[str, object]:
    message = render_reply(reply)
    return {"text": message.text, "blocks": message.blocks}


@pytest.mark.parametrize("paper", HOSTILE, ids=lambda p: p.id[:12])
def test_any_paper_renders_within_limits_and_pings_no_one(paper: Paper) -> None:
    message = paper_message(DigestItem(paper, "matches <!channel> " * 100))
    assert_fits({"text": message.text, "blocks": message.blocks})


def test_unsafe_links_are_dropped_and_safe_ones_kept() -> None:
    message = paper_message(DigestItem(HOSTILE[3], ""))
    texts = " ".join(mrkdwn_texts({"text": message.text, "blocks": message.blocks}))
    assert "javascript" not in texts and "ok.example" not in texts
    assert "accessory" not in message.blocks[0]  # a 5,000-character image URL is refused
    assert link("https://a.example/?x=1&y=<2>", "a|b") == "a|b"  # '<' cannot be in a URL
    assert link("https://a.example/?x=1&y=2", "R&D") == "<https://a.example/?x=1&amp;y=2|R&amp;D>"


def test_headers_fit_for_any_title() -> None:
    for title in ("x" * 1000, PING_TEXT * 20):
        digest = Digest(CHANNEL, date(2025, 8, 5), (), title=title, empty_reason=PING_TEXT * 300)
        message = header_message(digest, "bookmark")
        assert_fits({"text": message.text, "blocks": message.blocks})


def test_every_reply_type_fits_with_huge_hostile_input() -> None:
    many = tuple(make_paper(f"2508.{i:05d}", PING_TEXT * 3) for i in range(1000))
    snippet = tuple((PING_TEXT, i % 2 == 0) for i in range(400))
    replies: list[Reply] = [
        SearchReply(PING_TEXT * 100, tuple(SearchHit(p, 1.0, snippet) for p in HOSTILE * 10)),
        SearchReply("nothing", (), note=PING_TEXT * 300),
        PaperListReply(PING_TEXT * 100, many, ""),
        PaperListReply("Saved", (), PING_TEXT * 300),
        TextReply(PING_TEXT * 500, error=True),
        FileReply("papers.bib", entries(list(many) + HOSTILE), PING_TEXT),
        HelpReply(PING_TEXT * 10, tuple((PING_TEXT, PING_TEXT * 5) for _ in range(500)), PING_TEXT),
        SettingsReply(Subscription(CHANNEL, topics=(PING_TEXT * 40,) * 10), PING_TEXT * 300),
    ]
    for reply in replies:
        assert_fits(as_payload(reply))


def test_long_lists_say_how_many_were_left_out() -> None:
    many = tuple(make_paper(f"2508.{i:05d}", f"Paper number {i}") for i in range(1000))
    shown = visible_text(as_payload(PaperListReply("Your saved papers (1000)", many, "")))
    assert "Paper number 0 ·" in shown and "Paper number 99 ·" in shown
    assert "Paper number 100 ·" not in shown and "900 more not shown" in shown


def test_search_hits_are_capped_at_five_with_a_button_each() -> None:
    hits = tuple(SearchHit(make_paper(f"2508.{i:05d}"), 1.0) for i in range(9))
    blocks = render_reply(SearchReply("paper", hits)).blocks
    buttons = [b["elements"][0]["value"] for b in blocks if b["type"] == "actions"]
    assert buttons == [f"2508.{i:05d}" for i in range(5)]


def test_snippet_matches_are_bold_and_escaped() -> None:
    hit = SearchHit(make_paper("2508.00001"), 1.0, (("fast ", False), ("meta-RL <x>", True)))
    text = render_reply(SearchReply("meta-rl", (hit,))).blocks[1]["text"]["text"]
    assert "fast *meta-RL &lt;x&gt;*" in text


def test_escape_and_clip_never_leave_a_broken_entity_or_link() -> None:
    assert escape("a<b>&c") == "a&lt;b&gt;&amp;c"
    for limit in range(2, 30):
        cut = clip(escape("<<<&&&>>>" * 5), limit)
        assert len(cut) <= limit and not cut.rstrip("…").endswith(("&", "&l", "&lt", "&am"))
        cut = clip("see <https://example.org/long/path|the link> please", limit)
        assert cut.count("<") == cut.count(">")


def test_code_chunks_keep_every_character_and_respect_the_size() -> None:
    content = "@article{a,\n  author = {" + " and ".join(["<A&B>"] * 2000) + "},\n}\n```\n"
    chunks = code_chunks(content, 500)
    assert all(len(chunk) <= 500 for chunk in chunks)
    joined = "".join(chunks).replace("\n", "")
    assert joined == escape(content).replace("```", "`\u200b``").replace("\n", "")
