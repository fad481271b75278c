"""A local Slack Web API on aiohttp: records every call, enforces Block Kit limits, can answer 429.

The bot's AsyncWebClient points its base_url here; slash commands carry a response_url on this
server too, so every reply the bot sends, by any route, lands in `SlackFake`.
"""

from __future__ import annotations

import asyncio
import base64
import itertools
import json
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

HARNESS_TIME = 1754384400.0  # 2025-08-05 09:00 UTC, the harness's clock
TEAM = "T0TEAM"
BOT_USER = "U0BOT"
BOT_ID = "B0BOT"
TOKEN = "xoxb-test-token"
APP_TOKEN = "xapp-1-A0PAPERS-1-test"
CLIENT_ID = "1111.2222"
CLIENT_SECRET = "oauth-client-secret"

# Control sequences that ping people or render as links when they reach mrkdwn unescaped.
PING = re.compile(r"<(?:!channel|!here|!everyone|!subteam\^|@[UW])")


@dataclass
class Call:
    """One Web API call as the fake received it."""

    method: str
    args: dict[str, Any]
    status: int = 200
    error: str | None = None
    team: str | None = None  # whose token the call carried


@dataclass
class Posted:
    """A message visible in a channel (or to one user, when ephemeral)."""

    channel: str
    ts: str
    text: str
    blocks: list[dict[str, Any]]
    metadata: dict[str, Any] | None = None
    user: str = BOT_USER
    ephemeral_to: str | None = None
    reactions: list[tuple[str, str]] = field(default_factory=list)  # (name, user)
    team: str = TEAM  # the workspace whose token posted it


@dataclass
class Grant:
    """A workspace's install as Slack's OAuth server knows it."""

    team: str
    installer: str
    bot_user: str
    access_token: str
    refresh_token: str | None = None  # set when token rotation is on
    expires_at: float | None = None


def block_kit_problem(payload: dict[str, Any]) -> str | None:
    """Why Slack would refuse this message's blocks, or None when it is within the limits."""
    text = payload.get("text")
    if text is not None and (not isinstance(text, str) or len(text) > 40000):
        return "text too long"
    blocks = payload.get("blocks") or []
    if isinstance(blocks, str):
        blocks = json.loads(blocks)
    if len(blocks) > 50:
        return f"{len(blocks)} blocks > 50"
    ids = [b["block_id"] for b in blocks if "block_id" in b]
    if len(ids) != len(set(ids)) or any(len(i) > 255 for i in ids):
        return "duplicate or long block_id"
    for block in blocks:
        problem = _block_problem(block)
        if problem:
            return f"{block.get('type')}: {problem}"
    return None


def _block_problem(block: dict[str, Any]) -> str | None:
    kind = block.get("type")
    if kind == "header":
        obj = block["text"]
        if obj["type"] != "plain_text" or not 0 < len(obj["text"]) <= 150:
            return "header text must be plain_text of 1-150 chars"
    elif kind == "section":
        texts = [block["text"]] if "text" in block else []
        if "fields" in block and len(block["fields"]) > 10:
            return "more than 10 fields"
        if any(not 0 < len(t["text"]) <= 3000 for t in texts):
            return "section text must be 1-3000 chars"
        if any(not 0 < len(f["text"]) <= 2000 for f in block.get("fields", [])):
            return "field text must be 1-2000 chars"
        image = block.get("accessory")
        if image and (len(image.get("alt_text", "")) > 2000 or len(image["image_url"]) > 3000):
            return "image accessory too long"
    elif kind == "context":
        elements = block.get("elements") or []
        if not 0 < len(elements) <= 10 or any(len(e.get("text", "")) > 3000 for e in elements):
            return "context must have 1-10 elements"
    elif kind == "actions":
        elements = block.get("elements") or []
        if not 0 < len(elements) <= 25:
            return "actions must have 1-25 elements"
        for button in elements:
            if len(button["text"]["text"]) > 75 or len(button.get("value", "")) > 2000:
                return "button text or value too long"
    else:
        return "unknown block type"
    return None


_LINK = re.compile(r"<([^<>|]*)(?:\|([^<>]*))?>")
_BOLD = re.compile(r"(?<![\w*])\*(?=\S)([^*\n]*?\S)\*(?![\w*])")
_CODE = re.compile(r"(?<!`)`([^`\n]+)`(?!`)")
_ITALIC = re.compile(r"(?<![\w_])_(?=\S)([^_\n]*?\S)_(?![\w_])")


