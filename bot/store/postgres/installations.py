"""A multi-workspace app's installations and OAuth states in PostgreSQL (see
bot/store/installations.py for the SQLite side): every replica reads the same rows."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from psycopg.types.json import Jsonb

from bot.models import AppInstallation
from bot.store.postgres.connection import Connection

_WORKSPACE = "platform = %s AND enterprise = %s AND team = %s"


class PgInstallations:
    """The Installations port over PostgreSQL."""

    def __init__(self, db: Connection) -> None:
        self.db = db

    def save_installation(self, installation: AppInstallation) -> None:
        """Create or replace the installation of one workspace."""
        self.db.run(
            "INSERT INTO installations (platform, enterprise, team, data, installed_at)"
            " VALUES (%s, %s, %s, %s, %s)"
            " ON CONFLICT (platform, enterprise, team)"
            " DO UPDATE SET data = excluded.data, installed_at = excluded.installed_at",
            [
                installation.platform,
                installation.enterprise,
                installation.team,
                Jsonb(installation.data),
                installation.installed_at,
            ],
        )

    def find_installation(
        self, platform: str, enterprise: str, team: str
    ) -> AppInstallation | None:
        """The installation of one workspace, or None when the app is not installed there."""
        rows = self.db.rows(
            f"SELECT * FROM installations WHERE {_WORKSPACE}", [platform, enterprise, team]
        )
        return _row_to_installation(rows[0]) if rows else None

    def delete_installation(self, platform: str, enterprise: str, team: str) -> bool:
        """Forget one workspace's installation and its tokens; True if there was one."""
        sql = f"DELETE FROM installations WHERE {_WORKSPACE}"
        return self.db.run(sql, [platform, enterprise, team]) > 0

    def installations(self, platform: str) -> list[AppInstallation]:
        """Every installation on a platform, oldest first."""
        rows = self.db.rows(
            "SELECT * FROM installations WHERE platform = %s ORDER BY installed_at, team",
            [platform],
        )
        return [_row_to_installation(row) for row in rows]

    def issue_state(self, state: str, expires_at: datetime) -> None:
        """Remember an OAuth state handed to a browser until it expires."""
        self.db.run(
            "INSERT INTO oauth_states (state, expires_at) VALUES (%s, %s)"
            " ON CONFLICT (state) DO UPDATE SET expires_at = excluded.expires_at",
            [state, expires_at],
        )

    def consume_state(self, state: str, now: datetime) -> bool:
        """True exactly once for a state issued and not yet expired; it is gone afterwards."""
        with self.db.transaction() as conn:
            # DELETE ... RETURNING: of two replicas consuming the same state, one gets the row.
            found = conn.execute(
                "DELETE FROM oauth_states WHERE state = %s RETURNING expires_at", [state]
            ).fetchone()
            conn.execute("DELETE FROM oauth_states WHERE expires_at <= %s", [now])
        return found is not None and found[0] > now


def _row_to_installation(row: dict[str, Any]) -> AppInstallation:
    return AppInstallation(
        platform=row["platform"],
        enterprise=row["enterprise"],
        team=row["team"],
        data=row["data"],
        installed_at=row["installed_at"],
    )
