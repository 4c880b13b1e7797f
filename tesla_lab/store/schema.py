"""The store's schema: :data:`MIGRATIONS` ``[i]`` holds the statements that bring schema version ``i`` to ``i + 1``
(run by :class:`~tesla_lab.store.db.Database` inside one transaction each); :data:`SCHEMA_VERSION` is the version
this code writes.

>>> SCHEMA_VERSION == len(MIGRATIONS), MIGRATIONS[0][0]
(True, 'CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)')
"""

from __future__ import annotations

__all__ = ["MIGRATIONS", "SCHEMA_VERSION", "POSTGRES_STEPS"]

# Timestamps are Unix seconds (REAL, UTC); JSON columns hold text. NaN metric values are stored as NULL (SQLite
# turns a NaN REAL into NULL) and read back as NaN.
_V1: tuple[str, ...] = (
    "CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)",
    "INSERT INTO meta(key, value) VALUES ('created', strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))",
    """CREATE TABLE runs (
        id TEXT PRIMARY KEY,
        name TEXT NOT NULL,
        status TEXT NOT NULL CHECK (status IN ('queued', 'running', 'finished', 'failed', 'stopped')),
        created REAL NOT NULL,
        started REAL,
        ended REAL,
        duration REAL,
        device TEXT,
        author TEXT,
        git_commit TEXT,
        config TEXT NOT NULL DEFAULT '{}',
        dataset_name TEXT,
        dataset_version INTEGER,
        parent_run_id TEXT REFERENCES runs(id) ON DELETE SET NULL,
        pid INTEGER,
        stop_requested INTEGER NOT NULL DEFAULT 0,
        error TEXT
    )""",
    "CREATE INDEX runs_by_created ON runs(created)",
    "CREATE INDEX runs_by_status ON runs(status)",
    """CREATE TABLE params (
        run_id TEXT NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
        key TEXT NOT NULL,
        value TEXT NOT NULL,
        PRIMARY KEY (run_id, key)
    ) WITHOUT ROWID""",
    """CREATE TABLE metrics (
        run_id TEXT NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
        key TEXT NOT NULL,
        step INTEGER NOT NULL,
        value REAL,
        timestamp REAL NOT NULL,
        PRIMARY KEY (run_id, key, step)
    ) WITHOUT ROWID""",
    """CREATE TABLE artifacts (
        run_id TEXT NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
        name TEXT NOT NULL,
        kind TEXT NOT NULL,
        sha256 TEXT NOT NULL,
        size INTEGER NOT NULL,
        created REAL NOT NULL,
        PRIMARY KEY (run_id, name)
    )""",
    "CREATE INDEX artifacts_by_sha ON artifacts(sha256)",
    """CREATE TABLE models (
        name TEXT NOT NULL,
        version INTEGER NOT NULL,
        run_id TEXT REFERENCES runs(id) ON DELETE SET NULL,
        sha256 TEXT NOT NULL,
        stage TEXT NOT NULL DEFAULT 'none' CHECK (stage IN ('none', 'staging', 'production', 'archived')),
        created REAL NOT NULL,
        description TEXT NOT NULL DEFAULT '',
        metadata TEXT NOT NULL DEFAULT '{}',
        PRIMARY KEY (name, version)
    )""",
    # at most one production version per model name, enforced by the database itself
    "CREATE UNIQUE INDEX models_one_production ON models(name) WHERE stage = 'production'",
    """CREATE TABLE dataset_versions (
        name TEXT NOT NULL,
        version INTEGER NOT NULL,
        sha256 TEXT NOT NULL,
        n_rows INTEGER NOT NULL,
        n_cols INTEGER NOT NULL,
        schema TEXT NOT NULL,
        created REAL NOT NULL,
        message TEXT NOT NULL DEFAULT '',
        source TEXT,
        PRIMARY KEY (name, version)
    )""",
    """CREATE TABLE dataset_heads (
        name TEXT PRIMARY KEY,
        version INTEGER NOT NULL,
        updated REAL NOT NULL,
        FOREIGN KEY (name, version) REFERENCES dataset_versions(name, version)
    )""",
)

