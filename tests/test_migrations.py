"""Alembic migrations: the newest revision is exactly the models' schema, and a data dir made
by a mockcvat from before the migrations opens in this one (its state kept)."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import create_engine, inspect, text
from sqlmodel import SQLModel

from mockcvat import migrations, pgcluster
from mockcvat.db import Database, _never_reuse_ids
from mockcvat.settings import Settings
from mockcvat.testing import MockCVATServer


def _differences(url: str) -> list[object]:
    _never_reuse_ids()
    engine = create_engine(url)
    try:
        with engine.begin() as connection:
            command.upgrade(migrations.config(connection), "head")
        with engine.connect() as connection:
            return compare_metadata(MigrationContext.configure(connection), SQLModel.metadata)
    finally:
        engine.dispose()


def test_the_newest_revision_is_the_models_schema_on_sqlite(tmp_path: Path) -> None:
    assert _differences(f"sqlite:///{tmp_path / 'm.sqlite3'}") == []


def test_the_newest_revision_is_the_models_schema_on_postgresql(postgres_url: str) -> None:
    url = pgcluster.create_database(postgres_url, "migrations_check")
    try:
        assert _differences(url) == []
    finally:
        pgcluster.drop_database(url)


def test_a_data_dir_from_before_the_migrations_opens(tmp_path: Path) -> None:
    """The first revision is the schema those releases made; such a data dir has no version
    table. It is upgraded in place, its users and tasks kept."""
    url = f"sqlite:///{tmp_path / 'mockcvat.sqlite3'}"
    engine = create_engine(url)
    with engine.begin() as connection:  # what mockcvat made before Alembic
        command.upgrade(migrations.config(connection), migrations.FIRST_REVISION)
        connection.execute(text("DROP TABLE alembic_version"))
        connection.execute(text(
            "INSERT INTO auth_user (username, email, first_name, last_name, password, is_staff, "
            "is_superuser, is_active, date_joined) VALUES ('old', '', '', '', '', 0, 0, 1, "
            "'2026-01-01 00:00:00')"))
        connection.execute(text(
            "INSERT INTO engine_task (name, mode, bug_tracker, segment_size, status, "
            "dimension, subset, consensus_replicas, created_date, updated_date) VALUES "
            "('kept', '', '', 0, 'annotation', '2d', '', 0, '2026-01-01 00:00:00', "
            "'2026-01-01 00:00:00')"))
    engine.dispose()

    with MockCVATServer(Settings(data_dir=tmp_path, port=0, background_mode="immediate",
                                 admin="old:unused")) as server:
        admin = server.create_user("boss", "Secret-Passw0rd!", is_superuser=True,
                                   groups=["admin"])
        assert admin["id"] == 2
        client = server.make_client(("boss", "Secret-Passw0rd!"))
        assert [t.name for t in client.tasks.list()] == ["kept"]
        assert {u.username for u in client.users.list()} == {"old", "boss"}
        client.close()
        with server.mock.db.engine.connect() as connection:
            assert migrations.current(connection) == migrations.head()
            columns = {c["name"] for c in inspect(connection).get_columns("mockcvat_request")}
        assert {"job", "args", "claimed_by", "claim"} <= columns


def test_an_upgraded_database_opens_again_without_changes(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'again.sqlite3'}"
    Database(url).dispose()
    database = Database(url)
    with database.engine.connect() as connection:
        assert migrations.current(connection) == migrations.head()
    database.dispose()


