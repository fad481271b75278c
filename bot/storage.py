"""The storage ports: what the bot asks of its database, as Protocols, and `open_storage`, the
one place that picks an implementation. Every implementation passes tests/test_store.py.

Two implementations: SQLite (bot/store, bot/search/engine.py), the embedded default, and
PostgreSQL (bot/store/postgres, bot/search/postgres.py) for a postgresql:// target; both are in
STORAGE_BACKENDS in tests/conftest.py, so the contract tests run on each."""

from __future__ import annotations

import logging
import sqlite3
from collections.abc import Collection, Iterable
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from bot.logs import Throttled
from bot.models import (
    AppInstallation,
    Bookmark,
    Channel,
    ChannelSave,
    DigestClaim,
    FetchRecord,
    Member,
    MessageRef,
    Paper,
    Pause,
    PostKind,
    PostStatus,
    Subscription,
    ZoteroPush,
)
from bot.replies import SearchReply
from bot.search import FtsSearch
from bot.search.dense import DenseIndex
from bot.store import SqliteStore
from bot.store.scope import is_postgres_url

if TYPE_CHECKING:
    from bot.store.postgres import PgStore

# What a failed database call means, for the operator's log line and the user's reply.
SQLITE_TROUBLE = {
    "SQLITE_BUSY": "the database is locked by another process",
    "SQLITE_LOCKED": "the database is locked by another process",
    "SQLITE_READONLY": "the database file is read-only",
    "SQLITE_FULL": "the disk is full",
    "SQLITE_IOERR": "the disk failed a read or write",
    "SQLITE_CANTOPEN": "the database file cannot be opened",
}
CONNECTION_LOST = "the connection to the database was lost"
# PostgreSQL's SQLSTATE codes (by prefix: "08" is every connection exception). A statement
# timeout (57014) is left out: search uses it as its deadline and answers on its own.
POSTGRES_TROUBLE = {
    "08": CONNECTION_LOST,
    "57P01": CONNECTION_LOST,  # the server was shut down or the session terminated
    "57P02": CONNECTION_LOST,  # the server crashed
    "57P03": "the database server is starting up or shutting down",
    "25006": "the database is read-only (a standby, or set read-only)",
    "53100": "the database server's disk is full",
    "53300": "the database server has no free connection",
    "55P03": "the database is locked by another process",
    "40001": "the database met a conflicting write at the same moment",
    "40P01": "the database met a conflicting write at the same moment",
}


def storage_trouble(exc: BaseException) -> str | None:
    """What went wrong with the database when `exc` (or what caused it) is a database that
    cannot be written now: locked past the busy timeout, read-only, disk full, and on
    PostgreSQL also a lost connection or a conflicting write. None for any other error."""
    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, sqlite3.Error):
            name = getattr(seen, "sqlite_errorname", "") or ""
            for prefix, trouble in SQLITE_TROUBLE.items():
                if name == prefix or name.startswith(prefix + "_"):
                    return trouble
        elif (said := _postgres_trouble(seen)) is not None:
            return said
        seen = seen.__cause__ or seen.__context__
    return None


def _postgres_trouble(exc: BaseException) -> str | None:
    """A psycopg error's trouble: by its SQLSTATE, or a connection that is gone (psycopg's
    OperationalError without a code: the server closed it, or it was closed after that);
    None for anything else. The driver is optional, so it is told by its module, not imported."""
    if not type(exc).__module__.startswith("psycopg"):
        return None
    code = getattr(exc, "sqlstate", None) or ""
    for prefix, trouble in POSTGRES_TROUBLE.items():
        if code.startswith(prefix):
            return trouble
    if not code and type(exc).__name__ == "OperationalError":
        return CONNECTION_LOST
    return None


# One line per kind of database trouble per minute, however many events meet it.
TROUBLE_LOG = Throttled(logging.getLogger(__name__))


def report_trouble(exc: BaseException, what: str) -> str | None:
    """When `exc` is a database that cannot be written now, log it (throttled, no traceback)
    and return what is wrong; None for any other error, which the caller handles."""
    trouble = storage_trouble(exc)
    if trouble is not None:
        TROUBLE_LOG.warning(trouble, f"{what} failed: {trouble} ({exc})")
    return trouble


class PaperRepository(Protocol):
    """Every paper the bot has seen, merged across sightings and sources."""

    def upsert(self, papers: Iterable[Paper], now: datetime) -> tuple[int, int]:
        """Insert new papers and merge sightings into known ones; returns (new, updated)."""
        ...

    def get(self, paper_id: str) -> Paper | None:
        """One paper by id."""
        ...

    def get_many(self, ids: list[str]) -> dict[str, Paper]:
        """Papers by id; unknown ids are left out."""
        ...

    def recent(self, since: datetime, since_day: date) -> list[Paper]:
        """Papers first seen since `since`, or added to HF Daily Papers since `since_day`."""
        ...

    def count(self) -> int:
        """How many papers are stored."""
        ...


