"""Who may change a channel on Slack: workspace admins and owners, and ADMIN_USER_IDS."""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable, Iterable

from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from adapters.slack.client import slack_error
from bot.models import Channel

log = logging.getLogger(__name__)

CACHE_SECONDS = 300.0  # a promotion or demotion shows within five minutes


class WorkspaceAdmins:
    """The ChannelManagers port for Slack: users.info's is_admin / is_owner, cached briefly;
    the ids in ADMIN_USER_IDS always."""

    def __init__(
        self,
        client: Callable[[str], Awaitable[AsyncWebClient]],  # a workspace's Web API client
        allowlist: Iterable[str] = (),
        *,
        ttl: float = CACHE_SECONDS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.client = client
        self.allowlist = frozenset(allowlist)
        self.ttl = ttl
        self.clock = clock
        self._known: dict[tuple[str, str], tuple[bool, float]] = {}  # -> (admin, until)

    @property
    def who(self) -> str:
        """Who may, as a refusal names them."""
        listed = ", owners and the bot's listed admins" if self.allowlist else " and owners"
        return f"workspace admins{listed}"

    async def is_manager(self, channel: Channel, user: str) -> bool:
        """True for an admin or owner of the workspace, or a listed id."""
        if user in self.allowlist:
            return True
        key, now = (channel.workspace, user), self.clock()
        known = self._known.get(key)
        if known is not None and known[1] > now:
            return known[0]
        try:
            client = await self.client(channel.workspace)
            response = await client.users_info(user=user)
        except SlackApiError as exc:
            # Most likely an install from before users:read: refuse, and tell the operator.
            log.warning(
                "cannot tell whether %s is a workspace admin (users.info: %s); add the "
                "users:read scope and reinstall the app",
                user,
                slack_error(exc),
            )
            return False
        info = response.get("user") or {}
        admin = any(info.get(flag) for flag in ("is_admin", "is_owner", "is_primary_owner"))
        self._known[key] = (admin, now + self.ttl)
        return admin
