"""Shared fixtures: real storage (a SQLite file), a settable clock, a recording chat poster."""

from __future__ import annotations

import asyncio
import functools
import inspect
import itertools
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from bot.config import Settings, load_settings
from bot.core import PapersBot
from bot.corethread import CoreThread
from bot.models import Channel, Digest, DigestItem, MessageRef, Paper
from bot.search import engine
from bot.storage import Storage, open_storage
from tests.postgres_server import PostgresServer
from tests.upstream_server import UpstreamServer


@dataclass
class FixedClock:
    """A clock tests move by hand; no test waits on the wall clock."""

    now: datetime = datetime(2025, 8, 5, 9, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now


@dataclass
class RecordingPoster:
    """A chat adapter that records what it was asked to post."""

    platform: str = "fake"
    headers: list[Digest] = field(default_factory=list)
    papers: list[tuple[str, Paper, str]] = field(default_factory=list)  # (ref, paper, why)
    fail_after: int | None = None  # raise on the paper post after this many succeeded
    _ids: itertools.count[int] = field(default_factory=lambda: itertools.count(1))

    async def post_header(self, digest: Digest) -> MessageRef:
        self.headers.append(digest)
        return MessageRef(digest.channel, f"h{next(self._ids)}")

    async def post_paper(self, digest: Digest, item: DigestItem) -> MessageRef:
        if self.fail_after is not None and len(self.papers) >= self.fail_after:
            raise ConnectionError("platform went away mid-post")
        ref = f"m{next(self._ids)}"
        self.papers.append((ref, item.paper, item.why))
        return MessageRef(digest.channel, ref)

    @property
    def paper_ids(self) -> list[str]:
        return [paper.id for _, paper, _ in self.papers]


class OnCoreThread:
    """A test's handle on an object living on the core's thread (the storage under a
    CoreThread): attributes are wrapped the same way, and every call runs on that thread while
    the test waits."""

    def __init__(self, target: Any, core: CoreThread) -> None:
        self._target = target
        self._core = core

    def __getattr__(self, name: str) -> Any:
        value = getattr(self._target, name)
        if inspect.ismethod(value) or inspect.isfunction(value):
            return functools.partial(self._call, value)
        if isinstance(value, str | int | float | bool | Path) or value is None:
            return value
        return OnCoreThread(value, self._core)

    def _call(self, function: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        async def call() -> Any:
            return function(*args, **kwargs)

        return asyncio.run_coroutine_threadsafe(call(), self._core.loop).result()


def make_paper(pid: str, title: str = "", **fields: object) -> Paper:
    """A paper with sensible defaults for tests."""
    values: dict[str, object] = {
        "title": title or f"Paper {pid}",
        "abstract": f"An abstract about paper {pid}.",
        "authors": ("Ada Lovelace", "Alan Turing"),
        "added": date(2025, 8, 5),
        "upvotes": 10,
        "sources": ("hf",),
    }
    values.update(fields)
    return Paper(id=pid, **values)  # type: ignore[arg-type]


@pytest.fixture(autouse=True)
def _words_only(monkeypatch: pytest.MonkeyPatch) -> None:
    """Tests search by words even where the semantic extra is installed: embedding every
    ingested paper would make them slow (tests/test_semantic.py turns it on where it tests it)."""
    monkeypatch.setenv("SEMANTIC_SEARCH", "off")


@pytest.fixture(autouse=True)
def _patient_search(monkeypatch: pytest.MonkeyPatch) -> None:
    """Searches get seconds, not the service's 250 ms: the suite runs four processes at a time
    and answers must not depend on the machine's load. Tests of the time limit pass their own."""
    monkeypatch.setattr(engine, "DEFAULT_DEADLINE", 5.0)


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock()


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return load_settings(papers_bot_db=tmp_path / "papers.db", _env_file=None)


# Every storage implementation runs the same tests.
STORAGE_BACKENDS = ["sqlite", "postgres"]


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    """One real PostgreSQL server for the whole test session."""
    with PostgresServer() as server:
        yield server


def storage_target(backend: str, request: pytest.FixtureRequest, folder: Path) -> str | Path:
    """Where a fresh, empty store of this backend lives: a SQLite file in `folder`, or a new
    database on the session's PostgreSQL server."""
    if backend == "postgres":
        server: PostgresServer = request.getfixturevalue("postgres_server")
        return server.new_database()
    return folder / "papers.db"


@pytest.fixture(params=STORAGE_BACKENDS)
def storage(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Storage]:
    """A fresh, empty Storage of each implementation."""
    with open_storage(storage_target(request.param, request, tmp_path)) as opened:
        yield opened


@pytest.fixture
def bot(storage: Storage, settings: Settings, clock: FixedClock) -> PapersBot:
    return PapersBot(storage, settings, clock)


@pytest.fixture
def poster() -> RecordingPoster:
    return RecordingPoster()


@pytest.fixture
def channel() -> Channel:
    return Channel("fake", "W1", "C1")


@pytest.fixture
async def upstream() -> AsyncIterator[UpstreamServer]:
    """A real local server replaying recorded HF and arXiv responses, with switchable faults."""
    async with UpstreamServer() as server:
        yield server


@pytest.fixture
async def http_session() -> AsyncIterator[aiohttp.ClientSession]:
    """An aiohttp client session, closed after the test."""
    async with aiohttp.ClientSession() as session:
        yield session
