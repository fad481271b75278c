"""The taste benchmark's scenarios build the saves their docstrings describe."""

from __future__ import annotations

import random
from datetime import date, timedelta

from benchmarks.taste import (
    DRIFT_AGE,
    DRIFT_OLD,
    DRIFT_RECENT,
    TEAM_NOISE,
    TEAM_SAVERS,
    Channel,
    drift_saves,
    single_saves,
    team_saves,
)

D = date(2026, 5, 1)


def _channel(days: dict[str, int], topic: list[str], others: list[list[str]]) -> Channel:
    """Papers dated `days[pid]` days before D (negative: after D)."""
    day_of = {pid: D - timedelta(days=ago) for pid, ago in days.items()}
    on_day: dict[date, list[str]] = {}
    for pid, day in day_of.items():
        on_day.setdefault(day, []).append(pid)
    return Channel(topic, others, day_of, on_day)


def test_single_saves_k_topic_papers_of_before_d_by_one_member_each() -> None:
    channel = _channel({"t1": 300, "t2": 5, "t3": 1, "later": -2}, ["t1", "t2", "t3", "later"], [])
    for seed in range(20):
        saves = single_saves(random.Random(seed), channel, D, 2)
        assert saves is not None and len(saves) == 2
        assert {s.paper_id for s in saves} <= {"t1", "t2", "t3"}
        assert all(s.savers == 1 for s in saves)
        assert all(s.last_saved.date() == channel.day_of[s.paper_id] for s in saves)
    assert single_saves(random.Random(0), channel, D - timedelta(days=6), 2) is None  # t1 only


def test_drift_saves_three_old_papers_of_another_topic_then_k_recent_ones() -> None:
    days = {"b_new1": 3, "b_new2": 13, "b_old": 20, "b_after": -1}
    days |= {f"a{i}": 130 + 40 * i for i in range(4)} | {"a_young": 100}
    days |= {"c1": 200, "c2": 300}  # a topic with too few old papers to be the old interest
    topic = ["b_new1", "b_new2", "b_old", "b_after"]
    old_topic = [*(f"a{i}" for i in range(4)), "a_young"]
    channel = _channel(days, topic, [old_topic, ["c1", "c2"]])
    for seed in range(20):
        saves = drift_saves(random.Random(seed), channel, D, 2)
        assert saves is not None and len(saves) == DRIFT_OLD + 2
        old, new = saves[:DRIFT_OLD], saves[DRIFT_OLD:]
        assert {s.paper_id for s in new} == {"b_new1", "b_new2"}
        assert all(D - DRIFT_RECENT <= s.last_saved.date() < D for s in new)
        assert {s.paper_id for s in old} <= {f"a{i}" for i in range(4)}
        assert all(s.last_saved.date() <= D - DRIFT_AGE for s in old)
        assert all(s.savers == 1 for s in saves)
    # only one topic paper in the last two weeks, or no other topic with 3 old papers: no draw
    assert drift_saves(random.Random(0), channel, D, 3) is None
    assert drift_saves(random.Random(0), channel, D - timedelta(days=60), 1) is None


def test_team_saves_topic_papers_by_several_members_and_noise_by_one() -> None:
    days = {"t1": 200, "t2": 40, "t3": 2, "n1": 1, "n2": 10, "n3": 29, "too_old": 31}
    channel = _channel(days, ["t1", "t2", "t3"], [])
    for seed in range(20):
        saves = team_saves(random.Random(seed), channel, D, 2)
        assert saves is not None and len(saves) == 2 + TEAM_NOISE
        shared, noise = saves[:2], saves[2:]
        assert {s.paper_id for s in shared} <= {"t1", "t2", "t3"}
        assert all(s.savers in TEAM_SAVERS for s in shared)
        assert {s.paper_id for s in noise} <= {"n1", "n2", "n3"}
        assert all(s.savers == 1 for s in noise)
        assert all(s.last_saved.date() == channel.day_of[s.paper_id] for s in saves)
    savers = {
        s.savers for seed in range(20) for s in team_saves(random.Random(seed), channel, D, 2) or []
    }
    assert savers == {1, *TEAM_SAVERS}
