"""The /papers grammar, answered by the core as a conversation would go."""

from __future__ import annotations

from datetime import timedelta

import pytest

from bot.commands import REGISTRY, CommandContext, Invocation, help_entries, parse_weekdays
from bot.commands.channel_settings import EXAMPLES, SETTERS
from bot.core import PapersBot
from bot.models import Channel, Member, MessageRef, paper_references
from bot.replies import (
    FileReply,
    HelpReply,
    PaperListReply,
    Reply,
    SearchReply,
    SettingsReply,
    TextReply,
)
from bot.storage import Storage
from tests.conftest import FixedClock, RecordingPoster, make_paper


@pytest.fixture
def ctx(channel: Channel, poster: RecordingPoster) -> CommandContext:
    return CommandContext(channel, "U1", poster)


@pytest.fixture(autouse=True)
def papers(bot: PapersBot, storage: Storage) -> None:
    storage.papers.upsert(
        [
            make_paper(
                "2508.02751",
                "Meta-RL explorers for novel environments",
                upvotes=30,
                abstract="meta-reinforcement learning (meta-RL) agents explore.",
            ),
            make_paper("2508.00002", "Diffusion models for text-to-speech", upvotes=20),
            make_paper("2508.00003", "Sparse attention at scale", upvotes=10),
        ],
        bot.clock(),
    )


async def say(bot: PapersBot, ctx: CommandContext, text: str) -> Reply:
    return await bot.answer_text(text, ctx)


def test_parse_routes_subcommands_and_everything_else_to_search() -> None:
    parse = REGISTRY.parse
    assert parse("/papers saved") == parse("SAVED") == Invocation("saved")
    assert parse("meta-rl") == Invocation("search", {"query": "meta-rl"})
    assert parse("search meta-rl") == Invocation("search", {"query": "meta-rl"})
    assert parse("settings time 08:30") == Invocation(
        "settings", {"name": "time", "value": "08:30"}
    )
    assert parse("settings weekdays mon, wed").args["value"] == "mon, wed"
    assert parse("subscribe diffusion models").args == {"topic": "diffusion models"}
    assert parse("save 2401.01234 extra words").args == {"paper": "2401.01234"}
    assert parse("save 2401.01234 extra words").extra == "extra words"
    assert parse("help save").extra == ""  # help takes nothing: the words change nothing
    assert parse("").name == "help"
    assert parse("   \x00\x01  ").name == "help"
    assert parse("x" * 20000).args["query"] == "x" * 5000


@pytest.mark.parametrize(
    "text",
    [
        "meta-rl",
        '"',
        'C++ "unbalanced',
        "NOT",
        "AND OR NOT",
        "🔖🔖",
        "x" * 5000,
        "-",
        "*",
        "(",
        "title:",
        "a\x00b",
        "unsave",
        "unsave nonsense",
        "settings",
        "settings bogus 1",
        "settings time 25:00",
        "settings timezone Mars/Base",
        "settings count 0",
        "settings weekdays someday",
        "unsubscribe",
        "export",
        "today",
        "saved",
    ],
)
async def test_any_input_gets_a_reply_never_an_exception(
    bot: PapersBot, ctx: CommandContext, text: str
) -> None:
    reply = await say(bot, ctx, text)
    assert isinstance(
        reply, SearchReply | TextReply | HelpReply | SettingsReply | PaperListReply | FileReply
    )


async def test_search_finds_meta_rl(bot: PapersBot, ctx: CommandContext) -> None:
    reply = await say(bot, ctx, "meta-rl")
    assert isinstance(reply, SearchReply)
    assert reply.hits[0].paper.id == "2508.02751"


async def test_help_lists_every_subcommand(bot: PapersBot, ctx: CommandContext) -> None:
    reply = await say(bot, ctx, "help")
    assert isinstance(reply, HelpReply)
    syntax = " ".join(s for s, _ in reply.entries)
    for command in REGISTRY:
        assert command.usage in syntax
    assert "author:" in syntax and "-" in syntax
    assert len(reply.entries) > len(REGISTRY.commands)


