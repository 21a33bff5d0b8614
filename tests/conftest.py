"""Shared fixtures: database URLs for SQLite and a real PostgreSQL server.

- `sqlite_url`: a fresh SQLite file database in the test's tmp_path.
- `pg_server_url`: ONE throwaway PostgreSQL server for the whole session
  (tests/pg_server.py). Skipped only when the server binaries are missing on a developer
  machine; with CI set, a missing server fails the run instead of skipping.
- `pg_url`: a fresh database on that server for each test (CREATE DATABASE through an
  AUTOCOMMIT connection, prepared one test ahead), dropped afterwards.
- `db_url`: parametrized over SQLite and PostgreSQL, for code that must work on both.
- `kiosk_database` (automatic): every test of the modules in BOTH_DATABASES runs twice,
  `[sqlite]` as before and `[postgresql]`, where each kiosk instance the test makes (the web
  app through tests/kiosk_client.make_app, or the `kiosk` command through
  KIOSK_DATABASE_URL) works on a fresh database of the session's PostgreSQL server.
  Tests that choose their database themselves (db_url, sqlite_url, pg_url) or are marked
  `sqlite_only` run once.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path

import pytest

from tests import pg_server

# Modules that drive a kiosk instance, and so its database, through the web app or the kiosk
# command. Left out on purpose: the browser and gunicorn tests (slow; they run the same code
# on SQLite), test_load_faults and test_disk_faults (kill -9, full disk: SQLite files),
# test_volume (a million ballot positions: arithmetic, not the database), test_demo (the
# demo is SQLite by design); and the counter's tests, which read box files, not a database
# (test_box checks that boxes exported from either database verify and count).
BOTH_DATABASES = frozenset({
    "tests.test_kiosk_web", "tests.test_kiosk_access", "tests.test_kiosk_screens",
    "tests.test_kiosk_i18n", "tests.test_qr_scan", "tests.test_web_hardening",
    "tests.test_cli_flow", "tests.test_setup_web", "tests.test_admin_users",
})
CHOSEN_DATABASE = frozenset({"db_url", "sqlite_url", "pg_url"})

# The counter web tests' fixtures (app, browser, config, election, foreign); a module that
# defines a fixture of the same name (the kiosk tests' `app`) uses its own.
pytest_plugins = ["tests.counter_fixtures"]


@pytest.fixture(scope="session", autouse=True)
def holder_key_dir(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """Where this session's kiosks keep their holder keys (shared/holder_keys.py), instead of
    /dev/shm: inherited by the kiosk commands and servers the tests start."""
    directory = tmp_path_factory.getbasetemp() / "holder-keys"
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("KIOSK_HOLDER_KEY_DIR", str(directory))
        yield directory


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


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "sqlite_only: in a BOTH_DATABASES module, run on SQLite only (say why)")


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if (metafunc.module.__name__ in BOTH_DATABASES
            and "kiosk_database" in metafunc.fixturenames
            and "tmp_path" in metafunc.fixturenames  # where a kiosk home lives: none, no database
            and not CHOSEN_DATABASE & set(metafunc.fixturenames)
            and metafunc.definition.get_closest_marker("sqlite_only") is None):
        metafunc.parametrize("kiosk_database", ["sqlite", "postgresql"], indirect=True)


@pytest.fixture(autouse=True)
def kiosk_database(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """Where this test's kiosk instances keep their data: "sqlite" (each home's own file,
    the default) or "postgresql" (see the module docstring)."""
    kind = str(getattr(request, "param", "sqlite"))
    if kind == "sqlite":
        yield kind
        return
    from tests import kiosk_client

    databases: _Databases = request.getfixturevalue("_pg_databases")
    first = str(request.getfixturevalue("pg_url"))
    monkeypatch.setenv("KIOSK_DATABASE_URL", first)  # the kiosk command, and gunicorn
    by_home: dict[Path, str] = {}

    def database_for_home(home: Path) -> str:
        if home not in by_home:
            by_home[home] = databases.take() if by_home else first
        return by_home[home]

    monkeypatch.setattr(kiosk_client, "database_for_home", database_for_home)
    yield kind
    for url in list(by_home.values())[1:]:
        databases.drop(url)
