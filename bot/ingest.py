"""Getting papers into the store: from saved files (the CLI) and from the live sources (both).

`progress`, where taken, is called as `progress(done, total)`: once with `done == 0` before the
first unit of work and again after each file or source, so a caller can draw a progress bar.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import date, datetime, timedelta
from pathlib import Path

import aiohttp

from bot.config import Settings
from bot.models import IngestReport
from bot.ports import PaperSource
from bot.sources import RetryPolicy, detect_and_parse, make_source
from bot.sources.errors import SourceError, SourceFormatError, SourceUnavailable
from bot.storage import Storage

log = logging.getLogger(__name__)

Progress = Callable[[int, int], None]  # (done, total)


def ingest_files(
    storage: Storage, paths: Iterable[Path], now: datetime, progress: Progress | None = None
) -> list[IngestReport]:
    """Parse and store each file in order, one transaction per file; one report per file.

    A file that is not HF JSON, arXiv Atom or RSS raises SourceFormatError naming it; the files
    before it stay stored. A report's `source` is the file's name.
    """
    files = list(paths)
    reports: list[IngestReport] = []
    _tick(progress, 0, len(files))
    for done, path in enumerate(files, start=1):
        try:
            data = Path(path).read_bytes()
        except OSError as exc:
            raise SourceFormatError(str(path), f"cannot be read ({exc.strerror or exc})") from exc
        papers, skipped = detect_and_parse(data, str(path))
        new, updated = storage.papers.upsert(papers, now)  # one transaction: all of a file or none
        reports.append(
            IngestReport(
                source=Path(path).name, seen=len(papers), new=new, updated=updated, skipped=skipped
            )
        )
        log.info("ingested %s: %d papers, %d new, %d skipped", path, len(papers), new, len(skipped))
        _tick(progress, done, len(files))
    return reports


async def fetch_sources(
    storage: Storage,
    settings: Settings,
    session: aiohttp.ClientSession,
    names: Sequence[str],
    day: date | None,
    now: datetime,
    progress: Progress | None = None,
    *,
    sources: Mapping[str, PaperSource] | None = None,
    policy: RetryPolicy | None = None,
) -> list[IngestReport]:
    """Fetch and store each named source in turn; reports for those that worked.

    Every attempt is logged with `storage.activity.record_fetch`; a failed one records the one-line
    message of its SourceUnavailable (see `storage.activity.last_fetches()`) and never stops the
    other sources.
    `sources` replaces the sources built from settings (tests, a shared ArxivSource); `policy`
    overrides the retry policy of the built ones.
    """
    built = dict(sources or {})
    for name in names:
        if name not in built:
            built[name] = make_source(name, settings, session, policy)
    reports: list[IngestReport] = []
    _tick(progress, 0, len(names))
    for done, name in enumerate(names, start=1):
        report = await _fetch_one(storage, built[name], name, day, now)
        if report is not None:
            reports.append(report)
        _tick(progress, done, len(names))
    return reports


async def _fetch_one(
    storage: Storage, source: PaperSource, name: str, day: date | None, now: datetime
) -> IngestReport | None:
    started = time.monotonic()

    def finished() -> datetime:
        return now + timedelta(seconds=time.monotonic() - started)

    try:
        papers, report = await source.fetch(day)
        new, updated = storage.papers.upsert(papers, now)
    except SourceError as exc:
        message = exc.message if isinstance(exc, SourceUnavailable) else str(exc)
        log.warning("%s", message)
        storage.activity.record_fetch(name, now, finished(), ok=False, error=message)
        return None
    except Exception as exc:
        # The boundary of one source's fetch: whatever broke, the other sources still run.
        log.exception("fetching %s failed", name)
        error = SourceUnavailable(name, f"unexpected {exc.__class__.__name__}: {exc}").message
        storage.activity.record_fetch(name, now, finished(), ok=False, error=error)
        return None
    report.new, report.updated = new, updated
    storage.activity.record_fetch(name, now, finished(), ok=True, seen=report.seen, new=new)
    log.info("fetched %s: %d papers, %d new, %d updated", name, report.seen, new, updated)
    return report


def _tick(progress: Progress | None, done: int, total: int) -> None:
    if progress is not None:
        progress(done, total)