def show_mrkdwn(text: str) -> str:
    """mrkdwn as a Slack client shows it: links as their labels, no markers, entities decoded."""
    text = _LINK.sub(lambda m: m[2] if m[2] is not None else m[1], text)
    text = _BOLD.sub(r"\1", text)
    text = _ITALIC.sub(r"\1", text).replace("```", "")
    text = _CODE.sub(r"\1", text)
    return text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


def visible_text(message: Posted | dict[str, Any]) -> str:
    """All text a user sees in a message: every block's text, joined by newlines."""
    if isinstance(message, Posted):
        blocks, fallback = message.blocks, message.text
    else:
        blocks, fallback = message.get("blocks") or [], message.get("text", "")
    if not blocks:
        return show_mrkdwn(fallback)
    lines: list[str] = []
    for block in blocks:
        objects = [block["text"]] if "text" in block else []
        objects += block.get("fields", []) + block.get("elements", [])
        for obj in objects:
            if obj.get("type") == "button":
                lines.append(obj["text"]["text"])
            elif obj.get("type") == "plain_text":
                lines.append(obj["text"])
            elif obj.get("type") == "mrkdwn":
                lines.append(show_mrkdwn(obj["text"]))
    return "\n".join(lines)


def mrkdwn_texts(payload: dict[str, Any]) -> list[str]:
    """Every string Slack would parse as mrkdwn in a message (where a ping could hide)."""
    texts = [payload.get("text") or ""]
    for block in payload.get("blocks") or []:
        objects = [block["text"]] if "text" in block else []
        objects += block.get("fields", []) + block.get("elements", [])
        texts += [obj["text"] for obj in objects if obj.get("type") == "mrkdwn"]
    return texts


