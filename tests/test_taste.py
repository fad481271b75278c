"""The channel's taste: what its members save shapes its digest, roundup and /papers today, over
the real bundled papers and the real store; taste off is trending again; /papers like."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np
import pytest

from bot import taste
from bot.commands import CommandContext
from bot.core import PapersBot
from bot.ingest import ingest_files
from bot.models import Channel, ChannelSave, DigestKind
from bot.replies import SearchReply, SettingsReply, TextReply
from bot.sources import sample_files
from bot.storage import Storage
from bot.taste import MIN_SAVES, SharedVectors, channel_taste, save_weight
from tests.conftest import FixedClock, RecordingPoster, make_paper

LATE = datetime(2025, 8, 29, 9, 0, tzinfo=UTC)  # the last day of the bundled sample
NVSPEECH = "2508.04195"  # NVSpeech: ... Speech Modeling with Paralinguistic Vocalizations
SEPARATION = "2508.10830"  # Advances in Speech Separation: Techniques, Challenges, ...
SPEECH = {"2508.16790", "2508.11598"}  # TaDiCodec (speech tokenizer), speech as cochlear tokens


@pytest.fixture
def sampled(storage: Storage, clock: FixedClock) -> Storage:
    clock.now = LATE
    ingest_files(storage, sample_files(), LATE)
    return storage


def _save(storage: Storage, channel: Channel, *saves: tuple[str, str], on: bool = True) -> None:
    for user, paper_id in saves:
        storage.activity.set_bookmark(channel.member(user), paper_id, on, LATE, channel.channel)


def _unsave(storage: Storage, channel: Channel, *saves: tuple[str, str]) -> None:
    _save(storage, channel, *saves, on=False)


def test_two_saves_bring_their_topic_into_the_picks_with_the_evidence(
    bot: PapersBot, sampled: Storage, channel: Channel
) -> None:
    trending = bot.preview(channel)
    assert not SPEECH & {item.paper.id for item in trending.items}
    _save(sampled, channel, ("U1", NVSPEECH), ("U2", SEPARATION), ("U3", SEPARATION))
    tasted = bot.preview(channel)
    picked = {item.paper.id: item.why for item in tasted.items}
    assert picked.keys() >= SPEECH
    assert len(tasted.items) == len(trending.items)  # the taste re-ranks, never empties
    assert not {NVSPEECH, SEPARATION} & picked.keys()  # saved already: not picked again
    whys = [picked[pid] for pid in SPEECH]
    assert all(why.startswith("like “") for why in whys)
    assert any("saved by one of you" in why or "saved by 2 of you" in why for why in whys)
    assert any(item.paper.id not in SPEECH for item in tasted.items)  # trending still fills


def test_one_save_already_brings_its_topic_and_no_save_leaves_trending(
    bot: PapersBot, sampled: Storage, channel: Channel
) -> None:
    assert MIN_SAVES == 1
    trending = bot.preview(channel)
    _save(sampled, channel, ("U1", NVSPEECH), ("U2", NVSPEECH))  # one paper, by two members
    tasted = bot.preview(channel)
    picked = {item.paper.id: item.why for item in tasted.items}
    assert SPEECH & picked.keys() and len(tasted.items) == len(trending.items)
    assert any(
        why.startswith("like “NVSpeech") and "saved by 2 of you" in why for why in picked.values()
    )
    _unsave(sampled, channel, ("U1", NVSPEECH), ("U2", NVSPEECH))
    assert bot.preview(channel) == trending


def test_saves_in_another_channel_do_not_change_this_one(
    bot: PapersBot, sampled: Storage, channel: Channel
) -> None:
    trending = bot.preview(channel)
    other = Channel(channel.platform, channel.workspace, "C-other")
    _save(sampled, other, ("U1", NVSPEECH), ("U2", SEPARATION))
    assert bot.preview(channel) == trending
    assert {item.paper.id for item in bot.preview(other).items} >= SPEECH


def test_channels_share_one_tf_idf_fit_and_get_the_picks_they_would_alone(
    sampled: Storage, channel: Channel
) -> None:
    other = Channel(channel.platform, channel.workspace, "C-other")
    _save(sampled, channel, ("U1", NVSPEECH), ("U2", SEPARATION))
    _save(sampled, other, ("U1", "2508.16790"), ("U1", "2508.11598"), ("U2", "2508.11598"))
    candidates = sampled.papers.recent(LATE - timedelta(days=3), (LATE - timedelta(days=3)).date())
    shared = SharedVectors()
    together = [channel_taste(sampled, ch, candidates, LATE, shared) for ch in (channel, other)]
    assert shared.fits == 1
    alone = [channel_taste(sampled, ch, candidates, LATE) for ch in (channel, other)]
    assert together == alone
    assert together[0].liking.keys() != together[1].liking.keys()  # each its own saves
    assert together[0].liking and together[1].liking
    candidates = [*candidates, make_paper("2508.99999", "A paper the store has not seen")]
    assert "2508.99999" in channel_taste(sampled, other, candidates, LATE, shared).liking
    assert shared.fits == 2  # another set of papers: fitted anew


def test_a_model_trained_on_a_sample_still_scores_every_candidate(
    sampled: Storage, channel: Channel, monkeypatch: pytest.MonkeyPatch
) -> None:
    _save(sampled, channel, ("U1", NVSPEECH), ("U2", SEPARATION))
    candidates = sampled.papers.recent(LATE - timedelta(days=3), (LATE - timedelta(days=3)).date())
    whole = channel_taste(sampled, channel, candidates, LATE)
    monkeypatch.setattr(taste, "MAX_TRAIN", 30)  # fewer papers than the candidates
    sampled_taste = channel_taste(sampled, channel, candidates, LATE)
    assert (
        sampled_taste.liking.keys()
        == whole.liking.keys()
        == {p.id for p in candidates} - {NVSPEECH, SEPARATION}
    )
    assert sampled_taste == channel_taste(sampled, channel, candidates, LATE)  # a fixed sample
    best = sorted(sampled_taste.liking, key=lambda pid: -sampled_taste.liking[pid].score)
    assert set(best[:5]) >= SPEECH


async def test_taste_off_restores_trending_and_on_brings_it_back(
    bot: PapersBot, sampled: Storage, channel: Channel
) -> None:
    ctx = CommandContext(channel, "U1")
    await bot.answer_text("/papers subscribe", ctx)
    trending = bot.preview(channel)
    _save(sampled, channel, ("U1", NVSPEECH), ("U2", SEPARATION))
    off = await bot.answer_text("/papers settings taste off", ctx)
    assert isinstance(off, SettingsReply) and not off.subscription.taste
    assert [i.paper.id for i in bot.preview(channel).items] == [i.paper.id for i in trending.items]
    await bot.answer_text("/papers settings taste on", ctx)
    assert {item.paper.id for item in bot.preview(channel).items} >= SPEECH
    wrong = await bot.answer_text("/papers settings taste maybe", ctx)
    assert isinstance(wrong, TextReply) and wrong.error and "on" in wrong.text


async def test_the_posted_digest_is_the_tasted_one(
    bot: PapersBot, sampled: Storage, channel: Channel, poster: RecordingPoster
) -> None:
    _save(sampled, channel, ("U1", NVSPEECH), ("U2", SEPARATION))
    outcome = await bot.post_digest(poster, channel)
    assert outcome.status == "posted" and set(poster.paper_ids) >= SPEECH
    assert any(why.startswith("like “") for _, _, why in poster.papers)


async def test_the_roundup_adds_what_the_taste_likes_after_the_saves(
    bot: PapersBot, sampled: Storage, channel: Channel, poster: RecordingPoster
) -> None:
    _save(sampled, channel, ("U1", NVSPEECH), ("U2", SEPARATION), ("U3", SEPARATION))
    outcome = await bot.post_roundup(poster, channel)
    assert outcome.digest is not None and outcome.digest.kind == DigestKind.ROUNDUP
    items = outcome.digest.items
    assert [item.paper.id for item in items[:2]] == [SEPARATION, NVSPEECH]
    assert items[0].why == "saved by 2 teammates"
    missed = [item for item in items[2:] if item.why.startswith("you may have missed it: like")]
    assert missed and SPEECH & {item.paper.id for item in missed}


def test_a_save_counts_per_member_and_fades_with_age() -> None:
    one = ChannelSave("2508.00001", 1, LATE)
    assert save_weight(one, LATE) == 1.0
    assert save_weight(ChannelSave("2508.00001", 3, LATE), LATE) == 3.0
    assert save_weight(one, LATE + timedelta(days=90)) == pytest.approx(0.5)


def test_the_terms_two_saves_share_lead_over_each_saves_own_words() -> None:
    """Two saves on speculative decoding: the paper on speculative decoding is liked most, not
    the one repeating the first save's own words (draft trees, target model, GPU kernels) nor
    the one repeating the second's (multilingual translation)."""
    first = make_paper(
        "2508.00001",
        "Speculative decoding with draft trees",
        abstract="Speculative decoding with a draft tree the target model verifies on GPU kernels.",
    )
    second = make_paper(
        "2508.00002",
        "Speculative decoding for multilingual translation",
        abstract="Speculative decoding speeds up multilingual translation across many languages.",
    )
    shared, own_first, own_second = (
        make_paper(
            "2508.00010",
            "Accepting more tokens per step",
            abstract="Speculative decoding accepts more tokens per step.",
        ),
        make_paper(
            "2508.00011",
            "Draft trees verified by the target model",
            abstract="A draft tree verified by the target model on GPU kernels.",
        ),
        make_paper(
            "2508.00012",
            "Multilingual translation across many languages",
            abstract="Multilingual translation for many languages with little data.",
        ),
    )
    topics = "protein folding, robot grasping, image segmentation, speech recognition, graph"
    topics += " neural networks, weather forecasting, music generation, medical imaging"
    others = [
        make_paper(f"2508.{100 + i:05d}", f"Study of {topic}", abstract=f"We study {topic}.")
        for i, topic in enumerate(topics.split(", "))
    ]
    saves = [ChannelSave(first.id, 1, LATE), ChannelSave(second.id, 1, LATE)]
    saved = {first.id: first, second.id: second}
    liking = taste.taste_over([shared, own_first, own_second, *others], saves, saved, [], [], LATE)
    scores = {pid: liked.score for pid, liked in liking.liking.items()}
    assert max(scores, key=scores.__getitem__) == shared.id


