"""Core replies and digest items as Discord messages: content, embeds, files, within limits.

Every string from the core is untrusted text (paper titles, abstracts, the user's query), so it
is escaped for Discord markdown and cut to the field's limit after escaping.
"""

from __future__ import annotations

import io
import re
from dataclasses import dataclass, replace

import discord

from bot.commands import describe_subscription
from bot.models import Digest, DigestItem, Paper, normalise_space, short_authors, shorten
from bot.presentation import digest_header, no_matches, search_heading
from bot.replies import (
    FileReply,
    HelpReply,
    PaperListReply,
    Reply,
    SearchReply,
    SettingsReply,
    Snippet,
)

CONTENT_MAX = 2000
TITLE_MAX = 256
DESCRIPTION_MAX = 4096
FIELD_MAX = 1024
EMBED_TOTAL_MAX = 6000
FOOTER_ID_MAX = 100
COLOUR = discord.Colour(0xFFD21E)  # Hugging Face yellow
_URL = re.compile(r"^https?://[^\s<>]+$")
# A bare URL stays as is (a backslash would break the link); any other markdown or mention
# character is escaped, so untrusted text shows exactly as written.
_URL_OR_MARK = re.compile(r"(https?://[^\s<>()\[\]]+[^\s<>()\[\].,:;\"'])|([\\*_`~|\[\]<>])")
_LINE_START = re.compile(r"^(#{1,3} |-# |[-*+>] |\d+\. )")


@dataclass(frozen=True, slots=True)
class Rendered:
    """One Discord message to send: text, embeds, an optional file, Share or Save buttons."""

    content: str = ""
    embeds: tuple[discord.Embed, ...] = ()
    file: tuple[str, bytes] | None = None  # (filename, data): a discord.File is single-use
    ephemeral: bool = True
    share_ids: tuple[str, ...] = ()
    save_ids: tuple[str, ...] = ()  # under live arXiv results

    def discord_file(self) -> discord.File | None:
        """A fresh discord.File for this message's attachment, if any."""
        if self.file is None:
            return None
        return discord.File(io.BytesIO(self.file[1]), filename=self.file[0])


def escape(text: str) -> str:
    """Untrusted text with Discord markdown and mentions made inert (shown as typed)."""
    out = _URL_OR_MARK.sub(lambda m: m[1] or "\\" + m[2], text)
    match = _LINE_START.match(out)
    if match:  # headings, lists and quotes only work at the start of a line
        out = match[1][:-2] + "\\" + out[len(match[1]) - 2 :]
    return out


