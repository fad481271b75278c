"""The `papers-bot` command line."""

from __future__ import annotations

import asyncio
import getpass
import json
import logging
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from itertools import islice
from pathlib import Path
from typing import Annotated, Any, NoReturn

import aiohttp
import typer
from rich.console import Console
from rich.logging import RichHandler
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn
from typer._click.types import StringParamType

from adapters import PLATFORMS
from adapters.terminal import TerminalAdapter, render, render_status, terminal_channel
from bot import __version__
from bot.app import App, open_app, serve
from bot.commands import CommandContext, Invocation
from bot.commands.registry import PREFIX
from bot.config import ConfigError, Settings, load_settings
from bot.health import snapshot
from bot.ingest import fetch_sources, ingest_files
from bot.models import paper_references
from bot.ports import Clock, utcnow
from bot.replies import SearchReply, TextReply
from bot.search import semantic
from bot.sources import SourceError, sample_files
from bot.storage import NO_PGVECTOR, Storage, copy_to_postgres
from bot.store import SchemaTooNew
from bot.store.scope import is_postgres_url

app = typer.Typer(
    name="papers-bot",
    help="The day's trending research papers in your team's chat. "
    "Start with [bold]papers-bot digest[/bold]: it prints today's digest in the terminal.",
    no_args_is_help=True,
    add_completion=False,
    rich_markup_mode="rich",
    context_settings={"help_option_names": ["-h", "--help"]},
)
out = Console()
err = Console(stderr=True)


@dataclass
class State:
    """Options shared by every command."""

    settings: Settings


def _state(ctx: typer.Context) -> State:
    state = ctx.obj
    assert isinstance(state, State)
    return state


def _version(value: bool) -> None:
    if value:
        out.print(f"papers-bot {__version__}", highlight=False)
        raise typer.Exit()


@app.callback()
def options(
    ctx: typer.Context,
    db: Annotated[
        str | None,
        typer.Option(
            "--db",
            metavar="FILE|URL",
            help="SQLite database file (default: papers-bot.db here), or a postgresql:// URL",
            envvar="PAPERS_BOT_DB",
        ),
    ] = None,
    verbose: Annotated[bool, typer.Option("--verbose", "-v", help="Log what happens.")] = False,
    version: Annotated[
        bool,
        typer.Option(
            "--version", help="Print the version and exit.", is_eager=True, callback=_version
        ),
    ] = False,
) -> None:
    """Options for every command."""
    # The commands print their own one-line messages; library logs show with --verbose.
    _logging("INFO" if verbose else "ERROR")
    try:
        settings = load_settings(**_db_option(db))
    except ConfigError as exc:
        _fail(str(exc))
    ctx.obj = State(settings)


def _db_option(db: str | None) -> dict[str, object]:
    """The settings `--db` overrides: a postgresql:// URL is DATABASE_URL, else the file."""
    if not db:
        return {}
    if is_postgres_url(db):
        return {"database_url": db}
    return {"papers_bot_db": Path(db), "database_url": None}


def _logging(level: str) -> None:
    logging.basicConfig(
        level=level,
        format="%(message)s",
        handlers=[RichHandler(console=err, show_path=False, rich_tracebacks=True)],
        force=True,
    )


def _fail(message: str) -> NoReturn:
    err.print(f"[red]error:[/red] {escape(message)}", highlight=False, soft_wrap=True)
    raise typer.Exit(1)


@contextmanager
def _open(settings: Settings, clock: Clock = utcnow, *, existing: bool = False) -> Iterator[App]:
    """The app over the database; with `existing`, one line instead of creating a new one."""
    path = settings.papers_bot_db
    if existing and settings.database_url is None and not path.exists():
        _fail(
            f"there is no database at {path}: check PAPERS_BOT_DB (or --db); "
            "papers-bot fetch or papers-bot run creates one"
        )
    try:
        opened = open_app(settings, clock)
    except ConfigError as exc:
        _fail(str(exc))
    with opened:
        yield opened


def _progress() -> Progress:
    return Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        console=err,
        transient=True,
        disable=not err.is_terminal,
    )


def _parse_day(text: str | None) -> date | None:
    if text is None:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        _fail(f"“{text}” is not a date: use YYYY-MM-DD, e.g. 2025-08-05")


def _ingest(store: Storage, paths: list[Path], label: str) -> int:
    """Ingest files with a progress bar; returns how many papers were new."""
    with _progress() as progress:
        task = progress.add_task(label, total=len(paths))
        reports = ingest_files(
            store,
            paths,
            utcnow(),
            progress=lambda done, total: progress.update(task, completed=done),
        )
    for report in reports:
        for reason in report.skipped:
            err.print(f"{report.source}: skipped {reason}", style="yellow", highlight=False)
    return sum(report.new for report in reports)


