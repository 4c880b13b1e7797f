"""The store's schema migrations, run through Alembic on both engines (SQLite and PostgreSQL).

One schema definition: :data:`~tesla_lab.store.schema.MIGRATIONS`. The Alembic script directory
``tesla_lab/store/migrations`` holds one tiny revision per step (revision ``'0003'`` applies step 3, i.e.
``MIGRATIONS[2]``, translated for PostgreSQL by :mod:`tesla_lab.store.pg_sql`); the version is recorded in the
table ``tesla_alembic_version`` (not Alembic's default name, which Optuna's tables in a shared database use). The
old markers (SQLite's ``PRAGMA user_version``, PostgreSQL's ``tesla_schema_version``) are kept in step, so an
older release still refuses a newer store; a store that has only them (written before Alembic) is stamped with its
revision, then upgraded.

Opening a current store costs two or three tiny queries on the store's own connection (:func:`stored_version`);
SQLAlchemy and Alembic are imported only when a migration (or a stamp) is needed (:func:`upgrade`), which runs
on a SQLAlchemy connection of its own (pysqlite on the same file, or ``postgresql+psycopg``) inside one transaction
holding the store's write lock (``BEGIN IMMEDIATE``; PostgreSQL's advisory lock), so two processes opening an old
store migrate it once and a failed step leaves it unchanged.

>>> revision_id(3), revision_number("0003"), revision_number(None), revision_number("ae1027a6acf")
('0003', 3, 0, None)
"""

from __future__ import annotations

import logging
import sqlite3
from collections.abc import Callable
from pathlib import Path
from typing import Any

from tesla_lab.errors import StoreError

__all__ = ["SCRIPTS", "revision_id", "revision_number", "stored_version", "upgrade"]

logger = logging.getLogger(__name__)

#: the Alembic script directory (``env.py`` and ``versions/``)
SCRIPTS = Path(__file__).with_name("migrations")

#: Alembic's version table for the store: not Alembic's default ``alembic_version``, which other tools sharing the
#: database use for their own schema (Optuna's RDB storage in the store's PostgreSQL database reads it)
VERSION_TABLE = "tesla_alembic_version"


def revision_id(version: int) -> str:
    """The Alembic revision of schema version ``version`` (``'0004'``).

    >>> revision_id(12)
    '0012'
    """
    return f"{int(version):04d}"


def revision_number(revision: str | None) -> int | None:
    """The schema version of an Alembic revision (``None``: no revision yet, version 0), or ``None`` for a
    revision this release does not know (not one of its numbered revisions: a newer release wrote it).

    >>> revision_number("0002"), revision_number("head")
    (2, None)
    """
    if revision is None:
        return 0
    return int(revision) if revision.isdigit() else None


def _state(first: Callable[[str], Any], engine: str) -> tuple[str | None, bool, int]:
    """(alembic revision or None, whether ``tesla_alembic_version`` exists, legacy version) read through ``first(sql)``
    (the first row of a query)."""
    if engine == "sqlite":
        legacy = int(first("PRAGMA user_version")[0])
        has = first(f"SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = '{VERSION_TABLE}'")[0] > 0
    else:
        found = first(f"SELECT to_regclass('{VERSION_TABLE}') IS NOT NULL, "
                      "to_regclass('tesla_schema_version') IS NOT NULL")
        has, has_legacy = found[0], found[1]
        row = first("SELECT version FROM tesla_schema_version") if has_legacy else None
        legacy = 0 if row is None else int(row[0])
    row = first(f"SELECT version_num FROM {VERSION_TABLE}") if has else None
    return (None if row is None else str(row[0])), bool(has), legacy


def _version(db: Any, revision: str | None, legacy: int, latest: int) -> int:
    """The store's schema version from its markers; :class:`StoreError` (the store's clear message) when it is newer
    than ``latest`` or its revision is unknown."""
    number = revision_number(revision)
    if number is None:
        raise db._newer_error(f"{revision!r} (an Alembic revision)", latest)
    version = max(number, legacy)  # the legacy marker is kept in step; a larger one was written by a newer release
    if version > latest:
        raise db._newer_error(version, latest)
    return version


def stored_version(db: Any, first: Callable[[str], Any], latest: int) -> tuple[int, bool]:
    """``(version, stamped)``: the store's schema version and whether ``tesla_alembic_version`` records it; raises the
    store's newer-schema :class:`StoreError` for a store written by a newer release."""
    revision, _, legacy = _state(first, db.engine)
    version = _version(db, revision, legacy, latest)
    return version, revision is not None and revision_number(revision) == version


def _sa_engine(db: Any) -> Any:
    import sqlalchemy as sa

    if db.engine == "sqlite":
        engine = sa.create_engine(sa.engine.URL.create("sqlite", database=str(db.path)), poolclass=sa.pool.NullPool,
                                  connect_args={"timeout": db.timeout})

        @sa.event.listens_for(engine, "connect")
        def _no_implicit_transactions(dbapi_conn: Any, _record: Any) -> None:
            dbapi_conn.isolation_level = None  # every statement, DDL included, inside our own BEGIN ... COMMIT
            # a table rebuilt by a step must not cascade into the rows that point to it (set outside a transaction)
            dbapi_conn.execute("PRAGMA foreign_keys = OFF")

        @sa.event.listens_for(engine, "begin")
        def _write_lock(conn: Any) -> None:
            conn.exec_driver_sql("BEGIN IMMEDIATE")

        return engine
    url = sa.engine.make_url(db.url).set(drivername="postgresql+psycopg")
    return sa.create_engine(url, poolclass=sa.pool.NullPool, connect_args={
        "connect_timeout": max(1, round(min(db.timeout, 30))), "application_name": "tesla_lab"})


