"""What every platform adapter needs and writes the same way: owned tasks (bot.tasks), and one
boundary that turns whatever a command raised into a reply for the user."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

import aiohttp

from bot.commands import UserError
from bot.ports import PostFailed
from bot.presentation import FAILED, not_saved, post_failed
from bot.replies import Reply, TextReply
from bot.storage import report_trouble

log = logging.getLogger(__name__)

# An adapter's reading of a platform error: the line to show the user ("invite me first"),
# or None when it is not one the user can act on.
Explain = Callable[[Exception], str | None]

# What a network outage looks like from an HTTP or websocket client: no route, refused, DNS,
# reset, timed out. At start-up these are retried; a rejected token is not.
NETWORK_ERRORS = (aiohttp.ClientConnectionError, OSError, TimeoutError)


def network_reason(exc: BaseException) -> str:
    """A network error in a few words: 'Cannot connect to host slack.com:443 …'."""
    return str(exc).strip() or type(exc).__name__


async def guarded(work: Awaitable[Reply], what: str, explain: Explain | None = None) -> Reply:
    """Run one command, click or event for a user: a UserError becomes its text, a failed post
    says what to do, a platform error the adapter can explain becomes that line, anything else
    is logged with its traceback and becomes a short apology. Never raises (but cancellation)."""
    try:
        return await work
    except UserError as exc:
        return TextReply(str(exc), error=True)
    except PostFailed as exc:  # the platform refused or dropped a post: known, no traceback
        log.warning("%s: the post failed: %s", what, exc.reason)
        return TextReply(post_failed(exc), error=True)
    except Exception as exc:  # one request's boundary: log it, tell the user, keep serving
        trouble = report_trouble(exc, what)
        if trouble is not None:  # the database cannot take it now: logged once a minute
            return TextReply(not_saved(trouble), error=True)
        said = explain(exc) if explain else None
        if said is not None:
            log.warning("%s: %s", what, exc)
            return TextReply(said, error=True)
        log.exception("%s failed", what)
        return TextReply(FAILED, error=True)
