"""Online backup and restore of the kiosk database, safe while voting runs.

SQLite: the sqlite3 online backup API copies a consistent snapshot page by page while
other connections keep writing. PostgreSQL: pg_dump (a consistent snapshot in one
transaction) and pg_restore. A backup holds exactly what the database holds: encrypted
ballots, token hashes, the roster and the audit chain, never a token or a choice.
"""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
from pathlib import Path

from sqlalchemy.engine import make_url


class BackupError(RuntimeError):
    """A backup or restore could not be made."""


def _sqlite_path(url: str) -> Path | None:
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite":
        return None
    if not parsed.database or parsed.database == ":memory:":
        raise BackupError("Cơ sở dữ liệu SQLite trong bộ nhớ không sao lưu được.")
    return Path(parsed.database)


def _libpq_url(url: str) -> str:
    """The URL as libpq tools understand it (no SQLAlchemy driver suffix)."""
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


def _tool(name: str) -> str:
    found = shutil.which(name)
    if found:
        return found
    for candidate in sorted(Path("/usr/lib/postgresql").glob(f"*/bin/{name}"), reverse=True):
        return str(candidate)
    raise BackupError(f"Không tìm thấy chương trình {name} (cài gói postgresql-client).")


def backup(url: str, destination: Path) -> None:
    """Write a consistent backup of the database at url to destination (mode 0600)."""
    destination = Path(destination)
    if destination.exists():
        raise BackupError(f"Tệp {destination} đã có; không ghi đè bản sao lưu.")
    partial = destination.with_name(destination.name + ".partial")
    partial.unlink(missing_ok=True)
    path = _sqlite_path(url)
    try:
        if path is not None:
            source = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=30)
            target = sqlite3.connect(partial)
            try:
                source.backup(target, pages=256)  # in steps, so writers are not held up
            finally:
                target.close()
                source.close()
        else:
            subprocess.run([_tool("pg_dump"), "--format=custom", "--no-owner", "--file", str(partial),
                            _libpq_url(url)], check=True, capture_output=True, timeout=600)
        os.chmod(partial, 0o600)
        partial.rename(destination)
    except (sqlite3.Error, subprocess.CalledProcessError, OSError) as exc:
        partial.unlink(missing_ok=True)
        raise BackupError(f"Sao lưu không thành công: {type(exc).__name__}") from exc


def restore(url: str, source: Path) -> None:
    """Replace the database at url with a backup. The kiosk must be stopped first."""
    source = Path(source)
    if not source.exists():
        raise BackupError(f"Không tìm thấy tệp sao lưu {source}.")
    path = _sqlite_path(url)
    try:
        if path is not None:
            check = sqlite3.connect(f"file:{source}?mode=ro", uri=True)
            try:
                if check.execute("PRAGMA integrity_check").fetchone()[0] != "ok":
                    raise BackupError("Tệp sao lưu bị hỏng (integrity_check).")
            finally:
                check.close()
            path.parent.mkdir(parents=True, exist_ok=True)
            # A -journal left by a crash would be rolled back into the restored file.
            for suffix in ("-wal", "-shm", "-journal"):
                Path(str(path) + suffix).unlink(missing_ok=True)
            reader = sqlite3.connect(f"file:{source}?mode=ro", uri=True)
            writer = sqlite3.connect(path)
            try:
                reader.backup(writer)
            finally:
                writer.close()
                reader.close()
        else:
            subprocess.run([_tool("pg_restore"), "--clean", "--if-exists", "--no-owner",
                            "--single-transaction", "--dbname", _libpq_url(url), str(source)],
                           check=True, capture_output=True, timeout=600)
    except (sqlite3.Error, subprocess.CalledProcessError, OSError) as exc:
        raise BackupError(f"Khôi phục không thành công: {type(exc).__name__}") from exc
