"""What the service is doing, for `/healthz` and `papers-bot status`."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from aiohttp import web

from bot import __version__
from bot.schedule import next_digest
from bot.storage import Storage


def snapshot(
    storage: Storage,
    now: datetime,
    started: datetime | None = None,
    adapters: Mapping[str, bool] | None = None,
) -> dict[str, Any]:
    """Version, uptime, adapters, last fetch per source, next and last digest per channel, and
    "degraded" with the problems when an adapter is down, a fetch failed or a channel is
    paused."""
    problems: list[str] = [
        f"{name} is disconnected" for name, up in (adapters or {}).items() if not up
    ]
    sources = {
        name: {
            "last_fetch": record.finished_at.isoformat() if record.finished_at else None,
            "ok": record.ok,
            "seen": record.seen,
            "new": record.new,
            "error": record.error,
        }
        for name, record in storage.activity.last_fetches().items()
    }
    problems += [
        f"the last {name} fetch failed: {info['error']}"
        for name, info in sources.items()
        if not info["ok"]
    ]
    channels = []
    for sub in storage.activity.subscriptions():
        last_day = storage.ledger.last_digest_day(sub.channel)
        last = storage.ledger.get_digest(sub.channel, last_day) if last_day else None
        upcoming = next_digest(sub, now) if sub.paused is None else None
        paused = sub.paused
        if paused is not None:
            problems.append(f"{sub.channel} is paused ({paused.reason}): {paused.said}")
        channels.append(
            {
                "channel": str(sub.channel),
                "schedule": f"{sub.post_time} {sub.timezone}",
                "next_digest": upcoming.isoformat() if upcoming else None,
                "last_digest": {"day": last.day.isoformat(), "status": last.status}
                if last
                else None,
                "paused": {
                    "since": paused.since.isoformat(),
                    "reason": paused.reason,
                    "fix": paused.said,
                }
                if paused
                else None,
            }
        )
    zotero = storage.zotero.counts()
    if zotero["failing"]:
        problems.append(
            f"{zotero['failing']} save(s) not in Zotero yet after a failed push (the log says why)"
        )
    return {
        "status": "degraded" if problems else "ok",
        "problems": problems,
        "version": __version__,
        "uptime_seconds": round((now - started).total_seconds()) if started else None,
        "adapters": {name: {"connected": up} for name, up in (adapters or {}).items()},
        "papers": storage.papers.count(),
        "sources": sources,
        "channels": channels,
        "zotero": zotero,
    }


def health_app(report: Any) -> web.Application:
    """An aiohttp app answering GET /healthz with `report()` as JSON: 200 when ok, 503 when
    degraded (so a health check or a load balancer sees it)."""

    async def healthz(request: web.Request) -> web.Response:
        body = report()
        return web.json_response(body, status=200 if body["status"] == "ok" else 503)

    app = web.Application()
    app.router.add_get("/healthz", healthz)
    return app
