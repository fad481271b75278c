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
    for the writes that must commit together. Times are read and written in UTC.

    A connection the server dropped (restart, failover, a terminated backend) fails the call
    that meets it (bot.storage.storage_trouble says so) and is opened again by the next one;
    nothing is retried behind the caller's back."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.conn = self._connect()
        # One statement or transaction at a time: threads take turns on the connection.
        self.lock = threading.RLock()

    def _connect(self) -> psycopg.Connection[Any]:
        conn = psycopg.connect(self.url, autocommit=True)
        conn.execute("SET TimeZone = 'UTC'")
        return conn

    def _live(self) -> psycopg.Connection[Any]:
        """The connection, opened again if the server dropped it (call with the lock held)."""
        if self.conn.closed:
            self.conn = self._connect()
        return self.conn

    @contextmanager
    def transaction(self) -> Iterator[psycopg.Connection]:
        """Statements inside commit together, or not at all."""
        with self.lock:
            conn = self._live()
            with conn.transaction():
                yield conn

    def rows(self, sql: str, params: Params = ()) -> list[dict[str, Any]]:
        """Every row of a query, as dicts."""
        with self.lock, self._live().cursor(row_factory=dict_row) as cursor:
            cursor.execute(sql, params)
            return cursor.fetchall()

    def one(self, sql: str, params: Params = ()) -> tuple[Any, ...] | None:
        """The first row of a query as a tuple, or None."""
        with self.lock:
            return self._live().execute(sql, params).fetchone()

    def run(self, sql: str, params: Params = ()) -> int:
        """Execute a statement; returns how many rows it changed."""
        with self.lock:
            return self._live().execute(sql, params).rowcount

    def close(self) -> None:
        """Close the connection."""
        self.conn.close()
