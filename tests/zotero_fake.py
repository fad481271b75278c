"""A local stand-in for the Zotero Web API v3's item writes (POST /groups/<id>/items).

It checks what the real API checks on a write: the API key and version headers, a 32-character
`Zotero-Write-Token` (a token already used is answered 412 Precondition Failed, and nothing is
written), at most 50 items per request (413 beyond), and each item's type and fields (a field a
`preprint` does not have fails that item, as Zotero does). Faults are switched on per test:
answer the next writes with a status, or write them and lose the answer (the client sees 500).
"""

from __future__ import annotations

import itertools
import re
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

KEY = "zotero-test-key-with-write-access"
GROUP = "4711"
MAX_ITEMS = 50
TOKEN = re.compile(r"^[0-9A-Za-z]{32}$")
# The fields of Zotero's `preprint` item type, and what every item may carry.
PREPRINT_FIELDS = {
    "title", "abstractNote", "genre", "repository", "archiveID", "place", "date", "series",
    "seriesNumber", "DOI", "citationKey", "url", "accessDate", "archive", "archiveLocation",
    "shortTitle", "language", "libraryCatalog", "callNumber", "rights", "extra",
}  # fmt: skip
ANY_ITEM = {"itemType", "creators", "tags", "collections", "relations"}


@dataclass(frozen=True)
class Write:
    """One write request as received: group, token, how many items, the answer's status."""

    group: str
    token: str
    items: int
    status: int


@dataclass
class ZoteroFake:
    """A real aiohttp server on 127.0.0.1; `async with ZoteroFake() as zotero`."""

    groups: set[str] = field(default_factory=lambda: {GROUP})
    items: dict[str, list[dict[str, Any]]] = field(default_factory=dict)  # group -> created
    writes: list[Write] = field(default_factory=list)
    other_requests: list[str] = field(default_factory=list)  # anything but a write (a DELETE)
    answer_next: list[tuple[int, dict[str, str]]] = field(default_factory=list)
    lose_next_answers: int = 0
    url: str = ""

    def __post_init__(self) -> None:
        self._tokens: set[str] = set()
        self._keys = (f"ITEM{n:04d}" for n in itertools.count())
        self._runner: web.AppRunner | None = None

    async def __aenter__(self) -> ZoteroFake:
        app = web.Application()
        app.router.add_post("/groups/{group}/items", self._write)
        app.router.add_route("*", "/{tail:.*}", self._other)
        self._runner = web.AppRunner(app)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self.url = f"http://127.0.0.1:{self._runner.addresses[0][1]}"
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self._runner is not None:
            await self._runner.cleanup()

    def created(self, group: str = GROUP) -> list[dict[str, Any]]:
        """The items the group's library holds."""
        return self.items.get(group, [])

    async def _other(self, request: web.Request) -> web.Response:
        self.other_requests.append(f"{request.method} {request.path}")
        return web.Response(status=405)

    async def _write(self, request: web.Request) -> web.Response:
        group = request.match_info["group"]
        token = request.headers.get("Zotero-Write-Token", "")
        body = await request.json()
        status, answer = self._answer(request, group, token, body)
        self.writes.append(Write(group, token, len(body) if isinstance(body, list) else 0, status))
        if status == 200 and self.lose_next_answers:
            self.lose_next_answers -= 1
            return web.Response(status=500, text="the answer was lost")
        if isinstance(answer, dict) and "headers" in answer:
            return web.Response(status=status, headers=answer["headers"], text="try later")
        return web.json_response(answer, status=status)

    def _answer(self, request: web.Request, group: str, token: str, body: Any) -> tuple[int, Any]:
        if request.headers.get("Zotero-API-Key") != KEY:
            return 403, {"error": "Forbidden"}
        if request.headers.get("Zotero-API-Version") != "3":
            return 400, {"error": "Zotero-API-Version 3 expected"}
        if group not in self.groups:
            return 404, {"error": "Not found"}
        if not TOKEN.match(token):
            return 400, {"error": "Invalid write token"}
        if self.answer_next:
            status, headers = self.answer_next.pop(0)
            return status, {"headers": headers}
        if token in self._tokens:
            return 412, {"error": "Write token already used"}
        if not isinstance(body, list) or len(body) > MAX_ITEMS:
            return 413, {"error": f"Only {MAX_ITEMS} objects can be saved in a single request"}
        self._tokens.add(token)
        result: dict[str, dict[str, Any]] = {"success": {}, "successful": {}, "failed": {}}
        for index, item in enumerate(body):
            problem = item_problem(item)
            if problem:
                result["failed"][str(index)] = {"key": "", "code": 400, "message": problem}
                continue
            key = next(self._keys)
            self.items.setdefault(group, []).append(item)
            result["success"][str(index)] = key
            result["successful"][str(index)] = {"key": key, "version": 1, "data": item}
        return 200, result | {"unchanged": {}}


def item_problem(item: Any) -> str:
    """Why Zotero would refuse this item, or ''."""
    if not isinstance(item, dict) or item.get("itemType") != "preprint":
        return "itemType must be preprint"
    unknown = set(item) - PREPRINT_FIELDS - ANY_ITEM
    if unknown:
        return f"'{sorted(unknown)[0]}' is not a valid field for type 'preprint'"
    for creator in item.get("creators", []):
        named = "name" in creator or {"firstName", "lastName"} <= set(creator)
        if creator.get("creatorType") != "author" or not named:
            return f"invalid creator {creator!r}"
    return "" if item.get("title") else "an item needs a title"