# version 2: notebook schedules (tesla_lab.jobs.schedule). A slot is claimed by inserting (schedule_id,
# scheduled_time) before the notebook runs; the UNIQUE constraint makes every slot fire at most once, also with two
# schedulers or a restart in the same minute.
_V2: tuple[str, ...] = (
    """CREATE TABLE schedules (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        name TEXT NOT NULL UNIQUE,
        cron TEXT NOT NULL,
        timezone TEXT NOT NULL DEFAULT 'UTC',
        notebook TEXT NOT NULL,
        parameters TEXT NOT NULL DEFAULT '{}',
        enabled INTEGER NOT NULL DEFAULT 1,
        created REAL NOT NULL
    )""",
    """CREATE TABLE schedule_runs (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        schedule_id INTEGER NOT NULL REFERENCES schedules(id) ON DELETE CASCADE,
        scheduled_time REAL NOT NULL,
        status TEXT NOT NULL CHECK (status IN ('running', 'finished', 'failed', 'stopped')),
        claimed REAL NOT NULL,
        ended REAL,
        missed INTEGER NOT NULL DEFAULT 0,
        run_id TEXT REFERENCES runs(id) ON DELETE SET NULL,
        output_sha256 TEXT,
        error TEXT,
        host TEXT,
        pid INTEGER,
        UNIQUE (schedule_id, scheduled_time)
    )""",
    "CREATE INDEX schedule_runs_by_status ON schedule_runs(status)",
)

# version 3: the run lifecycle (tesla_lab.store.liveness). A run records the process that trains it (pid, the
# process's start time, the host), so a run whose process died is marked 'crashed' the next time the project is
# opened (a pid alone can be reused after a reboot); 'resumed' counts how often a run was continued from its
# checkpoint. SQLite cannot change a CHECK constraint in place, so the table is rebuilt (SQLite's documented
# twelve-step procedure; migrations run with foreign keys off, so the children's rows survive the DROP).
_V3: tuple[str, ...] = (
    """CREATE TABLE runs_v3 (
        id TEXT PRIMARY KEY,
        name TEXT NOT NULL,
        status TEXT NOT NULL CHECK (status IN ('queued', 'running', 'finished', 'failed', 'stopped', 'crashed')),
        created REAL NOT NULL,
        started REAL,
        ended REAL,
        duration REAL,
        device TEXT,
        author TEXT,
        git_commit TEXT,
        config TEXT NOT NULL DEFAULT '{}',
        dataset_name TEXT,
        dataset_version INTEGER,
        parent_run_id TEXT REFERENCES runs(id) ON DELETE SET NULL,
        pid INTEGER,
        stop_requested INTEGER NOT NULL DEFAULT 0,
        error TEXT,
        pid_started REAL,
        host TEXT,
        resumed INTEGER NOT NULL DEFAULT 0
    )""",
    "INSERT INTO runs_v3 (id, name, status, created, started, ended, duration, device, author, git_commit, config, "
    "dataset_name, dataset_version, parent_run_id, pid, stop_requested, error) SELECT id, name, status, created, "
    "started, ended, duration, device, author, git_commit, config, dataset_name, dataset_version, parent_run_id, pid, "
    "stop_requested, error FROM runs",
    "DROP TABLE runs",
    "ALTER TABLE runs_v3 RENAME TO runs",
    "CREATE INDEX runs_by_created ON runs(created)",
    "CREATE INDEX runs_by_status ON runs(status)",
)

# version 4: a run's tags (a JSON list of strings), a free-text note and an archived flag (hidden from the runs list,
# kept in the store); see tesla_lab.store.annotations. Plain ADD COLUMNs: the same SQL works on every backend.
_V4: tuple[str, ...] = (
    "ALTER TABLE runs ADD COLUMN tags TEXT NOT NULL DEFAULT '[]'",
    "ALTER TABLE runs ADD COLUMN note TEXT NOT NULL DEFAULT ''",
    "ALTER TABLE runs ADD COLUMN archived INTEGER NOT NULL DEFAULT 0",
)

#: ``MIGRATIONS[i]`` is the list of statements that bring schema version ``i`` to ``i + 1``. Append, never edit; each
#: step has a tiny Alembic revision ``tesla_lab/store/migrations/versions/000{i+1}.py`` that runs it (copy the last).
MIGRATIONS: tuple[tuple[str, ...], ...] = (_V1, _V2, _V3, _V4)
#: The schema version this code writes.
SCHEMA_VERSION = len(MIGRATIONS)

#: PostgreSQL's own statements for the migrations whose SQLite form cannot be translated word for word
#: (:func:`~tesla_lab.store.pg_sql.ddl_to_pg` translates all others): ``POSTGRES_STEPS[i]`` replaces
#: ``MIGRATIONS[i]`` there. Version 3 rebuilds ``runs`` on SQLite to change its CHECK; PostgreSQL alters it in place.
POSTGRES_STEPS: dict[int, tuple[str, ...]] = {
    2: (
        "ALTER TABLE runs DROP CONSTRAINT runs_status_check, ADD CONSTRAINT runs_status_check CHECK (status IN "
        "('queued', 'running', 'finished', 'failed', 'stopped', 'crashed')), ADD COLUMN pid_started DOUBLE PRECISION, "
        "ADD COLUMN host TEXT, ADD COLUMN resumed BIGINT NOT NULL DEFAULT 0",
    ),
}
