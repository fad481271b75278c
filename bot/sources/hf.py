"""Hugging Face Daily Papers: JSON into Papers (defensively), and the paging fetcher."""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from datetime import date
from typing import Any

import aiohttp

from bot.config import Settings
from bot.models import IngestReport, Paper, canonical_id, normalise_space
from bot.sources.errors import SourceFormatError, SourceUnavailable
from bot.sources.transport import RetryPolicy, get_bytes

log = logging.getLogger(__name__)

SOURCE = "hf"
PAGE_SIZE = 100  # the API's largest page
MAX_PAGES = 20  # a day never has 2,000 papers; stops a server that ignores `p`


class HuggingFaceSource:
    """Hugging Face Daily Papers over HTTP: `GET {api}/daily_papers?date=...`, page by page."""

    name = SOURCE

    def __init__(
        self,
        session: aiohttp.ClientSession,
        api_url: str = "https://huggingface.co/api",
        policy: RetryPolicy | None = None,
        page_size: int = PAGE_SIZE,
    ) -> None:
        self.session = session
        self.url = api_url.rstrip("/") + "/daily_papers"
        self.policy = policy or RetryPolicy()
        self.page_size = page_size

    @classmethod
    def from_settings(
        cls, settings: Settings, session: aiohttp.ClientSession, policy: RetryPolicy | None = None
    ) -> HuggingFaceSource:
        """The source at HF_API_URL with HTTP_TIMEOUT and HTTP_RETRIES."""
        return cls(session, settings.hf_api_url, policy or RetryPolicy.from_settings(settings))

    async def fetch(self, day: date | None = None) -> tuple[list[Paper], IngestReport]:
        """The papers of `day` (the newest day when None); [] for a weekend is not an error."""
        papers: dict[str, Paper] = {}
        report = IngestReport(source=SOURCE)
        for page in range(MAX_PAGES):
            params = {"limit": str(self.page_size), "p": str(page)}
            if day is not None:
                params["date"] = day.isoformat()
            items = await self._page(params)
            batch, skipped = parse_hf_items(items, day)
            report.skipped += [f"page {page} {reason}" for reason in skipped]
            fresh = [paper for paper in batch if paper.id not in papers]
            if batch and not fresh:
                break  # the same page again: this server does not page
            papers.update((paper.id, paper) for paper in fresh)
            if len(items) < self.page_size:
                break
        report.seen = len(papers)
        return list(papers.values()), report

    async def _page(self, params: dict[str, str]) -> list[Any]:
        body = await get_bytes(
            self.session, self.url, source=SOURCE, policy=self.policy, params=params
        )
        try:
            return decode_hf_json(body, self.url)
        except SourceFormatError as exc:
            raise SourceUnavailable(SOURCE, f"{exc.reason} from {self.url}") from exc


class ItemError(ValueError):
    """One item cannot become a Paper; the message is the reason it was skipped."""


def parse_hf_json(
    data: bytes | str, day: date | None = None, name: str = "Hugging Face response"
) -> tuple[list[Paper], list[str]]:
    """Papers from a daily_papers, papers/search or papers/{id} body, and one reason per skip."""
    return parse_hf_items(decode_hf_json(data, name), day)


def decode_hf_json(data: bytes | str, name: str) -> list[Any]:
    """The raw items of an HF body; SourceFormatError naming `name` when it is not one."""
    try:
        decoded = json.loads(data)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise SourceFormatError(name, f"malformed JSON ({exc})") from exc
    return hf_items(decoded, name)


def hf_items(decoded: Any, name: str) -> list[Any]:
    """The items of a decoded HF body: a list of items, or one flat paper or wrapped item."""
    if isinstance(decoded, Mapping):
        if looks_like_hf_item(decoded):
            return [decoded]
        raise SourceFormatError(name, "JSON object is not a Hugging Face paper")
    if isinstance(decoded, list):
        # A list with no paper-shaped item is some other JSON, not a batch of broken papers.
        if decoded and not any(looks_like_hf_item(item) for item in decoded):
            raise SourceFormatError(name, "JSON list holds no Hugging Face papers")
        return decoded
    raise SourceFormatError(name, f"JSON {type(decoded).__name__} is not a Hugging Face paper list")


def looks_like_hf_item(item: Any) -> bool:
    """True for a wrapped daily-papers item or a flat paper object."""
    return isinstance(item, Mapping) and (isinstance(item.get("paper"), Mapping) or "id" in item)


