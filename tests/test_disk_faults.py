"""Disk full and read-only database under a cast, provoked for real.

The kiosk's SQLite database lives on a small tmpfs mounted for the test: a filler file
takes the last free page so the cast's journal write hits ENOSPC (the cast overwrites its
slots in place, but the rollback journal must first hold the pages it changes), and `mount -o remount,ro`
makes the disk read-only. Each time the cast must roll back whole, tell the voter that the
slip is still valid, tell the operator's log what is wrong (no token, no choice), leave the
database intact, and cast the same slip normally once the disk is fixed.
"""

from __future__ import annotations

import contextlib
import logging
import sqlite3
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient
from werkzeug.test import TestResponse

from tests.kiosk_client import RECEIPT_RE, make_app, open_booth, retry_form, review

STORAGE_MESSAGE = "ổ đĩa đầy hoặc chỉ cho đọc"
SLIP_STILL_VALID = "Phiếu của đồng chí chưa được ghi và vẫn còn giá trị."


def _mount(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["mount", *args], capture_output=True, text=True, check=False)


@pytest.fixture()
def small_disk(tmp_path: Path) -> Iterator[Path]:
    """A real 16 MiB tmpfs, unmounted afterwards whatever happened."""
    disk = tmp_path / "disk"
    disk.mkdir()
    mounted = _mount("-t", "tmpfs", "-o", "size=16m,mode=0700", "tmpfs", str(disk))
    if mounted.returncode != 0:
        pytest.skip(f"mounting a tmpfs is not permitted here (needs root): {mounted.stderr.strip()}")
    try:
        yield disk
    finally:
        if subprocess.run(["umount", str(disk)], check=False).returncode != 0:
            subprocess.run(["umount", "-l", str(disk)], check=False)


@pytest.fixture()
def app(tmp_path: Path, small_disk: Path) -> Iterator[Flask]:
    app = make_app(tmp_path / "kiosk", database_url=f"sqlite:///{small_disk / 'kiosk.db'}")
    yield app
    app.extensions["kiosk_engine"].dispose()  # no open file, so the tmpfs can be unmounted


def _read(db: Path, query: str, read_only_disk: bool) -> object:
    """One value, read as any reader would; on a read-only disk straight from the file
    (immutable: no lock file or journal can be made there)."""
    conn = sqlite3.connect(f"file:{db}?{'immutable=1' if read_only_disk else 'mode=ro'}", uri=True)
    try:
        return conn.execute(query).fetchone()[0]
    finally:
        conn.close()


def _state(db: Path, read_only_disk: bool = False) -> tuple[object, object, object, object]:
    return tuple(_read(db, query, read_only_disk) for query in (  # type: ignore[return-value]
        "SELECT count(*) FROM ballots WHERE fingerprint <> '" + "0" * 64 + "'",
        "SELECT count(*) FROM tokens WHERE state = 'spent '",
        "SELECT count(*) FROM tokens WHERE state = 'issued'", "PRAGMA integrity_check"))


def _fill(disk: Path) -> Path:
    """Take every free page of the tmpfs with a filler file; return it."""
    filler = disk / "filler"
    with open(filler, "wb", buffering=0) as fh:
        for chunk in (1 << 20, 4096, 1):
            with contextlib.suppress(OSError):
                while True:
                    fh.write(b"\0" * chunk)
    return filler


def _assert_storage_fault_page(answer: TestResponse, html: str, code: str) -> dict[str, str]:
    assert answer.status_code == 503
    assert int(answer.headers["Retry-After"]) > 0
    assert STORAGE_MESSAGE in html and SLIP_STILL_VALID in html
    assert code not in html
    return retry_form(html)


def _cast_after_fix(tablet: FlaskClient, retry: dict[str, str]) -> None:
    done = tablet.post("/booth/cast", data=retry)
    assert done.status_code == 200 and RECEIPT_RE.search(done.get_data(as_text=True))


def test_a_cast_on_a_full_disk_rolls_back_says_so_and_the_same_slip_casts_once_space_returns(
        app: Flask, small_disk: Path, caplog: pytest.LogCaptureFixture) -> None:
    db = small_disk / "kiosk.db"
    _meeting, tablet, codes = open_booth(app, voters=3)
    form = review(tablet, codes[0], [0, 1, 2])
    # Between transactions the journal is empty, so the cast's commit must take disk space for it.
    assert (small_disk / "kiosk.db-journal").stat().st_size == 0
    before = _state(db)
    filler = _fill(small_disk)
    try:
        with caplog.at_level(logging.WARNING):
            answer = tablet.post("/booth/cast", data=form)
        retry = _assert_storage_fault_page(answer, answer.get_data(as_text=True), codes[0])
        assert retry["cast_id"] == form["cast_id"]
        assert _state(db) == before == (0, 0, 3, "ok")  # nothing half-written, slip still issued
        assert "database cannot write (full, SQLITE_FULL)" in caplog.text
        assert codes[0] not in caplog.text and form["cast_id"] not in caplog.text
    finally:
        filler.unlink()
    _cast_after_fix(tablet, retry)
    assert _state(db) == (1, 1, 2, "ok")


def test_a_cast_on_a_read_only_disk_rolls_back_says_so_and_casts_once_it_is_writable_again(
        app: Flask, small_disk: Path, caplog: pytest.LogCaptureFixture) -> None:
    db = small_disk / "kiosk.db"
    _meeting, tablet, codes = open_booth(app, voters=3)
    form = review(tablet, codes[1], [2, 2, 1])
    # A read-only remount needs no file open for writing: the kiosk's connections close now
    # and reopen on the next request, which then finds the disk read-only.
    app.extensions["kiosk_engine"].dispose()
    remount = _mount("-o", "remount,ro", str(small_disk))
    assert remount.returncode == 0, remount.stderr
    try:
        with pytest.raises(OSError):
            (small_disk / "probe").write_bytes(b"x")  # really read-only
        with caplog.at_level(logging.WARNING):
            answer = tablet.post("/booth/cast", data=form)
        retry = _assert_storage_fault_page(answer, answer.get_data(as_text=True), codes[1])
        assert not (small_disk / "kiosk.db-wal").exists()
        assert _state(db, read_only_disk=True) == (0, 0, 3, "ok")
        assert "database cannot write (read_only, SQLITE_" in caplog.text
        assert codes[1] not in caplog.text and form["cast_id"] not in caplog.text
        # Pages that only read still work: a rollback journal needs no write to read (a WAL
        # needed its -shm, docs/storage-secrecy.md D4); nothing crashes.
        assert tablet.get("/booth/ballot").status_code == 200
    finally:
        app.extensions["kiosk_engine"].dispose()
        assert _mount("-o", "remount,rw", str(small_disk)).returncode == 0
    _cast_after_fix(tablet, retry)
    assert _state(db) == (1, 1, 2, "ok")
