"""Many Slack workspaces: installs through Slack's OAuth flow, each workspace with its own token,
its own channels and bookmarks, token rotation and uninstalls, against the local Slack fake."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from adapters.slack.oauth import NotInstalled
from adapters.slack.settings import BOT_SCOPES
from bot.corethread import CoreThread
from bot.models import Channel, Member
from bot.ports import PostFailed
from bot.schedule import job_id
from bot.service import Service
from tests.conftest import make_paper
from tests.slack_harness import SlackHarness, slack_harness

PAPERS = [make_paper(f"2508.0000{n}", upvotes=50 - n) for n in range(1, 4)]
ACME, BETA = "T0ACME", "T0BETA"


@pytest.fixture
async def slack(tmp_path: Path) -> AsyncIterator[SlackHarness]:
    # The core and the store on their own thread, as under `papers-bot run`.
    with CoreThread() as core:
        async with slack_harness(tmp_path, home=core, oauth=True) as harness:
            await core.call(harness.seed, PAPERS)
            yield harness


async def installed(slack: SlackHarness, team: str, channel: str) -> SlackHarness:
    """`team` installs the app; the harness seen from its channel."""
    workspace = slack.workspace(team, channel)
    response = await workspace.install()
    assert response.status == 200, await response.text()
    return workspace


async def token_of(slack: SlackHarness, team: str) -> str | None:
    found = await slack.bot.installations.find("slack", "", team)
    return found.data["bot_token"] if found else None


async def subscribed(slack: SlackHarness) -> list[Channel]:
    subs = await slack.bot.home.call(slack.bot.subscriptions.all)
    return [sub.channel for sub in subs]


async def paused(slack: SlackHarness) -> dict[Channel, str]:
    subs = await slack.bot.home.call(slack.bot.subscriptions.all)
    return {sub.channel: sub.paused.reason for sub in subs if sub.paused is not None}


async def saved(slack: SlackHarness, member: Member) -> list[str]:
    marks = await slack.bot.home.call(slack.storage.activity.bookmarks, member)
    return [mark.paper.id for mark in marks]


async def test_two_workspaces_install_command_digest_and_uninstall_apart(
    slack: SlackHarness,
) -> None:
    acme = await installed(slack, ACME, "C0ACME")
    beta = await installed(slack, BETA, "C0BETA")
    assert (
        await token_of(slack, ACME)
        == slack.fake.grants[ACME].access_token
        != await token_of(slack, BETA)
    )

    assert "now gets the daily digest" in await acme.command("subscribe")
    assert "now gets the daily digest" in await beta.command("subscribe")
    assert "count" in await beta.command("settings count 2")
    assert await subscribed(slack) == [acme.channel, beta.channel]

    firsts = []
    for workspace, count in ((acme, 3), (beta, 2)):  # each with its own settings
        outcome = await workspace.post_digest()
        assert outcome.status == "posted" and len(outcome.posted) == count
        firsts.append(outcome.posted[0].ref)
    # Each workspace's messages went out with its own token, reactions seeded by its own bot.
    posts = slack.fake.calls_to("chat.postMessage")
    assert {(c.args["channel"], c.team) for c in posts} == {("C0ACME", ACME), ("C0BETA", BETA)}
    acme_first = next(m for m in slack.fake.channel_messages("C0ACME") if m.ts == firsts[0])
    assert acme_first.team == ACME and acme_first.reactions == [("bookmark", f"UB{ACME}")]

    # The same user id in two workspaces is two people.
    await acme.react(acme_first.ts, "U1")
    assert await saved(slack, Member("slack", ACME, "U1")) == [PAPERS[0].id]
    assert await saved(slack, Member("slack", BETA, "U1")) == []
    assert PAPERS[0].title not in await beta.command("saved")
    confirmation = slack.fake.ephemerals[-1]
    assert (confirmation.team, confirmation.ephemeral_to) == (ACME, "U1")

    # ACME removes the app: its token is forgotten and its channel paused; BETA carries on.
    slack.fake.uninstall(ACME)
    assert await acme.event(acme.event_body({"type": "app_uninstalled"})) == 200
    assert await token_of(slack, ACME) is None
    assert await paused(slack) == {acme.channel: "app_uninstalled"}
    with pytest.raises(NotInstalled, match="install it again from /slack/install"):
        await slack.adapter.workspace(ACME)
    assert await token_of(slack, BETA) is not None
    assert "help" in (await beta.command("help")).lower()

    # Installed again, its channel resumes by itself, with its settings.
    await acme.install()
    assert await paused(slack) == {}
    assert "already gets the daily digest" in await acme.command("subscribe")


async def test_a_reinstall_resumes_only_the_channels_the_removal_paused(
    slack: SlackHarness,
) -> None:
    acme = await installed(slack, ACME, "C0ACME")
    await acme.command("subscribe")
    other = slack.workspace(ACME, "C0KICKED")
    await other.command("subscribe")
    kicked = PostFailed("not_in_channel", "I am not in this channel", permanent=True)
    await slack.bot.home.call(slack.bot.subscriptions.pause, other.channel, kicked)
    assert await acme.event(acme.event_body({"type": "app_uninstalled"})) == 200
    assert await paused(slack) == {acme.channel: "app_uninstalled", other.channel: "not_in_channel"}
    await acme.install()
    assert await paused(slack) == {other.channel: "not_in_channel"}  # still not invited back


async def test_a_revoked_bot_token_forgets_the_workspace_a_users_token_does_not(
    slack: SlackHarness,
) -> None:
    acme = await installed(slack, ACME, "C0ACME")
    await acme.command("subscribe")
    user_only = {"type": "tokens_revoked", "tokens": {"oauth": ["U0ADMIN"], "bot": []}}
    assert await acme.event(acme.event_body(user_only)) == 200
    assert await token_of(slack, ACME) is not None and await paused(slack) == {}
    bot = {"type": "tokens_revoked", "tokens": {"oauth": [], "bot": [f"UB{ACME}"]}}
    assert await acme.event(acme.event_body(bot)) == 200
    assert await token_of(slack, ACME) is None
    assert await paused(slack) == {acme.channel: "app_uninstalled"}


async def test_a_digest_for_a_workspace_without_a_token_pauses_its_channel(
    tmp_path: Path,
) -> None:
    # The uninstall event was lost, or another process forgot the workspace first: the
    # scheduled digest finds no token, and the channel is paused, not retried.
    options: dict[str, Any] = {"health_port": 0, "papers_bot_sources": ()}
    async with slack_harness(tmp_path, oauth=True, start=False, **options) as slack:
        slack.seed(PAPERS)
        service = Service(slack.bot, slack.storage, [slack.adapter], slack.settings, slack.clock)
        await service.start()
        try:
            acme = await installed(slack, ACME, "C0ACME")
            await acme.command("subscribe")
            await slack.bot.installations.delete("slack", "", ACME)
            before = len(slack.fake.calls_to("chat.postMessage", status=None))
            job = service.scheduler.get_job(job_id("digest", acme.channel))
            await job.func(*job.args)
            assert len(slack.fake.calls_to("chat.postMessage", status=None)) == before
            assert await paused(slack) == {acme.channel: "app_uninstalled"}
            assert service.scheduler.get_job(job_id("digest", acme.channel)) is None
        finally:
            await service.stop()


async def test_a_reinstall_replaces_the_workspace_token(slack: SlackHarness) -> None:
    acme = await installed(slack, ACME, "C0ACME")
    first = await token_of(slack, ACME)
    await acme.install()
    assert await token_of(slack, ACME) == slack.fake.grants[ACME].access_token != first
    everyone = await slack.bot.home.call(slack.storage.installations.installations, "slack")
    assert len(everyone) == 1


async def test_an_unknown_or_replayed_state_installs_nothing(slack: SlackHarness) -> None:
    acme = slack.workspace(ACME, "C0ACME")
    code = slack.fake.authorize(ACME)
    url = f"{acme.base_url}/slack/oauth_redirect"
    cookie = {"Cookie": "slack-app-oauth-state=forged"}
    params = {"code": code, "state": "forged"}
    async with acme.session.get(url, params=params, headers=cookie) as forged:
        assert forged.status in (400, 401)
    assert slack.fake.calls_to("oauth.v2.access", status=None) == []
    assert await token_of(slack, ACME) is None

    async with acme.session.get(f"{acme.base_url}/slack/install", allow_redirects=False) as start:
        location, set_cookie = start.headers["Location"], start.headers["Set-Cookie"]
    state = location.split("state=", 1)[1].split("&", 1)[0]
    headers = {"Cookie": set_cookie.split(";", 1)[0]}
    for expected in (200, 401):  # the second use of the same state is refused
        params = {"code": slack.fake.authorize(ACME), "state": state}
        async with acme.session.get(url, params=params, headers=headers) as finish:
            assert finish.status == expected
    assert len(slack.fake.calls_to("oauth.v2.access")) == 1


async def test_install_asks_for_the_bot_scopes_and_the_client_id(slack: SlackHarness) -> None:
    async with slack.session.get(f"{slack.base_url}/slack/install", allow_redirects=False) as start:
        location = start.headers["Location"]
    assert location.startswith("https://slack.com/oauth/v2/authorize?")
    assert "client_id=1111.2222" in location
    assert "scope=commands,chat:write,reactions:read,reactions:write" in location


async def test_expiring_tokens_are_rotated_before_a_digest_and_before_a_command(
    slack: SlackHarness,
) -> None:
    slack.fake.rotation_expires_in = 3600  # under the two hours before expiry bolt refreshes at
    acme = await installed(slack, ACME, "C0ACME")
    installed_token = await token_of(slack, ACME)
    slack.fake.rotation_expires_in = 12 * 3600  # what Slack hands out on refresh

    outcome = await acme.post_digest()  # no request carries a token here: the adapter rotates
    assert outcome.status == "posted"
    refreshes = [c for c in slack.fake.calls_to("oauth.v2.access") if c.args.get("grant_type")]
    assert len(refreshes) == 1
    rotated = await token_of(slack, ACME)
    assert rotated == slack.fake.grants[ACME].access_token != installed_token
    assert {c.team for c in slack.fake.calls_to("chat.postMessage")} == {ACME}
    assert slack.fake.calls_to("chat.postMessage", status=None) == slack.fake.calls_to(
        "chat.postMessage"
    )  # the expired token was never used

    # bolt rotates per request the same way, through the same store.
    slack.fake.rotation_expires_in = 3600
    await acme.install()
    slack.fake.rotation_expires_in = 12 * 3600
    before = await token_of(slack, ACME)
    assert "help" in (await acme.command("help")).lower()
    assert await token_of(slack, ACME) != before
    assert await token_of(slack, ACME) == slack.fake.grants[ACME].access_token


def test_the_scopes_asked_on_install_are_the_manifests() -> None:
    manifest = (Path(__file__).parents[1] / "adapters" / "slack" / "manifest.yml").read_text()
    bot_scopes = manifest.split("bot:\n", 1)[1].split("settings:", 1)[0]
    listed = re.findall(r"^\s+- (\S+)$", bot_scopes, re.MULTILINE)
    assert BOT_SCOPES.split(",") == listed
