"""Building papers-bot: the one place that opens the storage and wires the core to it.

Every entry point gets its bot here: the CLI's commands through `open_app`, `papers-bot run`
through `serve`, which adds the platform adapters the settings configure.
"""

from __future__ import annotations

import asyncio
import logging
import signal
from dataclasses import dataclass

from bot import logs
from bot.config import Settings
from bot.core import PapersBot
from bot.corethread import INLINE, CoreThread, Home
from bot.ports import Clock, utcnow
from bot.service import Service
from bot.storage import Storage, open_storage

log = logging.getLogger(__name__)


@dataclass
class App:
    """An open installation: its settings, its storage and the bot over them."""

    settings: Settings
    storage: Storage
    bot: PapersBot

    def close(self) -> None:
        """Close the storage."""
        self.storage.close()

    def __enter__(self) -> App:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def open_app(settings: Settings, clock: Clock = utcnow, home: Home = INLINE) -> App:
    """Open the storage the settings name and build the bot over it (on `home`'s thread)."""
    storage = open_storage(settings.storage_target, semantic=settings.semantic_search)
    return App(settings, storage, PapersBot(storage, settings, clock, home=home))


async def serve(settings: Settings, stop: asyncio.Event | None = None) -> None:
    """`papers-bot run`: every configured platform, the schedules and /healthz, until SIGINT or
    SIGTERM (or `stop` is set).

    The adapters run on this loop; the storage, the core and the service (schedules, fetches,
    digests, /healthz) on the core's own thread, so no database call ever delays an ack."""
    from adapters import build_adapters, configured_platforms, subscribe_terminal

    platforms = configured_platforms()
    logs.configure(settings.log_level, [secret for _, ps in platforms for secret in ps.secrets])
    with CoreThread() as core:
        app = await core.call(open_app, settings, utcnow, core)
        try:
            adapters = build_adapters(app.bot, platforms)
            if not platforms:
                await core.call(subscribe_terminal, app.bot)
            relayed = [core.relay(adapter) for adapter in adapters]
            service = Service(app.bot, app.storage, relayed, settings)
        except BaseException:
            await core.call(app.close)
            raise
        stop = stop or asyncio.Event()
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(signum, stop.set)
        try:  # a start-up failure (a rejected token) still closes what was opened
            await core.run(service.start())
            log.info("papers-bot running: %s", ", ".join(service.adapters))
            await stop.wait()
            log.info("shutting down")
        finally:
            await core.run(service.stop())
