"""Shared fixtures: database URLs for SQLite and a real PostgreSQL server.

- `sqlite_url`: a fresh SQLite file database in the test's tmp_path.
- `pg_server_url`: ONE throwaway PostgreSQL server for the whole session
  (tests/pg_server.py). Skipped only when the server binaries are missing on a developer
  machine; with CI set, a missing server fails the run instead of skipping.
- `pg_url`: a fresh database on that server for each test (CREATE DATABASE through an
  AUTOCOMMIT connection, prepared one test ahead), dropped afterwards.
- `db_url`: parametrized over SQLite and PostgreSQL, for code that must work on both.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path

import pytest

from tests import pg_server

# The counter web tests' fixtures (app, browser, config, election, foreign); a module that
# defines a fixture of the same name (the kiosk tests' `app`) uses its own.
pytest_plugins = ["tests.counter_fixtures"]


def _unavailable(reason: str) -> None:
    """Skip on a developer machine; fail in CI, where PostgreSQL MUST be tested."""
    if os.environ.get("CI", "").lower() not in ("", "0", "false", "no"):
        pytest.fail(f"PostgreSQL is required in CI: {reason}", pytrace=False)
    pytest.skip(f"PostgreSQL not available: {reason}")


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    """URL of a fresh SQLite database file for this test."""
    return f"sqlite:///{tmp_path / 'test.db'}"


@pytest.fixture(scope="session")
def pg_server_url() -> Iterator[str]:
    """URL of the maintenance database of one throwaway PostgreSQL server per session."""
    try:
        pg_server.find_pg_bin_dir()
    except RuntimeError as exc:
        _unavailable(str(exc))
    try:
        import psycopg  # noqa: F401  (the driver the URLs name)
    except ImportError as exc:
        _unavailable(f"psycopg is not installed ({exc})")
    with pg_server.running_postgres() as url:
        yield url.rsplit("/", 1)[0] + "/postgres"


class _Databases:
    """Makes fresh databases on one server, always one ahead in the background.

    CREATE DATABASE copies a template and often waits on the disk; preparing the next
    database while the current test runs keeps PostgreSQL tests nearly as fast as SQLite.
    """

    def __init__(self, server_url: str) -> None:
        from sqlalchemy import create_engine

        self.base = server_url.rsplit("/", 1)[0]
        self.admin = create_engine(server_url, isolation_level="AUTOCOMMIT")
        self.worker = ThreadPoolExecutor(max_workers=1, thread_name_prefix="pg-create")
        self.ahead: Future[str] | None = None

    def _create(self) -> str:
        from sqlalchemy import text

        name = f"t_{uuid.uuid4().hex[:16]}"
        with self.admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
        return name

    def take(self) -> str:
        """The URL of a new, empty database."""
        current = self.ahead or self.worker.submit(self._create)
        self.ahead = self.worker.submit(self._create)
        return f"{self.base}/{current.result()}"

    def drop(self, url: str) -> None:
        from sqlalchemy import text

        with self.admin.connect() as conn:
            # FORCE ends connections still pooled by engines the test did not dispose.
            conn.execute(text(f'DROP DATABASE IF EXISTS "{url.rsplit("/", 1)[1]}" WITH (FORCE)'))

    def close(self) -> None:
        self.worker.shutdown(wait=True)  # the server goes away with the unused spare
        self.admin.dispose()


@pytest.fixture(scope="session")
def _pg_databases(pg_server_url: str) -> Iterator[_Databases]:
    databases = _Databases(pg_server_url)
    yield databases
    databases.close()


@pytest.fixture
def pg_url(_pg_databases: _Databases) -> Iterator[str]:
    """URL of a fresh, empty database on the session's PostgreSQL server, dropped afterwards."""
    url = _pg_databases.take()
    yield url
    _pg_databases.drop(url)


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request: pytest.FixtureRequest) -> str:
    """A fresh database URL, once on SQLite and once on PostgreSQL."""
    return str(request.getfixturevalue("sqlite_url" if request.param == "sqlite" else "pg_url"))