def _ensure_sample(store: Storage) -> None:
    """Load the bundled sample into an empty database, so the bot works offline at once."""
    if store.papers.count():
        return
    files = sample_files()
    new = _ingest(store, files, "Loading the bundled sample")
    err.print(
        f"Loaded the bundled sample: {new} real papers from {len(files)} days of "
        "Hugging Face Daily Papers.",
        style="dim",
    )


async def _fetch(
    settings: Settings, store: Storage, names: tuple[str, ...], day: date | None
) -> bool:
    """Fetch live papers; prints one line per unreachable source; True if any fetch worked."""
    timeout = aiohttp.ClientTimeout(total=settings.http_timeout)
    async with aiohttp.ClientSession(timeout=timeout) as session:
        with _progress() as progress:
            task = progress.add_task("Fetching papers", total=len(names))
            reports = await fetch_sources(
                store,
                settings,
                session,
                names,
                day,
                utcnow(),
                progress=lambda done, total: progress.update(task, completed=done, total=total),
            )
    fetched = {report.source for report in reports}
    for report in reports:
        err.print(f"{report.source}: {report.seen} papers, {report.new} new", style="dim")
    last = store.activity.last_fetches()
    for name in names:
        if name not in fetched and name in last and last[name].error:
            err.print(f"[yellow]{last[name].error}[/yellow]", highlight=False)
    return bool(fetched)


@app.command()
def ingest(
    ctx: typer.Context,
    files: Annotated[
        list[Path],
        typer.Argument(
            metavar="FILE...",
            help="HF daily_papers JSON, arXiv Atom or arXiv RSS files",
            exists=True,
            dir_okay=False,
            readable=True,
        ),
    ],
) -> None:
    """Load papers from files (Hugging Face Daily Papers JSON, arXiv Atom or RSS)."""
    settings = _state(ctx).settings
    with _open(settings) as opened:
        store = opened.storage
        try:
            new = _ingest(store, files, "Ingesting")
        except SourceError as exc:
            _fail(str(exc))
        out.print(
            f"Ingested {len(files)} file(s): {new} new papers, {store.papers.count()} in all."
        )


@app.command()
def fetch(
    ctx: typer.Context,
    day: Annotated[
        str | None,
        typer.Option("--date", metavar="YYYY-MM-DD", help="the day to fetch (default: today)"),
    ] = None,
    source: Annotated[
        list[str] | None,
        typer.Option(
            "--source",
            metavar="hf|arxiv",
            help="where to fetch from (repeatable; default: PAPERS_BOT_SOURCES)",
        ),
    ] = None,
) -> None:
    """Fetch the day's papers from Hugging Face Daily Papers and/or arXiv."""
    settings = _state(ctx).settings
    names = tuple(source or settings.papers_bot_sources)
    for name in names:
        if name not in ("hf", "arxiv"):
            _fail(f"unknown source “{name}”: use hf or arxiv")
    with _open(settings) as opened:
        if not asyncio.run(_fetch(settings, opened.storage, names, _parse_day(day))):
            _fail("no source could be reached; nothing was fetched (stored papers are unchanged)")


class WordsCommand(typer.core.TyperCommand):
    """A command whose words may start with '-' (`-survey` excludes): any argument that is
    none of its options is a word, wherever it stands."""

    def parse_args(self, ctx: Any, args: list[str]) -> list[str]:  # click's, vendored by typer
        """The options first, then every word after `--`, so none is taken for an option."""
        opts: list[Any] = [p for p in self.get_params(ctx) if p.param_type_name == "option"]
        names = {name for p in opts for name in (*p.opts, *p.secondary_opts)}
        valued = {name for p in opts if not p.is_flag for name in p.opts}
        options: list[str] = []
        words: list[str] = []
        given = iter(args)
        for arg in given:
            name = arg.split("=", 1)[0]
            if arg == "--":
                words.extend(given)
            elif name in names:
                options.append(arg)
                if name in valued and "=" not in arg:
                    options.extend(islice(given, 1))
            else:
                words.append(arg)
        return super().parse_args(ctx, [*options, "--", *words] if words else options)


class Words(StringParamType):
    """A query's words: help shows the QUERY... metavar alone, with no TEXT or <str> beside it."""

    name = ""

    def get_metavar(self, param: Any, ctx: Any = None) -> str:
        """Nothing: typer 0.27-0.28 print this as the argument's type."""
        return ""