class SlackFake:
    """The Slack Web API and response_url endpoints, served on 127.0.0.1."""

    def __init__(
        self,
        token: str = TOKEN,
        app_token: str = APP_TOKEN,
        clock: Callable[[], float] = lambda: HARNESS_TIME,
        port: int = 0,
    ) -> None:
        self.clock = clock  # seconds since the epoch; message ts follow it, always increasing
        self.token = token
        self.app_token = app_token
        self.tokens: dict[str, str] = {token: TEAM}  # bot token -> its workspace
        self.bot_users: dict[str, str] = {TEAM: BOT_USER}
        self.grants: dict[str, Grant] = {}  # team -> its current install
        self._codes: dict[str, tuple[str, str]] = {}  # one-time OAuth code -> (team, installer)
        self.rotation_expires_in: int | None = None  # hand out expiring tokens when set
        self._serial = itertools.count(1)
        self.socket_acks: list[dict[str, Any]] = []
        self._sockets: list[web.WebSocketResponse] = []
        self._acked = asyncio.Condition()
        self.calls: list[Call] = []
        self.messages: list[Posted] = []
        self.ephemerals: list[Posted] = []
        self.responses: dict[str, list[dict[str, Any]]] = {}
        self.refuse_images = False  # answer invalid_blocks to messages with an image
        self.refusals: dict[str, str] = {}  # channel -> the error every post there gets
        self.admins = {"U1"}  # users.info says is_admin for these; everyone else is a member
        self.owners: set[str] = set()
        self._throttle: dict[str, list[int]] = {}
        self._failures: dict[str, list[str]] = {}
        self._last_ts = 0  # microseconds
        self._stalls: dict[str, tuple[int, bool]] = {}
        self._closing = asyncio.Event()
        self.held = asyncio.Event()  # set once a stalled call is being held
        self._responses = itertools.count(1)
        self._response_channels: dict[str, str] = {}
        self._runner: web.AppRunner | None = None
        self.port = port  # 0: any free port

    async def __aenter__(self) -> SlackFake:
        app = web.Application()
        app.router.add_post("/api/{method}", self._api)
        app.router.add_get("/api/{method}", self._api)
        app.router.add_post("/respond/{key}", self._respond)
        app.router.add_get("/socket", self._socket)
        self._runner = web.AppRunner(app)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", self.port)
        await site.start()
        self.port = self._runner.addresses[0][1]
        return self

    async def __aexit__(self, *exc: object) -> None:
        self._closing.set()  # let held requests end, so the server stops at once
        for socket in self._sockets:
            await socket.close()
        if self._runner is not None:
            await self._runner.cleanup()

    @property
    def api_url(self) -> str:
        """The Web API base for SLACK_API_URL."""
        return f"http://127.0.0.1:{self.port}/api/"

    def new_response_url(self, channel: str) -> str:
        """A fresh response_url for one slash command or button click in `channel`."""
        key = str(next(self._responses))
        self.responses[key] = []
        self._response_channels[key] = channel
        return f"http://127.0.0.1:{self.port}/respond/{key}"

    def replies_to(self, response_url: str) -> list[dict[str, Any]]:
        """What the bot sent to a response_url."""
        return self.responses[response_url.rsplit("/", 1)[1]]

    def throttle(self, method: str, retry_after: int = 0, times: int = 1) -> None:
        """Answer the next `times` calls of `method` with 429 and this Retry-After."""
        self._throttle.setdefault(method, []).extend([retry_after] * times)

    def fail_next(self, method: str, error: str) -> None:
        """Answer the next call of `method` with ok=false and this error code."""
        self._failures.setdefault(method, []).append(error)

    def stall(self, method: str, after: int = 0, accept: bool = True) -> None:
        """Answer `after` more calls of `method`, then hold the next one unanswered for good, as
        when the bot dies mid-request; `accept` first does what it asked (Slack got the
        message, the bot never learnt its ts). `held` is set once that call arrives."""
        self._stalls[method] = (after, accept)
        self.held.clear()

    def chatter(self, channel: str, count: int, user: str = "U0PEOPLE") -> None:
        """`count` messages from people in a channel (a busy channel between two bot runs)."""
        for number in range(count):
            text = f"message {number} from {user}"
            self.messages.append(Posted(channel, self._next_ts(), text, [], user=user))

    def channel_messages(self, channel: str) -> list[Posted]:
        """Messages everyone sees in a channel, oldest first."""
        return [m for m in self.messages if m.channel == channel]

    def calls_to(self, method: str, status: int | None = 200) -> list[Call]:
        """Recorded calls of one method (by default only the answered ones)."""
        return [
            c for c in self.calls if c.method == method and (status is None or c.status == status)
        ]

    def pings(self) -> list[str]:
        """Every mrkdwn string the bot sent that would ping or mention someone."""
        payloads = [{"text": m.text, "blocks": m.blocks} for m in self.messages + self.ephemerals]
        payloads += [p for replies in self.responses.values() for p in replies]
        return [t for p in payloads for t in mrkdwn_texts(p) if PING.search(t)]

    # -- Socket Mode --------------------------------------------------------------------------

    async def push(self, envelope: dict[str, Any]) -> dict[str, Any]:
        """Send a Socket Mode envelope to the connected bot; the ack it sends back."""
        async with self._acked:
            await asyncio.wait_for(self._acked.wait_for(lambda: bool(self._sockets)), 5)
        await self._sockets[-1].send_json(envelope)
        async with self._acked:
            await asyncio.wait_for(
                self._acked.wait_for(lambda: self._ack_for(envelope["envelope_id"]) is not None), 5
            )
        ack = self._ack_for(envelope["envelope_id"])
        assert ack is not None
        return ack

    def _ack_for(self, envelope_id: str) -> dict[str, Any] | None:
        return next((a for a in self.socket_acks if a.get("envelope_id") == envelope_id), None)

    async def _socket(self, request: web.Request) -> web.WebSocketResponse:
        socket = web.WebSocketResponse()
        await socket.prepare(request)
        async with self._acked:
            self._sockets.append(socket)
            self._acked.notify_all()
        await socket.send_json({"type": "hello", "num_connections": 1})
        async for frame in socket:
            if frame.type == web.WSMsgType.TEXT:
                async with self._acked:
                    self.socket_acks.append(json.loads(frame.data))
                    self._acked.notify_all()
        return socket

    # -- handlers ---------------------------------------------------------------------------

    async def _api(self, request: web.Request) -> web.Response:
        method = request.match_info["method"]
        args = await _arguments(request)
        call = Call(method, args)
        self.calls.append(call)
        waits = self._throttle.get(method)
        if waits:
            call.status = 429
            return web.json_response(
                {"ok": False, "error": "ratelimited"},
                status=429,
                headers={"Retry-After": str(waits.pop(0))},
            )
        if method == "oauth.v2.access":
            return self._oauth(call, request)
        bearer = request.headers.get("Authorization", "").removeprefix("Bearer ")
        if method == "apps.connections.open":
            if bearer != self.app_token:
                return self._fail(call, "invalid_auth")
        elif bearer not in self.tokens:
            return self._fail(call, "invalid_auth")
        else:
            call.team = self.tokens[bearer]
            grant = self.grants.get(call.team)
            if grant and grant.expires_at is not None and grant.expires_at <= time.time():
                return self._fail(call, "token_expired")
        failures = self._failures.get(method)
        if failures:
            return self._fail(call, failures.pop(0))
        handler = getattr(self, "_" + method.replace(".", "_"), None)
        if handler is None:
            return self._fail(call, "unknown_method")
        team = call.team or TEAM
        if method in self._stalls:
            await self._maybe_hold(method, handler, args, team)
        result: dict[str, Any] | str = handler(args, team)
        if isinstance(result, str):
            return self._fail(call, result)
        return web.json_response({"ok": True, **result})

    async def _maybe_hold(self, method: str, handler: Any, args: dict[str, Any], team: str) -> None:
        after, accept = self._stalls[method]
        if after > 0:
            self._stalls[method] = (after - 1, accept)
            return
        del self._stalls[method]
        if accept:
            handler(args, team)
        self.held.set()
        await self._closing.wait()  # never answered: the caller is gone

    # -- OAuth (many workspaces) --------------------------------------------------------------

    def authorize(self, team: str, installer: str = "U0ADMIN") -> str:
        """An admin of `team` clicks Allow on Slack's install page: the one-time code Slack
        appends to the redirect."""
        code = f"code-{team}-{next(self._serial)}"
        self._codes[code] = (team, installer)
        return code

    def uninstall(self, team: str) -> None:
        """The workspace removes the app: its tokens stop working."""
        grant = self.grants.pop(team, None)
        if grant is not None:
            self.tokens.pop(grant.access_token, None)

    def expire(self, team: str) -> None:
        """Move a rotating token's expiry to now (as if hours had passed)."""
        self.grants[team].expires_at = time.time()

    def _oauth(self, call: Call, request: web.Request) -> web.Response:
        sent = request.headers.get("Authorization", "").removeprefix("Basic ")
        expected = base64.b64encode(f"{CLIENT_ID}:{CLIENT_SECRET}".encode()).decode()
        if sent != expected:
            return self._fail(call, "invalid_client_id")
        args = call.args
        if args.get("grant_type") == "refresh_token":
            team = next(
                (g.team for g in self.grants.values() if g.refresh_token == args["refresh_token"]),
                None,
            )
            if team is None:
                return self._fail(call, "invalid_refresh_token")
            grant = self._grant(team, self.grants[team].installer)
            call.team = team
            return web.json_response({"ok": True, **self._token_fields(grant)})
        found = self._codes.pop(args.get("code", ""), None)
        if found is None:
            return self._fail(call, "invalid_code")
        team, installer = found
        call.team = team
        grant = self._grant(team, installer)
        return web.json_response(
            {
                "ok": True,
                "app_id": "A0PAPERS",
                "authed_user": {"id": grant.installer},
                "scope": args.get("scope", "commands,chat:write"),
                "token_type": "bot",
                "bot_user_id": grant.bot_user,
                "team": {"id": team, "name": f"Team {team}"},
                "enterprise": None,
                "is_enterprise_install": False,
                **self._token_fields(grant),
            }
        )

    def _grant(self, team: str, installer: str) -> Grant:
        old = self.grants.get(team)
        if old is not None:
            self.tokens.pop(old.access_token, None)
        n = next(self._serial)
        grant = Grant(
            team, installer, self.bot_users.setdefault(team, f"UB{team}"), f"xoxb-{team}-{n}"
        )
        if self.rotation_expires_in is not None:
            grant.refresh_token = f"xoxe-1-{team}-{n}"
            grant.expires_at = time.time() + self.rotation_expires_in
        self.grants[team] = grant
        self.tokens[grant.access_token] = team
        return grant

    def _token_fields(self, grant: Grant) -> dict[str, Any]:
        fields: dict[str, Any] = {"access_token": grant.access_token}
        if grant.refresh_token is not None and grant.expires_at is not None:
            fields["refresh_token"] = grant.refresh_token
            fields["expires_in"] = int(grant.expires_at - time.time())
            fields["token_type"] = "bot"
        return fields

    def _fail(self, call: Call, error: str) -> web.Response:
        call.error = error
        return web.json_response({"ok": False, "error": error})

    async def _respond(self, request: web.Request) -> web.Response:
        payload = await request.json()
        key = request.match_info["key"]
        problem = block_kit_problem(payload)
        if problem:
            return web.Response(status=400, text=f"invalid_blocks: {problem}")
        self.responses.setdefault(key, []).append(payload)
        if payload.get("response_type") == "in_channel":
            channel = self._response_channels.get(key, "")
            blocks = payload.get("blocks") or []
            self.messages.append(Posted(channel, self._next_ts(), payload.get("text", ""), blocks))
        return web.Response(text="ok")

    def _posted(self, args: dict[str, Any], team: str, **extra: Any) -> Posted:
        text, blocks = args.get("text", ""), args.get("blocks") or []
        user = self.bot_users.get(team, BOT_USER)
        return Posted(args["channel"], self._next_ts(), text, blocks, user=user, team=team, **extra)

    def _next_ts(self) -> str:
        self._last_ts = max(round(self.clock() * 1e6), self._last_ts + 1)
        return f"{self._last_ts // 10**6}.{self._last_ts % 10**6:06d}"

    # -- Web API methods ----------------------------------------------------------------------

    def _auth_test(self, args: dict[str, Any], team: str) -> dict[str, Any]:
        return {
            "url": f"https://{team.lower()}.slack.com/",
            "team": "Test" if team == TEAM else f"Team {team}",
            "user": "papers-bot",
            "team_id": team,
            "user_id": self.bot_users.get(team, BOT_USER),
            "bot_id": BOT_ID if team == TEAM else f"B{team}",
        }

    def _apps_connections_open(self, args: dict[str, Any], team: str) -> dict[str, Any]:
        return {"url": f"ws://127.0.0.1:{self.port}/socket"}

    def _chat_postMessage(self, args: dict[str, Any], team: str) -> dict[str, Any] | str:
        if args["channel"] in self.refusals:
            return self.refusals[args["channel"]]
        problem = block_kit_problem(args)
        if problem or (self.refuse_images and "image_url" in json.dumps(args.get("blocks"))):
            return "invalid_blocks"
        message = self._posted(args, team, metadata=args.get("metadata"))
        self.messages.append(message)
        return {"channel": message.channel, "ts": message.ts, "message": {"text": message.text}}

    def _chat_postEphemeral(self, args: dict[str, Any], team: str) -> dict[str, Any] | str:
        if block_kit_problem(args):
            return "invalid_blocks"
        message = self._posted(args, team, ephemeral_to=args["user"])
        self.ephemerals.append(message)
        return {"message_ts": message.ts}

    def _reactions_add(self, args: dict[str, Any], team: str) -> dict[str, Any] | str:
        bot = self.bot_users.get(team, BOT_USER)
        for message in self.messages:
            if (message.team, message.channel, message.ts) == (
                team,
                args["channel"],
                args["timestamp"],
            ):
                if (args["name"], bot) in message.reactions:
                    return "already_reacted"
                message.reactions.append((args["name"], bot))
                return {}
        return "message_not_found"

    def _users_info(self, args: dict[str, Any], team: str) -> dict[str, Any]:
        user = args["user"]
        return {
            "user": {
                "id": user,
                "team_id": team,
                "name": user.lower(),
                "is_admin": user in self.admins or user in self.owners,
                "is_owner": user in self.owners,
                "is_primary_owner": False,
                "is_bot": False,
            }
        }

    def _conversations_history(self, args: dict[str, Any], team: str) -> dict[str, Any]:
        # Newest first, between oldest and latest (both exclusive), a page at a time; the
        # cursor is opaque to clients (here: an offset).
        oldest, latest = _micros(args.get("oldest") or "0"), _micros(args.get("latest") or "")
        found = [
            m
            for m in reversed(self.messages)
            if m.channel == args["channel"] and m.team == team and oldest < _micros(m.ts) < latest
        ]
        limit = min(int(args.get("limit", 100)), 999)
        start = int(args.get("cursor") or 0)
        more = len(found) > start + limit
        return {
            "messages": [
                {
                    "type": "message",
                    "user": m.user,
                    **({"bot_id": BOT_ID} if m.user == BOT_USER else {}),
                    "ts": m.ts,
                    "text": m.text,
                    **({"metadata": m.metadata} if m.metadata else {}),
                }
                for m in found[start : start + limit]
            ],
            "has_more": more,
            "response_metadata": {"next_cursor": str(start + limit) if more else ""},
        }


def _micros(ts: str) -> int:
    """A Slack ts ("1754384400.000123") in microseconds; "" is the far future."""
    if not ts:
        return 2**63
    seconds, _, fraction = ts.partition(".")
    return int(seconds) * 10**6 + int((fraction + "000000")[:6])


async def _arguments(request: web.Request) -> dict[str, Any]:
    """A call's arguments from the query string, a form body or a JSON body."""
    args: dict[str, Any] = dict(request.query)
    if request.content_type == "application/json":
        args.update(await request.json())
    elif request.can_read_body:
        args.update(await request.post())
    for key in ("blocks", "metadata"):
        if isinstance(args.get(key), str):
            args[key] = json.loads(args[key])
    return args
