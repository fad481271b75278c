"""Picking a channel's daily digest: the trending score and the per-subscription filters.

The trending score of a paper on a given day is

    (upvotes + 2 x comments + 5 x log10(1 + github_stars) + 1) x 0.5 ** (age_days / 3)

where age_days counts from the day the paper appeared on Hugging Face Daily Papers (or, for
papers seen only on arXiv, its arXiv date, else the day the bot first saw it). Comments weigh
double because a discussion signals more interest than a click; stars are damped by the log so
a famous repository does not drown the day's papers; the +1 lets arXiv-only papers rank by
recency; the half-life of three days keeps the digest about this week's papers.

When a channel's taste is on (bot.taste), each candidate also has a taste score; the rank is then

    z(taste) + 0.1 x z(log(1 + trending))

with z standardising over the day's eligible candidates: what the channel saves leads, and
trending orders the rest and fills every slot the taste does not claim.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import date

from bot.models import Digest, DigestItem, Paper, Subscription

HALF_LIFE_DAYS = 3.0
TRENDING_WEIGHT = 0.1  # trending against taste, both standardised (tuned in benchmarks/taste.py)


EVIDENCE = 1.5  # a taste score from which the why line names the saved paper it is like


@dataclass(frozen=True, slots=True)
class Liking:
    """What a channel's taste says of a candidate: its score (standardised over the day's
    candidates: 2 is two standard deviations above their mean) and the saved paper it is most
    like, with how many members saved that."""

    score: float
    like: str  # the title of the saved paper closest to the candidate
    savers: int

    @property
    def evidence(self) -> str:
        """'like “Title”, saved by 3 of you'."""
        who = "one of you" if self.savers == 1 else f"{self.savers} of you"
        return f"like “{self.like}”, saved by {who}"


def news_day(paper: Paper) -> date | None:
    """The day a paper became news: its HF Daily Papers day, else its own date (Paper.day)."""
    return paper.added or paper.day


def trending_score(paper: Paper, today: date) -> float:
    """The documented trending score (see the module docstring); higher is better."""
    engagement: float = paper.upvotes + 2 * paper.comments + 1
    engagement += 5 * math.log10(1 + (paper.github_stars or 0))
    day = news_day(paper)
    age = max(0, (today - day).days) if day else 0
    return engagement * 0.5 ** (age / HALF_LIFE_DAYS)


def blend(trending: Sequence[float], liked: Sequence[float]) -> list[float]:
    """The taste-on rank of each candidate (see the module docstring); higher is better."""
    damped = [math.log1p(score) for score in trending]
    return [
        t + TRENDING_WEIGHT * d for t, d in zip(_standard(liked), _standard(damped), strict=True)
    ]


def _standard(values: Sequence[float]) -> list[float]:
    if len(values) < 2:
        return [0.0] * len(values)
    mean, spread = statistics.fmean(values), statistics.pstdev(values)
    return [(v - mean) / spread if spread else 0.0 for v in values]


def why_picked(paper: Paper, topics: tuple[str, ...] = (), liking: Liking | None = None) -> str:
    """A one-line reason, e.g. '42 upvotes · 3 comments · 1.2k stars · matches diffusion', led
    by the taste's evidence when the channel's taste picked it."""
    parts: list[str] = []
    if liking is not None and liking.score >= EVIDENCE:
        parts.append(liking.evidence)
    if paper.upvotes:
        parts.append(f"{paper.upvotes} upvote{'s' * (paper.upvotes != 1)}")
    if paper.comments:
        parts.append(f"{paper.comments} comment{'s' * (paper.comments != 1)}")
    if paper.github_stars:
        stars = paper.github_stars
        parts.append(f"{_compact(stars)} GitHub star{'s' * (stars != 1)}")
    if topics:
        parts.append("matches " + ", ".join(topics))
    if not parts:
        parts.append("new on arXiv" if "arxiv" in paper.sources else "new today")
    return " · ".join(parts)


def _compact(number: int) -> str:
    if number >= 1000:
        return f"{number / 1000:.1f}k".replace(".0k", "k")
    return str(number)


def pick_digest(
    sub: Subscription,
    candidates: Collection[Paper],
    already_posted: Collection[str],
    today: date,
    topic_matches: Mapping[str, Collection[str]] | None = None,
    liking: Mapping[str, Liking] | None = None,
) -> Digest:
    """Choose up to `sub.count` new papers for a channel, best first, each with why it was picked.

    `topic_matches` maps each of the subscription's topics to the candidate ids that match it;
    when the subscription has topics, only papers matching at least one are eligible. `liking`
    (the channel's taste, when on) re-ranks the eligible papers; it never removes one.
    """
    topic_matches = topic_matches or {}
    liking = liking or {}
    scored: list[DigestItem] = []
    for paper in candidates:
        if paper.id in already_posted or paper.upvotes < sub.min_upvotes:
            continue
        day = news_day(paper)
        if day is not None and day > today:
            continue  # a digest for a past day only picks what was known by then
        matched = tuple(t for t in sub.topics if paper.id in topic_matches.get(t, ()))
        if sub.topics and not matched:
            continue
        score = trending_score(paper, today)
        why = why_picked(paper, matched, liking.get(paper.id))
        scored.append(DigestItem(paper=paper, why=why, score=score))
    if liking:
        liked = [liking[i.paper.id].score if i.paper.id in liking else 0.0 for i in scored]
        ranks = blend([item.score for item in scored], liked)
        scored = [replace(item, score=r) for item, r in zip(scored, ranks, strict=True)]
    scored.sort(key=lambda item: (-item.score, item.paper.id))
    items = tuple(scored[: sub.count])
    return Digest(
        channel=sub.channel,
        day=today,
        items=items,
        title=_title(sub, today),
        empty_reason="" if items else _empty_reason(sub, bool(candidates)),
    )


def _title(sub: Subscription, today: date) -> str:
    label = f"Trending papers · {today:%a %d %b %Y}"
    return label + (" · " + ", ".join(sub.topics) if sub.topics else "")


def _empty_reason(sub: Subscription, had_candidates: bool) -> str:
    if not had_candidates:
        return "No new papers since the last digest: nothing to post today."
    filters = []
    if sub.topics:
        filters.append("topics " + ", ".join(sub.topics))
    if sub.min_upvotes:
        filters.append(f"at least {sub.min_upvotes} upvotes")
    if filters:
        return "No new paper today matches " + " and ".join(filters) + "."
    return "Every trending paper was already posted here: nothing new today."
