"""One PostgreSQL connection shared by the store's parts, safe to use from several threads."""

from __future__ import annotations

import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import psycopg
from psycopg.rows import dict_row

Params = Sequence[Any] | dict[str, Any]


class Connection:
    """A psycopg connection in autocommit mode (each statement commits), with `transaction()`
    for the writes that must commit together. Times are read and written in UTC."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.conn = psycopg.connect(url, autocommit=True)
        self.conn.execute("SET TimeZone = 'UTC'")
        # One statement or transaction at a time: threads take turns on the connection.
        self.lock = threading.RLock()

    @contextmanager
    def transaction(self) -> Iterator[psycopg.Connection]:
        """Statements inside commit together, or not at all."""
        with self.lock, self.conn.transaction():
            yield self.conn

    def rows(self, sql: str, params: Params = ()) -> list[dict[str, Any]]:
        """Every row of a query, as dicts."""
        with self.lock, self.conn.cursor(row_factory=dict_row) as cursor:
            cursor.execute(sql, params)
            return cursor.fetchall()

    def one(self, sql: str, params: Params = ()) -> tuple[Any, ...] | None:
        """The first row of a query as a tuple, or None."""
        with self.lock:
            return self.conn.execute(sql, params).fetchone()

    def run(self, sql: str, params: Params = ()) -> int:
        """Execute a statement; returns how many rows it changed."""
        with self.lock:
            return self.conn.execute(sql, params).rowcount

    def close(self) -> None:
        """Close the connection."""
        self.conn.close()