@pytest.mark.parametrize(
    ("text", "said"),
    [
        ("save", "Give a paper's arXiv id or link, e.g. /papers save 2401.01234."),
        ("unsave", "Give a paper's arXiv id or link, e.g. /papers unsave 2401.01234."),
        ("search", "Give some words to search for, e.g. /papers meta-rl."),
    ],
)
async def test_a_missing_required_option_says_what_to_give(
    bot: PapersBot, ctx: CommandContext, text: str, said: str
) -> None:
    reply = await say(bot, ctx, text)
    assert reply == TextReply(said, error=True)


async def test_save_list_unsave_export(bot: PapersBot, ctx: CommandContext) -> None:
    empty = await say(bot, ctx, "saved")
    assert isinstance(empty, PaperListReply) and not empty.papers and "🔖" in empty.empty_text
    assert isinstance(await say(bot, ctx, "export"), TextReply)
    saved = await say(bot, ctx, "save https://arxiv.org/abs/2508.02751v2")
    assert isinstance(saved, TextReply) and saved.text.startswith("Saved:")
    listed = await say(bot, ctx, "saved")
    assert isinstance(listed, PaperListReply)
    assert [p.id for p in listed.papers] == ["2508.02751"]
    export = await say(bot, ctx, "export")
    assert isinstance(export, FileReply) and export.filename == "papers.bib"
    assert "eprint = {2508.02751}" in export.content
    gone = await say(bot, ctx, "unsave 2508.02751")
    assert isinstance(gone, TextReply) and not gone.error
    again = await say(bot, ctx, "unsave 2508.02751")
    assert isinstance(again, TextReply) and again.error
    unknown = await say(bot, ctx, "unsave 9999.99999")
    assert isinstance(unknown, TextReply) and "have not seen" in unknown.text


async def test_two_ids_to_save_are_refused_whole_not_one_dropped(
    bot: PapersBot, ctx: CommandContext
) -> None:
    reply = await say(bot, ctx, "/papers save 2508.02751 2508.00002")
    assert reply == TextReply(
        "“2508.00002” is more than /papers save <id> takes, so nothing was done: "
        "give one <id> per command.",
        error=True,
    )
    listed = await say(bot, ctx, "saved")
    assert isinstance(listed, PaperListReply) and not listed.papers
    assert isinstance(await say(bot, ctx, "/papers help save"), HelpReply)


async def test_subscribe_topics_and_unsubscribe(
    bot: PapersBot, storage: Storage, ctx: CommandContext
) -> None:
    changed: list[Channel] = []
    bot.on_schedule_change(changed.append)
    reply = await say(bot, ctx, "subscribe")
    assert isinstance(reply, SettingsReply) and "daily digest" in reply.text
    await say(bot, ctx, "subscribe diffusion")
    await say(bot, ctx, "subscribe meta-rl")
    sub = storage.activity.get_subscription(ctx.channel)
    assert sub is not None and sub.topics == ("diffusion", "meta-rl")
    await say(bot, ctx, "unsubscribe diffusion")
    assert storage.activity.get_subscription(ctx.channel).topics == ("meta-rl",)  # type: ignore[union-attr]
    missing = await say(bot, ctx, "unsubscribe quantum")
    assert isinstance(missing, TextReply) and missing.error and "meta-rl" in missing.text
    await say(bot, ctx, "unsubscribe")
    assert storage.activity.get_subscription(ctx.channel) is None
    assert changed == [ctx.channel] * 5


async def test_a_topic_is_the_same_topic_in_any_case(
    bot: PapersBot, storage: Storage, ctx: CommandContext
) -> None:
    await say(bot, ctx, "subscribe Diffusion Models")
    again = await say(bot, ctx, "subscribe diffusion models")
    assert (
        isinstance(again, SettingsReply) and again.text == "Already following “Diffusion Models”."
    )
    gone = await say(bot, ctx, "unsubscribe DIFFUSION models")
    assert isinstance(gone, SettingsReply)
    assert gone.text.startswith("No longer following “Diffusion Models”.")
    assert storage.activity.get_subscription(ctx.channel).topics == ()  # type: ignore[union-attr]


