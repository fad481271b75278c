"""Where a multi-workspace app keeps its installations (one per workspace, tokens included) and
the one-time states of its OAuth flow. Every replica reads the same rows, so an install started
on one process can finish on another."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from sqlite_utils import Database

from bot.models import AppInstallation

_WORKSPACE = "platform = ? AND enterprise = ? AND team = ?"


class SqliteInstallations:
    """The Installations port over SQLite."""

    def __init__(self, db: Database) -> None:
        self.db = db

    def save_installation(self, installation: AppInstallation) -> None:
        """Create or replace the installation of one workspace."""
        self.db.table("installations").upsert(
            {
                "platform": installation.platform,
                "enterprise": installation.enterprise,
                "team": installation.team,
                "data": json.dumps(installation.data, ensure_ascii=False),
                "installed_at": installation.installed_at.isoformat(),
            },
            pk=("platform", "enterprise", "team"),
        )

    def find_installation(
        self, platform: str, enterprise: str, team: str
    ) -> AppInstallation | None:
        """The installation of one workspace, or None when the app is not installed there."""
        rows = list(
            self.db.query(
                f"SELECT * FROM installations WHERE {_WORKSPACE}", [platform, enterprise, team]
            )
        )
        return _row_to_installation(rows[0]) if rows else None

    def delete_installation(self, platform: str, enterprise: str, team: str) -> bool:
        """Forget one workspace's installation and its tokens; True if there was one."""
        cursor = self.db.execute(
            f"DELETE FROM installations WHERE {_WORKSPACE}", [platform, enterprise, team]
        )
        self.db.conn.commit()
        return cursor.rowcount > 0

    def installations(self, platform: str) -> list[AppInstallation]:
        """Every installation on a platform, oldest first."""
        rows = self.db.query(
            "SELECT * FROM installations WHERE platform = ? ORDER BY installed_at, team",
            [platform],
        )
        return [_row_to_installation(row) for row in rows]

    def issue_state(self, state: str, expires_at: datetime) -> None:
        """Remember an OAuth state handed to a browser until it expires."""
        self.db.table("oauth_states").insert(
            {"state": state, "expires_at": expires_at.isoformat()}, pk="state", replace=True
        )

    def consume_state(self, state: str, now: datetime) -> bool:
        """True exactly once for a state issued and not yet expired; it is gone afterwards."""
        with self.db.conn:
            found = self.db.execute(
                "DELETE FROM oauth_states WHERE state = ? RETURNING expires_at", [state]
            ).fetchone()
            self.db.execute("DELETE FROM oauth_states WHERE expires_at <= ?", [now.isoformat()])
        return found is not None and datetime.fromisoformat(found[0]) > now


def _row_to_installation(row: dict[str, Any]) -> AppInstallation:
    return AppInstallation(
        platform=row["platform"],
        enterprise=row["enterprise"],
        team=row["team"],
        data=json.loads(row["data"]),
        installed_at=datetime.fromisoformat(row["installed_at"]),
    )