class DigestLedger(Protocol):
    """Digest claims and leases, and every message the bot posted for a paper.

    A digest is named by its key (`Digest.key`: "daily", "roundup", "extra-093000").
    """

    def claim_digest(
        self, channel: Channel, day: date, kind: str, picks: list[tuple[str, str]], now: datetime
    ) -> DigestClaim:
        """Claim a channel's digest for a day, fixing its picks; an existing claim is kept."""
        ...

    def lease_digest(
        self,
        channel: Channel,
        day: date,
        kind: str,
        owner: str,
        until: datetime,
        now: datetime,
        dead_owners: Iterable[str] = (),
    ) -> bool:
        """Take (or renew) the right to deliver a claimed digest; False while another holds it."""
        ...

    def digest_owner(self, channel: Channel, day: date, kind: str) -> str | None:
        """The process holding a digest's lease, if any."""
        ...

    def get_digest(self, channel: Channel, day: date, kind: str = "daily") -> DigestClaim | None:
        """The digest claim for a channel and day, if any."""
        ...

    def unfinished_digests(self, channel: Channel | None = None) -> list[DigestClaim]:
        """Every digest claimed and not yet finished or abandoned (of one channel), oldest
        first: what a restart must finish or give up."""
        ...

    def last_digest_day(self, channel: Channel, kind: str = "daily") -> date | None:
        """The most recent day a digest was claimed for this channel."""
        ...

    def set_digest_header(self, channel: Channel, day: date, kind: str, ref: str) -> None:
        """Record the header message of a claimed digest."""
        ...

    def finish_digest(self, channel: Channel, day: date, kind: str, now: datetime) -> None:
        """Mark a digest as fully delivered."""
        ...

    def abandon_digest(self, channel: Channel, day: date, kind: str, now: datetime) -> None:
        """Give up a claimed digest: it will not be resumed (its papers are released apart)."""
        ...

    def posted_paper_ids(self, channel: Channel) -> set[str]:
        """Every paper a digest has claimed or posted in this channel."""
        ...

    def post_status(
        self,
        channel: Channel,
        paper_id: str,
        kind: PostKind = PostKind.DIGEST,
        day: date | None = None,
    ) -> PostStatus | None:
        """Claimed, posted, or None when this paper has no post of this kind here (that day,
        for roundups)."""
        ...

    def claim_post(
        self,
        channel: Channel,
        paper_id: str,
        day: date,
        now: datetime,
        kind: PostKind = PostKind.DIGEST,
    ) -> bool:
        """Write the claim row before posting a paper; False if a digest already has it here."""
        ...

    def release_post(
        self, channel: Channel, paper_id: str, day: date, kind: PostKind = PostKind.DIGEST
    ) -> bool:
        """Drop a paper's claim that never became a post, so a later digest may pick it again;
        False when there is no such claim (a confirmed post is never released)."""
        ...

    def record_post(
        self,
        ref: MessageRef,
        paper_id: str,
        day: date,
        now: datetime,
        kind: PostKind = PostKind.DIGEST,
    ) -> None:
        """Record a delivered paper message (completing its claim, or adding a share)."""
        ...

    def paper_for_message(self, ref: MessageRef) -> str | None:
        """The paper a bot message shows, or None for any other message."""
        ...

    def papers_posted_on(self, channel: Channel, day: date) -> list[str]:
        """The ids of the papers a channel's digest posted on a day, in posting order."""
        ...


