"""Throwaway PostgreSQL server for tests.

Uses the binaries of Debian's ``postgresql`` package (``/usr/lib/postgresql/*/bin``)
rather than the packaged cluster, so tests need no running service, never touch
port 5432 and leave nothing behind.

    with running_postgres() as url:
        engine = sqlalchemy.create_engine(url)
"""

from __future__ import annotations

import contextlib
import glob
import os
import pwd
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

STARTUP_TIMEOUT_S = 60
COMMAND_TIMEOUT_S = 120
SERVER_USER = "postgres"


def find_pg_bin_dir() -> Path:
    """Return the newest ``/usr/lib/postgresql/N/bin`` that has the tools we need."""
    override = os.environ.get("PG_BIN_DIR")  # escape hatch for non-Debian machines
    candidates = [override] if override else glob.glob("/usr/lib/postgresql/*/bin")

    def major(path: str) -> int:
        try:
            return int(Path(path).parent.name)
        except ValueError:
            return -1

    for path in sorted(candidates, key=major, reverse=True):
        bin_dir = Path(path)
        if all((bin_dir / tool).is_file() for tool in ("initdb", "pg_ctl", "createdb")):
            return bin_dir
    raise RuntimeError(
        "PostgreSQL server binaries not found under /usr/lib/postgresql/*/bin "
        "(install Debian's 'postgresql' package, or set PG_BIN_DIR)"
    )


def _free_port() -> int:
    # Small race (port could be taken before postgres binds it) but fine for tests;
    # a clash shows up as a startup failure with the log attached.
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _as_server_user() -> list[str]:
    """Command prefix that drops root: postgres refuses to run as root."""
    if os.geteuid() != 0:
        return []  # a normal developer account can own the server itself
    return ["runuser", "-u", SERVER_USER, "--"]


def _run(cmd: list[str], cwd: Path, what: str, log: Path | None = None) -> None:
    try:
        proc = subprocess.run(
            _as_server_user() + cmd,
            cwd=cwd,  # root's cwd may not be readable by the postgres user
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=COMMAND_TIMEOUT_S,
            check=False,  # the error below carries the log
        )
    except subprocess.TimeoutExpired as exc:
        raise RuntimeError(f"{what} timed out after {exc.timeout}s{_log_tail(log)}") from exc
    if proc.returncode != 0:
        raise RuntimeError(
            f"{what} failed (exit {proc.returncode}): {' '.join(cmd)}\n"
            f"stdout:\n{proc.stdout}\nstderr:\n{proc.stderr}{_log_tail(log)}"
        )


def _log_tail(log: Path | None, limit: int = 8000) -> str:
    if log is None or not log.exists():
        return ""
    text = log.read_text(errors="replace")
    return f"\nserver log ({log}):\n{text[-limit:]}"


def _kill_postmaster(data_dir: Path) -> None:
    """Last resort if ``pg_ctl stop`` did not work: signal the postmaster directly."""
    pid_file = data_dir / "postmaster.pid"
    with contextlib.suppress(OSError, ValueError, IndexError):
        pid = int(pid_file.read_text().splitlines()[0])
        os.kill(pid, signal.SIGQUIT)  # immediate shutdown; data is thrown away anyway


@contextlib.contextmanager
def running_postgres(db_name: str | None = None) -> Iterator[str]:
    """Start a throwaway server, yield a SQLAlchemy URL to a fresh database, then tear down.

    The URL uses the psycopg 3 driver and trust auth on loopback (test-only server).
    Raises RuntimeError with the server log if anything fails to start.
    """
    bin_dir = find_pg_bin_dir()
    db_name = db_name or f"test_{uuid.uuid4().hex[:12]}"
    port = _free_port()

    # /tmp explicitly: TMPDIR might sit under /root, which the postgres user cannot traverse.
    base = Path(tempfile.mkdtemp(prefix="pgtest-", dir="/tmp" if os.geteuid() == 0 else None))
    data_dir = base / "data"
    sock_dir = base / "sock"  # private socket dir: no clash with /var/run/postgresql
    log = base / "server.log"
    started = False
    try:
        sock_dir.mkdir()
        if os.geteuid() == 0:
            entry = pwd.getpwnam(SERVER_USER)
            for path in (base, sock_dir):
                os.chown(path, entry.pw_uid, entry.pw_gid)

        _run(
            [
                str(bin_dir / "initdb"),
                "-D", str(data_dir),
                "-U", "postgres",
                "--auth=trust",
                "--encoding=UTF8",
                "--locale=C.UTF-8",  # always present on Debian; Vietnamese text stays intact
                "--no-sync",  # throwaway: skip fsync, much faster on CI
            ],
            cwd=base,
            what="initdb",
        )

        # Durability settings off: a test server's data is discarded anyway.
        server_opts = " ".join(
            [
                f"-p {port}",
                "-c listen_addresses=127.0.0.1",
                f"-c unix_socket_directories={sock_dir}",
                "-c fsync=off",
                "-c synchronous_commit=off",
                "-c full_page_writes=off",
            ]
        )
        started = True  # from here on, always try to stop it
        _run(
            [
                str(bin_dir / "pg_ctl"),
                "-D", str(data_dir),
                "-l", str(log),
                "-o", server_opts,
                "-w",  # wait until it accepts connections ...
                "-t", str(STARTUP_TIMEOUT_S),  # ... but not forever
                "start",
            ],
            cwd=base,
            what="pg_ctl start",
            log=log,
        )
        _run(
            [str(bin_dir / "createdb"), "-h", "127.0.0.1", "-p", str(port), "-U", "postgres",
             db_name],
            cwd=base,
            what="createdb",
            log=log,
        )

        yield f"postgresql+psycopg://postgres@127.0.0.1:{port}/{db_name}"
    finally:
        if started:
            try:
                # fast mode: disconnects any sessions a test leaked instead of waiting on them.
                _run(
                    [str(bin_dir / "pg_ctl"), "-D", str(data_dir), "-m", "fast", "-w",
                     "-t", "30", "stop"],
                    cwd=base,
                    what="pg_ctl stop",
                    log=log,
                )
            except RuntimeError:
                _kill_postmaster(data_dir)
                time.sleep(1)
        shutil.rmtree(base, ignore_errors=True)


def load_sql_dump(url: str, dump: Path) -> None:
    """Run a plain-SQL pg_dump file into the database at url with the server's own psql."""
    plain = url.replace("postgresql+psycopg://", "postgresql://", 1)
    proc = subprocess.run(
        [str(find_pg_bin_dir() / "psql"), "-X", "-q", "-v", "ON_ERROR_STOP=1", "-d", plain,
         "-f", str(dump)],
        stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=COMMAND_TIMEOUT_S,
        check=False,  # the error below carries psql's message
    )
    if proc.returncode != 0:
        raise RuntimeError(f"psql -f {dump} failed (exit {proc.returncode}):\n{proc.stderr}")