@app.command("search", cls=WordsCommand)
def search_command(
    ctx: typer.Context,
    query: Annotated[
        list[str],
        typer.Argument(
            metavar="QUERY...",
            click_type=Words(),
            help='words, "a phrase", -exclude, author:name, since:2025-01',
        ),
    ],
    limit: Annotated[
        int, typer.Option("--limit", "-n", metavar="N", min=1, max=100, help="how many results")
    ] = 10,
    as_json: Annotated[bool, typer.Option("--json", help="print JSON")] = False,
) -> None:
    """Search every paper the bot has seen; arXiv ids or links show those papers."""
    settings = _state(ctx).settings
    text = " ".join(query)
    with _open(settings) as opened:
        _ensure_sample(opened.storage)
        if paper_references(text):  # as /papers does: an unseen paper is fetched from arXiv
            asked = Invocation("search", {"query": text})
            said = asyncio.run(opened.bot.answer(asked, CommandContext(terminal_channel(), "")))
            if not isinstance(said, SearchReply):
                _fail(said.text if isinstance(said, TextReply) else f"no paper for {text}")
            reply = said
        else:
            reply = opened.storage.search.search(text, limit=limit, now=utcnow())
    if as_json:
        items = [hit.as_dict() for hit in reply.hits]
        out.print_json(json.dumps(items, ensure_ascii=False))
        return
    out.print(render(reply))


@app.command()
def digest(
    ctx: typer.Context,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="show the picks; post and record nothing")
    ] = False,
    day: Annotated[
        str | None,
        typer.Option("--date", metavar="YYYY-MM-DD", help="the digest's day (default: today)"),
    ] = None,
    channel: Annotated[
        str, typer.Option("--channel", metavar="NAME", help="terminal channel name")
    ] = "terminal",
    offline: Annotated[
        bool, typer.Option("--offline", help="do not fetch; use stored papers")
    ] = False,
) -> None:
    """Print today's digest as it would appear in a channel (the main job)."""
    settings = _state(ctx).settings
    digest_day = _parse_day(day)
    clock = utcnow if digest_day is None else _noon(digest_day)
    with _open(settings, clock) as opened:
        store, bot = opened.storage, opened.bot
        _ensure_sample(store)
        live = not offline and digest_day is None
        if live and not asyncio.run(_fetch(settings, store, settings.papers_bot_sources, None)):
            err.print(f"Digesting from the {store.papers.count()} stored papers.", style="dim")
        where = terminal_channel(channel)
        if dry_run:
            preview = bot.preview(where, digest_day)
            terminal = TerminalAdapter(out)
            asyncio.run(terminal.print_digest(preview))
            return
        outcome = asyncio.run(bot.post_digest(TerminalAdapter(out), where, digest_day))
        if outcome.status == "already":
            out.print(
                f"Today's digest for “{channel}” was already posted. "
                "Preview with --dry-run, or see it with: papers-bot chat, then /papers today"
            )


def _noon(day: date) -> Clock:
    moment = datetime.combine(day, time(12), tzinfo=UTC)
    return lambda: moment


@app.command()
def chat(
    ctx: typer.Context,
    channel: Annotated[
        str, typer.Option("--channel", metavar="NAME", help="terminal channel name")
    ] = "terminal",
) -> None:
    """Type /papers commands exactly as in Slack (reads lines from stdin when piped)."""
    settings = _state(ctx).settings
    with _open(settings) as opened:
        _ensure_sample(opened.storage)
        bot = opened.bot
        terminal = TerminalAdapter(out)
        context = CommandContext(terminal_channel(channel), getpass.getuser(), terminal)
        interactive = sys.stdin.isatty()
        if interactive:
            out.print(
                "Type /papers help, or /papers meta-rl to search. Ctrl-D to leave.", style="dim"
            )
        for line in terminal.typed_lines(interactive):
            text = line.strip()
            if not text or text.startswith("#"):
                continue
            if text in ("quit", "exit"):
                break
            if not interactive:
                out.print(f"> {text}", style="dim", highlight=False)
            typed = text.split()[0]
            if typed.startswith("/") and typed.lower() != PREFIX:  # `/paper help` is no search
                said = f"There is no {typed} here: every command starts with {PREFIX}, e.g."
                terminal.show(TextReply(f"{said} {PREFIX} help.", error=True))
                continue
            terminal.show(asyncio.run(bot.answer_text(text, context)))