def test_a_term_counts_more_the_more_saves_share_it_and_a_faded_save_shares_little() -> None:
    from scipy.sparse import csr_matrix

    rows = csr_matrix(np.array([[0.6, 0.8, 0.0, 0.0], [0.6, 0.0, 0.8, 0.0]], np.float32))
    both = taste.shared_scale(rows, np.array([1.0, 1.0]))
    assert both.tolist() == [1 + taste.SHARED_BOOST, 1.0, 1.0, 1.0]
    assert taste.shared_scale(rows[:1], np.array([1.0])).tolist() == [1.0] * 4  # one save
    # Terms 1 and 2 are each shared with a save a quarter as heavy (old, or saved by fewer).
    rows = csr_matrix(np.array([[0.6, 0.8, 0.0], [0.6, 0.0, 0.8], [0.0, 0.6, 0.8]], np.float32))
    faded = taste.shared_scale(rows, np.array([1.0, 1.0, 0.25]))
    assert faded[0] == 1 + taste.SHARED_BOOST and all(
        1 < x < 1 + taste.SHARED_BOOST / 2 for x in faded[1:]
    )


def test_papers_without_words_give_no_taste_and_no_error() -> None:
    """Empty titles and abstracts (or only one-letter words) leave no term to learn from: the
    digest falls back to trending rather than failing."""
    wordless = [make_paper(f"2508.{i:05d}", title="x", abstract="") for i in range(5)]
    saves = [ChannelSave(wordless[0].id, 2, LATE)]
    found = taste.taste_over(wordless[1:], saves, {wordless[0].id: wordless[0]}, [], [], LATE)
    assert found.liking == {} and found.saved == {wordless[0].id}
    vectors = taste.PaperVectors(wordless)
    assert vectors.matrix.shape == (5, 0) and vectors.transform(wordless[:2]).shape == (2, 0)


