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


def open_app(settings: Settings, clock: Clock = utcnow) -> App:
    """Open the storage the settings name and build the bot over it."""
    storage = open_storage(settings.papers_bot_db, semantic=settings.semantic_search)
    return App(settings, storage, PapersBot(storage, settings, clock))


async def serve(settings: Settings, stop: asyncio.Event | None = None) -> None:
    """`papers-bot run`: every configured platform, the schedules and /healthz, until SIGINT or
    SIGTERM (or `stop` is set)."""
    from adapters import build_adapters, configured_platforms

    platforms = configured_platforms()
    logs.configure(settings.log_level, [secret for _, ps in platforms for secret in ps.secrets])
    app = open_app(settings)
    try:
        service = Service(app.bot, app.storage, build_adapters(app.bot, platforms), settings)
    except BaseException:
        app.close()
        raise
    stop = stop or asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    try:  # a start-up failure (a rejected token) still closes what was opened
        await service.start()
        log.info("papers-bot running: %s", ", ".join(service.adapters))
        await stop.wait()
        log.info("shutting down")
    finally:
        await service.stop()
