"""The whole vote from the command line: kiosk init … export, counter verify and tally."""

from __future__ import annotations

import json
import random
import subprocess
import sys
from pathlib import Path

import pytest

from counter.cli import main as counter
from kiosk.cli import main as kiosk
from kiosk.config import load_config
from shared.db import make_engine, session_factory, transaction
from tests.ceremony_support import cli_ceremony
from tests.factories import cast_ballot, election_spec


def cast_at_booth(home: Path, election_id: str, code: str, marks: list[int]) -> None:
    """What the booth does on confirm (the CLI has no cast command: voters use a tablet)."""
    config = load_config(home)
    with transaction(session_factory(make_engine(config.database_url))) as s:
        cast_ballot(s, election_id, code, marks)


def test_full_election_through_the_cli_counts_exactly_the_choices_cast(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    home = tmp_path / "kiosk"
    spec = tmp_path / "spec.json"
    spec.write_text(json.dumps(election_spec(persons=8, voters=30), ensure_ascii=False), encoding="utf-8")
    assert kiosk(["--home", str(home), "init"]) == 0
    assert kiosk(["--home", str(home), "election", "create", str(spec)]) == 0
    election_id = capsys.readouterr().out.strip().splitlines()[-1]
    shares = sorted(cli_ceremony(home, election_id, tmp_path).glob("share-*.json"))
    assert len(shares) == 3 and all(oct(p.stat().st_mode)[-3:] == "600" for p in shares)
    board_laptop = ["--home", str(tmp_path / "board-laptop")]  # the counter that held the ceremony

    codes = []
    for i in range(1, 31):
        assert kiosk(["--home", str(home), "checkin", election_id, f"V{i:03d}"]) == 0
        codes.append(capsys.readouterr().out.strip())
    assert kiosk(["--home", str(home), "open", election_id]) == 0
    rng = random.Random(3)
    expected = [[0, 0, 0] for _ in range(8)]
    for code in codes[:26]:
        marks = [rng.randrange(3) for _ in range(8)]
        cast_at_booth(home, election_id, code, marks)
        for row, mark in enumerate(marks):
            expected[row][mark] += 1
    box = tmp_path / "box.json"
    assert kiosk(["--home", str(home), "export", election_id, "-o", str(box)]) == 1  # not closed yet
    assert not box.exists()
    assert kiosk(["--home", str(home), "close", election_id]) == 0
    assert kiosk(["--home", str(home), "export", election_id, "-o", str(box)]) == 0

    auditor = ["--home", str(tmp_path / "auditor")]  # any machine, no share, no key of the election
    assert counter([*auditor, "verify", str(box)]) == 0
    results = tmp_path / "results.json"
    assert counter([*board_laptop, "tally", str(box), "--share", str(shares[0]),
                    "--json", str(results)]) == 1
    assert not results.exists()
    # Only the counter that held the ceremony counts (its key is the manifest's counter key).
    assert counter([*auditor, "tally", str(box), "--share", str(shares[0]), "--share", str(shares[2]),
                    "--json", str(results)]) == 1
    assert not results.exists()
    assert counter([*board_laptop, "tally", str(box), "--share", str(shares[0]), "--share",
                    str(shares[2]), "--json", str(results), "--html", str(tmp_path / "r.html")]) == 0
    document = json.loads(results.read_text(encoding="utf-8"))
    assert [[p["high"], p["trust"], p["low"]] for p in document["persons"]] == expected
    assert [row["counts"] for row in document["tally"]["rows"]] == expected
    assert document["ballots_collected"] == 26 and document["ballots_issued"] == 30
    assert counter([*auditor, "check-results", str(results), "--box", str(box)]) == 0
    capsys.readouterr()
    assert counter([*auditor, "verify", str(box), "--results", str(results)]) == 0
    assert "[OK] Kết quả kiểm phiếu khớp hòm phiếu" in capsys.readouterr().out
    assert "T/M BAN KIỂM PHIẾU" in (tmp_path / "r.html").read_text(encoding="utf-8")


def test_bad_spec_is_refused_with_a_clear_message_and_leaves_nothing(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    home = tmp_path / "kiosk"
    kiosk(["--home", str(home), "init"])
    bad = election_spec(persons=2, voters=3, members=3, threshold=4)
    spec = tmp_path / "spec.json"
    spec.write_text(json.dumps(bad), encoding="utf-8")
    assert kiosk(["--home", str(home), "election", "create", str(spec)]) == 1
    assert "từ 1 đến 3" in capsys.readouterr().err
    spec.write_text("{not json", encoding="utf-8")
    assert kiosk(["--home", str(home), "election", "create", str(spec)]) == 1
    config = load_config(home)
    with session_factory(make_engine(config.database_url))() as s:
        from sqlalchemy import func, select

        from shared.models import Election
        assert s.scalar(select(func.count()).select_from(Election)) == 0


@pytest.mark.sqlite_only  # holds SQLite's write lock from a second connection
def test_a_busy_database_gets_a_clear_message_and_changes_nothing(
        tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    import sqlite3

    from kiosk import cli as kiosk_cli

    home = tmp_path / "kiosk"
    kiosk(["--home", str(home), "init"])
    spec = tmp_path / "spec.json"
    spec.write_text(json.dumps(election_spec(persons=2, voters=3)), encoding="utf-8")
    assert kiosk(["--home", str(home), "election", "create", str(spec)]) == 0
    election_id = capsys.readouterr().out.strip().splitlines()[-1]
    cli_ceremony(home, election_id, tmp_path)
    monkeypatch.setattr(kiosk_cli, "CLI_BUSY_TIMEOUT_MS", 200)
    holder = sqlite3.connect(home / "kiosk.db", isolation_level=None)
    try:
        holder.execute("BEGIN IMMEDIATE")  # another writer holds the lock past the wait
        assert kiosk(["--home", str(home), "checkin", election_id, "V001"]) == 1
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    err = capsys.readouterr().err
    assert "đang bận" in err and "SQLITE_BUSY" in err and "Traceback" not in err
    # Nothing was written: the voter can still be checked in, once.
    assert kiosk(["--home", str(home), "checkin", election_id, "V001"]) == 0
    assert kiosk(["--home", str(home), "checkin", election_id, "V001"]) == 1


def test_kiosk_refuses_to_start_without_its_secrets(tmp_path: Path,
                                                    capsys: pytest.CaptureFixture[str]) -> None:
    home = tmp_path / "kiosk"
    kiosk(["--home", str(home), "init"])
    (home / "secret_key").unlink()
    assert kiosk(["--home", str(home), "open", "X"]) == 1
    assert "secret_key" in capsys.readouterr().err


def test_console_scripts_are_installed() -> None:
    for command in ("kiosk", "counter"):
        # Installed beside the interpreter running the tests (the venv's bin/, as .ci/run makes it).
        result = subprocess.run([str(Path(sys.executable).parent / command), "--help"],
                                capture_output=True, text=True, check=False)
        assert result.returncode == 0 and "usage" in result.stdout
