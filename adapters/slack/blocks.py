"""Block Kit building blocks and the digest messages, escaped and within Slack's limits.

Every untrusted string (titles, abstracts, authors, keywords, queries) goes through `escape`
before it enters mrkdwn, so `<!channel>` or `<@U123>` in a title shows as text and pings no one.
Texts are shortened before they are formatted; `clip` is only the last guard against a limit.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from bot.models import Digest, DigestItem, Paper, short_authors, shorten
from bot.presentation import digest_header

Block = dict[str, Any]

MAX_BLOCKS = 50
MAX_SECTION = 3000
MAX_FIELD = 2000
MAX_FIELDS = 10
MAX_HEADER = 150
MAX_CONTEXT_ELEMENTS = 10
MAX_BUTTON_TEXT = 75
MAX_BUTTON_VALUE = 2000
MAX_ALT_TEXT = 2000
MAX_IMAGE_URL = 3000
MAX_FALLBACK = 3000  # the top-level `text`: notifications and clients without blocks
SECTION_BUDGET = 2900  # what packing aims for, leaving room for a closing line

SHARE_ACTION = "share_paper"
SAVE_ACTION = "save_paper"
PAPER_EVENT = "papers_bot_paper"  # message metadata type: marks a message as showing one paper

_URL = re.compile(r"^https?://[^\s<>|]+$", re.IGNORECASE)


@dataclass(frozen=True, slots=True)
class Message:
    """A Slack message: fallback text, blocks, and who sees it when it answers a command."""

    text: str
    blocks: list[Block] = field(default_factory=list)
    ephemeral: bool = True

    def respond_args(self) -> dict[str, Any]:
        """Keyword arguments for bolt's respond()."""
        return {
            "text": self.text,
            "blocks": self.blocks,
            "response_type": "ephemeral" if self.ephemeral else "in_channel",
            "unfurl_links": False,
            "unfurl_media": False,
        }