class ChannelActivity(Protocol):
    """Subscriptions, bookmarks, de-duplicated platform events and the fetch log."""

    def get_subscription(self, channel: Channel) -> Subscription | None:
        """A channel's settings, or None when it has not subscribed."""
        ...

    def save_subscription(self, sub: Subscription, now: datetime) -> None:
        """Create or replace a channel's settings."""
        ...

    def delete_subscription(self, channel: Channel) -> bool:
        """Stop a channel's digests; True if it was subscribed."""
        ...

    def pause_subscription(self, channel: Channel, pause: Pause) -> bool:
        """Stop a channel's digests until it is resumed (the bot cannot post there); False when
        it is not subscribed. Saving its settings keeps the pause; deleting it forgets it."""
        ...

    def resume_subscription(self, channel: Channel) -> bool:
        """Clear a channel's pause; True when it was paused."""
        ...

    def subscriptions(self, platform: str | None = None) -> list[Subscription]:
        """Every subscription, or those of one platform."""
        ...

    def set_bookmark(
        self,
        member: Member,
        paper_id: str,
        saved: bool,
        now: datetime,
        channel: str | None = None,
    ) -> bool:
        """Save or unsave a paper for a member; True when that changed anything."""
        ...

    def bookmarks(self, member: Member) -> list[Bookmark]:
        """A member's saved papers, newest first."""
        ...

    def team_saves(self, channel: Channel, since: datetime) -> list[tuple[str, int]]:
        """(paper id, how many people saved it) for papers saved from this channel since a time."""
        ...

    def channel_saves(self, channel: Channel) -> list[ChannelSave]:
        """Every paper saved from this channel: how many members saved it and when last,
        most saved first, then most recently saved (the channel's taste)."""
        ...

    def claim_event(self, platform: str, event_id: str, now: datetime) -> bool:
        """True the first time a platform event id is seen; False for a retry of it within
        EVENT_RETENTION. Ids older than that are forgotten (pruned as new ones arrive)."""
        ...

    def record_fetch(
        self,
        source: str,
        started_at: datetime,
        finished_at: datetime,
        ok: bool,
        seen: int = 0,
        new: int = 0,
        error: str | None = None,
    ) -> None:
        """Log one fetch attempt of a source; attempts older than FETCH_LOG_RETENTION are
        dropped, but for the newest of each source."""
        ...

    def last_fetches(self) -> dict[str, FetchRecord]:
        """The most recent fetch of each source."""
        ...


class Installations(Protocol):
    """A multi-workspace app's installations (one per workspace, its tokens included) and the
    one-time states of its OAuth flow. Shared by every replica: an install may start on one
    process and finish on another."""

    def save_installation(self, installation: AppInstallation) -> None:
        """Create or replace the installation of one workspace."""
        ...

    def find_installation(
        self, platform: str, enterprise: str, team: str
    ) -> AppInstallation | None:
        """The installation of one workspace, or None when the app is not installed there."""
        ...

    def delete_installation(self, platform: str, enterprise: str, team: str) -> bool:
        """Forget one workspace's installation and its tokens; True if there was one."""
        ...

    def installations(self, platform: str) -> list[AppInstallation]:
        """Every installation on a platform, oldest first."""
        ...

    def issue_state(self, state: str, expires_at: datetime) -> None:
        """Remember an OAuth state handed to a browser until it expires."""
        ...

    def consume_state(self, state: str, now: datetime) -> bool:
        """True exactly once for a state issued and not yet expired; it is gone afterwards."""
        ...


class ZoteroOutbox(Protocol):
    """Which Zotero group library each channel sends its saves to, and the saves on their way
    there: each paper is pushed to a library once, whoever saves it and however often."""

    def set_library(self, channel: Channel, library: str | None, now: datetime) -> None:
        """Send this channel's saves to a group library (None: to the default, if any)."""
        ...

    def library(self, channel: Channel) -> str | None:
        """The group library a channel chose, or None."""
        ...

    def queue(self, library: str, paper_id: str, now: datetime) -> bool:
        """Queue a paper for a library; False when it was queued or pushed before."""
        ...

    def due(self, now: datetime, limit: int = 500) -> list[ZoteroPush]:
        """Pushes not done whose next try is due, oldest first."""
        ...

    def stamp(self, library: str, paper_ids: Collection[str], token: str) -> None:
        """Record the write token of the batch these papers are about to be sent in."""
        ...

    def pushed(self, library: str, paper_ids: Collection[str], now: datetime) -> None:
        """Mark papers as in the library for good."""
        ...

    def failed(
        self,
        library: str,
        paper_ids: Collection[str],
        error: str,
        retry_at: datetime,
        keep_token: bool,
    ) -> None:
        """Count a failed try and when to try again; `keep_token` when the same batch will be
        resent (the request may have gone through), else the next try starts a new batch."""
        ...

    def counts(self) -> dict[str, int]:
        """How many pushes are 'pushed', 'pending' and 'failing' (pending after a failure)."""
        ...


class SearchIndex(Protocol):
    """Full-text search over the stored papers, kept in step with every paper write."""

    def search(
        self,
        text: str,
        *,
        limit: int = 10,
        now: datetime | None = None,
        deadline: float | None = ...,
    ) -> SearchReply:
        """Answer /papers <text>: ranked hits with snippets; never raises for any input text."""
        ...

    def match_ids(self, text: str, among: Collection[str]) -> set[str]:
        """The ids among `among` that match a search query (topic filters of the daily digest)."""
        ...

    def rebuild(self) -> None:
        """Rebuild the index from the stored papers (after a bulk load)."""
        ...