def parse_hf_items(items: list[Any], day: date | None = None) -> tuple[list[Paper], list[str]]:
    """Papers from decoded HF items; an item that cannot be read is skipped with its reason."""
    papers: list[Paper] = []
    skipped: list[str] = []
    for index, item in enumerate(items):
        try:
            papers.append(parse_hf_item(item, day))
        except ItemError as exc:
            reason = f"item {index}: {exc}"
            log.warning("skipped Hugging Face %s", reason)
            skipped.append(reason)
    return papers, skipped


def parse_hf_item(item: Any, day: date | None = None) -> Paper:
    """One wrapped (`{paper: {...}}`) or flat HF paper; ItemError says why it cannot be read."""
    if not isinstance(item, Mapping):
        raise ItemError(f"not an object but {type(item).__name__}")
    inner = item.get("paper")
    wrapped = isinstance(inner, Mapping)
    paper: Mapping[str, Any] = inner if isinstance(inner, Mapping) else item
    # Newer responses move fields between the wrapper and `paper`: look in both, paper first.
    levels = (paper, item) if wrapped else (paper,)

    raw_id = _text(paper.get("id")) or _text(item.get("id"))
    if not raw_id or any(ch.isspace() for ch in raw_id):
        raise ItemError(f"no usable paper id ({paper.get('id')!r})")
    pid = canonical_id(raw_id)
    title = normalise_space(_first_text(levels, "title"))
    if not title:
        raise ItemError(f"{pid}: no title")

    return Paper(
        id=pid,
        title=title,
        abstract=normalise_space(_first_text(levels, "summary")),
        authors=_authors(paper.get("authors")),
        published=_day(paper.get("publishedAt")),
        added=day or _added_day(paper, item, wrapped),
        upvotes=_first_int(levels, "upvotes") or 0,
        comments=_first_int(levels, "numComments") or 0,
        github_repo=_first_text(levels, "githubRepo"),
        github_stars=_first_int(levels, "githubStars"),
        project_page=_first_text(levels, "projectPage"),
        thumbnail=_first_text(levels, "thumbnail"),
        ai_summary=normalise_space(_first_text(levels, "ai_summary")) or None,
        keywords=_keywords(_first(levels, "ai_keywords")),
        organization=_organization(_first(levels, "organization")),
        sources=(SOURCE,),
    )


def _added_day(paper: Mapping[str, Any], item: Mapping[str, Any], wrapped: bool) -> date | None:
    # submittedOnDailyAt's UTC date is the Daily Papers date in every archived response. Older
    # responses lack it; there the wrapper's publishedAt is the day added (US-Eastern wall time
    # written with a Z, so its date part is the Daily Papers date as is). A flat object's
    # publishedAt is the arXiv date, never the day added.
    for level in (paper, item):
        added = _day(level.get("submittedOnDailyAt"))
        if added:
            return added
    return _day(item.get("publishedAt")) if wrapped else None


def _first(levels: tuple[Mapping[str, Any], ...], key: str) -> Any:
    for level in levels:
        value = level.get(key)
        if value is not None and value != "":
            return value
    return None


def _first_text(levels: tuple[Mapping[str, Any], ...], key: str) -> str | None:
    for level in levels:
        text = _text(level.get(key))
        if text:
            return text
    return None


def _first_int(levels: tuple[Mapping[str, Any], ...], key: str) -> int | None:
    for level in levels:
        number = _int(level.get(key))
        if number is not None:
            return number
    return None


def _text(value: Any) -> str | None:
    if isinstance(value, str) and value.strip():
        return value.strip()
    return None


def _int(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str) and value.strip().isdigit():
        return int(value.strip())
    return None


def _day(value: Any) -> date | None:
    text = _text(value)
    if not text:
        return None
    try:
        return date.fromisoformat(text[:10])
    except ValueError:
        return None


def _authors(value: Any) -> tuple[str, ...]:
    if not isinstance(value, list):
        return ()
    names: list[str] = []
    for author in value:
        # `hidden` only hides the author's HF profile link; the name is still the author.
        if isinstance(author, str):
            name = normalise_space(author)
        elif isinstance(author, Mapping):
            user = author.get("user")
            fullname = user.get("fullname") if isinstance(user, Mapping) else None
            name = normalise_space(_text(author.get("name")) or _text(fullname))
        else:
            continue
        if name:
            names.append(name)
    return tuple(names)


def _keywords(value: Any) -> tuple[str, ...]:
    if not isinstance(value, list):
        return ()
    words = (normalise_space(word) for word in value if isinstance(word, str))
    return tuple(dict.fromkeys(word for word in words if word))


def _organization(value: Any) -> str | None:
    if isinstance(value, Mapping):
        return _text(value.get("fullname")) or _text(value.get("name"))
    return _text(value)