def escape(text: str) -> str:
    """Untrusted text made inert in mrkdwn: exactly &, < and > become entities."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def unescape(text: str) -> str:
    """Text as the member typed it: Slack sends a command's &, < and > as entities ("Q&amp;A"),
    the inverse of escape."""
    return text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


def clip(text: str, limit: int) -> str:
    """Escaped mrkdwn cut to `limit` characters without splitting an entity or a link."""
    if len(text) <= limit:
        return text
    cut = text[: limit - 1]
    amp = cut.rfind("&")
    if amp != -1 and ";" not in cut[amp:]:
        cut = cut[:amp]
    lt = cut.rfind("<")
    if lt != -1 and ">" not in cut[lt:]:
        cut = cut[:lt]
    return cut + "…"


def web_url(url: str | None) -> str | None:
    """An http(s) URL safe to put in a link or an image, or None for anything else."""
    if not url:
        return None
    url = url.strip()
    if len(url) > MAX_IMAGE_URL or not _URL.match(url):
        return None
    return url


def link(url: str | None, label: str) -> str:
    """A mrkdwn link with an escaped label, or just the label when the URL is unusable."""
    target = web_url(url)
    text = escape(label)
    return f"<{escape(target)}|{text}>" if target else text


def section(text: str) -> Block:
    """A mrkdwn section block."""
    return {"type": "section", "text": {"type": "mrkdwn", "text": clip(text, MAX_SECTION)}}


def fields_section(pairs: list[tuple[str, str]]) -> Block:
    """A section of up to 10 (name, escaped value) fields."""
    return {
        "type": "section",
        "fields": [
            {"type": "mrkdwn", "text": clip(f"*{escape(name)}*\n{value}", MAX_FIELD)}
            for name, value in pairs[:MAX_FIELDS]
        ],
    }


def context(*texts: str) -> Block:
    """A context block of mrkdwn texts (empty ones dropped)."""
    elements = [
        {"type": "mrkdwn", "text": clip(text, MAX_SECTION)} for text in texts if text.strip()
    ]
    return {"type": "context", "elements": elements[:MAX_CONTEXT_ELEMENTS]}


def header(text: str) -> Block:
    """A header block; plain text, so nothing in it is parsed."""
    return {
        "type": "header",
        "text": {
            "type": "plain_text",
            "text": shorten(text, MAX_HEADER) or "papers",
            "emoji": True,
        },
    }


def share_button(
    paper: Paper, block_id: str, action: str = SHARE_ACTION, label: str = "Share in channel"
) -> Block | None:
    """An actions block with one button for a paper: "Share in channel", or "Save" (the
    SAVE_ACTION) under live arXiv results."""
    if not paper.id or len(paper.id) > MAX_BUTTON_VALUE:
        return None
    button = {
        "type": "button",
        "action_id": action,
        "text": {"type": "plain_text", "text": label},
        "value": paper.id,
    }
    return {"type": "actions", "block_id": block_id[:255], "elements": [button]}


def fit(blocks: list[Block], more: str = "") -> list[Block]:
    """At most 50 blocks, the last saying what was left out when some were."""
    if len(blocks) <= MAX_BLOCKS:
        return blocks
    left = len(blocks) - (MAX_BLOCKS - 1)
    return [*blocks[: MAX_BLOCKS - 1], context(more or f"… {left} more not shown")]


def pack_lines(lines: list[str], room: int, more: str, hidden: int = 0) -> list[Block]:
    """Escaped lines packed into as few sections as fit in `room` blocks; `more` counts the rest.

    `hidden` counts lines left out before packing, so the note about the rest includes them.
    """
    blocks: list[Block] = []
    current: list[str] = []
    size = 0
    for index, line in enumerate(lines):
        line = clip(line, SECTION_BUDGET)
        if current and size + len(line) + 1 > SECTION_BUDGET:
            blocks.append(section("\n".join(current)))
            current, size = [], 0
            if len(blocks) >= room - 1:  # only the note about the rest still fits
                return [*blocks, context(more.format(len(lines) - index + hidden))]
        current.append(line)
        size += len(line) + 1
    if current:
        blocks.append(section("\n".join(current)))
    if hidden:
        blocks.append(context(more.format(hidden)))
    return blocks


# -- papers and digests ------------------------------------------------------------------------


def paper_title_line(paper: Paper, limit: int = 300) -> str:
    """'*<hf url|Title>*' with the title shortened and escaped."""
    return f"*{link(paper.url, shorten(paper.title, limit) or paper.id)}*"


def paper_stats(paper: Paper) -> str:
    """'Ada Lovelace, Alan Turing · ▲ 42 · 💬 3', escaped."""
    parts = [escape(shorten(short_authors(paper.authors), 200))] if paper.authors else []
    parts.append(f"▲ {paper.upvotes}")
    if paper.comments:
        parts.append(f"💬 {paper.comments}")
    return " · ".join(parts)


def paper_links(paper: Paper) -> str:
    """'arXiv · PDF · Code · Project' links for what the paper has."""
    return " · ".join(link(url, label) for label, url in paper.links if web_url(url))


def paper_blocks(paper: Paper, why: str = "", thumbnail: bool = True) -> list[Block]:
    """One paper: linked title, authors and counts, a short summary, links, and a thumbnail."""
    lines = [paper_title_line(paper), paper_stats(paper)]
    summary = shorten(paper.summary_line, 400)
    if summary:
        lines.append(escape(summary))
    main = section("\n".join(lines))
    image = web_url(paper.thumbnail) if thumbnail else None
    if image:
        alt = shorten(paper.title, MAX_ALT_TEXT) or "thumbnail"
        main["accessory"] = {"type": "image", "image_url": image, "alt_text": alt}
    blocks = [main]
    footer = context(paper_links(paper), escape(shorten(why, 300)))
    if footer["elements"]:
        blocks.append(footer)
    return blocks


def paper_message(item: DigestItem, thumbnail: bool = True) -> Message:
    """The message for one paper of a digest (or a shared paper)."""
    paper = item.paper
    text = clip(escape(shorten(paper.title, 300) or paper.id), MAX_FALLBACK)
    return Message(text, paper_blocks(paper, item.why, thumbnail), ephemeral=False)


def header_message(digest: Digest, bookmark: str) -> Message:
    """The header posted before a digest's papers, or the note for a day with nothing new."""
    title, rest = digest_header(digest, f":{bookmark}:")
    line = context(escape(rest)) if digest.items else section(escape(rest))
    return Message(clip(escape(title), MAX_FALLBACK), [header(f"📚 {title}"), line], False)
