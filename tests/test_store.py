"""The storage contract: what every implementation of the Storage ports does, run against each
one the `storage` fixture yields (tests/conftest.py). Nothing here may look under the ports."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime, timedelta

from bot.models import (
    EVENT_RETENTION,
    AppInstallation,
    Channel,
    ChannelSave,
    ClaimStatus,
    Member,
    MessageRef,
    Pause,
    PostKind,
    PostStatus,
    Subscription,
)
from bot.storage import Storage
from tests.conftest import make_paper

NOW = datetime(2025, 8, 5, 9, 0, tzinfo=UTC)
DAY = date(2025, 8, 5)
CH = Channel("slack", "T1", "C1")
ADA = CH.member("U1")

# -- papers -----------------------------------------------------------------------------------


def test_the_same_paper_from_two_sources_merges_into_one(storage: Storage) -> None:
    hf = make_paper("2508.01234", upvotes=42, ai_summary="A summary.", sources=("hf",))
    arxiv = make_paper(
        "2508.01234",
        upvotes=0,
        categories=("cs.LG",),
        sources=("arxiv",),
        ai_summary=None,
        added=None,
    )
    assert storage.papers.upsert([hf], NOW) == (1, 0)
    assert storage.papers.upsert([arxiv], NOW + timedelta(hours=1)) == (0, 1)
    merged = storage.papers.get("2508.01234")
    assert merged is not None
    assert merged.sources == ("hf", "arxiv")
    assert merged.upvotes == 42  # a later sighting without votes does not erase them
    assert merged.ai_summary == "A summary."
    assert merged.categories == ("cs.LG",)
    assert merged.added == date(2025, 8, 5)
    assert merged.first_seen == NOW
    assert merged.last_seen == NOW + timedelta(hours=1)
    assert storage.papers.count() == 1


def test_sightings_in_one_batch_merge_before_they_are_stored(storage: Storage) -> None:
    batch = [make_paper("2508.00001", upvotes=3), make_paper("2508.00001", upvotes=7)]
    assert storage.papers.upsert(batch, NOW) == (1, 0)
    assert storage.papers.get("2508.00001").upvotes == 7  # type: ignore[union-attr]


def test_unchanged_sighting_counts_as_neither_new_nor_updated(storage: Storage) -> None:
    paper = make_paper("2508.00001")
    storage.papers.upsert([paper], NOW)
    assert storage.papers.upsert([paper], NOW) == (0, 0)


def test_a_paper_round_trips_every_field(storage: Storage) -> None:
    paper = make_paper(
        "2508.00001",
        authors=("Ada Lovelace", "Alan Turing"),
        published=date(2025, 8, 1),
        comments=2,
        github_repo="https://github.com/a/b",
        github_stars=12,
        project_page="https://example.org",
        thumbnail="https://example.org/t.png",
        ai_summary="Short.",
        keywords=("rl",),
        categories=("cs.LG", "cs.AI"),
        organization="Org",
        sources=("hf", "arxiv"),
    )
    storage.papers.upsert([paper], NOW)
    assert storage.papers.get(paper.id) == replace(paper, first_seen=NOW, last_seen=NOW)


def test_papers_by_id_and_by_recency(storage: Storage) -> None:
    storage.papers.upsert([make_paper("2508.00001", added=date(2025, 7, 1))], NOW - timedelta(30))
    storage.papers.upsert([make_paper("2508.00002", added=date(2025, 8, 4))], NOW - timedelta(30))
    storage.papers.upsert([make_paper("2508.00003", added=None)], NOW)
    found = storage.papers.get_many(["2508.00001", "2508.00003", "nope"])
    assert sorted(found) == ["2508.00001", "2508.00003"]
    assert storage.papers.get("nope") is None
    recent = storage.papers.recent(NOW - timedelta(days=3), date(2025, 8, 2))
    assert sorted(p.id for p in recent) == ["2508.00002", "2508.00003"]


def test_the_search_index_follows_every_write(storage: Storage) -> None:
    storage.papers.upsert([make_paper("2508.00001", title="Diffusion planners")], NOW)
    storage.papers.upsert([make_paper("2508.00001", title="Transformer planners")], NOW)
    assert storage.search.match_ids("transformer", ["2508.00001"]) == {"2508.00001"}
    assert storage.search.match_ids("diffusion planners", ["2508.00001"]) == set()
    assert [h.paper.id for h in storage.search.search("transformer", now=NOW).hits] == [
        "2508.00001"
    ]


def test_abbreviations_defined_in_new_abstracts_are_learned(storage: Storage) -> None:
    definition = "We propose visual language latent action (ViLLA) for robots."
    storage.papers.upsert([make_paper("2508.00001", abstract=definition)], NOW)
    storage.papers.upsert([make_paper("2508.00002", abstract="A ViLLA model.")], NOW)
    spelled = make_paper("2508.00003", abstract="A visual language latent action model.")
    storage.papers.upsert([spelled], NOW)
    among = ["2508.00001", "2508.00002", "2508.00003"]
    assert storage.search.match_ids("ViLLA", among) == set(among)


# -- subscriptions ----------------------------------------------------------------------------


def test_subscriptions_round_trip(storage: Storage) -> None:
    sub = Subscription(
        CH,
        topics=("diffusion", "meta-rl"),
        count=7,
        min_upvotes=3,
        weekdays=(0, 2, 4),
        post_time="08:30",
        timezone="Asia/Kolkata",
        skip_empty=True,
        roundup_weekday=None,
        taste=False,
    )
    other = Subscription(Channel("discord", "G1", "C9"))
    assert other.taste  # on unless a channel turns it off
    storage.activity.save_subscription(sub, NOW)
    storage.activity.save_subscription(other, NOW)
    assert storage.activity.get_subscription(CH) == sub
    assert storage.activity.subscriptions("slack") == [sub]
    assert storage.activity.subscriptions() == [other, sub]
    assert storage.activity.delete_subscription(CH)
    assert storage.activity.get_subscription(CH) is None
    assert not storage.activity.delete_subscription(CH)


def test_a_paused_subscription_keeps_its_reason_through_changes_until_resumed(
    storage: Storage,
) -> None:
    subs = storage.activity
    pause = Pause("not_in_channel", "I am not in this channel: invite me", NOW)
    assert not subs.pause_subscription(CH, pause)  # not subscribed: nothing to pause
    subs.save_subscription(Subscription(CH), NOW)
    assert subs.pause_subscription(CH, pause)
    paused = subs.get_subscription(CH)
    assert paused is not None and paused.paused == pause
    assert subs.subscriptions() == [paused]
    subs.save_subscription(replace(paused, count=3), NOW)  # a settings change keeps the pause
    assert subs.get_subscription(CH) == replace(paused, count=3)
    assert subs.resume_subscription(CH)
    assert not subs.resume_subscription(CH)  # resumed already
    assert subs.get_subscription(CH) == Subscription(CH, count=3)
    subs.pause_subscription(CH, pause)
    subs.delete_subscription(CH)
    subs.save_subscription(Subscription(CH), NOW)
    assert subs.get_subscription(CH) == Subscription(CH)  # subscribing anew starts unpaused


def test_saving_a_subscription_again_replaces_it(storage: Storage) -> None:
    storage.activity.save_subscription(Subscription(CH, count=3), NOW)
    storage.activity.save_subscription(Subscription(CH, count=9), NOW)
    assert storage.activity.subscriptions() == [Subscription(CH, count=9)]


# -- the posts ledger -------------------------------------------------------------------------


def test_a_paper_is_claimed_once_per_channel(storage: Storage) -> None:
    ledger = storage.ledger
    assert ledger.claim_post(CH, "2508.00001", DAY, NOW)
    assert not ledger.claim_post(CH, "2508.00001", DAY, NOW)
    assert ledger.claim_post(Channel("slack", "T1", "C2"), "2508.00001", DAY, NOW)
    assert ledger.post_status(CH, "2508.00001") == PostStatus.CLAIMED
    ledger.record_post(MessageRef(CH, "1.1"), "2508.00001", DAY, NOW)
    assert ledger.post_status(CH, "2508.00001") == PostStatus.POSTED
    assert ledger.paper_for_message(MessageRef(CH, "1.1")) == "2508.00001"
    assert ledger.paper_for_message(MessageRef(CH, "9.9")) is None
    assert ledger.paper_for_message(MessageRef(Channel("slack", "T1", "C2"), "1.1")) is None
    assert ledger.posted_paper_ids(CH) == {"2508.00001"}


def test_shares_are_recorded_without_blocking_the_digest(storage: Storage) -> None:
    ledger = storage.ledger
    ledger.record_post(MessageRef(CH, "2.2"), "2508.00001", DAY, NOW, kind=PostKind.SHARE)
    assert ledger.paper_for_message(MessageRef(CH, "2.2")) == "2508.00001"
    assert ledger.post_status(CH, "2508.00001") is None  # no digest post
    assert ledger.claim_post(CH, "2508.00001", DAY, NOW)
    assert ledger.posted_paper_ids(CH) == {"2508.00001"}


def test_a_roundup_may_show_a_paper_again_another_week(storage: Storage) -> None:
    ledger, later = storage.ledger, DAY + timedelta(days=7)
    roundup = PostKind.ROUNDUP
    assert ledger.claim_post(CH, "2508.00001", DAY, NOW, roundup)
    assert not ledger.claim_post(CH, "2508.00001", DAY, NOW, roundup)
    ledger.record_post(MessageRef(CH, "3.3"), "2508.00001", DAY, NOW, roundup)
    assert ledger.post_status(CH, "2508.00001", roundup, DAY) == PostStatus.POSTED
    assert ledger.post_status(CH, "2508.00001", roundup, later) is None
    assert ledger.claim_post(CH, "2508.00001", later, NOW, roundup)
    assert ledger.posted_paper_ids(CH) == set()  # roundups do not use up a digest's papers


def test_the_papers_a_digest_posted_on_a_day_in_order(storage: Storage) -> None:
    ledger = storage.ledger
    for n, pid in enumerate(["2508.00003", "2508.00001", "2508.00002"]):
        ledger.claim_post(CH, pid, DAY, NOW)
        ledger.record_post(MessageRef(CH, f"m{n}"), pid, DAY, NOW)
    ledger.claim_post(CH, "2508.00009", DAY + timedelta(days=1), NOW)
    assert ledger.papers_posted_on(CH, DAY) == ["2508.00003", "2508.00001", "2508.00002"]
    assert ledger.papers_posted_on(Channel("slack", "T1", "C2"), DAY) == []


def test_digest_claim_is_made_once_and_keeps_its_picks(storage: Storage) -> None:
    ledger = storage.ledger
    first = ledger.claim_digest(CH, DAY, "daily", [("a", "why a"), ("b", "why b")], NOW)
    second = ledger.claim_digest(CH, DAY, "daily", [("c", "why c")], NOW)
    assert first.fresh and not second.fresh
    assert second.picks == (("a", "why a"), ("b", "why b"))
    assert second.status == ClaimStatus.CLAIMED and second.header_ref is None
    ledger.set_digest_header(CH, DAY, "daily", "h1")
    ledger.finish_digest(CH, DAY, "daily", NOW)
    claim = ledger.get_digest(CH, DAY)
    assert claim is not None
    assert (claim.status, claim.header_ref, claim.kind) == (ClaimStatus.DONE, "h1", "daily")
    assert ledger.last_digest_day(CH) == DAY
    assert ledger.get_digest(CH, DAY, "extra-093000") is None


def test_each_digest_key_is_its_own_claim(storage: Storage) -> None:
    ledger = storage.ledger
    ledger.claim_digest(CH, DAY, "daily", [("a", "")], NOW)
    extra = ledger.claim_digest(CH, DAY, "extra-093000", [("b", "")], NOW)
    assert extra.fresh and extra.picks == (("b", ""),) and extra.kind == "extra-093000"
    ledger.claim_digest(CH, DAY + timedelta(days=1), "roundup", [], NOW)
    assert ledger.last_digest_day(CH) == DAY
    assert ledger.last_digest_day(CH, "roundup") == DAY + timedelta(days=1)


def test_digest_lease_excludes_a_second_owner_until_it_expires(storage: Storage) -> None:
    ledger = storage.ledger
    ledger.claim_digest(CH, DAY, "daily", [("a", "")], NOW)
    until = NOW + timedelta(minutes=5)
    assert ledger.digest_owner(CH, DAY, "daily") is None
    assert ledger.lease_digest(CH, DAY, "daily", "host:1", until, NOW)
    assert ledger.lease_digest(CH, DAY, "daily", "host:1", until, NOW)  # renewal
    assert not ledger.lease_digest(CH, DAY, "daily", "host:2", until, NOW)
    assert ledger.digest_owner(CH, DAY, "daily") == "host:1"
    assert ledger.lease_digest(CH, DAY, "daily", "host:2", until, NOW, dead_owners=["host:1"])
    later = NOW + timedelta(minutes=6)
    assert ledger.lease_digest(CH, DAY, "daily", "host:3", later + timedelta(minutes=5), later)
    assert ledger.digest_owner(CH, DAY, "daily") == "host:3"
    claim = ledger.get_digest(CH, DAY, "daily")
    assert claim is not None and claim.owner == "host:3"
    assert claim.lease_until == later + timedelta(minutes=5)
    (unfinished,) = ledger.unfinished_digests(CH)
    assert (unfinished.owner, unfinished.lease_until) == ("host:3", later + timedelta(minutes=5))


def test_a_finished_or_unclaimed_digest_cannot_be_leased(storage: Storage) -> None:
    ledger = storage.ledger
    until = NOW + timedelta(minutes=5)
    assert not ledger.lease_digest(CH, DAY, "daily", "host:1", until, NOW)
    ledger.claim_digest(CH, DAY, "daily", [], NOW)
    ledger.finish_digest(CH, DAY, "daily", NOW)
    assert not ledger.lease_digest(CH, DAY, "daily", "host:1", until, NOW)


def test_unfinished_digests_are_every_claim_not_done_or_abandoned(storage: Storage) -> None:
    ledger, other = storage.ledger, Channel("discord", "G1", "C9")
    ledger.claim_digest(CH, DAY, "daily", [("a", "why a")], NOW)
    ledger.claim_digest(CH, DAY, "extra-093000", [("b", "")], NOW + timedelta(minutes=1))
    ledger.claim_digest(other, DAY, "roundup", [], NOW - timedelta(hours=1))
    ledger.claim_digest(CH, DAY - timedelta(days=1), "daily", [], NOW - timedelta(days=1))
    ledger.finish_digest(CH, DAY - timedelta(days=1), "daily", NOW)
    pending = ledger.unfinished_digests()
    assert [(c.channel, c.kind) for c in pending] == [
        (other, "roundup"),
        (CH, "daily"),
        (CH, "extra-093000"),
    ]
    assert pending[1].picks == (("a", "why a"),) and pending[1].claimed_at == NOW
    assert [c.kind for c in ledger.unfinished_digests(CH)] == ["daily", "extra-093000"]
    ledger.abandon_digest(CH, DAY, "daily", NOW)
    claim = ledger.get_digest(CH, DAY)
    assert claim is not None and claim.status == ClaimStatus.ABANDONED
    assert [c.kind for c in ledger.unfinished_digests(CH)] == ["extra-093000"]
    until = NOW + timedelta(minutes=5)
    assert not ledger.lease_digest(CH, DAY, "daily", "host:1", until, NOW)


def test_a_claimed_post_can_be_released_but_a_posted_one_cannot(storage: Storage) -> None:
    ledger = storage.ledger
    ledger.claim_post(CH, "2508.00001", DAY, NOW)
    ledger.claim_post(CH, "2508.00002", DAY, NOW)
    ledger.record_post(MessageRef(CH, "m2"), "2508.00002", DAY, NOW)
    assert not ledger.release_post(CH, "2508.00001", DAY + timedelta(days=1))  # another day's
    assert ledger.release_post(CH, "2508.00001", DAY)
    assert not ledger.release_post(CH, "2508.00002", DAY)
    assert ledger.post_status(CH, "2508.00001") is None
    assert ledger.posted_paper_ids(CH) == {"2508.00002"}  # free for a later digest
    assert ledger.claim_post(CH, "2508.00001", DAY + timedelta(days=1), NOW)


# -- bookmarks, events, the fetch log ---------------------------------------------------------


def test_bookmarks_are_idempotent_per_member(storage: Storage) -> None:
    storage.papers.upsert([make_paper("2508.00001"), make_paper("2508.00002")], NOW)
    marks = storage.activity
    assert marks.set_bookmark(ADA, "2508.00001", True, NOW, "C1")
    assert not marks.set_bookmark(ADA, "2508.00001", True, NOW, "C1")
    marks.set_bookmark(ADA, "2508.00002", True, NOW + timedelta(minutes=1), "C1")
    marks.set_bookmark(CH.member("U2"), "2508.00002", True, NOW, "C1")
    saved = marks.bookmarks(ADA)
    assert [b.paper.id for b in saved] == ["2508.00002", "2508.00001"]
    assert saved[0].member == ADA and saved[0].saved_at == NOW + timedelta(minutes=1)
    assert marks.team_saves(CH, NOW - timedelta(days=7)) == [("2508.00002", 2), ("2508.00001", 1)]
    assert marks.team_saves(CH, NOW + timedelta(seconds=1)) == [("2508.00002", 1)]
    assert marks.set_bookmark(ADA, "2508.00001", False, NOW)
    assert not marks.set_bookmark(ADA, "2508.00001", False, NOW)
    assert [b.paper.id for b in marks.bookmarks(ADA)] == ["2508.00002"]


def test_bookmarks_belong_to_one_member_of_one_workspace(storage: Storage) -> None:
    storage.papers.upsert([make_paper("2508.00001")], NOW)
    storage.activity.set_bookmark(ADA, "2508.00001", True, NOW)
    assert storage.activity.bookmarks(Member("slack", "T2", "U1")) == []
    assert storage.activity.bookmarks(Member("discord", "T1", "U1")) == []
    assert storage.activity.team_saves(CH, NOW - timedelta(days=7)) == []  # saved from nowhere


def test_channel_saves_count_members_and_keep_the_latest_save(storage: Storage) -> None:
    storage.papers.upsert([make_paper("2508.00001"), make_paper("2508.00002")], NOW)
    marks = storage.activity
    later = NOW + timedelta(days=2)
    marks.set_bookmark(ADA, "2508.00001", True, NOW, "C1")
    marks.set_bookmark(ADA, "2508.00002", True, NOW, "C1")
    marks.set_bookmark(CH.member("U2"), "2508.00002", True, later, "C1")
    marks.set_bookmark(CH.member("U3"), "2508.00001", True, later, "C2")  # another channel
    marks.set_bookmark(Member("slack", "T2", "U4"), "2508.00001", True, later, "C1")
    assert marks.channel_saves(CH) == [
        ChannelSave("2508.00002", 2, later),
        ChannelSave("2508.00001", 1, NOW),
    ]
    marks.set_bookmark(CH.member("U2"), "2508.00002", False, later)
    assert marks.channel_saves(CH) == [
        ChannelSave("2508.00001", 1, NOW),
        ChannelSave("2508.00002", 1, NOW),
    ]
    assert marks.channel_saves(Channel("discord", "G1", "C1")) == []


def test_events_are_processed_once(storage: Storage) -> None:
    assert storage.activity.claim_event("slack", "Ev1", NOW)
    assert not storage.activity.claim_event("slack", "Ev1", NOW)
    assert storage.activity.claim_event("discord", "Ev1", NOW)


def test_event_ids_are_forgotten_once_no_platform_can_retry_them(storage: Storage) -> None:
    events = storage.activity
    assert events.claim_event("slack", "Ev1", NOW)
    assert not events.claim_event("slack", "Ev1", NOW + timedelta(minutes=5))  # Slack's last retry
    assert not events.claim_event("slack", "Ev1", NOW + EVENT_RETENTION - timedelta(seconds=1))
    # Pruned when a newer event arrives: the id is new again, so the table cannot grow for ever.
    assert events.claim_event("slack", "Ev2", NOW + EVENT_RETENTION + timedelta(seconds=1))
    assert events.claim_event("slack", "Ev1", NOW + EVENT_RETENTION + timedelta(seconds=2))


def test_fetch_log_keeps_the_latest_per_source(storage: Storage) -> None:
    log = storage.activity
    assert log.last_fetches() == {}
    log.record_fetch("hf", NOW, NOW, True, seen=20, new=5)
    log.record_fetch("hf", NOW, NOW + timedelta(seconds=1), False, error="HTTP 500")
    log.record_fetch("arxiv", NOW, NOW, True, seen=100, new=100)
    last = log.last_fetches()
    assert not last["hf"].ok and last["hf"].error == "HTTP 500"
    assert last["hf"].finished_at == NOW + timedelta(seconds=1)
    assert (last["arxiv"].ok, last["arxiv"].seen, last["arxiv"].new) == (True, 100, 100)


# -- installations (many workspaces) -----------------------------------------------------------


def _installed(team: str, token: str, at: datetime = NOW, enterprise: str = "") -> AppInstallation:
    data = {"team_id": team, "bot_token": token, "bot_scopes": "commands,chat:write", "n": 1}
    return AppInstallation("slack", enterprise, team, data, at)


def test_an_installation_is_kept_per_workspace_and_replaced_on_reinstall(storage: Storage) -> None:
    store = storage.installations
    assert store.find_installation("slack", "", "T1") is None
    store.save_installation(_installed("T1", "xoxb-1"))
    store.save_installation(_installed("T2", "xoxb-2", NOW + timedelta(minutes=1)))
    store.save_installation(_installed("T1", "xoxb-1-rotated", NOW + timedelta(minutes=2)))
    found = store.find_installation("slack", "", "T1")
    assert found == _installed("T1", "xoxb-1-rotated", NOW + timedelta(minutes=2))
    assert [i.team for i in store.installations("slack")] == ["T2", "T1"]
    assert store.find_installation("discord", "", "T1") is None
    assert store.find_installation("slack", "E1", "T1") is None  # another org's T1
    assert store.installations("discord") == []


def test_deleting_an_installation_forgets_only_that_workspace(storage: Storage) -> None:
    store = storage.installations
    store.save_installation(_installed("T1", "xoxb-1"))
    store.save_installation(_installed("T2", "xoxb-2"))
    store.save_installation(_installed("", "xoxb-org", enterprise="E1"))
    assert store.delete_installation("slack", "", "T1")
    assert not store.delete_installation("slack", "", "T1")
    assert store.find_installation("slack", "", "T1") is None
    assert store.find_installation("slack", "", "T2") is not None
    assert store.find_installation("slack", "E1", "") is not None


def test_an_oauth_state_is_good_once_and_only_until_it_expires(storage: Storage) -> None:
    store = storage.installations
    store.issue_state("s-1", NOW + timedelta(minutes=10))
    store.issue_state("s-2", NOW + timedelta(minutes=10))
    store.issue_state("s-old", NOW - timedelta(seconds=1))
    assert store.consume_state("s-1", NOW)
    assert not store.consume_state("s-1", NOW)  # replayed
    assert not store.consume_state("never-issued", NOW)
    assert not store.consume_state("s-old", NOW)
    assert not store.consume_state("s-2", NOW + timedelta(minutes=11))


# -- zotero -----------------------------------------------------------------------------------


def test_a_channel_library_is_set_changed_and_cleared(storage: Storage) -> None:
    assert storage.zotero.library(CH) is None
    storage.zotero.set_library(CH, "12345", NOW)
    storage.zotero.set_library(CH, "67890", NOW)
    assert storage.zotero.library(CH) == "67890"
    assert storage.zotero.library(Channel("slack", "T1", "C2")) is None
    storage.zotero.set_library(CH, None, NOW)
    assert storage.zotero.library(CH) is None


def test_a_paper_is_queued_for_a_library_once_and_pushed_once(storage: Storage) -> None:
    zotero = storage.zotero
    assert zotero.queue("1", "2508.00001", NOW)
    assert not zotero.queue("1", "2508.00001", NOW + timedelta(minutes=1))  # a second save
    assert zotero.queue("2", "2508.00001", NOW)  # another library gets its own copy
    assert zotero.queue("1", "2508.00002", NOW + timedelta(seconds=1))
    due = zotero.due(NOW + timedelta(seconds=1))
    assert [(p.library, p.paper_id) for p in due] == [
        ("1", "2508.00001"),
        ("2", "2508.00001"),
        ("1", "2508.00002"),
    ]
    assert all(p.token is None and p.attempts == 0 for p in due)
    zotero.pushed("1", ["2508.00001"], NOW)
    assert not zotero.queue("1", "2508.00001", NOW)  # pushed: never again
    assert zotero.counts() == {"pushed": 1, "pending": 2, "failing": 0}


def test_a_failed_push_waits_keeps_or_drops_its_token(storage: Storage) -> None:
    zotero = storage.zotero
    zotero.queue("1", "a", NOW)
    zotero.queue("1", "b", NOW)
    zotero.stamp("1", ["a", "b"], "t" * 32)
    later = NOW + timedelta(minutes=5)
    zotero.failed("1", ["a"], "HTTP 503", later, keep_token=True)
    zotero.failed("1", ["b"], "invalid item", later, keep_token=False)
    assert zotero.due(NOW) == []  # both wait for their next try
    pushes = {p.paper_id: p for p in zotero.due(later)}
    assert pushes["a"].token == "t" * 32 and pushes["a"].attempts == 1
    assert pushes["a"].error == "HTTP 503"
    assert pushes["b"].token is None and pushes["b"].attempts == 1
    assert zotero.counts() == {"pushed": 0, "pending": 2, "failing": 2}
