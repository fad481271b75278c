"""The digests and the posts ledger: what was claimed, posted and where, once per channel."""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import date, datetime

from bot.models import Channel, MessageRef, Paper
from bot.store.papers import PaperStore, iso


@dataclass(frozen=True, slots=True)
class DigestClaim:
    """The state of one channel's digest for one day."""

    channel: Channel
    day: date
    kind: str
    status: str  # claimed | done
    picks: tuple[tuple[str, str], ...]  # (paper id, why picked)
    header_ref: str | None
    fresh: bool  # True when this call made the claim


class LedgerStore(PaperStore):
    """Digest claims and leases, and every message the bot posted for a paper."""

    def claim_digest(
        self,
        channel: Channel,
        day: date,
        kind: str,
        picks: list[tuple[str, str]],
        now: datetime,
    ) -> DigestClaim:
        """Claim a channel's digest for a day, fixing its picks; an existing claim is kept."""
        key = [channel.platform, channel.workspace, channel.channel, day.isoformat(), kind]
        with self.db.atomic():
            cursor = self.db.execute(
                "INSERT OR IGNORE INTO digests (platform, workspace, channel, day, kind, status,"
                " papers, claimed_at) VALUES (?, ?, ?, ?, ?, 'claimed', ?, ?)",
                [*key, json.dumps(picks, ensure_ascii=False), now.isoformat()],
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
        with self.db.atomic():
            cursor = self.db.execute(
                "UPDATE digests SET owner = ?, lease_until = ? WHERE platform = ? AND workspace = ?"
                " AND channel = ? AND day = ? AND kind = ? AND status = 'claimed'"
                f" AND (owner IS NULL OR owner = ? OR lease_until < ? OR owner IN ({marks}))",
                [
                    owner,
                    until.isoformat(),
                    channel.platform,
                    channel.workspace,
                    channel.channel,
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
        row = self.db.execute(
            "SELECT owner FROM digests WHERE platform = ? AND workspace = ? AND channel = ?"
            " AND day = ? AND kind = ?",
            [channel.platform, channel.workspace, channel.channel, day.isoformat(), kind],
        ).fetchone()
        return row[0] if row else None

    def get_digest(self, channel: Channel, day: date, kind: str = "daily") -> DigestClaim | None:
        """The digest claim for a channel and day, if any."""
        rows = list(
            self.db.query(
                "SELECT * FROM digests WHERE platform = ? AND workspace = ? AND channel = ?"
                " AND day = ? AND kind = ?",
                [channel.platform, channel.workspace, channel.channel, day.isoformat(), kind],
            )
        )
        if not rows:
            return None
        row = rows[0]
        return DigestClaim(
            channel=channel,
            day=day,
            kind=kind,
            status=row["status"],
            picks=tuple((pid, why) for pid, why in json.loads(row["papers"] or "[]")),
            header_ref=row["header_ref"],
            fresh=False,
        )

    def last_digest_day(self, channel: Channel, kind: str = "daily") -> date | None:
        """The most recent day a digest was claimed for this channel."""
        row = self.db.execute(
            "SELECT max(day) FROM digests WHERE platform = ? AND workspace = ? AND channel = ?"
            " AND kind = ?",
            [channel.platform, channel.workspace, channel.channel, kind],
        ).fetchone()
        return date.fromisoformat(row[0]) if row and row[0] else None

    def set_digest_header(self, channel: Channel, day: date, kind: str, ref: str) -> None:
        """Record the header message of a claimed digest."""
        self._update_digest(channel, day, kind, header_ref=ref)

    def finish_digest(self, channel: Channel, day: date, kind: str, now: datetime) -> None:
        """Mark a digest as fully delivered."""
        self._update_digest(channel, day, kind, status="done", done_at=now.isoformat())

    def _update_digest(self, channel: Channel, day: date, kind: str, **values: str) -> None:
        sets = ", ".join(f"{name} = ?" for name in values)
        with self.db.atomic():
            self.db.execute(
                f"UPDATE digests SET {sets} WHERE platform = ? AND workspace = ? AND channel = ?"
                " AND day = ? AND kind = ?",
                [
                    *values.values(),
                    channel.platform,
                    channel.workspace,
                    channel.channel,
                    day.isoformat(),
                    kind,
                ],
            )

    def posted_paper_ids(self, channel: Channel) -> set[str]:
        """Every paper a digest has claimed or posted in this channel."""
        rows = self.db.execute(
            "SELECT paper_id FROM posts WHERE platform = ? AND workspace = ? AND channel = ?"
            " AND kind = 'digest'",
            [channel.platform, channel.workspace, channel.channel],
        )
        return {row[0] for row in rows}

    def post_status(
        self, channel: Channel, paper_id: str, kind: str = "digest", day: date | None = None
    ) -> str | None:
        """'claimed', 'posted', or None when this paper has no post of this kind here (that day,
        for roundups, which may show a paper again another week)."""
        row = self.db.execute(
            "SELECT status FROM posts WHERE platform = ? AND workspace = ? AND channel = ?"
            " AND paper_id = ? AND kind = ? AND (? IS NULL OR kind = 'digest' OR day = ?)"
            " ORDER BY id DESC LIMIT 1",
            [
                channel.platform,
                channel.workspace,
                channel.channel,
                paper_id,
                kind,
                iso(day),
                iso(day),
            ],
        ).fetchone()
        return row[0] if row else None

    def claim_post(
        self, channel: Channel, paper_id: str, day: date, now: datetime, kind: str = "digest"
    ) -> bool:
        """Write the claim row before posting a paper; False if a digest already has it here."""
        with self.db.atomic():
            cursor = self.db.execute(
                "INSERT OR IGNORE INTO posts (platform, workspace, channel, paper_id, kind, day,"
                " status, claimed_at) VALUES (?, ?, ?, ?, ?, ?, 'claimed', ?)",
                [
                    channel.platform,
                    channel.workspace,
                    channel.channel,
                    paper_id,
                    kind,
                    day.isoformat(),
                    now.isoformat(),
                ],
            )
        return cursor.rowcount == 1

    def record_post(
        self, ref: MessageRef, paper_id: str, day: date, now: datetime, kind: str = "digest"
    ) -> None:
        """Record a delivered paper message (completing its claim, or adding a share)."""
        ch = ref.channel
        with self.db.atomic():
            cursor = self.db.execute(
                "UPDATE posts SET status = 'posted', message_ref = ?, posted_at = ?"
                " WHERE platform = ? AND workspace = ? AND channel = ? AND paper_id = ?"
                " AND kind = ? AND status = 'claimed'",
                [ref.ref, now.isoformat(), ch.platform, ch.workspace, ch.channel, paper_id, kind],
            )
            if cursor.rowcount == 0:
                self.db.execute(
                    "INSERT INTO posts (platform, workspace, channel, paper_id, kind, day,"
                    " message_ref, status, claimed_at, posted_at)"
                    " VALUES (?, ?, ?, ?, ?, ?, ?, 'posted', ?, ?)",
                    [
                        ch.platform,
                        ch.workspace,
                        ch.channel,
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
        ch = ref.channel
        row = self.db.execute(
            "SELECT paper_id FROM posts WHERE platform = ? AND workspace = ? AND channel = ?"
            " AND message_ref = ? LIMIT 1",
            [ch.platform, ch.workspace, ch.channel, ref.ref],
        ).fetchone()
        return row[0] if row else None

    def papers_posted_on(self, channel: Channel, day: date) -> list[Paper]:
        """The papers a channel's digest posted on a day, in posting order."""
        rows = self.db.execute(
            "SELECT paper_id FROM posts WHERE platform = ? AND workspace = ? AND channel = ?"
            " AND day = ? AND kind = 'digest' ORDER BY id",
            [channel.platform, channel.workspace, channel.channel, day.isoformat()],
        )
        ids = [row[0] for row in rows]
        papers = self.get_papers(ids)
        return [papers[i] for i in ids if i in papers]
