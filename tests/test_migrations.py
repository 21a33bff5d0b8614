"""Schema migrations: the revisions build the models' schema, and an upgrade loses no election.

The old databases in tests/data/dfddf95/ were made by build dfddf95 itself (its code, its
create_all) in the middle of a vote: tests/data/make_old_kiosks.py says how.
"""

from __future__ import annotations

import json
import shutil
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any, NoReturn

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Column, Engine, MetaData, String, func, inspect, select, text

from kiosk.cli import main as kiosk
from kiosk.config import SIGNING_KEY_FILE, ensure_home
from shared import migrations
from shared.db import init_schema, make_engine, session_factory, transaction
from shared.errors import WrongElectionState
from shared.migrations import SchemaError
from shared.models import AuditEvent, Ballot, Base, Election, Token
from tests import pg_server
from tests.factories import cast_ballot

OLD = Path(__file__).parent / "data" / "dfddf95"


def load_old_database(url: str, tmp_path: Path) -> dict[str, Any]:
    """Put build dfddf95's mid-vote database at url (a fresh one); what is needed to finish."""
    if url.startswith("sqlite"):
        shutil.copyfile(OLD / "kiosk.db", url.removeprefix("sqlite:///"))
        return dict(json.loads((OLD / "kiosk.json").read_text(encoding="utf-8")))
    pg_server.load_sql_dump(url, OLD / "kiosk-postgresql.sql")
    return dict(json.loads((OLD / "kiosk-postgresql.json").read_text(encoding="utf-8")))


def schema_of(engine: Engine) -> dict[str, Any]:
    """Everything create_all or a revision decides, by table, names of constraints included."""
    with engine.connect() as conn:
        insp = inspect(conn)
        tables = sorted(set(insp.get_table_names()) - {"alembic_version"})
        described: dict[str, Any] = {
            table: {
                "columns": [(c["name"], str(c["type"]), c["nullable"], str(c.get("default")))
                            for c in insp.get_columns(table)],
                "pk": insp.get_pk_constraint(table),
                "fks": sorted(json.dumps(fk, sort_keys=True) for fk in insp.get_foreign_keys(table)),
                "uniques": sorted(json.dumps(u, sort_keys=True)
                                  for u in insp.get_unique_constraints(table)),
                "indexes": sorted(json.dumps(i, sort_keys=True, default=str)
                                  for i in insp.get_indexes(table)),
            }
            for table in tables
        }
        if conn.dialect.name == "sqlite":
            # The DDL text itself: WITHOUT ROWID and column order are only visible here.
            described["sqlite_master"] = sorted(conn.execute(text(
                "SELECT type, name, sql FROM sqlite_master WHERE name != 'alembic_version' "
                "AND name NOT LIKE 'sqlite_autoindex_alembic%'")).all())
        else:
            described["sequences"] = sorted(conn.execute(text(
                "SELECT sequence_name FROM information_schema.sequences")).scalars())
    return described


def upgrade_to(engine: Engine, revision: str) -> None:
    with engine.begin() as conn:
        command.upgrade(migrations.alembic_config(conn), revision)


def columns(engine: Engine, table: str) -> set[str]:
    return {c["name"] for c in inspect(engine).get_columns(table)}


def test_migrated_schema_is_exactly_the_models(db_url: str) -> None:
    engine = make_engine(db_url)
    assert init_schema(engine) == (None, migrations.head_revision())
    with engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True})
        assert compare_metadata(context, Base.metadata) == []
        if conn.dialect.name == "sqlite":
            ddl = {str(name): str(sql) for name, sql in conn.execute(text(
                "SELECT name, sql FROM sqlite_master WHERE type = 'table'"))}
            assert sorted(t for t in ddl if "WITHOUT ROWID" in ddl[t]) == ["ballots", "tokens"]
    engine.dispose()