async def test_dropping_the_last_topic_keeps_the_digest_and_its_settings(
    bot: PapersBot, storage: Storage, ctx: CommandContext
) -> None:
    for text in ("subscribe diffusion", "settings time 08:30", "settings taste off"):
        await say(bot, ctx, text)
    gone = await say(bot, ctx, "unsubscribe diffusion")
    assert isinstance(gone, SettingsReply)
    assert gone.text == (
        "No longer following “diffusion”. The daily digest goes on with all trending papers: "
        "/papers unsubscribe stops it."
    )
    sub = storage.activity.get_subscription(ctx.channel)
    assert sub is not None and sub.topics == () and sub.post_time == "08:30" and not sub.taste


async def test_unsubscribing_names_the_settings_it_removes(
    bot: PapersBot, storage: Storage, ctx: CommandContext
) -> None:
    for text in (
        "subscribe diffusion",
        "subscribe agents",
        "settings time 08:30",
        "settings timezone Europe/Berlin",
        "settings count 3",
        "settings taste off",
    ):
        await say(bot, ctx, text)
    stopped = await say(bot, ctx, "unsubscribe")
    assert stopped == TextReply(
        "This channel will no longer get the daily digest. Its settings were removed with it "
        "(time 08:30 (Europe/Berlin); count 3; topics diffusion, agents; taste off): "
        "/papers subscribe starts again from the defaults.",
        ephemeral=False,
    )
    assert storage.activity.get_subscription(ctx.channel) is None
    again = await say(bot, ctx, "subscribe")
    assert isinstance(again, SettingsReply) and again.subscription.post_time == "09:00"
    plain = await say(bot, ctx, "unsubscribe")  # nothing but defaults: nothing to name
    assert plain == TextReply("This channel will no longer get the daily digest.", ephemeral=False)


@pytest.mark.parametrize(
    ("topic", "said"),
    [
        ("-", ""),
        ("-survey", ""),
        ("author:", "author: needs a name"),
        ("diffusion since:2025-13", "since:2025-13 is not a date"),
    ],
)
async def test_a_topic_that_is_no_search_is_not_followed(
    bot: PapersBot, storage: Storage, ctx: CommandContext, topic: str, said: str
) -> None:
    reply = await say(bot, ctx, f"subscribe {topic}")
    assert isinstance(reply, TextReply) and reply.error, reply
    assert said in reply.text and "Nothing followed" in reply.text
    assert storage.activity.get_subscription(ctx.channel) is None


async def test_settings_show_and_change(
    bot: PapersBot, storage: Storage, ctx: CommandContext
) -> None:
    shown = await say(bot, ctx, "settings")
    assert isinstance(shown, SettingsReply) and "Not subscribed" in shown.text
    refused = await say(bot, ctx, "settings time 7:05")
    assert isinstance(refused, TextReply) and refused.error
    assert "not subscribed" in refused.text and "/papers subscribe" in refused.text
    assert storage.activity.get_subscription(ctx.channel) is None  # not silently subscribed
    await say(bot, ctx, "subscribe")
    for text in (
        "settings time 7:05",
        "settings timezone Asia/Kolkata",
        "settings count 8",
        "settings min-upvotes 12",
        "settings weekdays mon,wed,fri",
        "settings empty skip",
        "settings roundup off",
    ):
        reply = await say(bot, ctx, text)
        assert isinstance(reply, SettingsReply), (text, reply)
    sub = storage.activity.get_subscription(ctx.channel)
    assert sub is not None
    assert (sub.post_time, sub.timezone, sub.count, sub.min_upvotes) == (
        "07:05",
        "Asia/Kolkata",
        8,
        12,
    )
    assert sub.weekdays == (0, 2, 4) and sub.skip_empty and sub.roundup_weekday is None
    bad = await say(bot, ctx, "settings timezone Mars/Base")
    assert isinstance(bad, TextReply) and "IANA" in bad.text