@app.command()
def embed(ctx: typer.Context) -> None:
    """Embed the stored papers that have no vector yet (needs the semantic extra)."""
    settings = _state(ctx).settings
    if not semantic.available():
        _fail(f"papers-bot embed needs the semantic extra: {semantic.INSTALL_HINT}")
    with _open(settings) as opened:
        index = opened.storage.semantic
        if index is None and NO_PGVECTOR:
            _fail(NO_PGVECTOR[-1])
        if index is None:
            _fail("SEMANTIC_SEARCH is off: set it to auto to search and embed by meaning")
        with _progress() as progress:
            task = progress.add_task("Embedding", total=None)
            try:
                done = index.backfill(
                    lambda n, total: progress.update(task, completed=n, total=total)
                )
            except semantic.ModelMismatch as exc:
                _fail(str(exc))
        out.print(f"Embedded {done} papers; {opened.storage.papers.count()} in all have vectors.")


@app.command()
def migrate(
    source: Annotated[
        Path,
        typer.Option(
            "--from", metavar="FILE", help="the SQLite database file to copy", exists=True
        ),
    ],
    target: Annotated[
        str, typer.Option("--to", metavar="URL", help="the postgresql:// database to fill")
    ],
) -> None:
    """Copy an installation from SQLite into PostgreSQL (safe to run again)."""
    if not is_postgres_url(target):
        _fail(f"--to must be a postgresql:// URL, not {target!r}")
    try:
        copied, note = copy_to_postgres(source, target)
    except SchemaTooNew as exc:
        _fail(str(exc))
    except Exception as exc:  # no server there, no driver, no permission
        _fail(f"cannot copy {source} to PostgreSQL: {exc}")
    counts = ", ".join(f"{n} {table}" for table, n in copied.items())
    out.print(f"Copied {counts}. Start papers-bot with DATABASE_URL set to that database.")
    if note:
        out.print(note)


@app.command()
def status(
    ctx: typer.Context,
    as_json: Annotated[bool, typer.Option("--json", help="print JSON (as /healthz does)")] = False,
) -> None:
    """Show the last fetch per source and each channel's next and last digest.

    Exits 1 when something needs you (a paused channel, a failed fetch), as /healthz does."""
    settings = _state(ctx).settings
    with _open(settings, existing=True) as opened:
        report = snapshot(opened.storage, utcnow())
    if as_json:
        out.print_json(json.dumps(report))
    else:
        out.print(render_status(report, settings.storage_name))
    if report["status"] != "ok":
        raise typer.Exit(1)


@app.command()
def health(
    ctx: typer.Context,
    timeout: Annotated[
        float, typer.Option(metavar="SECONDS", help="how long to wait for an answer")
    ] = 4.0,
) -> None:
    """Ask the running service's /healthz (HEALTH_HOST, HEALTH_PORT): one line, exit 0 when ok.

    Exits 1, saying why, when it is degraded or does not answer (the image's HEALTHCHECK)."""
    settings = _state(ctx).settings
    if settings.health_port is None:
        _fail("HEALTH_PORT is off: set it to the port papers-bot run serves /healthz on")
    host = "127.0.0.1" if settings.health_host in ("0.0.0.0", "::", "") else settings.health_host
    url = f"http://{host}:{settings.health_port}/healthz"
    try:
        body = asyncio.run(_get_json(url, timeout))
    except (aiohttp.ClientError, TimeoutError, ValueError) as exc:
        reason = str(exc) or type(exc).__name__
        _fail(f"nothing healthy answers at {url} ({reason}): is papers-bot run up?")
    if body.get("status") == "ok":
        out.print(f"ok: papers-bot {body.get('version', '')} is healthy", highlight=False)
        return
    _fail("degraded: " + "; ".join(body.get("problems") or ["no reason given"]))


async def _get_json(url: str, timeout: float) -> dict[str, Any]:
    """The JSON body of GET `url` (a 503 from /healthz still carries its report)."""
    async with (
        aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=timeout)) as session,
        session.get(url) as response,
    ):
        body = await response.json(content_type=None)
    if not isinstance(body, dict) or "status" not in body:
        raise ValueError(f"answered {response.status} without a health report")
    return body


def _platform_command(name: str, command: Callable[[], str]) -> None:
    def run_it() -> None:
        try:
            out.print(command(), soft_wrap=True)
        except ConfigError as exc:
            _fail(str(exc))

    run_it.__doc__ = command.__doc__
    app.command(name)(run_it)


for _platform in PLATFORMS:
    for _name, _command in _platform.commands.items():
        _platform_command(_name, _command)


@app.command()
def run(ctx: typer.Context) -> None:
    """Run the service: fetch on schedule, post digests, answer Slack and Discord."""
    settings = _state(ctx).settings
    try:
        asyncio.run(serve(settings))
    except ConfigError as exc:
        _fail(str(exc))
    except KeyboardInterrupt:
        pass


def main() -> None:
    """Console-script entry point."""
    app()
