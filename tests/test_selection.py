"""Picking the daily digest: score, filters, reasons. Pure functions, fixed dates."""

from __future__ import annotations

from datetime import date

import pytest

from bot.models import Channel, Subscription
from bot.selection import pick_digest, trending_score, why_picked
from tests.conftest import make_paper

TODAY = date(2025, 8, 5)
SUB = Subscription(Channel("fake", "W", "C"), count=3)


def test_score_rewards_engagement_and_decays_with_age() -> None:
    fresh = make_paper("a", upvotes=10, added=TODAY)
    older = make_paper("b", upvotes=10, added=date(2025, 8, 2))
    assert trending_score(fresh, TODAY) == pytest.approx(11.0)
    assert trending_score(older, TODAY) == pytest.approx(5.5)  # a 3-day half-life
    discussed = make_paper("c", upvotes=10, comments=5, added=TODAY)
    assert trending_score(discussed, TODAY) > trending_score(fresh, TODAY)
    starred = make_paper("d", upvotes=10, github_stars=999, added=TODAY)
    assert trending_score(starred, TODAY) == pytest.approx(11 + 15)


def test_picks_the_top_papers_not_yet_posted() -> None:
    papers = [make_paper(f"p{i}", upvotes=i, added=TODAY) for i in range(10)]
    digest = pick_digest(SUB, papers, already_posted={"p9"}, today=TODAY)
    assert [item.paper.id for item in digest.items] == ["p8", "p7", "p6"]
    assert digest.items[0].why == "8 upvotes"


def test_min_upvotes_and_count() -> None:
    papers = [make_paper(f"p{i}", upvotes=i, added=TODAY) for i in range(10)]
    sub = Subscription(SUB.channel, count=10, min_upvotes=7)
    assert [i.paper.id for i in pick_digest(sub, papers, (), TODAY).items] == ["p9", "p8", "p7"]


def test_topics_filter_and_explain() -> None:
    papers = [make_paper("a", upvotes=50), make_paper("b", upvotes=5), make_paper("c", upvotes=1)]
    sub = Subscription(SUB.channel, topics=("diffusion", "meta-rl"))
    digest = pick_digest(sub, papers, (), TODAY, {"diffusion": {"b"}, "meta-rl": {"b", "c"}})
    assert [i.paper.id for i in digest.items] == ["b", "c"]
    assert digest.items[0].why == "5 upvotes · matches diffusion, meta-rl"
    assert "diffusion, meta-rl" in digest.title


def test_nothing_new_says_why() -> None:
    papers = [make_paper("a")]
    assert pick_digest(SUB, [], (), TODAY).empty_reason.startswith("No new papers")
    assert "already posted" in pick_digest(SUB, papers, {"a"}, TODAY).empty_reason
    sub = Subscription(SUB.channel, topics=("quantum",), min_upvotes=5)
    reason = pick_digest(sub, papers, (), TODAY, {"quantum": set()}).empty_reason
    assert reason == "No new paper today matches topics quantum and at least 5 upvotes."


def test_a_past_day_never_picks_papers_from_after_it() -> None:
    papers = [make_paper("old", added=date(2025, 8, 4)), make_paper("new", added=date(2025, 8, 6))]
    assert [i.paper.id for i in pick_digest(SUB, papers, (), TODAY).items] == ["old"]


def test_why_picked_reads_well() -> None:
    paper = make_paper("a", upvotes=1, comments=2, github_stars=1234)
    assert why_picked(paper) == "1 upvote · 2 comments · 1.2k GitHub stars"
    assert why_picked(make_paper("b", upvotes=0, sources=("arxiv",))) == "new on arXiv"
