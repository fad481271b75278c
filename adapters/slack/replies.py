"""The core's /papers replies rendered as Block Kit messages (one function per reply type)."""

from __future__ import annotations

from adapters.slack.blocks import (
    MAX_BLOCKS,
    MAX_FALLBACK,
    SAVE_ACTION,
    SECTION_BUDGET,
    Block,
    Message,
    clip,
    context,
    escape,
    fields_section,
    fit,
    header,
    pack_lines,
    paper_stats,
    paper_title_line,
    section,
    share_button,
)
from bot.commands import describe_subscription
from bot.models import Paper, short_authors, shorten
from bot.presentation import no_matches, search_heading
from bot.replies import (
    FileReply,
    HelpReply,
    PaperListReply,
    Reply,
    SearchReply,
    SettingsReply,
    Snippet,
    TextReply,
)

SEARCH_HITS = 5
LISTED = 100  # papers shown in one list reply; more is a wall nobody reads
FENCE = "```"


def render_reply(reply: Reply) -> Message:
    """The Slack message for any core reply, its notice (if any) first."""
    message = _render(reply)
    if not reply.notice:
        return message
    notice = ":warning: " + escape(reply.notice)
    text = clip(f"{escape(reply.notice)}\n{message.text}", MAX_FALLBACK)
    return Message(text, fit([section(notice), *message.blocks]), message.ephemeral)


def _render(reply: Reply) -> Message:
    match reply:
        case SearchReply():
            return render_search(reply)
        case PaperListReply():
            return render_paper_list(reply)
        case FileReply():
            return render_file(reply)
        case HelpReply():
            return render_help(reply)
        case SettingsReply():
            return render_settings(reply)
        case TextReply():
            return render_text(reply.text, reply.error, reply.ephemeral)
    raise TypeError(f"no Slack rendering for {type(reply).__name__}")


def render_text(text: str, error: bool = False, ephemeral: bool = True) -> Message:
    """A short message; errors get a warning sign."""
    body = (":warning: " if error else "") + escape(text)
    return Message(clip(escape(text), MAX_FALLBACK), [section(body)], ephemeral)


def snippet_mrkdwn(snippet: Snippet) -> str:
    """A snippet with its matching runs in bold, everything escaped."""
    parts: list[str] = []
    for text, is_match in snippet:
        core = text.strip().replace("*", "")
        if is_match and core:
            lead = text[: len(text) - len(text.lstrip())]
            tail = text[len(text.rstrip()) :]
            parts.append(f"{lead}*{escape(core)}*{tail}")
        else:
            parts.append(escape(text))
    return "".join(parts)


def render_search(reply: SearchReply) -> Message:
    """Top hits, each with a "Share in channel" button (live arXiv results: "Save");
    ephemeral unless the reply says not."""
    query = shorten(reply.query, 200)
    heading = shorten(reply.heading, 250) or search_heading(len(reply.hits), query, reply.source)
    blocks: list[Block] = [section(f"*{escape(heading)}*")]
    if reply.note:
        blocks.append(context(escape(reply.note)))
    hits = reply.hits[:SEARCH_HITS]
    if reply.offers_more:
        blocks.append(section(escape(no_matches(query, reply.source))))
    for index, hit in enumerate(hits):
        lines = [paper_title_line(hit.paper, 250), paper_stats(hit.paper)]
        plain = "".join(text for text, _ in hit.snippet).strip()
        # A snippet from the title would only repeat the line above it.
        snippet = snippet_mrkdwn(hit.snippet) if plain and plain != hit.paper.title else ""
        lines.append(snippet or escape(shorten(hit.paper.summary_line, 300)))
        blocks.append(section("\n".join(line for line in lines if line)))
        if reply.source == "arxiv":
            button = share_button(hit.paper, f"save-{index}", SAVE_ACTION, "Save")
        else:
            button = share_button(hit.paper, f"share-{index}")
        if button:
            blocks.append(button)
    text = escape(heading)
    return Message(clip(text, MAX_FALLBACK), fit(blocks), reply.ephemeral)