def clip(text: str, limit: int) -> str:
    """Untrusted text escaped for markdown and shortened so the escaped form fits `limit`."""
    text = normalise_space(text)
    budget = limit
    while budget > 0:
        out = escape(shorten(text[: budget + 1], budget))
        if len(out) <= limit:
            return out
        budget = min(budget - 1, budget * limit // len(out))  # escapes took the difference
    return ""


def safe_url(url: str | None) -> str | None:
    """An http(s) URL Discord will accept in an embed or a link, else None."""
    if not url or len(url) > 1000 or not _URL.match(url):
        return None
    return url.replace("(", "%28").replace(")", "%29")


def link(label: str, url: str | None, limit: int = 200) -> str:
    """A markdown link with an escaped label, or the bare label when the URL is unusable."""
    text = clip(label, limit).replace("[", "\\[").replace("]", "\\]")
    target = safe_url(url)
    return f"[{text}]({target})" if target else text


def paper_links(paper: Paper) -> str:
    """'arXiv · PDF · Code · Project' as links, for the ones the paper has."""
    return " · ".join(link(label, url) for label, url in paper.links if safe_url(url))


def paper_embed(paper: Paper, why: str = "") -> discord.Embed:
    """One paper as an embed: linked title, summary, authors, votes, links, thumbnail."""
    embed = discord.Embed(
        title=clip(paper.title or paper.id, TITLE_MAX),
        url=safe_url(paper.url),
        description=clip(paper.summary_line, 1500) or None,
        colour=COLOUR,
    )
    if paper.authors:
        authors = clip(short_authors(paper.authors), FIELD_MAX)
        embed.add_field(name="Authors", value=authors, inline=False)
    embed.add_field(name="Upvotes", value=str(paper.upvotes), inline=True)
    embed.add_field(name="Comments", value=str(paper.comments), inline=True)
    links = paper_links(paper)
    if links:
        embed.add_field(name="Links", value=links[:FIELD_MAX], inline=False)
    thumbnail = safe_url(paper.thumbnail)
    if thumbnail:
        embed.set_thumbnail(url=thumbnail)
    # The id closes the footer: find_posted recognises a paper's message by it.
    reason, pid = clip(why, 200), clip(paper.id, FOOTER_ID_MAX)
    embed.set_footer(text=f"{reason} · {pid}" if reason else pid)
    return embed


def header_message(digest: Digest, bookmark: str = "🔖") -> Rendered:
    """The message that opens a digest, or says why there is nothing today: an embed whose
    footer is the digest's header key, so a restart finds it however busy the channel."""
    title, rest = digest_header(digest, bookmark)  # the core's title carries the date
    embed = discord.Embed(
        title=clip(f"📚 {title}", TITLE_MAX), description=clip(rest, 1500), colour=COLOUR
    )
    embed.set_footer(text=clip(digest.header_key, FOOTER_ID_MAX))
    return Rendered(embeds=(embed,), ephemeral=False)


def tagged(embed: discord.Embed, key: str) -> bool:
    """True when an embed is the message tagged `key`: a paper (its footer ends with the id)
    or a digest header (its footer is the header key)."""
    footer = embed.footer.text or ""
    return footer.rsplit(" · ", 1)[-1] == clip(key, FOOTER_ID_MAX)


def digest_item(item: DigestItem) -> Rendered:
    """A digest paper's message."""
    return Rendered(embeds=(paper_embed(item.paper, item.why),), ephemeral=False)


def snippet_text(snippet: Snippet, limit: int) -> str:
    """Snippet runs with the matches in bold, escaped, within `limit` characters."""
    out = ""
    for text, is_match in snippet:
        # Runs meet at spaces ("we study " + "meta-RL"): keep one where the run had one.
        lead = " " if text[:1].isspace() else ""
        tail = " " if text[-1:].isspace() else ""
        room = limit - len(out) - len(lead) - len(tail) - (4 if is_match else 0)
        piece = clip(text, room)
        if not piece:
            break
        out += lead + (f"**{piece}**" if is_match else piece) + tail
        if piece.endswith("…"):
            break
    return " ".join(out.split())


def _listing(entries: list[str], limit: int = DESCRIPTION_MAX) -> str:
    """Entries joined by newlines up to `limit`, with a count of what did not fit."""
    lines: list[str] = []
    size = 0
    for index, entry in enumerate(entries):
        more = f"…and {len(entries) - index} more"
        if size + len(entry) + 1 + len(more) > limit:
            lines.append(more)
            break
        lines.append(entry)
        size += len(entry) + 1
    return "\n".join(lines)


def render_search(reply: SearchReply) -> Rendered:
    """Search results as one embed, one Share button per hit (Save for live arXiv results)."""
    note = clip(reply.note, 1000)
    if not reply.hits:
        text = escape(no_matches(clip(reply.query, 200), reply.source)) if reply.offers_more else ""
        return Rendered(content=f"{text}\n{escape(note)}".strip(), ephemeral=reply.ephemeral)
    budget = (DESCRIPTION_MAX - 200) // len(reply.hits)
    entries = []
    for number, hit in enumerate(reply.hits, 1):
        paper = hit.paper
        head = f"**{number}. {link(paper.title or paper.id, paper.url, 250)}**"
        meta = " · ".join(
            part
            for part in (
                clip(short_authors(paper.authors), 200),
                f"{paper.upvotes} upvotes",
                clip(paper.id, 60),
            )
            if part
        )
        snippet = snippet_text(hit.snippet, max(budget - len(head) - len(meta), 0))
        entries.append("\n".join(part for part in (head, meta, snippet) if part))
    arxiv = reply.source == "arxiv"
    title = search_heading(len(reply.hits), reply.query, reply.source) if arxiv else None
    embed = discord.Embed(
        title=clip(reply.heading or title or f"Search: {reply.query}", TITLE_MAX),
        description=_listing(entries, DESCRIPTION_MAX) if entries else None,
        colour=COLOUR,
    )
    if note:
        embed.set_footer(text=note)
    ids = tuple(hit.paper.id for hit in reply.hits)
    if arxiv:
        return Rendered(embeds=(embed,), ephemeral=reply.ephemeral, save_ids=ids)
    return Rendered(embeds=(embed,), ephemeral=reply.ephemeral, share_ids=ids)


def render_list(reply: PaperListReply) -> Rendered:
    """A heading and numbered, linked papers (today, saved)."""
    if not reply.papers:
        return Rendered(content=clip(reply.empty_text, CONTENT_MAX), ephemeral=reply.ephemeral)
    entries = [
        f"{number}. {link(paper.title or paper.id, paper.url, 300)} · {clip(paper.id, 60)}"
        for number, paper in enumerate(reply.papers, 1)
    ]
    embed = discord.Embed(
        title=clip(reply.heading, TITLE_MAX), description=_listing(entries), colour=COLOUR
    )
    return Rendered(embeds=(embed,), ephemeral=reply.ephemeral)


def render_help(reply: HelpReply) -> Rendered:
    """Usage lines as an embed."""
    entries = [f"`{syntax.replace('`', '')}` — {clip(what, 300)}" for syntax, what in reply.entries]
    embed = discord.Embed(
        title=clip(reply.title, TITLE_MAX), description=_listing(entries), colour=COLOUR
    )
    # On Discord a search is its own subcommand: a bare `/papers <words>` is not possible.
    footer = f"{reply.footer} On Discord, search with /papers search <words>.".strip()
    embed.set_footer(text=shorten(footer, 2048))
    return Rendered(embeds=(embed,), ephemeral=reply.ephemeral)


def render_settings(reply: SettingsReply) -> Rendered:
    """A channel's digest settings as embed fields."""
    embed = discord.Embed(
        title="Digest settings for this channel",
        description=clip(reply.text, DESCRIPTION_MAX) or None,
        colour=COLOUR,
    )
    for name, value in describe_subscription(reply.subscription):
        embed.add_field(name=clip(name, TITLE_MAX), value=clip(value, FIELD_MAX) or "-")
    return Rendered(embeds=(embed,), ephemeral=reply.ephemeral)


def render_reply(reply: Reply) -> Rendered:
    """Any core reply as the Discord message that answers the interaction, its notice (if
    any) first."""
    rendered = _render(reply)
    if not reply.notice:
        return rendered
    content = clip(f"⚠️ {escape(reply.notice)}\n{rendered.content}".strip(), CONTENT_MAX)
    return replace(rendered, content=content)


def _render(reply: Reply) -> Rendered:
    if isinstance(reply, SearchReply):
        return render_search(reply)
    if isinstance(reply, PaperListReply):
        return render_list(reply)
    if isinstance(reply, HelpReply):
        return render_help(reply)
    if isinstance(reply, SettingsReply):
        return render_settings(reply)
    if isinstance(reply, FileReply):
        data = reply.content.encode("utf-8")
        return Rendered(
            clip(reply.text, CONTENT_MAX), file=(reply.filename, data), ephemeral=reply.ephemeral
        )
    text = clip(reply.text, CONTENT_MAX - 4)
    return Rendered(f"⚠️ {text}" if reply.error else text, ephemeral=reply.ephemeral or reply.error)