def test_a_model_change_without_a_revision_is_caught(sqlite_url: str) -> None:
    """The check above can fail: a column the revisions lack shows up as a difference."""
    engine = make_engine(sqlite_url)
    init_schema(engine)
    changed = MetaData()
    for table in Base.metadata.tables.values():
        table.to_metadata(changed)
    changed.tables["booths"].append_column(Column("note", String(8), nullable=True))
    with engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), changed)
    assert [(d[0], d[2], d[3].name) for d in diff] == [("add_column", "booths", "note")]
    engine.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def two_db_urls(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[str, str]]:
    """Two fresh databases of one kind."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'a.db'}", f"sqlite:///{tmp_path / 'b.db'}"
        return
    databases = request.getfixturevalue("_pg_databases")
    urls = databases.take(), databases.take()
    yield urls
    for url in urls:
        databases.drop(url)


def test_baseline_revision_is_the_schema_build_dfddf95_made(two_db_urls: tuple[str, str],
                                                            tmp_path: Path) -> None:
    baseline_url, old_url = two_db_urls
    load_old_database(old_url, tmp_path)
    baseline = make_engine(baseline_url)
    upgrade_to(baseline, "0001")
    old = make_engine(old_url)
    assert schema_of(baseline) == schema_of(old)
    baseline.dispose()
    old.dispose()


def test_hpke_build_election_mid_vote_is_refused_by_name_and_left_as_it_was(
        db_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """The schema upgrades, but the election's ballots carry no proofs and its shares cannot
    decrypt sums: this build refuses to check in, open or close it, naming the build that can."""
    old = load_old_database(db_url, tmp_path)
    home = tmp_path / "kiosk"
    home.mkdir(mode=0o700)
    (home / SIGNING_KEY_FILE).write_text(old["signing_key"])
    (home / SIGNING_KEY_FILE).chmod(0o600)
    ensure_home(home, db_url)
    run = ["--home", str(home)]
    eid = old["election_id"]
    assert kiosk([*run, "upgrade"]) == 0
    capsys.readouterr()
    engine = make_engine(db_url)
    factory = session_factory(engine)

    def stored() -> tuple[Any, ...]:
        with factory() as s:
            return (s.scalar(select(Election.state).where(Election.id == eid)),
                    sorted((t.token_hash, t.state) for t in s.scalars(select(Token))),
                    sorted(s.scalars(select(Ballot.fingerprint))), s.scalar(select(func.count(AuditEvent.id))))

    before = stored()
    for step in (["checkin", eid, old["voters_to_come"][0]], ["close", eid], ["open", eid]):
        assert kiosk([*run, *step]) != 0
        error = capsys.readouterr().err
        assert "phiên bản 1, mã hóa HPKE" in error and "commit 2baa7f4" in error, step
    with transaction(factory) as s, pytest.raises(WrongElectionState, match="2baa7f4"):
        cast_ballot(s, eid, old["unused_codes"][0], [0] * old["persons"])
    assert stored() == before
    engine.dispose()


def test_database_made_by_create_all_of_build_200f00c_is_stamped_0002(db_url: str) -> None:
    """That build already had tokens.cast_hash but no alembic_version: stamped 0002, then upgraded."""
    engine = make_engine(db_url)
    upgrade_to(engine, "0002")  # the very tables 200f00c's create_all made (test_migrated_schema...)
    with engine.begin() as conn:
        conn.execute(text("DROP TABLE alembic_version"))
    assert init_schema(engine) == ("0002", migrations.head_revision())
    with engine.connect() as conn:
        assert migrations.current_revision(conn) == migrations.head_revision()
    engine.dispose()


def test_unversioned_database_of_unknown_shape_is_refused_and_left_as_it_was(db_url: str) -> None:
    engine = make_engine(db_url)
    with engine.begin() as conn:
        conn.execute(text("CREATE TABLE elections (id VARCHAR(32) PRIMARY KEY, title TEXT)"))
    before = schema_of(engine)
    with pytest.raises(SchemaError, match="thiếu bảng: audit_events.*bảng có cột khác: elections"):
        init_schema(engine)
    assert schema_of(engine) == before
    assert "alembic_version" not in inspect(engine).get_table_names()
    engine.dispose()


def test_database_of_a_newer_build_is_refused_by_name(
        db_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    engine = make_engine(db_url)
    init_schema(engine)
    with engine.begin() as conn:
        conn.execute(text("UPDATE alembic_version SET version_num = '0099'"))
    with pytest.raises(SchemaError, match="phiên bản lược đồ 0099, mới hơn"):
        init_schema(engine)
    engine.dispose()
    ensure_home(tmp_path / "kiosk", db_url)
    assert kiosk(["--home", str(tmp_path / "kiosk"), "upgrade"]) == 1
    assert "Lỗi: Cơ sở dữ liệu ở phiên bản lược đồ 0099, mới hơn" in capsys.readouterr().err


def test_failed_upgrade_leaves_the_old_database_exactly_as_it_was(
        db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Stamp, the real revisions and one more that fails after its DDL: all or nothing."""
    load_old_database(db_url, tmp_path)
    scripts = tmp_path / "migrations"
    shutil.copytree(migrations.MIGRATIONS_DIR, scripts,
                    ignore=shutil.ignore_patterns("__pycache__"))
    (scripts / "versions" / "0099_fails.py").write_text(
        'import sqlalchemy as sa\nfrom alembic import op\n'
        f'revision = "0099"\ndown_revision = "{migrations.head_revision()}"\nbranch_labels = depends_on = None\n\n'
        'def upgrade():\n'
        '    op.create_table("half_done", sa.Column("id", sa.Integer, primary_key=True))\n'
        '    op.add_column("ballots", sa.Column("half", sa.Integer))\n'
        '    raise RuntimeError("power cut")\n', encoding="utf-8")
    monkeypatch.setattr(migrations, "MIGRATIONS_DIR", scripts)
    engine = make_engine(db_url)
    before = schema_of(engine)
    with engine.connect() as conn:
        ballots_before = conn.execute(text("SELECT id, fingerprint FROM ballots ORDER BY id")).all()
    with pytest.raises(RuntimeError, match="power cut"):
        init_schema(engine)
    assert schema_of(engine) == before
    assert "alembic_version" not in inspect(engine).get_table_names()
    with engine.connect() as conn:
        assert conn.execute(text("SELECT id, fingerprint FROM ballots ORDER BY id")).all() == ballots_before
    monkeypatch.undo()
    assert init_schema(engine) == ("0001", migrations.head_revision())  # the real upgrade still works
    engine.dispose()


