"""Building papers-bot: the one place that opens the storage and wires the core to it.

Every entry point gets its bot here: the CLI's commands through `open_app`, `papers-bot run`
through `serve`, which adds the platform adapters the settings configure.
"""

from __future__ import annotations

import asyncio
import logging
import os
import signal
from dataclasses import dataclass
from pathlib import Path

from bot import logs
from bot.config import ConfigError, Settings
from bot.core import PapersBot
from bot.corethread import INLINE, CoreThread, Home
from bot.ports import Clock, utcnow
from bot.service import Service
from bot.storage import Storage, open_storage
from bot.store import SchemaTooNew

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


class CannotOpenDatabase(ConfigError):
    """The database named by the settings cannot be used; carries its name (no password)."""

    def __init__(self, name: str, reason: object, fix: str | None = None) -> None:
        super().__init__(
            f"cannot open the database {name}: {reason}. "
            + (
                fix
                or "Point PAPERS_BOT_DB or DATABASE_URL (or --db) at a papers-bot database, "
                "or at a new file name to start an empty one"
            )
        )
        self.name = name


def file_trouble(path: Path) -> str | None:
    """What keeps SQLite from using the file at `path`, and what to do, when the file system
    tells; None when it does not."""
    if path.is_dir():
        return f"{path} is a folder: name a file in it, e.g. --db {path / 'papers-bot.db'}"
    folder = path.parent
    if not folder.is_dir():
        return f"the folder {folder} does not exist: create it, or name a file in another folder"
    if path.exists() and not os.access(path, os.R_OK | os.W_OK):
        return f"papers-bot writes to {path}: give this user read and write access to it"
    if not os.access(folder, os.W_OK | os.X_OK):
        # SQLite keeps its -wal and -shm files beside the database, and creates a new one there
        return (
            f"papers-bot writes in {folder} (the database and its -wal file): give this user "
            "write access to that folder, or name a file in another one"
        )
    return None


def open_app(settings: Settings, clock: Clock = utcnow, home: Home = INLINE) -> App:
    """Open the storage the settings name and build the bot over it (on `home`'s thread);
    CannotOpenDatabase for a folder, a file that is not a database, one that cannot be read or a
    server that cannot be reached."""
    try:
        storage = open_storage(settings.storage_target, semantic=settings.semantic_search)
    except SchemaTooNew as exc:
        raise ConfigError(str(exc)) from exc
    except Exception as exc:  # the many ways a target is not a usable database
        fix = None if settings.database_url else file_trouble(settings.papers_bot_db)
        raise CannotOpenDatabase(settings.storage_name, exc, fix) from exc
    return App(settings, storage, PapersBot(storage, settings, clock, home=home))


async def serve(settings: Settings, stop: asyncio.Event | None = None) -> None:
    """`papers-bot run`: every configured platform, the schedules and /healthz, until SIGINT or
    SIGTERM (or `stop` is set).

    The adapters run on this loop; the storage, the core and the service (schedules, fetches,
    digests, /healthz) on the core's own thread, so no database call ever delays an ack."""
    from adapters import build_adapters, configured_platforms, subscribe_terminal

    platforms = configured_platforms()
    secrets = [secret for _, ps in platforms for secret in ps.secrets]
    logs.configure(settings.log_level, [*secrets, settings.zotero_api_key])
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
        starting = asyncio.ensure_future(core.run(service.start()))
        stopping = asyncio.ensure_future(stop.wait())
        try:  # a start-up failure (a rejected token) still closes what was opened
            await asyncio.wait({starting, stopping}, return_when=asyncio.FIRST_COMPLETED)
            if starting.done():
                starting.result()
                log.info("papers-bot running: %s", ", ".join(service.adapters))
                await stopping
            log.info("shutting down")  # SIGTERM while still connecting stops the retries too
        finally:
            for task in (starting, stopping):
                task.cancel()
            await asyncio.gather(starting, stopping, return_exceptions=True)
            await core.run(service.stop())
