"""A small fake Discord: the REST API and the gateway websocket in one aiohttp app on 127.0.0.1.

It speaks the real shapes discord.py reads (see ../shared/docs/platforms.md): HELLO, heartbeat
ACK, READY after IDENTIFY, dispatched INTERACTION_CREATE and MESSAGE_REACTION_ADD/REMOVE events;
REST answers with `Content-Type: application/json` exactly, records every request, can answer
one 429 on a route, and keeps the messages posted to each channel and each interaction.
"""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from urllib.parse import unquote

from aiohttp import BodyPartReader, WSMsgType, web

from tests import discord_payloads as payloads
from tests.discord_payloads import (
    APP_ID,
    BOT_USER,
    CHANNEL_ID,
    EPHEMERAL,
    GUILD_ID,
    LOADING,
    Files,
)

DISCORD_EPOCH_MS = 1_420_070_400_000  # 2015-01-01: snowflakes count milliseconds from here
PERSON_ID = "1600000000000000006"  # someone chatting in the channel


@dataclass
class Request:
    """One REST request as the fake received it."""

    method: str
    path: str  # below /api/v10, e.g. /channels/1/messages
    query: dict[str, str]
    body: Any  # the JSON body (payload_json for multipart), or None
    files: Files = field(default_factory=list)
    at: float = 0.0  # loop time
    status: int = 200


@dataclass
class Interaction:
    """What the bot answered to one interaction: callbacks, then messages."""

    id: str
    token: str
    sent_at: float
    callbacks: list[tuple[float, int]] = field(default_factory=list)  # (loop time, type)
    messages: list[dict[str, Any]] = field(default_factory=list)  # original first, followups
    choices: list[dict[str, Any]] = field(default_factory=list)  # an autocomplete's answer
    answered: asyncio.Event = field(default_factory=asyncio.Event)  # the first callback came

    @property
    def first_response_after(self) -> float | None:
        """Seconds from dispatch to the first callback (the 3-second rule)."""
        return self.callbacks[0][0] - self.sent_at if self.callbacks else None


# Discord's answers when the bot may not post in a channel, or the channel is gone.
REFUSALS = {
    403: {"message": "Missing Access", "code": 50001},
    404: {"message": "Unknown Channel", "code": 10003},
}


