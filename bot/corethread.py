"""Where the core runs: on the adapters' event loop (the CLI, tests of the core alone), or on a
thread of its own so that no database call ever runs on the loop the adapters ack on.

`papers-bot run` gives the core a `CoreThread`: the storage is opened there, and everything that
reads or writes it (commands, reactions, digests, fetches, schedules) runs on that thread's event
loop. The adapters' loop only hands work over and awaits the answer, so another process holding
the SQLite write lock delays the answer, never the ack, a heartbeat or another user's request.
Work on the core's loop still runs one step at a time, so every write comes from one thread and
one connection, in order.

The way back is a relay: the core holds an adapter (a `ChatPoster`) through `relay()`, whose
coroutine methods run on the adapter's own loop. sqlite3 refuses a connection used from a thread
other than the one that opened it, so a storage call that strays onto an adapter's loop fails at
once instead of stalling it.
"""

from __future__ import annotations

import asyncio
import functools
import inspect
import threading
from collections.abc import Callable, Coroutine
from typing import Any, Protocol, TypeVar, cast

T = TypeVar("T")


class Home(Protocol):
    """The loop the core runs on, as the facade sees it."""

    async def run(self, work: Coroutine[Any, Any, T]) -> T:
        """Run `work` on the core's loop and return its result, awaited from any loop."""
        ...

    async def call(self, function: Callable[..., T], *args: Any) -> T:
        """Call a plain function on the core's thread, awaited from any loop."""
        ...

    def relay(self, target: T) -> T:
        """`target` for the core to hold: its coroutine methods run on the calling loop."""
        ...


class Inline:
    """The core on whichever loop calls it: no thread, no relay."""

    async def run(self, work: Coroutine[Any, Any, T]) -> T:
        """Await `work` here."""
        return await work

    async def call(self, function: Callable[..., T], *args: Any) -> T:
        """Call `function` here."""
        return function(*args)

    def relay(self, target: T) -> T:
        """`target` itself."""
        return target


INLINE = Inline()


class CoreThread:
    """A thread running the core's event loop; `with CoreThread() as core:` starts and stops it."""

    def __init__(self, name: str = "papers-core") -> None:
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._serve, name=name, daemon=True)

    def __enter__(self) -> CoreThread:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Stop the loop (cancelling what still runs on it) and wait for the thread."""
        if self._thread.is_alive():
            self.loop.call_soon_threadsafe(self.loop.stop)
            self._thread.join()

    def _serve(self) -> None:
        asyncio.set_event_loop(self.loop)
        try:
            self.loop.run_forever()
        finally:
            left = asyncio.all_tasks(self.loop)
            for task in left:
                task.cancel()
            self.loop.run_until_complete(asyncio.gather(*left, return_exceptions=True))
            self.loop.run_until_complete(self.loop.shutdown_asyncgens())
            self.loop.close()

    async def run(self, work: Coroutine[Any, Any, T]) -> T:
        """Run `work` on the core's loop; awaited from another loop, that loop keeps running."""
        return await on_loop(self.loop, work)

    async def call(self, function: Callable[..., T], *args: Any) -> T:
        """Call a plain function (opening the storage, a query) on the core's thread."""

        async def call() -> T:
            return function(*args)

        return await self.run(call())

    def relay(self, target: T) -> T:
        """`target` as the core should hold it: its coroutine methods run on the loop calling
        `relay` now (an adapter's), wherever the core awaits them."""
        loop = asyncio.get_running_loop()
        if loop is self.loop or target is None:
            return target
        cls: type = type(target)
        relayed: Any = relay_class(cls)(target, loop)
        return cast(T, relayed)


async def on_loop(loop: asyncio.AbstractEventLoop, work: Coroutine[Any, Any, T]) -> T:
    """Await `work` on `loop`: directly when it is the running loop, else handed over to it (a
    cancellation here cancels it there)."""
    if asyncio.get_running_loop() is loop:
        return await work
    return await asyncio.wrap_future(asyncio.run_coroutine_threadsafe(work, loop))


class Relay:
    """An object that lives on another loop: attributes are its own, coroutine methods (added
    per class by `relay_class`) run on its loop."""

    def __init__(self, target: object, loop: asyncio.AbstractEventLoop) -> None:
        self._target = target
        self._loop = loop

    def __getattr__(self, name: str) -> Any:
        return getattr(self._target, name)


@functools.cache
def relay_class(cls: type) -> type[Relay]:
    """A Relay subclass with one forwarding method per coroutine method of `cls`, declared on
    the class so Protocol checks (RecoverablePoster) see exactly what `cls` offers."""

    def forward(name: str) -> Callable[..., Coroutine[Any, Any, Any]]:
        async def method(self: Relay, *args: Any, **kwargs: Any) -> Any:
            return await on_loop(self._loop, getattr(self._target, name)(*args, **kwargs))

        method.__name__ = method.__qualname__ = name
        return method

    methods = {
        name: forward(name)
        for name, member in inspect.getmembers(cls)
        if inspect.iscoroutinefunction(member)
    }
    return type(f"Relayed{cls.__name__}", (Relay,), methods)
