"""The digests and the posts ledger: what was claimed, posted and where, once per channel."""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import replace
from datetime import date, datetime
from typing import Any

from sqlite_utils import Database

from bot.models import Channel, ClaimStatus, DigestClaim, MessageRef, PostKind, PostStatus
from bot.store.papers import iso
from bot.store.scope import channel_scope


class SqliteLedger:
    """Digest claims and leases, and every message the bot posted for a paper.

    A digest is named by its key ("daily", "roundup", "extra-093000"): see `Digest.key`.
    """

    def __init__(self, db: Database) -> None:
        self.db = db

    def claim_digest(
        self,
        channel: Channel,
        day: date,
        kind: str,
        picks: list[tuple[str, str]],
        now: datetime,
    ) -> DigestClaim:
        """Claim a channel's digest for a day, fixing its picks; an existing claim is kept."""
        _, key = channel_scope(channel)
        with self.db.atomic():
            cursor = self.db.execute(
                "INSERT OR IGNORE INTO digests (platform, workspace, channel, day, kind, status,"
                " papers, claimed_at) VALUES (?, ?, ?, ?, ?, 'claimed', ?, ?)",
                [
                    *key,
                    day.isoformat(),
                    kind,
                    json.dumps(picks, ensure_ascii=False),
                    now.isoformat(),
                ],
            )
            fresh = cursor.rowcount == 1
        claim = self.get_digest(channel, day, kind)
        assert claim is not None
        return replace(claim, fresh=True) if fresh else claim

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
        dead = list(dead_owners)
        marks = ",".join("?" * len(dead)) or "NULL"
        scope, params = channel_scope(channel)
        with self.db.atomic():
            cursor = self.db.execute(
                f"UPDATE digests SET owner = ?, lease_until = ? WHERE {scope}"
                " AND day = ? AND kind = ? AND status = 'claimed'"
                f" AND (owner IS NULL OR owner = ? OR lease_until < ? OR owner IN ({marks}))",
                [
                    owner,
                    until.isoformat(),
                    *params,
                    day.isoformat(),
                    kind,
                    owner,
                    now.isoformat(),
                    *dead,
                ],
            )
        return cursor.rowcount == 1

    def digest_owner(self, channel: Channel, day: date, kind: str) -> str | None:
        """The process holding a digest's lease, if any."""
        scope, params = channel_scope(channel)
        row = self.db.execute(
            f"SELECT owner FROM digests WHERE {scope} AND day = ? AND kind = ?",
            [*params, day.isoformat(), kind],
        ).fetchone()
        return row[0] if row else None

    def get_digest(self, channel: Channel, day: date, kind: str = "daily") -> DigestClaim | None:
        """The digest claim for a channel and day, if any."""
        scope, params = channel_scope(channel)
        rows = list(
            self.db.query(
                f"SELECT * FROM digests WHERE {scope} AND day = ? AND kind = ?",
                [*params, day.isoformat(), kind],
            )
        )
        return _claim(rows[0]) if rows else None

    def unfinished_digests(self, channel: Channel | None = None) -> list[DigestClaim]:
        """Every digest claimed and not yet finished or abandoned (of one channel), oldest
        first: what a restart must finish or give up."""
        scope, params = channel_scope(channel) if channel else ("1", [])
        rows = self.db.query(
            f"SELECT * FROM digests WHERE {scope} AND status = 'claimed' ORDER BY claimed_at",
            params,
        )
        return [_claim(row) for row in rows]

    def last_digest_day(self, channel: Channel, kind: str = "daily") -> date | None:
        """The most recent day a digest was claimed for this channel."""
        scope, params = channel_scope(channel)
        row = self.db.execute(
            f"SELECT max(day) FROM digests WHERE {scope} AND kind = ?", [*params, kind]
        ).fetchone()
        return date.fromisoformat(row[0]) if row and row[0] else None

    def set_digest_header(self, channel: Channel, day: date, kind: str, ref: str) -> None:
        """Record the header message of a claimed digest."""
        self._update_digest(channel, day, kind, header_ref=ref)

    def finish_digest(self, channel: Channel, day: date, kind: str, now: datetime) -> None:
        """Mark a digest as fully delivered."""
        self._update_digest(channel, day, kind, status=ClaimStatus.DONE, done_at=now.isoformat())

    def abandon_digest(self, channel: Channel, day: date, kind: str, now: datetime) -> None:
        """Give up a claimed digest: it will not be resumed (its papers are released apart)."""
        self._update_digest(
            channel, day, kind, status=ClaimStatus.ABANDONED, done_at=now.isoformat()
        )

    def _update_digest(self, channel: Channel, day: date, kind: str, **values: str) -> None:
        sets = ", ".join(f"{name} = ?" for name in values)
        scope, params = channel_scope(channel)
        with self.db.atomic():
            self.db.execute(
                f"UPDATE digests SET {sets} WHERE {scope} AND day = ? AND kind = ?",
                [*values.values(), *params, day.isoformat(), kind],
            )

    def posted_paper_ids(self, channel: Channel) -> set[str]:
        """Every paper a digest has claimed or posted in this channel."""
        scope, params = channel_scope(channel)
        rows = self.db.execute(
            f"SELECT paper_id FROM posts WHERE {scope} AND kind = 'digest'", params
        )
        return {row[0] for row in rows}

    def post_status(
        self,
        channel: Channel,
        paper_id: str,
        kind: PostKind = PostKind.DIGEST,
        day: date | None = None,
    ) -> PostStatus | None:
        """Claimed, posted, or None when this paper has no post of this kind here (that day,
        for roundups, which may show a paper again another week)."""
        scope, params = channel_scope(channel)
        row = self.db.execute(
            f"SELECT status FROM posts WHERE {scope}"
            " AND paper_id = ? AND kind = ? AND (? IS NULL OR kind = 'digest' OR day = ?)"
            " ORDER BY id DESC LIMIT 1",
            [*params, paper_id, kind, iso(day), iso(day)],
        ).fetchone()
        return PostStatus(row[0]) if row else None

    def claim_post(
        self,
        channel: Channel,
        paper_id: str,
        day: date,
        now: datetime,
        kind: PostKind = PostKind.DIGEST,
    ) -> bool:
        """Write the claim row before posting a paper; False if a digest already has it here."""
        _, key = channel_scope(channel)
        with self.db.atomic():
            cursor = self.db.execute(
                "INSERT OR IGNORE INTO posts (platform, workspace, channel, paper_id, kind, day,"
                " status, claimed_at) VALUES (?, ?, ?, ?, ?, ?, 'claimed', ?)",
                [*key, paper_id, kind, day.isoformat(), now.isoformat()],
            )
        return cursor.rowcount == 1

    def release_post(
        self, channel: Channel, paper_id: str, day: date, kind: PostKind = PostKind.DIGEST
    ) -> bool:
        """Drop a paper's claim that never became a post, so a later digest may pick it again;
        False when there is no such claim (a confirmed post is never released)."""
        scope, params = channel_scope(channel)
        with self.db.atomic():
            cursor = self.db.execute(
                f"DELETE FROM posts WHERE {scope} AND paper_id = ? AND kind = ? AND day = ?"
                " AND status = 'claimed'",
                [*params, paper_id, kind, day.isoformat()],
            )
        return cursor.rowcount > 0

    def record_post(
        self,
        ref: MessageRef,
        paper_id: str,
        day: date,
        now: datetime,
        kind: PostKind = PostKind.DIGEST,
    ) -> None:
        """Record a delivered paper message (completing its claim, or adding a share)."""
        scope, params = channel_scope(ref.channel)
        with self.db.atomic():
            cursor = self.db.execute(
                "UPDATE posts SET status = 'posted', message_ref = ?, posted_at = ?"
                f" WHERE {scope} AND paper_id = ? AND kind = ? AND status = 'claimed'",
                [ref.ref, now.isoformat(), *params, paper_id, kind],
            )
            if cursor.rowcount == 0:
                self.db.execute(
                    "INSERT INTO posts (platform, workspace, channel, paper_id, kind, day,"
                    " message_ref, status, claimed_at, posted_at)"
                    " VALUES (?, ?, ?, ?, ?, ?, ?, 'posted', ?, ?)",
                    [
                        *params,
                        paper_id,
                        kind,
                        day.isoformat(),
                        ref.ref,
                        now.isoformat(),
                        now.isoformat(),
                    ],
                )

    def paper_for_message(self, ref: MessageRef) -> str | None:
        """The paper a bot message shows, or None for any other message."""
        scope, params = channel_scope(ref.channel)
        row = self.db.execute(
            f"SELECT paper_id FROM posts WHERE {scope} AND message_ref = ? LIMIT 1",
            [*params, ref.ref],
        ).fetchone()
        return row[0] if row else None

    def papers_posted_on(self, channel: Channel, day: date) -> list[str]:
        """The ids of the papers a channel's digest posted on a day, in posting order."""
        scope, params = channel_scope(channel)
        rows = self.db.execute(
            f"SELECT paper_id FROM posts WHERE {scope} AND day = ? AND kind = 'digest' ORDER BY id",
            [*params, day.isoformat()],
        )
        return [row[0] for row in rows]


def _claim(row: dict[str, Any]) -> DigestClaim:
    """A digests row as a DigestClaim."""
    return DigestClaim(
        channel=Channel(row["platform"], row["workspace"], row["channel"]),
        day=date.fromisoformat(row["day"]),
        kind=row["kind"],
        status=ClaimStatus(row["status"]),
        picks=tuple((pid, why) for pid, why in json.loads(row["papers"] or "[]")),
        header_ref=row["header_ref"],
        fresh=False,
        claimed_at=_moment(row["claimed_at"]),
        owner=row["owner"],
        lease_until=_moment(row["lease_until"]),
    )


def _moment(stored: str | None) -> datetime | None:
    """A stored ISO time, or None."""
    return datetime.fromisoformat(stored) if stored else None
