"""Discord rendering and the slash grammar: pure functions, no network."""

from __future__ import annotations

import random
from datetime import date

import pytest
from discord import app_commands

from adapters.discord.commands import papers_group
from adapters.discord.render import (
    DESCRIPTION_MAX,
    EMBED_TOTAL_MAX,
    FIELD_MAX,
    TITLE_MAX,
    escape,
    header_message,
    paper_embed,
    render_reply,
    tagged,
)
from bot.commands import REGISTRY, Invocation, Option, help_entries
from bot.models import Channel, Digest, Paper
from bot.replies import PaperListReply, Reply, SearchHit, SearchReply, TextReply
from tests.discord_payloads import show_markdown

NASTY = "@everyone <@123> **bold** _x_ [link](https://evil.example) `code` ||spoiler|| > quote ))("


PIECES = [NASTY, "é", "🔖", "\n", "  ", "\\", "word", "x" * 50, "<@&1>", "https://a.b/(c)"]


def wild_text(rng: random.Random, pieces: int) -> str:
    """Text of markdown, mentions, unicode and whitespace: about 20 characters a piece."""
    return "".join(rng.choices(PIECES, k=pieces))


def wild_paper(rng: random.Random) -> Paper:
    return Paper(
        id=rng.choice(["2401.01234", "x" * 300, "cs/0101001"]),
        title=wild_text(rng, rng.randint(0, 100)),
        abstract=wild_text(rng, rng.randint(0, 600)),
        ai_summary=rng.choice([None, wild_text(rng, 300)]),
        authors=tuple(wild_text(rng, 5) for _ in range(rng.randint(0, 60))),
        upvotes=rng.randint(0, 10**6),
        comments=rng.randint(0, 10**4),
        github_repo=rng.choice([None, "https://github.com/a/b", "javascript:alert(1)", "x" * 2000]),
        project_page=rng.choice([None, "https://p.example/a b", "https://p.example/(x)"]),
        thumbnail=rng.choice([None, "https://cdn.example/t.png", "not a url"]),
    )


def test_paper_embeds_stay_within_discord_limits_for_any_input() -> None:
    rng = random.Random(4)
    for _ in range(200):
        paper = wild_paper(rng)
        embed = paper_embed(paper, wild_text(rng, 300))
        assert len(embed.title or "") <= TITLE_MAX
        assert len(embed.description or "") <= DESCRIPTION_MAX
        assert len(embed.fields) <= 25
        assert all(len(f.value or "") <= FIELD_MAX for f in embed.fields)
        assert len(embed.footer.text or "") <= 2048
        assert len(embed) <= EMBED_TOTAL_MAX
        for url in (embed.url, embed.thumbnail.url):
            assert url is None or (url.startswith("https://") and " " not in url)


def test_paper_embed_shows_links_authors_votes_and_the_id_last_in_the_footer() -> None:
    paper = Paper(
        id="2401.01234",
        title="Meta-RL *fast*",
        abstract="We adapt.",
        authors=("A", "B", "C", "D", "E"),
        upvotes=42,
        comments=3,
        github_repo="https://github.com/a/b",
        project_page="https://a.example",
        thumbnail="https://cdn.example/t.png",
    )
    embed = paper_embed(paper, "42 upvotes")
    data = embed.to_dict()
    assert data["title"] == r"Meta-RL \*fast\*"
    assert data["url"] == "https://huggingface.co/papers/2401.01234"
    values = {f["name"]: f["value"] for f in data["fields"]}
    assert values["Authors"] == "A, B, C +2 more"
    assert (values["Upvotes"], values["Comments"]) == ("42", "3")
    assert show_markdown(values["Links"]) == "arXiv · PDF · Code · Project"
    assert "(https://arxiv.org/pdf/2401.01234)" in values["Links"]
    assert data["thumbnail"]["url"] == "https://cdn.example/t.png"
    assert data["footer"]["text"] == "42 upvotes · 2401.01234"


