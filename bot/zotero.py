"""Saves pushed to a team's Zotero group library, each paper once (Zotero Web API v3).

A 🔖 save in a channel with a group library (`/papers settings zotero <group id>`, or
ZOTERO_GROUP_ID for every channel) queues the paper in the store's outbox; `ZoteroPusher`
sends what is due in batches of at most 50 items (the API's limit per request). Each batch
carries a `Zotero-Write-Token` that is stored before the request is sent, and a batch whose
answer never came is sent again with the same token, so Zotero creates its items once: a
token it has already seen is answered 412, which means the first send went through. Failures
wait (doubling, up to six hours) and are logged and counted for /healthz; removing a 🔖 never
deletes anything from Zotero.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Collection
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import aiohttp

from bot import __version__
from bot.config import Settings
from bot.models import Channel, Paper, ZoteroPush
from bot.ports import Clock
from bot.sources.transport import retry_after_seconds
from bot.storage import Storage

log = logging.getLogger(__name__)

BATCH = 50  # items per write request: the Zotero API's limit
FIRST_WAIT = timedelta(minutes=1)
LONGEST_WAIT = timedelta(hours=6)
ITEM_REJECTED_WAIT = timedelta(days=1)  # an item Zotero refused: a fix needs a new release


def zotero_item(paper: Paper) -> dict[str, Any]:
    """A paper as a Zotero `preprint` item."""
    item: dict[str, Any] = {
        "itemType": "preprint",
        "title": paper.title,
        "creators": [_creator(name) for name in paper.authors],
        "abstractNote": paper.abstract,
        "date": paper.day.isoformat() if paper.day else "",
        "url": paper.abs_url or paper.url,
        "tags": [{"tag": category} for category in paper.categories],
    }
    if paper.is_arxiv:
        item |= {
            "repository": "arXiv",
            "archiveID": f"arXiv:{paper.id}",
            "DOI": paper.doi,
            "extra": f"arXiv:{paper.id}",
        }
    return item


def _creator(name: str) -> dict[str, str]:
    """'Ada King Lovelace' -> first 'Ada King', last 'Lovelace'; one word stays one name."""
    first, _, last = name.rpartition(" ")
    if not first:
        return {"creatorType": "author", "name": name}
    return {"creatorType": "author", "firstName": first, "lastName": last}


class ZoteroChannels:
    """Which group library a channel's saves go to, and queueing a save for it."""

    def __init__(self, storage: Storage, settings: Settings, clock: Clock) -> None:
        self._storage = storage
        self._settings = settings
        self._clock = clock

    @property
    def enabled(self) -> bool:
        """True when an API key is configured."""
        return bool(self._settings.zotero_api_key)

    def library(self, channel: Channel) -> str | None:
        """The channel's group library, else ZOTERO_GROUP_ID, else None."""
        return self._storage.zotero.library(channel) or self._settings.zotero_group_id

    def choose(self, channel: Channel, library: str | None) -> None:
        """Send this channel's saves to a group library (None: back to the default)."""
        self._storage.zotero.set_library(channel, library, self._clock())

    def saved(self, channel: Channel, paper: Paper) -> None:
        """A member saved a paper here: queue it for the channel's library, if it has one."""
        library = self.library(channel) if self.enabled else None
        if library and self._storage.zotero.queue(library, paper.id, self._clock()):
            log.info("zotero: queued %s for group %s", paper.id, library)


@dataclass(frozen=True, slots=True)
class PushReport:
    """What one push run did."""

    pushed: int = 0
    failed: int = 0
    requests: int = 0


