"""Many workspaces: Slack's OAuth flow over papers-bot's own store.

bolt's AsyncOAuthFlow serves /slack/install and /slack/oauth_redirect; its installation store
and OAuth state store here keep everything in the bot's database (the Installations port), so
every replica sees an install the moment it is saved and a state issued by another replica.

One installation per workspace: team ids are unique across Slack, so a workspace install is
kept under ("", team) even inside an enterprise org, and an org-wide install under (org, "").
The bot asks for bot scopes only; an installing user's own token is never needed.
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from typing import Any

from slack_bolt.authorization.async_authorize import AsyncInstallationStoreAuthorize
from slack_bolt.oauth.async_oauth_flow import AsyncOAuthFlow
from slack_bolt.oauth.async_oauth_settings import AsyncOAuthSettings
from slack_sdk.oauth.installation_store import Bot, Installation
from slack_sdk.oauth.installation_store.async_installation_store import AsyncInstallationStore
from slack_sdk.oauth.state_store.async_state_store import AsyncOAuthStateStore
from slack_sdk.oauth.token_rotation.async_rotator import AsyncTokenRotator
from slack_sdk.web.async_client import AsyncWebClient

from adapters.slack.settings import SlackSettings
from bot.installs import Installs
from bot.models import AppInstallation
from bot.ports import Clock, PostFailed, utcnow

log = logging.getLogger(__name__)

PLATFORM = "slack"
STATE_LIFETIME = timedelta(minutes=10)  # how long an install link stays good
ROTATE_BEFORE_MINUTES = 120  # refresh a rotating token this long before it expires


class NotInstalled(PostFailed):
    """The app has no installation (no token) in this workspace: it was removed, or never
    installed. Nothing can be posted there until someone installs it again."""

    REASON = "app_uninstalled"  # the pause of a workspace's channels, lifted by a reinstall

    def __init__(self, team: str) -> None:
        super().__init__(
            self.REASON,
            f"papers-bot is not installed in Slack workspace {team}: an admin can install it "
            "again from /slack/install, and its channels resume",
            permanent=True,
        )
        self.team = team


def workspace_key(
    enterprise_id: str | None, team_id: str | None, org_wide: bool
) -> tuple[str, str]:
    """(enterprise, team) under which an installation is kept."""
    if org_wide or not team_id:
        return enterprise_id or "", ""
    return "", team_id


def _to_data(installation: Installation) -> dict[str, Any]:
    data = installation.to_dict_for_copying()
    return {
        key: value.isoformat() if isinstance(value, datetime) else value
        for key, value in data.items()
    }


class _OverStore:
    """What both of bolt's stores hold: the Installations port and a clock."""

    def __init__(self, store: Installs, clock: Clock = utcnow) -> None:
        self.store = store
        self.clock = clock

    @property
    def logger(self) -> logging.Logger:
        return log


class StoreInstallations(_OverStore, AsyncInstallationStore):
    """bolt's installation store over the Installations port; `on_installed(team)` is awaited
    after each install (a workspace's channels paused by its removal resume then)."""

    def __init__(
        self,
        store: Installs,
        clock: Clock = utcnow,
        on_installed: Callable[[str], Awaitable[object]] | None = None,
    ) -> None:
        super().__init__(store, clock)
        self.on_installed = on_installed

    async def async_save(self, installation: Installation) -> None:
        """Keep a workspace's installation (a new install, a reinstall or rotated tokens)."""
        enterprise, team = workspace_key(
            installation.enterprise_id, installation.team_id, installation.is_enterprise_install
        )
        data = _to_data(installation)
        await self.store.save(AppInstallation(PLATFORM, enterprise, team, data, self.clock()))
        if self.on_installed is not None and installation.team_id:
            await self.on_installed(installation.team_id)

    async def async_save_bot(self, bot: Bot) -> None:
        """Rotated bot tokens: merged into the workspace's installation."""
        found = await self.async_find_installation(
            enterprise_id=bot.enterprise_id,
            team_id=bot.team_id,
            is_enterprise_install=bot.is_enterprise_install,
        )
        if found is None:
            return
        found.bot_token = bot.bot_token
        found.bot_refresh_token = bot.bot_refresh_token
        found.bot_token_expires_at = bot.bot_token_expires_at
        await self.async_save(found)

    async def async_find_installation(
        self,
        *,
        enterprise_id: str | None,
        team_id: str | None,
        user_id: str | None = None,
        is_enterprise_install: bool | None = False,
    ) -> Installation | None:
        """The workspace's installation (a user's own only when that user installed it)."""
        enterprise, team = workspace_key(enterprise_id, team_id, bool(is_enterprise_install))
        found = await self.store.find(PLATFORM, enterprise, team)
        if found is None:
            return None
        data = dict(found.data)
        custom = data.pop("custom_values", None) or {}
        installation = Installation(**data)
        installation.custom_values = custom
        if user_id is not None and installation.user_id != user_id:
            return None
        return installation

    async def async_find_bot(
        self,
        *,
        enterprise_id: str | None,
        team_id: str | None,
        is_enterprise_install: bool | None = False,
    ) -> Bot | None:
        """The workspace's bot token and ids."""
        found = await self.async_find_installation(
            enterprise_id=enterprise_id,
            team_id=team_id,
            is_enterprise_install=is_enterprise_install,
        )
        return found.to_bot() if found is not None and found.bot_token else None

    async def async_delete_bot(self, *, enterprise_id: str | None, team_id: str | None) -> None:
        """Forget the workspace's tokens."""
        await self.async_delete_all(enterprise_id=enterprise_id, team_id=team_id)

    async def async_delete_installation(
        self, *, enterprise_id: str | None, team_id: str | None, user_id: str | None = None
    ) -> None:
        """Forget the workspace's installation; one user's revoked token leaves the bot's."""
        if user_id is None:
            await self.async_delete_all(enterprise_id=enterprise_id, team_id=team_id)

    async def async_delete_all(self, *, enterprise_id: str | None, team_id: str | None) -> None:
        """Forget everything kept for the workspace (or org)."""
        enterprise, team = workspace_key(enterprise_id, team_id, False)
        await self.store.delete(PLATFORM, enterprise, team)