class Storage(Protocol):
    """Everything the bot keeps: papers, the digest ledger, channel activity, installations,
    the search index."""

    @property
    def papers(self) -> PaperRepository: ...

    @property
    def ledger(self) -> DigestLedger: ...

    @property
    def activity(self) -> ChannelActivity: ...

    @property
    def installations(self) -> Installations: ...

    @property
    def search(self) -> SearchIndex: ...

    @property
    def zotero(self) -> ZoteroOutbox: ...

    @property
    def semantic(self) -> DenseIndex | None:
        """Search by meaning, or None when the extra is not installed or SEMANTIC_SEARCH=off."""
        ...

    def close(self) -> None:
        """Close the database connection."""
        ...

    def __enter__(self) -> Storage: ...

    def __exit__(self, *exc: object) -> None: ...


class Closable(Protocol):
    """Something holding a connection."""

    def close(self) -> None:
        """Close the connection."""
        ...


@dataclass(frozen=True)
class OpenStorage:
    """A Storage assembled from its parts by open_storage; closing it closes the database."""

    papers: PaperRepository
    ledger: DigestLedger
    activity: ChannelActivity
    installations: Installations
    search: SearchIndex
    zotero: ZoteroOutbox
    backend: Closable = field(repr=False)  # the implementation's own connection
    semantic: DenseIndex | None = None

    def close(self) -> None:
        """Close the database connection."""
        self.backend.close()

    def __enter__(self) -> OpenStorage:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def open_storage(target: str | Path, semantic: str = "off") -> Storage:
    """Open (creating and migrating as needed) the storage at `target`: a postgresql:// URL,
    a SQLite file path, or ":memory:". `semantic` "auto" adds search by meaning when the extra
    is installed (on PostgreSQL, when the server also has pgvector)."""
    if is_postgres_url(target):
        return _open_postgres(str(target), semantic)
    store = SqliteStore(target)
    dense = _semantic_index(store) if semantic == "auto" else None
    search = FtsSearch(store, dense)
    return OpenStorage(
        store.papers,
        store.ledger,
        store.activity,
        store.installations,
        search,
        store.zotero,
        store,
        dense,
    )


def _open_postgres(url: str, semantic: str = "off") -> Storage:
    # Imported only here: an installation on SQLite needs no PostgreSQL driver.
    try:
        from bot.search.postgres import PgSearch
        from bot.store.postgres import PgStore
    except ImportError as exc:
        raise MissingDriver() from exc
    store = PgStore(url)
    try:
        dense = _pg_semantic_index(store) if semantic == "auto" else None
    except BaseException:
        store.close()
        raise
    return OpenStorage(
        store.papers,
        store.ledger,
        store.activity,
        store.installations,
        PgSearch(store, dense),
        store.zotero,
        store,
        dense,
    )


def copy_to_postgres(source: Path, url: str) -> tuple[dict[str, int], str]:
    """Copy the SQLite installation at `source` into the PostgreSQL database at `url` (both
    migrated first), then rebuild the search index there, and copy the vectors of search by
    meaning when both sides have them; rows copied per table, and a note when the vectors could
    not be copied."""
    try:
        from bot.search.pg_vectors import copy_vectors
        from bot.search.postgres import PgSearch
        from bot.store.postgres import PgStore
        from bot.store.postgres.copy import copy_sqlite
    except ImportError as exc:
        raise MissingDriver() from exc
    note = ""
    with SqliteStore(source) as sqlite, PgStore(url) as postgres:
        copied = copy_sqlite(sqlite, postgres)
        PgSearch(postgres).rebuild()
        vectors = copy_vectors(sqlite, postgres)
        if isinstance(vectors, str):
            note = (
                f"The vectors of search by meaning were not copied: {vectors}. Once the server"
                " has pgvector, run papers-bot embed against it."
            )
        elif vectors:
            copied["paper_vectors"] = vectors
    return copied, note


class MissingDriver(Exception):
    """A postgresql:// database was asked for without the PostgreSQL driver installed."""

    def __init__(self) -> None:
        super().__init__(
            "a postgresql:// database needs the PostgreSQL driver:"
            " pip install 'papers-bot[postgres]'"
        )


def _semantic_index(store: SqliteStore) -> DenseIndex | None:
    # Imported only here: without the extra, numpy and onnxruntime are never imported.
    from bot.search import semantic

    return semantic.SemanticIndex(store) if semantic.available() else None


# Why search by meaning is off on a PostgreSQL server without pgvector, once it has been said.
NO_PGVECTOR: list[str] = []


def _pg_semantic_index(store: PgStore) -> DenseIndex | None:
    """The pgvector index when the extra is installed and the server has pgvector; without
    pgvector, the log says so once (per process) and searches go by words."""
    from bot.search import semantic

    if not semantic.available():
        return None
    from bot.search.pg_vectors import NoPgvector, PgVectorIndex

    try:
        return PgVectorIndex(store)
    except NoPgvector as exc:
        if str(exc) not in NO_PGVECTOR:
            NO_PGVECTOR.append(str(exc))
            logging.getLogger(__name__).warning("%s", exc)
        return None
