"""Owned asyncio tasks: referenced until done, so none is lost, and awaited on shutdown.

The service owns its jobs this way, and every adapter its handlers.
"""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from typing import Any


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

    async def cancel(self) -> None:
        """Cancel every task owned so far and wait until they have ended."""
        tasks = set(self._tasks)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
