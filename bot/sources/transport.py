"""One GET with a timeout, retried with backoff on faults worth retrying; Retry-After honoured."""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from contextlib import AbstractAsyncContextManager, nullcontext
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any

import aiohttp
from tenacity import AsyncRetrying, RetryCallState, retry_if_exception_type, stop_after_attempt

from bot import __version__
from bot.config import Settings
from bot.sources.errors import SourceUnavailable, Transient

log = logging.getLogger(__name__)

USER_AGENT = f"papers-bot/{__version__} (research-paper digests for team chat)"


class _Refused(Exception):
    """An answer that another try will not change (4xx other than 429, a too-long Retry-After)."""


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """How hard to try: per-request timeout, retries, backoff base and the longest wait."""

    timeout: float = 30.0  # seconds per request, body included
    retries: int = 4  # extra attempts after the first
    backoff: float = 1.0  # first wait; doubles on every further retry
    max_wait: float = 60.0  # cap on a backoff; a longer Retry-After gives up instead

    @classmethod
    def from_settings(cls, settings: Settings, **overrides: Any) -> RetryPolicy:
        """The policy from HTTP_TIMEOUT and HTTP_RETRIES, with explicit overrides (tests)."""
        policy = cls(timeout=settings.http_timeout, retries=settings.http_retries)
        return replace(policy, **overrides)

    def wait(self, attempt: int, retry_after: float | None = None) -> float:
        """Seconds to wait after failed attempt number `attempt` (1-based)."""
        if retry_after is not None:
            return retry_after
        return float(min(self.max_wait, self.backoff * 2 ** (attempt - 1)))


async def get_bytes(
    session: aiohttp.ClientSession,
    url: str,
    *,
    source: str,
    policy: RetryPolicy,
    params: Mapping[str, str] | None = None,
    gate: Callable[[], AbstractAsyncContextManager[Any]] | None = None,
    check: Callable[[bytes], None] | None = None,
) -> bytes:
    """The body of a GET, after retries; SourceUnavailable naming `source` when it never came.

    `gate` wraps every attempt (arXiv's one-at-a-time, one-per-3-seconds rule) and `check` may
    raise Transient on a 200 that should still be retried (arXiv's empty feed).
    """

    def wait(state: RetryCallState) -> float:
        exc = state.outcome.exception() if state.outcome else None
        retry_after = exc.retry_after if isinstance(exc, Transient) else None
        return policy.wait(state.attempt_number, retry_after)

    def before_sleep(state: RetryCallState) -> None:
        exc = state.outcome.exception() if state.outcome else None
        seconds = state.next_action.sleep if state.next_action else 0.0
        log.info("%s: %s; retrying in %.2fs", source, exc, seconds)

    retrying = AsyncRetrying(
        stop=stop_after_attempt(policy.retries + 1),
        wait=wait,
        retry=retry_if_exception_type(Transient),
        before_sleep=before_sleep,
        reraise=True,
    )
    try:
        async for attempt in retrying:
            with attempt:
                async with gate() if gate else nullcontext():
                    body = await _get_once(session, url, params, policy)
                if check:
                    check(body)
    except Transient as exc:
        tries = policy.retries + 1
        attempts = "1 try" if tries == 1 else f"{tries} tries"
        raise SourceUnavailable(source, f"{exc.reason} (after {attempts})") from exc
    except _Refused as exc:
        raise SourceUnavailable(source, str(exc)) from exc
    return body


async def _get_once(
    session: aiohttp.ClientSession,
    url: str,
    params: Mapping[str, str] | None,
    policy: RetryPolicy,
) -> bytes:
    where = _host(url)
    try:
        async with session.get(
            url,
            params=params,
            timeout=aiohttp.ClientTimeout(total=policy.timeout),
            headers={"User-Agent": USER_AGENT},
        ) as response:
            if response.status == 429:
                retry_after = retry_after_seconds(response.headers.get("Retry-After"))
                if retry_after is not None and retry_after > policy.max_wait:
                    raise _Refused(f"{where} rate-limited us for {retry_after:.0f}s")
                raise Transient(f"{where} answered 429 Too Many Requests", retry_after)
            if response.status >= 500:
                raise Transient(f"{where} answered HTTP {response.status}")
            if response.status >= 400:
                raise _Refused(f"{where} answered HTTP {response.status} {response.reason}")
            return await response.read()
    except TimeoutError as exc:
        raise Transient(f"{where} timed out after {policy.timeout:g}s") from exc
    except aiohttp.ClientConnectorDNSError as exc:
        # No such host: offline, or a wrong URL. Seconds later the answer is the same.
        raise _Refused(f"cannot resolve {where}: offline, or check the URL setting") from exc
    except (aiohttp.ClientConnectionError, aiohttp.ClientPayloadError) as exc:
        raise Transient(f"{where} connection failed ({exc.__class__.__name__})") from exc


def retry_after_seconds(value: str | None, now: datetime | None = None) -> float | None:
    """A Retry-After header (seconds or an HTTP date) in seconds from now; None if absent or bad."""
    if not value:
        return None
    text = value.strip()
    try:
        return max(0.0, float(text))
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - (now or datetime.now(UTC))).total_seconds())


def _host(url: str) -> str:
    return url.split("://", 1)[-1].split("/", 1)[0] or url