async def test_like_answers_the_papers_closest_to_one_with_what_they_share(
    bot: PapersBot, sampled: Storage, channel: Channel
) -> None:
    ctx = CommandContext(channel, "U1")
    reply = await bot.answer_text(f"/papers like https://arxiv.org/abs/{NVSPEECH}", ctx)
    assert isinstance(reply, SearchReply) and reply.heading.startswith("Papers like “NVSpeech")
    ids = [hit.paper.id for hit in reply.hits]
    assert NVSPEECH not in ids and SPEECH & set(ids)
    for hit in reply.hits:
        reason = "".join(text for text, _ in hit.snippet)
        assert reason.startswith("alike in: ") and len(reason) > len("alike in: ")
    unknown = await bot.answer_text("/papers like 2401.99999", ctx)
    assert isinstance(unknown, TextReply) and unknown.error and "2401.99999" in unknown.text


async def test_like_on_a_lone_paper_says_so(
    bot: PapersBot, storage: Storage, channel: Channel
) -> None:
    storage.papers.upsert([make_paper("2508.00001", "Lonely paper")], LATE)
    reply = await bot.answer_text("/papers like 2508.00001", CommandContext(channel, "U1"))
    assert isinstance(reply, TextReply) and reply.error and "No other stored paper" in reply.text
