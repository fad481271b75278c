"""Schedules: each channel at its own local time, DST-correct, weekends skipped, catch-up."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from bot.models import Channel, Subscription
from bot.schedule import catch_up, last_due, next_digest, roundup_trigger

CH = Channel("slack", "T", "C")
LA = ZoneInfo("America/Los_Angeles")
GRACE = timedelta(hours=4)


def sub(**fields: object) -> Subscription:
    return Subscription(CH, **fields)  # type: ignore[arg-type]


def test_kolkata_half_hour_offset() -> None:
    kolkata = sub(post_time="09:00", timezone="Asia/Kolkata")
    now = datetime(2025, 8, 4, 0, 0, tzinfo=UTC)  # Monday 05:30 in Kolkata
    assert next_digest(kolkata, now) == datetime(2025, 8, 4, 3, 30, tzinfo=UTC)


def test_los_angeles_across_both_dst_changes() -> None:
    la = sub(post_time="09:00", timezone="America/Los_Angeles", weekdays=tuple(range(7)))
    # Sunday 9 March 2025: clocks spring forward at 02:00; 09:00 PDT is 16:00 UTC
    before = datetime(2025, 3, 8, 18, 0, tzinfo=UTC)
    assert next_digest(la, before) == datetime(2025, 3, 9, 16, 0, tzinfo=UTC)
    assert next_digest(la, datetime(2025, 3, 7, 18, 0, tzinfo=UTC)) == datetime(
        2025, 3, 8, 17, 0, tzinfo=UTC
    )
    # Sunday 2 November 2025: clocks fall back; 09:00 PST is 17:00 UTC
    assert next_digest(la, datetime(2025, 11, 1, 18, 0, tzinfo=UTC)) == datetime(
        2025, 11, 2, 17, 0, tzinfo=UTC
    )


def test_a_time_inside_the_spring_forward_gap_still_fires_once_that_day() -> None:
    la = sub(post_time="02:30", timezone="America/Los_Angeles", weekdays=tuple(range(7)))
    fire = next_digest(la, datetime(2025, 3, 9, 8, 0, tzinfo=UTC))
    assert fire is not None and fire.astimezone(LA).date().isoformat() == "2025-03-09"


def test_weekends_are_skipped_by_default() -> None:
    friday_after = datetime(2025, 8, 8, 10, 0, tzinfo=UTC)
    assert next_digest(sub(), friday_after) == datetime(2025, 8, 11, 9, 0, tzinfo=UTC)  # Monday
    saturday = datetime(2025, 8, 9, 12, 0, tzinfo=UTC)
    assert last_due(sub(), saturday) == datetime(2025, 8, 8, 9, 0, tzinfo=ZoneInfo("UTC"))


def test_no_weekdays_means_no_digest() -> None:
    assert next_digest(sub(weekdays=()), datetime(2025, 8, 8, tzinfo=UTC)) is None


def test_roundup_runs_an_hour_after_the_digest_on_its_day() -> None:
    trigger = roundup_trigger(sub(post_time="23:30", roundup_weekday=4))
    assert trigger is not None
    fire = trigger.get_next_fire_time(None, datetime(2025, 8, 4, tzinfo=UTC))
    assert fire == datetime(2025, 8, 9, 0, 30, tzinfo=UTC)  # Friday 23:30 + 1 h: Saturday
    assert roundup_trigger(sub(roundup_weekday=None)) is None


def test_catch_up_within_the_grace_window_posts() -> None:
    now = datetime(2025, 8, 5, 11, 0, tzinfo=UTC)  # two hours after 09:00
    decision = catch_up(sub(), now, lambda day: None, GRACE)
    assert decision.action == "post" and "2.0 h late" in decision.reason


def test_catch_up_beyond_the_grace_window_skips_and_says_why() -> None:
    now = datetime(2025, 8, 5, 15, 0, tzinfo=UTC)
    decision = catch_up(sub(), now, lambda day: None, GRACE)
    assert decision.action == "skip" and "beyond the 4.0 h grace window" in decision.reason


def test_catch_up_leaves_an_interrupted_digest_to_the_start_up_sweep() -> None:
    now = datetime(2025, 8, 5, 10, 0, tzinfo=UTC)  # within the grace window: not posted anew
    asked = []
    decision = catch_up(sub(), now, lambda day: asked.append(day) or "claimed", GRACE)
    assert decision.action == "none" and "interrupted" in decision.reason
    assert [d.isoformat() for d in asked] == ["2025-08-05"]
    assert catch_up(sub(), now, lambda day: "abandoned", GRACE).action == "none"


def test_catch_up_does_nothing_when_already_posted_or_nothing_was_due() -> None:
    now = datetime(2025, 8, 5, 10, 0, tzinfo=UTC)
    assert catch_up(sub(), now, lambda day: "done", GRACE).action == "none"
    assert catch_up(sub(weekdays=()), now, lambda day: None, GRACE).action == "none"


def test_catch_up_uses_the_channel_local_day() -> None:
    # 01:00 UTC Tuesday is still Monday evening in Los Angeles: Monday's digest was due
    la = sub(post_time="17:00", timezone="America/Los_Angeles")
    now = datetime(2025, 8, 5, 1, 0, tzinfo=UTC)
    asked = []
    decision = catch_up(la, now, lambda day: asked.append(day) or None, GRACE)
    assert decision.action == "post"
    assert [d.isoformat() for d in asked] == ["2025-08-04"]
