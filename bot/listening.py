"""Opening a local HTTP port (/healthz, Slack's HTTP mode), with one line when it is taken."""

from __future__ import annotations

from aiohttp import web

from bot.config import ConfigError


async def listen(runner: web.AppRunner, host: str, port: int, setting: str, *fixes: str) -> None:
    """Serve a set-up `runner` on host:port; ConfigError naming the setting when the address is
    taken or cannot be used."""
    try:
        await web.TCPSite(runner, host, port).start()
    except OSError as exc:
        await runner.cleanup()
        ways = ", ".join(("stop it", f"set {setting} to a free port", *fixes))
        raise ConfigError(
            f"{setting}: cannot listen on {host}:{port} ({exc.strerror or exc}); "
            f"if another program uses that port: {ways}"
        ) from exc
