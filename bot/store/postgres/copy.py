"""Copy a SQLite installation into PostgreSQL (`papers-bot migrate`): every paper, subscription,
digest, post, bookmark, processed event, fetch, workspace installation and Zotero push, keeping
their keys. Each row is written with ON CONFLICT on its key, so a second run over the same files
changes nothing and a run after the SQLite store moved on brings the rows up to date."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from datetime import date, datetime
from typing import Any

from psycopg.types.json import Jsonb

from bot.store import SqliteStore
from bot.store import row_to_paper as sqlite_row_to_paper
from bot.store.postgres import PgStore
from bot.store.postgres.papers import COLUMNS, paper_to_row

BATCH = 2000


def _day(value: Any) -> date | None:
    return date.fromisoformat(value) if value else None


def _time(value: Any) -> datetime | None:
    return datetime.fromisoformat(value) if value else None


def _json(value: Any) -> Jsonb:
    return Jsonb(json.loads(value) if value else [])


def _flag(value: Any) -> bool:
    return bool(value)


# table: (its key, how SQLite's text and integers become PostgreSQL's types)
TABLES: dict[str, tuple[tuple[str, ...], dict[str, Callable[[Any], Any]]]] = {
    "subscriptions": (
        ("platform", "workspace", "channel"),
        {
            "topics": _json,
            "weekdays": _json,
            "skip_empty": _flag,
            "taste": _flag,
            "updated_at": _time,
            "paused_at": _time,
        },
    ),
    "digests": (
        ("platform", "workspace", "channel", "day", "kind"),
        {
            "day": _day,
            "papers": _json,
            "claimed_at": _time,
            "done_at": _time,
            "lease_until": _time,
        },
    ),
    "posts": (("id",), {"day": _day, "claimed_at": _time, "posted_at": _time}),
    "bookmarks": (("platform", "workspace", "user", "paper_id"), {"saved_at": _time}),
    "events": (("platform", "event_id"), {"seen_at": _time}),
    "fetches": (("id",), {"started_at": _time, "finished_at": _time, "ok": _flag}),
    # Each workspace's install and its tokens (OAuth states last minutes: not copied).
    "installations": (
        ("platform", "enterprise", "team"),
        {"data": _json, "installed_at": _time},
    ),
    "zotero_libraries": (("platform", "workspace", "channel"), {"set_at": _time}),
    "zotero_pushes": (
        ("library", "paper_id"),
        {"queued_at": _time, "next_try": _time, "pushed_at": _time},
    ),
}
# Tables whose key is a number PostgreSQL generates: its counter moves past the copied rows.
GENERATED = {"papers": "seq", "posts": "id", "fetches": "id"}


def copy_sqlite(source: SqliteStore, target: PgStore) -> dict[str, int]:
    """Copy every row of `source` into `target`; returns the rows copied per table. The search
    side's tables are not copied: rebuild the target's search index after."""
    copied = {"papers": _copy_papers(source, target)}
    for table, (key, convert) in TABLES.items():
        copied[table] = _copy_table(source, target, table, key, convert)
    with target.db.transaction() as conn:
        for table, column in GENERATED.items():
            conn.execute(
                f"SELECT setval(pg_get_serial_sequence('{table}', '{column}'),"
                f" greatest((SELECT max({column}) FROM {table}), 1))"
            )
    return copied


def _copy_papers(source: SqliteStore, target: PgStore) -> int:
    columns = ("seq", *COLUMNS)
    statement = _upsert("papers", columns, ("id",))
    rows = source.db.query("SELECT * FROM papers ORDER BY seq")
    return write_rows(
        target, statement, ({"seq": r["seq"], **paper_to_row(sqlite_row_to_paper(r))} for r in rows)
    )


def _copy_table(
    source: SqliteStore,
    target: PgStore,
    table: str,
    key: tuple[str, ...],
    convert: dict[str, Callable[[Any], Any]],
) -> int:
    known = {
        row["column_name"]
        for row in target.db.rows(
            "SELECT column_name FROM information_schema.columns"
            " WHERE table_name = %s AND table_schema = current_schema()",
            [table],
        )
    }
    columns = tuple(c for c in source.db.table(table).columns_dict if c in known)
    statement = _upsert(table, columns, key)
    rows = (
        {c: convert[c](row[c]) if c in convert else row[c] for c in columns}
        for row in source.db.query(f"SELECT * FROM [{table}]")
    )
    return write_rows(target, statement, rows)


def _upsert(table: str, columns: tuple[str, ...], key: tuple[str, ...]) -> str:
    names = ", ".join(f'"{c}"' for c in columns)
    values = ", ".join(f"%({c})s" for c in columns)
    sets = ", ".join(f'"{c}" = excluded."{c}"' for c in columns if c not in key and c != "seq")
    conflict = ", ".join(f'"{c}"' for c in key)
    action = f"DO UPDATE SET {sets}" if sets else "DO NOTHING"
    return f"INSERT INTO {table} ({names}) VALUES ({values}) ON CONFLICT ({conflict}) {action}"


def write_rows(target: PgStore, statement: str, rows: Iterable[dict[str, Any]]) -> int:
    """Run `statement` for each row, BATCH rows to a transaction; returns how many."""
    count = 0
    batch: list[dict[str, Any]] = []
    for row in rows:
        batch.append(row)
        if len(batch) >= BATCH:
            count += _flush(target, statement, batch)
            batch = []
    return count + _flush(target, statement, batch)


def _flush(target: PgStore, statement: str, batch: list[dict[str, Any]]) -> int:
    if batch:
        with target.db.transaction() as conn, conn.cursor() as cursor:
            cursor.executemany(statement, batch)
    return len(batch)