def test_reply_rendering_stays_within_limits_for_any_input() -> None:
    rng = random.Random(7)
    for _ in range(50):
        papers = tuple(wild_paper(rng) for _ in range(rng.randint(0, 60)))
        hits = tuple(
            SearchHit(p, 1.0, tuple((wild_text(rng, 30), rng.random() < 0.5) for _ in range(40)))
            for p in papers[:5]
        )
        for reply in (
            SearchReply(wild_text(rng, 600), hits, note=wild_text(rng, 100)),
            PaperListReply(wild_text(rng, 400), papers, wild_text(rng, 3000)),
            TextReply(wild_text(rng, 600), error=rng.random() < 0.5),
        ):
            rendered = render_reply(reply)
            assert len(rendered.content) <= 2000
            for embed in rendered.embeds:
                assert len(embed.title or "") <= TITLE_MAX
                assert len(embed.description or "") <= DESCRIPTION_MAX
                assert len(embed) <= EMBED_TOTAL_MAX


@pytest.mark.parametrize(
    ("raw", "escaped"),
    [
        ("**bold** _x_ `code` ||s||", r"\*\*bold\*\* \_x\_ \`code\` \|\|s\|\|"),
        ("[click](https://evil.example)", r"\[click\](https://evil.example)"),
        ("<@123> <@&9> @everyone", r"\<@123\> \<@&9\> @everyone"),
        ("# Heading", r"\# Heading"),
        ("1. not a list", r"1\. not a list"),
        ("code at https://github.com/a_b/c_d.", "code at https://github.com/a_b/c_d."),
    ],
)
def test_untrusted_text_is_shown_as_typed(raw: str, escaped: str) -> None:
    assert escape(raw) == escaped
    assert show_markdown(escaped) == raw


def test_search_snippets_mark_matches_in_bold_and_offer_share_buttons() -> None:
    paper = Paper(id="2401.01234", title="Fast Meta-RL")
    hit = SearchHit(paper, 1.0, (("we study ", False), ("meta-RL", True), (" in *games*", False)))
    rendered = render_reply(SearchReply("meta-rl", (hit,)))
    description = rendered.embeds[0].description or ""
    assert r"we study **meta-RL** in \*games\*" in description
    assert rendered.share_ids == ("2401.01234",)
    assert rendered.ephemeral


def test_header_counts_papers_or_says_why_it_is_empty() -> None:
    channel = Channel("discord", "1", "2")
    empty = Digest(channel, date(2025, 8, 5), (), "Trending papers · Tue", "Nothing new today.")
    (embed,) = header_message(empty).embeds
    assert (embed.title, embed.description) == ("📚 Trending papers · Tue", "Nothing new today.")
    assert embed.footer.text == "header:daily:2025-08-05"  # what a resume looks for
    assert tagged(embed, empty.header_key) and not tagged(embed, "header:daily:2025-08-06")


def test_the_slash_group_is_the_registry() -> None:
    group = papers_group(REGISTRY, runner=None)  # type: ignore[arg-type]
    for command in REGISTRY:
        slash = group.get_command(command.name)
        assert isinstance(slash, app_commands.Command), command.name
        assert [p.name for p in slash.parameters] == [
            o.name for o in sorted(command.options, key=lambda o: not o.required)
        ]
        for param in slash.parameters:
            option = command.option(param.name)
            assert param.required == option.required
            assert param.description == option.description[:100]
            assert param.autocomplete == (option.complete is not None)
        assert len(slash.description) <= 100


async def test_a_new_subcommand_needs_no_adapter_edit() -> None:
    async def echo(ctx: object, call: Invocation) -> Reply:
        return TextReply(f"echo {call.arg('words')}")

    REGISTRY.command("echo", "say it back", Option("words", "what to say", rest=True))(echo)
    try:
        assert REGISTRY.parse("echo hello there") == Invocation("echo", {"words": "hello there"})
        help_text = " ".join(usage for usage, _ in help_entries(REGISTRY))
        assert "/papers echo [words]" in help_text
        assert "echo [words]" in REGISTRY.usage_hint()
        group = papers_group(REGISTRY, runner=None)  # type: ignore[arg-type]
        slash = group.get_command("echo")
        assert isinstance(slash, app_commands.Command)
        assert [p.name for p in slash.parameters] == ["words"]
    finally:
        REGISTRY.remove("echo")
    assert "echo" not in REGISTRY.commands
