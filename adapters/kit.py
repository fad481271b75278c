"""What every platform adapter needs and writes the same way: owned tasks, and one boundary
that turns whatever a command raised into a reply for the user."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any

from bot.commands import UserError
from bot.presentation import FAILED
from bot.replies import Reply, TextReply

log = logging.getLogger(__name__)

# An adapter's reading of a platform error: the line to show the user ("invite me first"),
# or None when it is not one the user can act on.
Explain = Callable[[Exception], str | None]


class TaskSet:
    """Tasks an adapter owns: referenced until done, so none is lost, and awaitable on stop."""

    def __init__(self) -> None:
        self._tasks: set[asyncio.Task[Any]] = set()

    def __len__(self) -> int:
        return len(self._tasks)

    def spawn(self, work: Coroutine[Any, Any, Any]) -> asyncio.Task[Any]:
        """Run `work` as an owned task."""
        task = asyncio.create_task(work)
        self.add(task)
        return task

    def add(self, task: asyncio.Task[Any]) -> None:
        """Own a task started elsewhere (a library's handler task)."""
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def own_current(self) -> None:
        """Own the running task: a handler a library started for us."""
        task = asyncio.current_task()
        if task is not None:
            self.add(task)

    async def idle(self, timeout: float | None = None) -> None:
        """Wait until every task owned so far has finished (at most `timeout` seconds)."""
        if timeout is not None:
            if self._tasks:
                await asyncio.wait(set(self._tasks), timeout=timeout)
            return
        while self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)


async def guarded(work: Awaitable[Reply], what: str, explain: Explain | None = None) -> Reply:
    """Run one command, click or event for a user: a UserError becomes its text, a platform
    error the adapter can explain becomes that line, anything else is logged with its
    traceback and becomes a short apology. Never raises (but for cancellation)."""
    try:
        return await work
    except UserError as exc:
        return TextReply(str(exc), error=True)
    except Exception as exc:  # one request's boundary: log it, tell the user, keep serving
        said = explain(exc) if explain else None
        if said is not None:
            log.warning("%s: %s", what, exc)
            return TextReply(said, error=True)
        log.exception("%s failed", what)
        return TextReply(FAILED, error=True)