def test_workers_starting_together_upgrade_once_and_all_start(db_url: str) -> None:
    """Three gunicorn workers call init_schema at the same moment on a new database."""
    engines = [make_engine(db_url) for _ in range(3)]
    start = threading.Barrier(len(engines))
    results: list[Any] = []

    def worker(engine: Engine) -> None:
        start.wait()
        try:
            results.append(init_schema(engine))
        except Exception as exc:  # noqa: BLE001  (the assertion below names it)
            results.append(exc)

    threads = [threading.Thread(target=worker, args=(e,)) for e in engines]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    head = migrations.head_revision()
    assert sorted(results, key=str) == sorted([(None, head), (head, head), (head, head)], key=str)
    for engine in engines:
        engine.dispose()


def test_revision_0002_downgrades_and_upgrades_again_keeping_every_slip(db_url: str, tmp_path: Path) -> None:
    load_old_database(db_url, tmp_path)
    engine = make_engine(db_url)
    with engine.connect() as conn:
        slips = conn.execute(text("SELECT token_hash, state FROM tokens ORDER BY token_hash")).all()
    init_schema(engine)
    with engine.begin() as conn:
        command.downgrade(migrations.alembic_config(conn), "0001")
    assert "cast_hash" not in columns(engine, "tokens")
    assert init_schema(engine) == ("0001", migrations.head_revision())
    with engine.connect() as conn:
        # Stored space-padded since revision 0005 (shared.models.SlotStateType), free slots aside.
        assert conn.execute(text("SELECT token_hash, rtrim(state) FROM tokens WHERE state <> 'free  ' "
                                 "ORDER BY token_hash")).all() == slips
        if conn.dialect.name == "sqlite":
            ddl_tokens = str(conn.execute(text("SELECT sql FROM sqlite_master WHERE name = 'tokens'")).scalar())
            assert "WITHOUT ROWID" in ddl_tokens
    engine.dispose()


def test_kiosk_serve_upgrades_once_before_the_workers_start(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    url = f"sqlite:///{tmp_path / 'kiosk.db'}"
    load_old_database(url, tmp_path)
    ensure_home(tmp_path / "kiosk", url)
    seen: list[str | None] = []

    def gunicorn(command: list[str]) -> NoReturn:
        engine = make_engine(url)
        with engine.connect() as conn:
            seen.append(migrations.current_revision(conn))
        engine.dispose()
        raise SystemExit(0)  # what exec would leave: gunicorn's own exit

    monkeypatch.setattr("kiosk.cli.exec_server", gunicorn)
    with pytest.raises(SystemExit) as served:
        kiosk(["--home", str(tmp_path / "kiosk"), "serve", "--bind", "127.0.0.1:1"])
    assert served.value.code == 0
    assert seen == [migrations.head_revision()]
    assert f"từ phiên bản 0001 lên {migrations.head_revision()}" in capsys.readouterr().out


def test_new_revision_helper_writes_the_next_numbered_revision(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from shared.migrations.__main__ import main as migrations_main

    scripts = tmp_path / "migrations"
    shutil.copytree(migrations.MIGRATIONS_DIR, scripts, ignore=shutil.ignore_patterns("__pycache__"))
    monkeypatch.setattr(migrations, "MIGRATIONS_DIR", scripts)
    monkeypatch.setattr("sys.argv", ["shared.migrations", "revision", "-m", "booth note"])
    migrations_main()
    head = migrations.head_revision()
    following = f"{int(head) + 1:04d}"
    (written,) = (scripts / "versions").glob(f"{following}_*.py")
    source = written.read_text(encoding="utf-8")
    assert written.name == f"{following}_booth_note.py"
    assert f"revision: str = '{following}'" in source and f"'{head}'" in source
    assert "op." not in source.split("def upgrade")[1].split("def downgrade")[0]  # models = head