def paper_line(paper: Paper) -> str:
    """'• *Title* · Authors · ▲ 3 · `2401.01234`' for lists of papers."""
    authors = escape(shorten(short_authors(paper.authors), 120))
    parts = [f"• {paper_title_line(paper, 200)}", authors, f"▲ {paper.upvotes}"]
    parts.append(f"`{escape(shorten(paper.id, 100))}`")
    return " · ".join(part for part in parts if part)


def render_paper_list(reply: PaperListReply) -> Message:
    """`today` and `saved`: a heading and one line per paper, packed into few sections."""
    heading = escape(shorten(reply.heading, 300))
    blocks: list[Block] = [section(f"*{heading}*")]
    if not reply.papers:
        blocks.append(section(escape(reply.empty_text)))
    else:
        lines = [paper_line(paper) for paper in reply.papers[:LISTED]]
        hidden = len(reply.papers) - len(lines)
        more = "… and {} more not shown here (/papers export has them all)."
        blocks += pack_lines(lines, MAX_BLOCKS - 1, more, hidden)
    return Message(clip(heading, MAX_FALLBACK), blocks, reply.ephemeral)


def render_help(reply: HelpReply) -> Message:
    """Usage lines: the syntax in code, then what it does."""
    lines = [f"`{escape(syntax)}` {escape(about)}" for syntax, about in reply.entries]
    blocks: list[Block] = [header(reply.title)]
    blocks += pack_lines(lines, MAX_BLOCKS - 2, "… and {} more.")
    if reply.footer:
        blocks.append(context(escape(reply.footer)))
    return Message(clip(escape(reply.title), MAX_FALLBACK), blocks, reply.ephemeral)


def render_settings(reply: SettingsReply) -> Message:
    """A channel's settings as fields, after the line saying what changed."""
    blocks: list[Block] = []
    if reply.text:
        blocks.append(section(escape(reply.text)))
    pairs = [(name, escape(value)) for name, value in describe_subscription(reply.subscription)]
    blocks.append(fields_section(pairs))
    text = reply.text or "Settings for this channel"
    return Message(clip(escape(text), MAX_FALLBACK), blocks, reply.ephemeral)


def code_chunks(content: str, size: int) -> list[str]:
    """Escaped text split at line ends into pieces of at most `size` characters."""
    # A ``` inside the content would end the code block early.
    lines = escape(content).replace(FENCE, "`\u200b``").splitlines()
    chunks: list[str] = []
    current = ""
    for line in lines:
        for piece in _split_long(line, size):
            if current and len(current) + len(piece) + 1 > size:
                chunks.append(current)
                current = ""
            current = f"{current}\n{piece}" if current else piece
    if current:
        chunks.append(current)
    return chunks


def _split_long(line: str, size: int) -> list[str]:
    # One line can be longer than a section (a paper with thousands of authors).
    pieces: list[str] = []
    while len(line) > size:
        head = clip(line, size)[:-1] or line[:size]
        pieces.append(head)
        line = line[len(head) :]
    return [*pieces, line]


def render_file(reply: FileReply) -> Message:
    """The BibTeX export as code blocks in the reply, so it stays private to the user."""
    chunks = code_chunks(reply.content, SECTION_BUDGET - 2 * len(FENCE) - 2)
    room = MAX_BLOCKS - 2
    blocks: list[Block] = [section(f"{escape(reply.text)} · `{escape(reply.filename)}`")]
    blocks += [section(f"{FENCE}\n{chunk}\n{FENCE}") for chunk in chunks[:room]]
    if len(chunks) > room:
        blocks.append(
            context("The export is too long for one message: unsave some papers to see the rest.")
        )
    return Message(clip(escape(reply.text), MAX_FALLBACK), blocks, reply.ephemeral)