@pytest.mark.parametrize(
    ("text", "said"),
    [
        ("settings time", "Give time a value, e.g. /papers settings time 08:30."),
        ("settings TZ", "Give tz a value, e.g. /papers settings tz Europe/Berlin."),
        ("settings count", "Give count a value, e.g. /papers settings count 5."),
        (
            "settings topics diffusion",
            "Topics are followed with /papers subscribe <topic> and dropped with "
            "/papers unsubscribe <topic>.",
        ),
    ],
)
async def test_a_setting_without_a_value_or_a_topic_says_how(
    bot: PapersBot, storage: Storage, ctx: CommandContext, text: str, said: str
) -> None:
    await say(bot, ctx, "subscribe")
    before = storage.activity.get_subscription(ctx.channel)
    assert await say(bot, ctx, text) == TextReply(said, error=True)
    assert storage.activity.get_subscription(ctx.channel) == before


@pytest.mark.parametrize(
    ("typed", "zone"),
    [
        ("europe/berlin", "Europe/Berlin"),
        ("Berlin", "Europe/Berlin"),
        ("new york", "America/New_York"),
    ],
)
async def test_a_time_zone_in_other_case_or_by_its_city_is_understood(
    bot: PapersBot, storage: Storage, ctx: CommandContext, typed: str, zone: str
) -> None:
    await say(bot, ctx, "subscribe")
    reply = await say(bot, ctx, f"settings timezone {typed}")
    assert isinstance(reply, SettingsReply), reply
    assert storage.activity.get_subscription(ctx.channel).timezone == zone  # type: ignore[union-attr]
    bad = await say(bot, ctx, "settings timezone Mars/Base")
    assert isinstance(bad, TextReply) and bad.error and "Mars/Base" in bad.text


def test_every_setting_has_an_example_value() -> None:
    assert set(EXAMPLES) == set(SETTERS)


@pytest.mark.parametrize(
    ("text", "ids"),
    [
        ("2501.12948v2", ["2501.12948"]),
        ("arXiv:2501.12948", ["2501.12948"]),
        ("https://arxiv.org/abs/2501.12948v1", ["2501.12948"]),
        ("arxiv.org/pdf/2501.12948.pdf", ["2501.12948"]),
        ("https://huggingface.co/papers/2501.12948#community", ["2501.12948"]),
        ("<https://www.alphaxiv.org/abs/2501.12948|alphaxiv.org/abs/2501.12948>", ["2501.12948"]),
        ("2501.12948, 2412.19437  2501.12948", ["2501.12948", "2412.19437"]),
        ("hep-th/9901001v2 math.AG/0309136", ["hep-th/9901001", "math.AG/0309136"]),
        ("2501.12948 diffusion", []),
        ("https://arxiv.org/abs/", []),
        ("https://example.org/abs/2501.12948", []),
        ("", []),
    ],
)
def test_pasted_paper_ids_and_links_are_read_as_ids(text: str, ids: list[str]) -> None:
    assert paper_references(text) == ids


def test_weekday_grammar() -> None:
    assert parse_weekdays("mon-fri") == (0, 1, 2, 3, 4)
    assert parse_weekdays("fri-mon") == (0, 4, 5, 6)
    assert parse_weekdays("daily") == tuple(range(7))
    assert parse_weekdays("weekends") == (5, 6)
    assert parse_weekdays("Monday, Thursday") == (0, 3)


async def test_today_previews_then_shows_what_was_posted(
    bot: PapersBot, ctx: CommandContext, poster: RecordingPoster
) -> None:
    preview = await say(bot, ctx, "today")
    assert isinstance(preview, PaperListReply) and "not posted yet" in preview.heading
    assert preview.papers[0].id == "2508.02751"
    done = await say(bot, ctx, "digest")
    assert isinstance(done, TextReply) and "Posted 3 papers" in done.text
    posted = await say(bot, ctx, "today")
    assert isinstance(posted, PaperListReply) and posted.heading.startswith("Posted here today")
    assert len(posted.papers) == 3


class Members:
    """A platform's answer to "may this member change the channel?": only the ones named."""

    who = "the channel's keepers"

    def __init__(self, *managers: str) -> None:
        self.managers = managers
        self.asked: list[str] = []

    async def is_manager(self, channel: Channel, user: str) -> bool:
        self.asked.append(user)
        return user in self.managers