class StoreOAuthStates(_OverStore, AsyncOAuthStateStore):
    """bolt's OAuth state store over the Installations port: one-time, expiring states."""

    async def async_issue(self, *args: Any, **kwargs: Any) -> str:
        """A new unguessable state for one install link."""
        state = secrets.token_urlsafe(24)
        await self.store.issue_state(state, self.clock() + STATE_LIFETIME)
        return state

    async def async_consume(self, state: str) -> bool:
        """True once for a state this app issued that has not expired."""
        return await self.store.consume_state(state, self.clock())


class Workspaces:
    """Each workspace's bot token for the calls no request carries (digests, shares): found in
    the store and rotated first when it is about to expire, exactly as bolt does per request."""

    def __init__(
        self,
        installations: StoreInstallations,
        rotator: AsyncTokenRotator,
        make_client: Callable[[str], AsyncWebClient],
    ) -> None:
        self.installations = installations
        self.rotator = rotator
        self._make_client = make_client

    async def client_for(self, team: str) -> tuple[AsyncWebClient, str | None]:
        """A Web API client with this workspace's bot token, and the bot's user id there."""
        installation = await self.installations.async_find_installation(
            enterprise_id=None, team_id=team
        )
        if installation is None or not installation.bot_token:
            raise NotInstalled(team)
        if installation.bot_refresh_token:
            rotated = await self.rotator.perform_token_rotation(
                installation=installation, minutes_before_expiration=ROTATE_BEFORE_MINUTES
            )
            if rotated is not None:
                await self.installations.async_save(rotated)
                installation = rotated
                log.info("Slack: rotated the bot token of workspace %s", team)
        return self._make_client(installation.bot_token or ""), installation.bot_user_id


def oauth_flow(
    settings: SlackSettings,
    store: Installs,
    client: AsyncWebClient,
    clock: Clock = utcnow,
    on_installed: Callable[[str], Awaitable[object]] | None = None,
) -> tuple[AsyncOAuthFlow, Workspaces]:
    """bolt's OAuth flow over our store, and the per-workspace tokens for posting. Token
    exchange, refreshes and auth.test all go through `client` (its base URL is SLACK_API_URL)."""
    installations = StoreInstallations(store, clock, on_installed)
    oauth = AsyncOAuthSettings(
        client_id=settings.slack_client_id,
        client_secret=settings.slack_client_secret,
        scopes=settings.slack_scopes,
        redirect_uri=settings.slack_redirect_uri,
        install_page_rendering_enabled=False,  # /slack/install redirects straight to Slack
        installation_store=installations,
        installation_store_bot_only=True,
        token_rotation_expiration_minutes=ROTATE_BEFORE_MINUTES,
        state_store=StoreOAuthStates(store, clock),
        state_expiration_seconds=int(STATE_LIFETIME.total_seconds()),
    )
    # bolt's own authorize would refresh tokens through a client on slack.com, not SLACK_API_URL.
    oauth.authorize = AsyncInstallationStoreAuthorize(
        logger=log,
        installation_store=installations,
        client_id=settings.slack_client_id,
        client_secret=settings.slack_client_secret,
        token_rotation_expiration_minutes=ROTATE_BEFORE_MINUTES,
        bot_only=True,
        client=client,
    )
    rotator = AsyncTokenRotator(
        client_id=settings.slack_client_id or "",
        client_secret=settings.slack_client_secret or "",
        client=client,
    )
    flow = AsyncOAuthFlow(client=client, logger=log, settings=oauth)
    return flow, Workspaces(installations, rotator, _client_factory(client))


def _client_factory(base: AsyncWebClient) -> Callable[[str], AsyncWebClient]:
    def make(token: str) -> AsyncWebClient:
        made = AsyncWebClient(token=token, base_url=base.base_url)
        made.retry_handlers = list(base.retry_handlers)
        return made

    return make