def upgrade(db: Any, latest: int) -> None:
    """Bring ``db`` (a :class:`~tesla_lab.store.db.Database` or :class:`~tesla_lab.store.pg.PgDatabase`) to schema
    version ``latest`` with Alembic: stamp a store that predates Alembic with its version, then run the missing
    revisions, all in one transaction under the store's write lock."""
    from alembic import command
    from alembic.config import Config
    from sqlalchemy.exc import DBAPIError

    if latest > 0 and not (SCRIPTS / "versions" / f"{revision_id(latest)}.py").is_file():
        raise StoreError(f"schema version {latest} has no Alembic revision in {SCRIPTS / 'versions'}; add "
                         f"{revision_id(latest)}.py (a copy of the previous one with the numbers moved on)")
    engine = _sa_engine(db)
    try:
        with engine.connect() as conn:
            with conn.begin():
                if db.engine != "sqlite":
                    conn.exec_driver_sql(f"SET LOCAL lock_timeout = {int(db.timeout * 1000)}")
                    from tesla_lab.store.pg import WRITE_LOCK

                    conn.exec_driver_sql(f"SELECT pg_advisory_xact_lock({WRITE_LOCK})")
                revision, _, legacy = _state(lambda sql: conn.exec_driver_sql(sql).fetchone(), db.engine)
                current = _version(db, revision, legacy, latest)  # another process may have migrated meanwhile
                cfg = Config()
                cfg.set_main_option("script_location", str(SCRIPTS))
                cfg.attributes.update(connection=conn, store=db, steps=db._migrations, current=current)
                if revision is None and current > 0:
                    logger.info("%s: schema version %d stamped as Alembic revision %s", db.path, current,
                                revision_id(current))
                    command.stamp(cfg, revision_id(current))
                if current < latest:
                    command.upgrade(cfg, revision_id(latest))
                _finish(conn, db, latest)
    except DBAPIError as exc:
        orig = exc.orig
        if isinstance(orig, sqlite3.Error) and hasattr(db, "_error"):
            raise db._error(orig) from exc
        raise StoreError(f"migrating {db.path} to schema version {latest} failed ({orig}); the store was left "
                         "unchanged") from exc
    finally:
        engine.dispose()


def _finish(conn: Any, db: Any, latest: int) -> None:
    """Keep the legacy version marker in step and, on SQLite, check the foreign keys (a break rolls back)."""
    if db.engine == "sqlite":
        broken = conn.exec_driver_sql("PRAGMA foreign_key_check").fetchall()
        if broken:
            raise StoreError(f"migrating {db.path} to schema version {latest} would break {len(broken)} foreign "
                             f"key(s) (first: {tuple(broken[0])}); the file was left unchanged")
        conn.exec_driver_sql(f"PRAGMA user_version = {int(latest)}")
        return
    conn.exec_driver_sql("CREATE TABLE IF NOT EXISTS tesla_schema_version (version BIGINT NOT NULL)")
    conn.exec_driver_sql("DELETE FROM tesla_schema_version")
    conn.exec_driver_sql(f"INSERT INTO tesla_schema_version (version) VALUES ({int(latest)})")


def apply_step(version: int) -> None:
    """Run the statements of schema step ``version`` (``steps[version - 1]``) in the running Alembic migration:
    SQLite's own, or PostgreSQL's (:data:`~tesla_lab.store.schema.POSTGRES_STEPS` or the translation)."""
    from alembic import context, op
    from sqlalchemy.exc import DBAPIError

    attrs = context.config.attributes
    db, steps, current = attrs["store"], attrs["steps"], attrs["current"]
    statements = tuple(steps[version - 1])
    bind = op.get_bind()
    if bind.dialect.name == "postgresql":
        from tesla_lab.store.pg_sql import ddl_to_pg
        from tesla_lab.store.schema import POSTGRES_STEPS

        statements = POSTGRES_STEPS.get(version - 1) or tuple(ddl_to_pg(s) for s in statements)
    plain = bind.execution_options(no_parameters=True)  # no bind parameters: a '%' or ':' is the SQL's own
    try:
        for statement in statements:
            plain.exec_driver_sql(statement)
    except DBAPIError as exc:
        orig = exc.orig
        if isinstance(orig, sqlite3.Error) and _is_fatal(orig):
            raise
        what = "file" if db.engine == "sqlite" else "database"
        raise StoreError(f"migrating {db.path} from schema version {version - 1} to {version} failed ({orig}); the "
                         f"{what} was left unchanged at version {current}") from exc
    logger.info("%s: schema migrated to version %d", db.path, version)


def _is_fatal(exc: sqlite3.Error) -> bool:
    from tesla_lab.store.sqlite_errors import _is_corrupt, _is_disk_problem, _is_locked

    return _is_corrupt(exc) or _is_locked(exc) or _is_disk_problem(exc)


def run_env(context: Any) -> None:
    """The body of ``migrations/env.py``: migrate on the connection :func:`upgrade` passes in (its transaction)."""
    context.configure(connection=context.config.attributes["connection"], target_metadata=None,
                      version_table=VERSION_TABLE)
    with context.begin_transaction():
        context.run_migrations()
