"""Digests and the posts ledger on PostgreSQL: what was claimed, posted and where, once per
channel, whichever replica asks. Every claim is one statement that a unique key decides."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import replace
from datetime import date, datetime
from typing import Any

from psycopg.types.json import Jsonb

from bot.models import Channel, ClaimStatus, DigestClaim, MessageRef, PostKind, PostStatus
from bot.store.postgres.connection import Connection

CHANNEL = "platform = %s AND workspace = %s AND channel = %s"


def channel_key(channel: Channel) -> list[str]:
    """The parameters of CHANNEL."""
    return [channel.platform, channel.workspace, channel.channel]


class PgLedger:
    """Digest claims and leases, and every message the bot posted for a paper.

    A lease names its holder and runs until a time: a replica that dies (or loses its machine)
    stops renewing it, and any other takes the digest over once it has expired."""

    def __init__(self, db: Connection) -> None:
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
        fresh = self.db.run(
            "INSERT INTO digests (platform, workspace, channel, day, kind, status, papers,"
            " claimed_at) VALUES (%s, %s, %s, %s, %s, 'claimed', %s, %s) ON CONFLICT DO NOTHING",
            [*channel_key(channel), day, kind, Jsonb([list(p) for p in picks]), now],
        )
        claim = self.get_digest(channel, day, kind)
        assert claim is not None
        return replace(claim, fresh=True) if fresh == 1 else claim

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
        changed = self.db.run(
            f"UPDATE digests SET owner = %s, lease_until = %s WHERE {CHANNEL}"
            " AND day = %s AND kind = %s AND status = 'claimed'"
            " AND (owner IS NULL OR owner = %s OR lease_until < %s OR owner = ANY(%s))",
            [owner, until, *channel_key(channel), day, kind, owner, now, list(dead_owners)],
        )
        return changed == 1

    def digest_owner(self, channel: Channel, day: date, kind: str) -> str | None:
        """The process holding a digest's lease, if any."""
        row = self.db.one(
            f"SELECT owner FROM digests WHERE {CHANNEL} AND day = %s AND kind = %s",
            [*channel_key(channel), day, kind],
        )
        return row[0] if row else None

    def get_digest(self, channel: Channel, day: date, kind: str = "daily") -> DigestClaim | None:
        """The digest claim for a channel and day, if any."""
        rows = self.db.rows(
            f"SELECT * FROM digests WHERE {CHANNEL} AND day = %s AND kind = %s",
            [*channel_key(channel), day, kind],
        )
        return _claim(rows[0]) if rows else None

    def unfinished_digests(self, channel: Channel | None = None) -> list[DigestClaim]:
        """Every digest claimed and not yet finished or abandoned (of one channel), oldest
        first: what a restart must finish or give up."""
        scope, params = (CHANNEL, channel_key(channel)) if channel else ("TRUE", [])
        rows = self.db.rows(
            f"SELECT * FROM digests WHERE {scope} AND status = 'claimed' ORDER BY claimed_at",
            params,
        )
        return [_claim(row) for row in rows]

    def last_digest_day(self, channel: Channel, kind: str = "daily") -> date | None:
        """The most recent day a digest was claimed for this channel."""
        row = self.db.one(
            f"SELECT max(day) FROM digests WHERE {CHANNEL} AND kind = %s",
            [*channel_key(channel), kind],
        )
        return row[0] if row else None

    def set_digest_header(self, channel: Channel, day: date, kind: str, ref: str) -> None:
        """Record the header message of a claimed digest."""
        self._update_digest(channel, day, kind, header_ref=ref)

    def finish_digest(self, channel: Channel, day: date, kind: str, now: datetime) -> None:
        """Mark a digest as fully delivered."""
        self._update_digest(channel, day, kind, status=ClaimStatus.DONE.value, done_at=now)

    def abandon_digest(self, channel: Channel, day: date, kind: str, now: datetime) -> None:
        """Give up a claimed digest: it will not be resumed (its papers are released apart)."""
        self._update_digest(channel, day, kind, status=ClaimStatus.ABANDONED.value, done_at=now)

    def _update_digest(self, channel: Channel, day: date, kind: str, **values: Any) -> None:
        sets = ", ".join(f"{name} = %s" for name in values)
        self.db.run(
            f"UPDATE digests SET {sets} WHERE {CHANNEL} AND day = %s AND kind = %s",
            [*values.values(), *channel_key(channel), day, kind],
        )

    def posted_paper_ids(self, channel: Channel) -> set[str]:
        """Every paper a digest has claimed or posted in this channel."""
        rows = self.db.rows(
            f"SELECT paper_id FROM posts WHERE {CHANNEL} AND kind = 'digest'",
            channel_key(channel),
        )
        return {row["paper_id"] for row in rows}

    def post_status(
        self,
        channel: Channel,
        paper_id: str,
        kind: PostKind = PostKind.DIGEST,
        day: date | None = None,
    ) -> PostStatus | None:
        """Claimed, posted, or None when this paper has no post of this kind here (that day,
        for roundups, which may show a paper again another week)."""
        row = self.db.one(
            f"SELECT status FROM posts WHERE {CHANNEL} AND paper_id = %s AND kind = %s"
            " AND (%s::date IS NULL OR kind = 'digest' OR day = %s::date)"
            " ORDER BY id DESC LIMIT 1",
            [*channel_key(channel), paper_id, kind.value, day, day],
        )
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
        changed = self.db.run(
            "INSERT INTO posts (platform, workspace, channel, paper_id, kind, day, status,"
            " claimed_at) VALUES (%s, %s, %s, %s, %s, %s, 'claimed', %s) ON CONFLICT DO NOTHING",
            [*channel_key(channel), paper_id, kind.value, day, now],
        )
        return changed == 1

    def release_post(
        self, channel: Channel, paper_id: str, day: date, kind: PostKind = PostKind.DIGEST
    ) -> bool:
        """Drop a paper's claim that never became a post, so a later digest may pick it again;
        False when there is no such claim (a confirmed post is never released)."""
        changed = self.db.run(
            f"DELETE FROM posts WHERE {CHANNEL} AND paper_id = %s AND kind = %s AND day = %s"
            " AND status = 'claimed'",
            [*channel_key(channel), paper_id, kind.value, day],
        )
        return changed > 0

    def record_post(
        self,
        ref: MessageRef,
        paper_id: str,
        day: date,
        now: datetime,
        kind: PostKind = PostKind.DIGEST,
    ) -> None:
        """Record a delivered paper message (completing its claim, or adding a share)."""
        key = channel_key(ref.channel)
        with self.db.transaction() as conn:
            done = conn.execute(
                "UPDATE posts SET status = 'posted', message_ref = %s, posted_at = %s"
                f" WHERE {CHANNEL} AND paper_id = %s AND kind = %s AND status = 'claimed'",
                [ref.ref, now, *key, paper_id, kind.value],
            ).rowcount
            if done == 0:
                conn.execute(
                    "INSERT INTO posts (platform, workspace, channel, paper_id, kind, day,"
                    " message_ref, status, claimed_at, posted_at)"
                    " VALUES (%s, %s, %s, %s, %s, %s, %s, 'posted', %s, %s)",
                    [*key, paper_id, kind.value, day, ref.ref, now, now],
                )

    def paper_for_message(self, ref: MessageRef) -> str | None:
        """The paper a bot message shows, or None for any other message."""
        row = self.db.one(
            f"SELECT paper_id FROM posts WHERE {CHANNEL} AND message_ref = %s LIMIT 1",
            [*channel_key(ref.channel), ref.ref],
        )
        return row[0] if row else None

    def papers_posted_on(self, channel: Channel, day: date) -> list[str]:
        """The ids of the papers a channel's digest posted on a day, in posting order."""
        rows = self.db.rows(
            f"SELECT paper_id FROM posts WHERE {CHANNEL} AND day = %s AND kind = 'digest'"
            " ORDER BY id",
            [*channel_key(channel), day],
        )
        return [row["paper_id"] for row in rows]


def _claim(row: dict[str, Any]) -> DigestClaim:
    """A digests row as a DigestClaim."""
    return DigestClaim(
        channel=Channel(row["platform"], row["workspace"], row["channel"]),
        day=row["day"],
        kind=row["kind"],
        status=ClaimStatus(row["status"]),
        picks=tuple((pid, why) for pid, why in row["papers"] or []),
        header_ref=row["header_ref"],
        fresh=False,
        claimed_at=row["claimed_at"],
        owner=row["owner"],
        lease_until=row["lease_until"],
    )
