"""The throwaway PostgreSQL helper really yields a usable database."""

from __future__ import annotations

from sqlalchemy import create_engine, text

from tests.pg_server import running_postgres


def test_running_postgres_round_trip() -> None:
    with running_postgres() as url:
        assert url.startswith("postgresql+psycopg://postgres@127.0.0.1:")
        engine = create_engine(url)
        try:
            with engine.connect() as conn:
                assert conn.execute(text("select 1")).scalar_one() == 1
            # begin() commits on exit, so the second connection proves data persisted.
            with engine.begin() as conn:
                conn.execute(text("create table ballot (id serial primary key, label text)"))
                conn.execute(
                    text("insert into ballot (label) values (:label)"),
                    [{"label": "Tín nhiệm cao"}, {"label": "Tín nhiệm thấp"}],
                )
            with engine.connect() as conn:
                rows = conn.execute(text("select label from ballot order by id")).scalars().all()
            assert rows == ["Tín nhiệm cao", "Tín nhiệm thấp"]
        finally:
            # Close pooled connections before the server goes away.
            engine.dispose()