@pytest.mark.parametrize(
    "text",
    ["subscribe", "subscribe diffusion", "unsubscribe", "settings time 08:30", "digest"],
)
async def test_only_channel_managers_change_a_channel(
    bot: PapersBot, storage: Storage, channel: Channel, poster: RecordingPoster, text: str
) -> None:
    await say(bot, CommandContext(channel, "boss", poster, Members("boss")), "subscribe")
    before = storage.activity.get_subscription(channel)
    poster.headers.clear()  # the boss's subscribe said so in the channel
    member = CommandContext(channel, "U2", poster, Members("boss"))
    reply = await say(bot, member, text)
    assert isinstance(reply, TextReply) and reply.error and reply.ephemeral
    assert reply.text.startswith("Only the channel's keepers can use /papers ")
    assert "\n" not in reply.text
    assert storage.activity.get_subscription(channel) == before
    assert poster.headers == [] and poster.papers == []
    boss = await say(bot, CommandContext(channel, "boss", poster, Members("boss")), text)
    assert not (isinstance(boss, TextReply) and boss.text.startswith("Only"))


@pytest.mark.parametrize("text", ["settings", "meta-rl", "save 2508.00002", "saved", "today"])
async def test_reading_and_bookmarks_stay_open_to_every_member(
    bot: PapersBot, channel: Channel, poster: RecordingPoster, text: str
) -> None:
    managers = Members()
    reply = await say(bot, CommandContext(channel, "U2", poster, managers), text)
    assert not (isinstance(reply, TextReply) and reply.error), reply
    assert managers.asked == []  # nobody's rights were even looked up


async def test_the_refusal_names_the_part_that_needs_a_manager(
    bot: PapersBot, channel: Channel, poster: RecordingPoster
) -> None:
    member = CommandContext(channel, "U2", poster, Members())
    reply = await say(bot, member, "settings count 3")
    assert isinstance(reply, TextReply)
    assert reply.text == (
        "Only the channel's keepers can use /papers settings <name> <value> in this channel."
    )


def test_help_says_which_commands_need_a_channel_manager() -> None:
    summaries = dict(help_entries(REGISTRY))
    for name in ("subscribe", "unsubscribe", "digest"):
        assert summaries[REGISTRY[name].usage].endswith("(channel managers only)"), name
    assert summaries[REGISTRY["settings"].usage].endswith("(<name>: channel managers only)")
    for name in ("search", "saved", "save", "export", "today", "help"):
        assert "managers" not in summaries[REGISTRY[name].usage], name


async def test_digest_command_needs_a_poster(bot: PapersBot, channel: Channel) -> None:
    reply = await bot.answer_text("digest", CommandContext(channel, "U1", None))
    assert isinstance(reply, TextReply) and reply.error


async def test_bookmark_reactions_toggle_and_ignore_retries(
    bot: PapersBot,
    storage: Storage,
    ctx: CommandContext,
    poster: RecordingPoster,
    clock: FixedClock,
) -> None:
    await bot.post_digest(poster, ctx.channel)
    ref = MessageRef(ctx.channel, poster.papers[0][0])
    change = await bot.handle_reaction(ref, "U2", "bookmark", True, "Ev1")
    assert change is not None and change.saved and change.changed
    assert change.text.startswith("Saved:")
    assert await bot.handle_reaction(ref, "U2", "bookmark", True, "Ev1") is None  # retried event
    assert await bot.handle_reaction(ref, "U2", "thumbsup", True, "Ev2") is None  # not a save emoji
    header = MessageRef(ctx.channel, "h1")
    assert await bot.handle_reaction(header, "U2", "🔖", True, "Ev3") is None  # not a paper message
    assert len(storage.activity.bookmarks(Member("fake", "W1", "U2"))) == 1
    clock.now += timedelta(minutes=1)
    removed = await bot.handle_reaction(ref, "U2", ":bookmark:", False, "Ev4")
    assert removed is not None and not removed.saved
    assert storage.activity.bookmarks(Member("fake", "W1", "U2")) == []


async def test_share_posts_and_records_the_message(
    bot: PapersBot, storage: Storage, ctx: CommandContext, poster: RecordingPoster
) -> None:
    ref = await bot.share_paper(poster, ctx.channel, "2508.00003", "U1")
    assert poster.paper_ids == ["2508.00003"]
    assert storage.ledger.paper_for_message(ref) == "2508.00003"
