"""Logging set-up: one line per event, tracebacks on errors, secrets never written."""

from __future__ import annotations

import logging
from collections.abc import Iterable

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