class FakeDiscord:
    """REST + gateway for one bot, one guild and one text channel (more channels work too)."""

    def __init__(
        self, *, echo_own_reactions: bool = True, heartbeat_interval: float = 45.0
    ) -> None:
        self.requests: list[Request] = []
        self.heartbeat_interval = heartbeat_interval  # seconds, as HELLO tells the bot
        self.heartbeats: list[float] = []  # loop time of each heartbeat the bot sent
        self.identify: dict[str, Any] | None = None
        self.channels: dict[str, list[dict[str, Any]]] = {}
        self.interactions: dict[str, Interaction] = {}
        self.commands: dict[str, list[dict[str, Any]]] = {}  # guild id or "global" -> synced
        self.reactions: list[tuple[str, str, str]] = []  # (channel, message, emoji) by the bot
        self.echo_own_reactions = echo_own_reactions
        self.clock: Callable[[], datetime] | None = None  # when set, ids follow it (snowflakes)
        self._last_id = 1_400_000_000_000_000_000 - 1
        self._stall: tuple[int, bool] | None = None
        self._closing = asyncio.Event()
        self.held = asyncio.Event()  # set once a stalled post is being held
        self._failures: list[tuple[str, re.Pattern[str], int, dict[str, Any], dict[str, str]]] = []
        self.refusals: dict[str, int] = {}  # channel -> the HTTP status every post there gets
        self._ws: web.WebSocketResponse | None = None  # the latest connection
        # With sharding: each shard's connection, the count they identified with, and the
        # events whose shard no process runs (Discord would hold them; nobody receives them).
        self.identifies: list[dict[str, Any]] = []
        self.shard_sockets: dict[int, web.WebSocketResponse] = {}
        self.shard_count = 1
        self.undelivered: list[tuple[str, dict[str, Any]]] = []
        self._seq = 0
        self._send_lock = asyncio.Lock()
        self._tasks: set[asyncio.Task[None]] = set()
        self._runner: web.AppRunner | None = None
        self.base = ""

    # -- server ---------------------------------------------------------------------------

    async def start(self) -> None:
        """Listen on a free port of 127.0.0.1."""
        app = web.Application()
        app.router.add_get("/gateway", self._gateway)
        app.router.add_route("*", "/api/v10/{tail:.*}", self._rest)
        self._runner = web.AppRunner(app)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        self.base = f"127.0.0.1:{port}"

    @property
    def api_url(self) -> str:
        """What discord.http.Route.BASE (DISCORD_API_URL) should be."""
        return f"http://{self.base}/api/v10"

    @property
    def gateway_url(self) -> str:
        """What DiscordWebSocket.DEFAULT_GATEWAY (DISCORD_GATEWAY_URL) should be."""
        return f"ws://{self.base}/gateway"

    async def close(self) -> None:
        """Stop serving; close the gateway socket."""
        self._closing.set()  # let held requests end, so the server stops at once
        for task in list(self._tasks):
            task.cancel()
        for ws in {self._ws, *self.shard_sockets.values()} - {None}:
            await ws.close()  # type: ignore[union-attr]
        if self._runner is not None:
            await self._runner.cleanup()

    def next_id(self) -> str:
        """A fresh snowflake: from the clock when one is set (as Discord's carry their creation
        time), always increasing."""
        stamp = 0
        if self.clock is not None:
            stamp = (int(self.clock().timestamp() * 1000) - DISCORD_EPOCH_MS) << 22
        self._last_id = max(stamp, self._last_id + 1)
        return str(self._last_id)

    def stall_posts(self, after: int = 0, accept: bool = True) -> None:
        """Answer `after` more channel posts, then hold the next one unanswered for good, as when
        the bot dies mid-request; `accept` first creates the message (Discord got it, the bot
        never learnt its id). `held` is set once that post arrives."""
        self._stall = (after, accept)
        self.held.clear()

    def forget_nonces(self) -> None:
        """Let Discord's nonce window pass: a repeated nonce now creates a new message."""
        for messages in self.channels.values():
            for message in messages:
                message["nonce"] = None

    def chatter(self, count: int, channel: str = CHANNEL_ID, user: str = PERSON_ID) -> None:
        """`count` messages from a person in a channel (a busy channel between two bot runs)."""
        posted = self.channels.setdefault(channel, [])
        for number in range(count):
            message = self._message(channel, {"content": f"message {number}"}, [])
            message["author"] = {**BOT_USER, "id": user, "username": "someone", "bot": False}
            posted.append(message)

    def rate_limit_once(self, method: str, path_pattern: str, retry_after: float = 0.05) -> None:
        """Answer the next matching request with 429 and `retry_after` (a regex on the path)."""
        body = {
            "message": "You are being rate limited.",
            "retry_after": retry_after,
            "global": False,
        }
        # discord.py takes a 429 without a Via header for a Cloudflare ban and gives up.
        self.fail_once(method, path_pattern, 429, body, {"Via": "1.1 google"})

    def fail_once(
        self,
        method: str,
        path_pattern: str,
        status: int,
        body: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        """Answer the next request matching `method` and the path regex with this error."""
        answer = body or {"message": f"error {status}", "code": 50013 if status == 403 else 0}
        self._failures.append((method, re.compile(path_pattern), status, answer, headers or {}))

    # -- gateway --------------------------------------------------------------------------

    async def _gateway(self, request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse()
        await ws.prepare(request)
        self._ws = ws
        hello = {"heartbeat_interval": round(self.heartbeat_interval * 1000)}
        await self._send({"op": 10, "d": hello, "s": None, "t": None}, ws)
        async for msg in ws:
            if msg.type != WSMsgType.TEXT:
                continue
            payload = json.loads(msg.data)
            if payload["op"] == 1:
                self.heartbeats.append(asyncio.get_running_loop().time())
                await self._send({"op": 11}, ws)
            elif payload["op"] == 2:
                self.identify = payload["d"]
                self.identifies.append(payload["d"])
                shard, count = payload["d"].get("shard") or (0, 1)
                self.shard_sockets[shard], self.shard_count = ws, count
                await self._dispatch_to(
                    ws, "READY", payloads.ready(self.gateway_url, (shard, count))
                )
        for shard, socket in list(self.shard_sockets.items()):
            if socket is ws:
                del self.shard_sockets[shard]
        return ws

    async def _send(self, payload: dict[str, Any], ws: web.WebSocketResponse | None = None) -> None:
        async with self._send_lock:
            target = ws or self._ws
            assert target is not None, "the bot is not connected to the gateway"
            await target.send_str(json.dumps(payload))

    def shard_of(self, guild: str) -> int:
        """The shard a server's events go to: (id >> 22) % shard count, as Discord routes them."""
        return (int(guild) >> 22) % self.shard_count

    async def dispatch(self, event: str, data: dict[str, Any]) -> None:
        """Send one gateway event (op 0) to the bot: with shards, on the shard of its server."""
        guild = data.get("guild_id")
        if self.shard_count == 1 or guild is None:
            await self._dispatch_to(None, event, data)
            return
        ws = self.shard_sockets.get(self.shard_of(guild))
        if ws is None:
            self.undelivered.append((event, data))
            return
        await self._dispatch_to(ws, event, data)

    async def _dispatch_to(
        self, ws: web.WebSocketResponse | None, event: str, data: dict[str, Any]
    ) -> None:
        self._seq += 1
        await self._send({"op": 0, "t": event, "s": self._seq, "d": data}, ws)

    async def close_gateway(self, code: int) -> None:
        """Close the bot's gateway socket with a Discord close code (4004: bad token)."""
        assert self._ws is not None
        await self._ws.close(code=code, message=b"closed by the fake")

    # -- events the tests send ------------------------------------------------------------

    async def send_interaction(self, payload: dict[str, Any]) -> Interaction:
        """Dispatch INTERACTION_CREATE and start recording the bot's answers to it."""
        loop = asyncio.get_running_loop()
        record = Interaction(payload["id"], payload["token"], loop.time())
        self.interactions[record.token] = record
        await self.dispatch("INTERACTION_CREATE", payload)
        return record

    def slash_command(
        self,
        subcommand: str,
        options: dict[str, str],
        user: str = "111",
        channel: str = CHANNEL_ID,
        guild: str = GUILD_ID,
        focused: str = "",
    ) -> dict[str, Any]:
        """An INTERACTION_CREATE payload for `/papers <subcommand> <options>`; with `focused`,
        the autocomplete request Discord sends while the user types that option."""
        command = next((c for c in self.commands.get(guild, []) if c["name"] == "papers"), {})
        data = payloads.subcommand_data(command.get("id", "1"), guild, subcommand, options, focused)
        return payloads.interaction(self.next_id(), 4 if focused else 2, data, user, channel, guild)

    def button_click(
        self,
        message: dict[str, Any],
        custom_id: str,
        user: str = "111",
        channel: str = CHANNEL_ID,
        guild: str = GUILD_ID,
    ) -> dict[str, Any]:
        """An INTERACTION_CREATE payload for a click on a button of `message`."""
        data = {"custom_id": custom_id, "component_type": 2}
        return payloads.interaction(self.next_id(), 3, data, user, channel, guild, message)

    async def reaction(
        self,
        message_id: str,
        user: str,
        emoji: str = "🔖",
        added: bool = True,
        channel: str = CHANNEL_ID,
        guild: str = GUILD_ID,
    ) -> None:
        """Dispatch MESSAGE_REACTION_ADD (or _REMOVE) for a standard emoji."""
        data = payloads.reaction(message_id, user, emoji, added, channel, guild)
        await self.dispatch("MESSAGE_REACTION_ADD" if added else "MESSAGE_REACTION_REMOVE", data)

    # -- REST -----------------------------------------------------------------------------

    async def _rest(self, request: web.Request) -> web.Response:
        path = "/" + request.match_info["tail"]
        body, files = await _read_body(request)
        record = Request(
            request.method,
            path,
            dict(request.query),
            body,
            files,
            asyncio.get_running_loop().time(),
        )
        self.requests.append(record)
        for index, (method, pattern, status, answer, headers) in enumerate(self._failures):
            if method == request.method and pattern.fullmatch(path):
                del self._failures[index]
                record.status = status
                return _json(answer, status, headers)
        posting = request.method == "POST" and re.fullmatch(r"/channels/\d+/messages", path)
        if self._stall is not None and posting:
            await self._maybe_hold(path, body, files)
        status, answer = self._answer(request.method, path, body, files, request.query)
        record.status = status
        return _json(answer, status)

    async def _maybe_hold(self, path: str, body: dict[str, Any], files: Files) -> None:
        assert self._stall is not None
        after, accept = self._stall
        if after > 0:
            self._stall = (after - 1, accept)
            return
        self._stall = None
        if accept:
            self._post_message(path.split("/")[2], body, files)
        self.held.set()
        await self._closing.wait()  # never answered: the caller is gone

    def _answer(
        self,
        method: str,
        path: str,
        body: Any,
        files: Files,
        query: Any,
    ) -> tuple[int, Any]:
        route = f"{method} {path}"
        if route == "GET /users/@me":
            return 200, BOT_USER
        if route == "GET /oauth2/applications/@me":
            return 200, payloads.application()
        if m := re.fullmatch(r"PUT /applications/\d+(?:/guilds/(\d+))?/commands", route):
            synced = [
                {
                    **c,
                    "id": self.next_id(),
                    "application_id": APP_ID,
                    "version": "1",
                    "guild_id": m[1],
                }
                for c in body
            ]
            self.commands[m[1] or "global"] = synced
            return 200, synced
        if m := re.fullmatch(r"POST /channels/(\d+)/messages", route):
            if m[1] in self.refusals:
                return self.refusals[m[1]], REFUSALS[self.refusals[m[1]]]
            return 200, self._post_message(m[1], body, files)
        if m := re.fullmatch(r"GET /channels/(\d+)/messages", route):
            return 200, self._history(self.channels.get(m[1], []), query)
        if m := re.fullmatch(r"PUT /channels/(\d+)/messages/(\d+)/reactions/([^/]+)/@me", route):
            emoji = unquote(m[3])
            self.reactions.append((m[1], m[2], emoji))
            if self.echo_own_reactions:
                self._later(self.reaction(m[2], APP_ID, emoji, channel=m[1]))
            return 204, None
        if m := re.fullmatch(r"POST /interactions/(\d+)/([^/]+)/callback", route):
            return self._callback(m[2], body, files)
        if m := re.fullmatch(r"POST /webhooks/\d+/([^/]+)", route):
            return 200, self._followup(m[1], body, files)
        if m := re.fullmatch(r"PATCH /webhooks/\d+/([^/]+)/messages/@original", route):
            return 200, self._edit_original(m[1], body, files)
        return 404, {"message": f"the fake does not serve {route}", "code": 0}

    def _message(
        self, channel: str, body: dict[str, Any], files: Files, flags: int = 0
    ) -> dict[str, Any]:
        return payloads.message(self.next_id(), channel, body, files, flags)

    def _post_message(self, channel: str, body: dict[str, Any], files: Files) -> dict[str, Any]:
        posted = self.channels.setdefault(channel, [])
        nonce = body.get("nonce")
        if nonce and body.get("enforce_nonce"):
            # Discord answers a repeated nonce with the message it already created.
            for message in posted:
                if message["nonce"] == nonce:
                    return message
        message = self._message(channel, body, files)
        posted.append(message)
        return message

    @staticmethod
    def _history(messages: list[dict[str, Any]], query: Any) -> list[dict[str, Any]]:
        """A page of history as Discord serves it: at most 100, newest first; `before` takes
        the newest ones before an id, `after` the oldest ones after it."""
        limit = min(int(query.get("limit", 50)), 100)
        if "before" in query:
            page = [m for m in messages if int(m["id"]) < int(query["before"])][-limit:]
        elif "after" in query:
            page = [m for m in messages if int(m["id"]) > int(query["after"])][:limit]
        else:
            page = messages[-limit:]
        return list(reversed(page))

    def _callback(self, token: str, body: dict[str, Any], files: Files) -> tuple[int, Any]:
        record = self.interactions[token]
        kind = body["type"]
        record.callbacks.append((asyncio.get_running_loop().time(), kind))
        record.answered.set()
        data = body.get("data") or {}
        if kind == 8:
            record.choices = data.get("choices") or []
        interaction = {
            "id": record.id,
            "type": 2,
            "response_message_loading": kind == 5,
            "response_message_ephemeral": bool((data.get("flags") or 0) & EPHEMERAL),
        }
        if kind not in (4, 5):
            return 200, {"interaction": interaction, "resource": {"type": kind}}
        channel = CHANNEL_ID
        message = self._message(channel, data if kind == 4 else {"flags": data.get("flags")}, files)
        if kind == 5:
            message["flags"] |= LOADING  # loading
        record.messages.insert(0, message)
        interaction["response_message_id"] = message["id"]
        return 200, {"interaction": interaction, "resource": {"type": kind, "message": message}}

    def _followup(self, token: str, body: dict[str, Any], files: Files) -> dict[str, Any]:
        record = self.interactions[token]
        if record.messages and record.messages[0]["flags"] & LOADING:
            # The first followup after a deferred "thinking" reply replaces it, as on Discord.
            return self._edit_original(token, body, files)
        message = self._message(CHANNEL_ID, body, files)
        record.messages.append(message)
        return message

    def _edit_original(self, token: str, body: dict[str, Any], files: Files) -> dict[str, Any]:
        original = self.interactions[token].messages[0]
        flags = original["flags"] & ~LOADING
        edited = self._message(CHANNEL_ID, body, files, flags)
        edited["id"] = original["id"]
        self.interactions[token].messages[0] = edited
        return edited

    def ephemeral_message(self, content: str, button_id: str) -> dict[str, Any]:
        """An ephemeral message from the bot with one button (a click needs the component)."""
        button = {"type": 2, "style": 1, "label": "Share in channel", "custom_id": button_id}
        body = {
            "content": content,
            "flags": EPHEMERAL,
            "components": [{"type": 1, "components": [button]}],
        }
        return self._message(CHANNEL_ID, body, [])

    def _later(self, coro: Any) -> None:
        task = asyncio.get_running_loop().create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    # -- reading back ---------------------------------------------------------------------

    def posted(self, channel: str = CHANNEL_ID) -> list[dict[str, Any]]:
        """Messages posted into a channel through REST, in order."""
        return list(self.channels.get(channel, []))

    def find(self, method: str, pattern: str) -> list[Request]:
        """Recorded requests whose path matches a regex."""
        return [r for r in self.requests if r.method == method and re.fullmatch(pattern, r.path)]


async def _read_body(request: web.Request) -> tuple[Any, Files]:
    if request.content_type.startswith("multipart/"):
        files: Files = []
        body: Any = None
        reader = await request.multipart()
        while (part := await reader.next()) is not None:
            assert isinstance(part, BodyPartReader)
            if part.name == "payload_json":
                body = json.loads(await part.text())
            else:
                files.append((part.filename or "", bytes(await part.read())))
        return body, files
    raw = await request.read()
    return (json.loads(raw) if raw else None), []


def _json(data: Any, status: int = 200, headers: dict[str, str] | None = None) -> web.Response:
    """A JSON answer with Content-Type exactly application/json (discord.py compares it)."""
    if status == 204:
        return web.Response(status=204, headers=headers)
    return web.Response(
        body=json.dumps(data).encode(),
        status=status,
        headers={"Content-Type": "application/json", **(headers or {})},
    )
