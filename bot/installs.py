"""A multi-workspace app's installations as adapters reach them: awaited, like every other call
an adapter makes into the core, so the storage stays wherever the core keeps it."""

from __future__ import annotations

from datetime import datetime

from bot.corethread import INLINE, Home
from bot.models import AppInstallation
from bot.storage import Installations


class Installs:
    """The Installations port for adapters (Slack's OAuth flow and its token lookups); each
    call runs on the core's home, where the storage lives."""

    def __init__(self, store: Installations, home: Home = INLINE) -> None:
        self._store = store
        self._home = home

    async def save(self, installation: AppInstallation) -> None:
        """Create or replace the installation of one workspace."""
        await self._home.call(self._store.save_installation, installation)

    async def find(self, platform: str, enterprise: str, team: str) -> AppInstallation | None:
        """The installation of one workspace, or None when the app is not installed there."""
        return await self._home.call(self._store.find_installation, platform, enterprise, team)

    async def delete(self, platform: str, enterprise: str, team: str) -> bool:
        """Forget one workspace's installation and its tokens; True if there was one."""
        return await self._home.call(self._store.delete_installation, platform, enterprise, team)

    async def issue_state(self, state: str, expires_at: datetime) -> None:
        """Remember an OAuth state handed to a browser until it expires."""
        await self._home.call(self._store.issue_state, state, expires_at)

    async def consume_state(self, state: str, now: datetime) -> bool:
        """True exactly once for a state issued and not yet expired."""
        return await self._home.call(self._store.consume_state, state, now)
