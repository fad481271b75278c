"""Logging set-up: one line per event, tracebacks on errors, secrets never written."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterable

REDACTED = "[redacted]"


class RedactSecrets(logging.Filter):
    """Replaces every configured secret (tokens, signing secrets) in a record with [redacted]."""

    def __init__(self, secrets: Iterable[str | None]) -> None:
        super().__init__()
        self.secrets = sorted({s for s in secrets if s and len(s) >= 6}, key=len, reverse=True)

    def filter(self, record: logging.LogRecord) -> bool:
        if not self.secrets:
            return True
        message = record.getMessage()
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        redacted = self._clean(message)
        if redacted != message:
            record.msg, record.args = redacted, None
        if record.exc_text:
            record.exc_text = self._clean(record.exc_text)
        return True

    def _clean(self, text: str) -> str:
        for secret in self.secrets:
            text = text.replace(secret, REDACTED)
        return text


def configure(level: str, secrets: Iterable[str | None] = ()) -> None:
    """Log to stderr as 'time level logger: message', with secrets redacted everywhere."""
    handler = logging.StreamHandler()
    handler.setFormatter(
        logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s", "%Y-%m-%d %H:%M:%S")
    )
    handler.addFilter(RedactSecrets(secrets))
    logging.basicConfig(level=level.upper(), handlers=[handler], force=True)
    # Library chatter (access lines, job bookkeeping, gateway frames) stays out; warnings show.
    for noisy in ("aiohttp.access", "apscheduler", "discord.gateway"):
        logging.getLogger(noisy).setLevel(max(logging.WARNING, logging.getLogger().level))


class Throttled:
    """Logs at most one warning per kind of trouble per `interval` seconds, saying how many
    like it were left out since: a failure repeated on every event reads as one line a minute,
    not a flood."""

    def __init__(
        self,
        logger: logging.Logger,
        interval: float = 60.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.logger = logger
        self.interval = interval
        self.clock = clock
        self._last: dict[str, float] = {}
        self._left_out: dict[str, int] = {}
        self._lock = threading.Lock()

    def warning(self, kind: str, message: str) -> bool:
        """Log `message` unless this kind was logged less than `interval` ago; True if logged."""
        now = self.clock()
        with self._lock:
            last = self._last.get(kind)
            if last is not None and now - last < self.interval:
                self._left_out[kind] = self._left_out.get(kind, 0) + 1
                return False
            self._last[kind] = now
            left_out = self._left_out.pop(kind, 0)
        more = f" ({left_out} more like it since the last line)" if left_out else ""
        self.logger.warning("%s%s", message, more)
        return True