class ZoteroPusher:
    """Sends the due pushes to the Zotero Web API; call `push_due` on a schedule."""

    def __init__(self, storage: Storage, settings: Settings, clock: Clock) -> None:
        self._storage = storage
        self._settings = settings
        self._clock = clock
        self.last_error: str | None = None

    async def push_due(self) -> PushReport:
        """Push every due save; failures are recorded with their next try, never raised."""
        key = self._settings.zotero_api_key
        due = self._storage.zotero.due(self._clock())
        if not key or not due:
            return PushReport()
        report = PushReport()
        timeout = aiohttp.ClientTimeout(total=self._settings.http_timeout)
        async with aiohttp.ClientSession(timeout=timeout) as session:
            for library, token, pushes in batches(due):
                if token is None:
                    token = uuid.uuid4().hex  # 32 characters, as Zotero wants
                    self._storage.zotero.stamp(library, [p.paper_id for p in pushes], token)
                done, failed = await self._send(session, key, library, token, pushes)
                report = PushReport(
                    report.pushed + done, report.failed + failed, report.requests + 1
                )
        return report

    async def _send(
        self,
        session: aiohttp.ClientSession,
        key: str,
        library: str,
        token: str,
        pushes: list[ZoteroPush],
    ) -> tuple[int, int]:
        ids = [push.paper_id for push in pushes]
        papers = self._storage.papers.get_many(ids)
        items = [zotero_item(papers[pid]) for pid in ids if pid in papers]
        url = f"{self._settings.zotero_api_url.rstrip('/')}/groups/{library}/items"
        headers = {
            "Zotero-API-Key": key,
            "Zotero-API-Version": "3",
            "Zotero-Write-Token": token,
            "Content-Type": "application/json",
            "User-Agent": f"papers-bot/{__version__}",
        }
        try:
            async with session.post(url, json=items, headers=headers) as response:
                body = await response.json(content_type=None) if response.status == 200 else None
                status, wait = response.status, _server_wait(response.headers)
        except (TimeoutError, aiohttp.ClientError) as exc:
            return 0, self._fail(library, ids, pushes, f"{exc.__class__.__name__}", True, None)
        if status == 412:  # this token was used: the earlier send of this batch went through
            self._storage.zotero.pushed(library, ids, self._clock())
            log.info(
                "zotero: group %s already has %d item(s) (write token used)", library, len(ids)
            )
            return len(ids), 0
        if status != 200 or not isinstance(body, dict):
            reason = _refusal(status, library)
            return 0, self._fail(library, ids, pushes, reason, status >= 500 or status == 429, wait)
        return self._settle(library, ids, pushes, body)

    def _settle(
        self, library: str, ids: list[str], pushes: list[ZoteroPush], body: dict[str, Any]
    ) -> tuple[int, int]:
        """Record a 200's per-item outcome: `success` indices are in, `failed` ones are not."""
        failed = body.get("failed") or {}
        done = [pid for index, pid in enumerate(ids) if str(index) not in failed]
        self._storage.zotero.pushed(library, done, self._clock())
        if done:
            log.info("zotero: pushed %d item(s) to group %s", len(done), library)
        for index, problem in failed.items():
            pid = ids[int(index)]
            message = problem.get("message", "") if isinstance(problem, dict) else str(problem)
            log.error("zotero: group %s refused %s: %s", library, pid, message)
            retry_at = self._clock() + ITEM_REJECTED_WAIT
            self._storage.zotero.failed(library, [pid], message, retry_at, keep_token=False)
        self.last_error = None if not failed else f"group {library} refused {len(failed)} item(s)"
        return len(done), len(failed)

    def _fail(
        self,
        library: str,
        ids: Collection[str],
        pushes: list[ZoteroPush],
        reason: str,
        resend: bool,
        server_wait: float | None,
    ) -> int:
        attempts = max(push.attempts for push in pushes) + 1
        wait = min(LONGEST_WAIT, FIRST_WAIT * 2 ** (attempts - 1))
        if server_wait is not None:
            wait = max(wait, timedelta(seconds=server_wait))
        retry_at = self._clock() + wait
        # A batch that may have reached Zotero is resent as is, with its token.
        self._storage.zotero.failed(library, ids, reason, retry_at, keep_token=resend)
        self.last_error = f"group {library}: {reason}"
        log.error(
            "zotero: %d item(s) not pushed to group %s: %s; trying again at %s",
            len(ids),
            library,
            reason,
            f"{retry_at:%H:%M:%S}",
        )
        return len(ids)

    def status(self) -> dict[str, object]:
        """The outbox counts and the last failure, for /healthz."""
        return {**self._storage.zotero.counts(), "last_error": self.last_error}


def batches(due: list[ZoteroPush]) -> list[tuple[str, str | None, list[ZoteroPush]]]:
    """Due pushes as requests: a stamped batch again as it was (same token, same items), new
    pushes per library in batches of at most BATCH."""
    resend: dict[tuple[str, str], list[ZoteroPush]] = {}
    fresh: dict[str, list[ZoteroPush]] = {}
    for push in due:
        if push.token:
            resend.setdefault((push.library, push.token), []).append(push)
        else:
            fresh.setdefault(push.library, []).append(push)
    out: list[tuple[str, str | None, list[ZoteroPush]]] = [
        (library, token, pushes) for (library, token), pushes in resend.items()
    ]
    for library, pushes in fresh.items():
        out += [(library, None, pushes[i : i + BATCH]) for i in range(0, len(pushes), BATCH)]
    return out


def _server_wait(headers: Any) -> float | None:
    """Zotero's Backoff or Retry-After header, in seconds."""
    return retry_after_seconds(headers.get("Retry-After") or headers.get("Backoff"))


def _refusal(status: int, library: str) -> str:
    """A failed write as one line saying what to do."""
    if status == 403:
        return "HTTP 403: ZOTERO_API_KEY has no write access to this group (edit the key's access)"
    if status == 404:
        return f"HTTP 404: there is no Zotero group {library} (check the group id)"
    if status == 429:
        return "HTTP 429: Zotero asks to slow down"
    return f"HTTP {status}"
