"""The Optuna study several AutoML processes share: where it is stored, what the leader leaves in it for workers,
and the leaderboard rows read back from it.

A search that runs in one process keeps its study in memory (or in ``storage=``). With ``workers > 1`` or a
worker joining from another machine, the study lives in a storage every process opens:

- an Optuna RDB URL: ``postgresql://user@host/db`` (opened with psycopg 3, the driver of the PostgreSQL store:
  see :func:`rdb_url`), ``mysql://...``, ``sqlite:///path/optuna.db`` (one machine; SQLite's locking is unreliable
  on network file systems);
- ``'project'`` (:func:`project_storage`): the project's own store database when the store is on PostgreSQL (in
  a schema ``optuna`` of its own, apart from TESLA's tables), else ``.tesla/optuna.db``; with the store on
  PostgreSQL it is also where ``workers > 1`` keep the study when no storage is given;
- ``journal:///abs/path/search.log``: Optuna's journal storage, an append-only file on a file system every worker
  mounts (no database server needed).

Each trial's :class:`~tesla_lab.automl.TrialRecord` is kept as a user attribute of the trial, so the leader's
leaderboard lists the trials of every worker, with the worker's ``host:pid``.

>>> storage_kind("journal:///shared/search.log"), storage_kind("postgresql://me@db/optuna")
('journal', 'rdb')
>>> open_storage("journal://relative.log")
Traceback (most recent call last):
...
tesla_lab.errors.ConfigError: a journal storage URL needs an absolute file path, 'journal:///abs/path/search.log' \
(three slashes); got 'journal://relative.log'
"""

from __future__ import annotations

import logging
import os
import socket
from collections.abc import Mapping
from importlib.util import find_spec
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from tesla_lab.automl.leaderboard import TrialRecord
from tesla_lab.errors import ConfigError, MissingDependencyError
from tesla_lab.store import Project
from tesla_lab.store.location import redact_url

__all__ = ["open_storage", "storage_kind", "rdb_url", "project_storage", "worker_id", "trial_records",
           "JOURNAL_SCHEME", "STUDY_ATTRS", "OPTUNA_SCHEMA"]

logger = logging.getLogger(__name__)

JOURNAL_SCHEME = "journal://"
RECORD_ATTR = "tesla_record"
SURPLUS_ATTR = "tesla_surplus"  # a trial started after max_trials was reached by the other workers: never run
READY_PREFIX = "tesla_ready:"
# what the leader stores in the study for the workers that join it
STUDY_ATTRS = ("tesla_run_id", "tesla_name", "tesla_config", "tesla_deadline")
#: the PostgreSQL schema of the studies kept in the project store's database (Optuna's tables, apart from TESLA's)
OPTUNA_SCHEMA = "optuna"
_PG_SCHEMES = ("postgresql", "postgres")


def storage_kind(url: str) -> str:
    """``'journal'`` for a ``journal:///`` file, else ``'rdb'`` (an SQLAlchemy URL Optuna opens itself).

    >>> storage_kind("sqlite:///optuna.db")
    'rdb'
    """
    return "journal" if str(url).startswith(JOURNAL_SCHEME) else "rdb"


def journal_path(url: str) -> Path:
    """The file of a ``journal:///abs/path.log`` URL (an absolute path is required).

    >>> journal_path("journal:///shared/search.log").as_posix()
    '/shared/search.log'
    """
    path = url[len(JOURNAL_SCHEME):]
    if not path.startswith("/"):
        raise ConfigError(f"a journal storage URL needs an absolute file path, 'journal:///abs/path/search.log' (three "
                          f"slashes); got {url!r}")
    return Path(path)


def rdb_url(url: str) -> str:
    """The SQLAlchemy URL Optuna opens for the RDB storage ``url``: a plain ``postgresql://`` (or ``postgres://``)
    URL gets psycopg 3's dialect, the driver the PostgreSQL store uses (SQLAlchemy 2.1 picks it by default, but 2.0
    would pick psycopg2, which is not installed); a URL naming its driver, and other databases, are kept as they
    are.

    >>> rdb_url("postgresql://ann@db.lan:5432/lab"), rdb_url("postgres://ann@db.lan/lab")
    ('postgresql+psycopg://ann@db.lan:5432/lab', 'postgresql+psycopg://ann@db.lan/lab')
    >>> rdb_url("postgresql+psycopg2://ann@db.lan/lab"), rdb_url("sqlite:///optuna.db")
    ('postgresql+psycopg2://ann@db.lan/lab', 'sqlite:///optuna.db')
    """
    scheme, _, rest = url.partition("://")
    if scheme.lower() not in _PG_SCHEMES:
        return url
    if find_spec("psycopg") is None:
        raise MissingDependencyError("an AutoML study on PostgreSQL needs psycopg 3: pip install "
                                     "'tesla-lab[postgres]' (or pip install 'psycopg[binary]')")
    return f"postgresql+psycopg://{rest}"


def with_search_path(url: str, schema: str) -> str:
    """``url`` with the libpq option that makes ``schema`` the connection's only schema (tables are created there).

    >>> with_search_path("postgresql://ann@db/lab", "optuna")
    'postgresql://ann@db/lab?options=-csearch_path%3Doptuna'
    >>> with_search_path("postgresql://ann@db/lab?sslmode=require", "optuna")
    'postgresql://ann@db/lab?sslmode=require&options=-csearch_path%3Doptuna'
    """
    parts = urlsplit(url)
    query = dict(parse_qsl(parts.query))
    query["options"] = " ".join(filter(None, [query.get("options"), f"-csearch_path={schema}"]))
    return urlunsplit((parts.scheme, parts.netloc, parts.path, urlencode(query), parts.fragment))


def project_storage(project: Project) -> str:
    """The storage ``'project'`` names: with the store on PostgreSQL, the store's own database, in the schema
    :data:`OPTUNA_SCHEMA` (created here; Optuna's tables stay apart from TESLA's), which every machine of the team
    reaches; with the SQLite store, the file ``.tesla/optuna.db`` (one machine).

    >>> import tempfile
    >>> project_storage(Project.init(tempfile.mkdtemp())).endswith("/.tesla/optuna.db")
    True
    """
    location = project.location
    if location.engine != "postgresql":
        return f"sqlite:///{project.path / '.tesla' / 'optuna.db'}"
    with project.db.transaction() as conn:  # the store's write lock: two processes never race to create it
        conn.execute(f"CREATE SCHEMA IF NOT EXISTS {OPTUNA_SCHEMA}")
    return with_search_path(location.url, OPTUNA_SCHEMA)


def open_storage(url: str) -> Any:
    """The Optuna storage ``url`` names: a ``JournalStorage`` over a ``journal:///`` file (its folder is created),
    else an ``RDBStorage`` connected to the database (:func:`rdb_url`; Optuna creates its tables on first use). A
    database that cannot be opened (server down, login refused, unknown driver) raises :class:`ConfigError` naming
    the URL without its password.

    >>> import tempfile
    >>> type(open_storage(f"journal://{tempfile.mkdtemp()}/s.log")).__name__
    'JournalStorage'
    >>> type(open_storage(f"sqlite:///{tempfile.mkdtemp()}/optuna.db")).__name__
    'RDBStorage'
    """
    if not isinstance(url, str) or "://" not in url:
        raise ConfigError(f"storage must be an Optuna RDB URL ('postgresql://user@host/db', 'sqlite:///optuna.db') or "
                          f"'journal:///abs/path/search.log'; got {url!r}")
    if storage_kind(url) == "rdb":
        return _open_rdb(url)
    from optuna.storages import JournalStorage
    from optuna.storages.journal import JournalFileBackend, JournalFileOpenLock

    path = journal_path(url)
    path.parent.mkdir(parents=True, exist_ok=True)
    # open(O_EXCL) lock files work on NFS too, where symlink locks may not
    return JournalStorage(JournalFileBackend(str(path), lock_obj=JournalFileOpenLock(str(path))))


def _open_rdb(url: str) -> Any:
    from optuna.storages import RDBStorage
    from sqlalchemy.exc import SQLAlchemyError

    try:
        return RDBStorage(rdb_url(url))
    except (SQLAlchemyError, ImportError) as exc:
        cause = str(getattr(exc, "orig", None) or exc).strip().splitlines()[0]
        raise ConfigError(f"cannot open the AutoML study storage {redact_url(url)!r}: {cause}; check the URL "
                          "(postgresql://user@host:port/db, sqlite:///abs/path/optuna.db), that the database server "
                          "runs and accepts this user, and that its driver is installed") from None


def worker_id() -> str:
    """``'host:pid'`` of this process, recorded with each trial it runs.

    >>> worker_id().endswith(f":{os.getpid()}")
    True
    """
    return f"{socket.gethostname()}:{os.getpid()}"


def trial_records(study: Any, max_trials: int | None = None) -> list[TrialRecord]:
    """The :class:`TrialRecord` of every trial of ``study`` that ended, whichever worker ran it (trials still
    running, and surplus ones started after ``max_trials`` was reached, are left out).

    >>> import optuna
    >>> optuna.logging.set_verbosity(optuna.logging.ERROR)
    >>> study = optuna.create_study()
    >>> study.optimize(lambda t: store_record(t, TrialRecord(t.number, "mlp", {}, "ok", 0.5, 1.0, 10, None)) or 0.5,
    ...                n_trials=2)
    >>> [r.trial for r in trial_records(study)]
    [0, 1]
    """
    records = []
    for trial in study.get_trials(deepcopy=False):
        data = trial.user_attrs.get(RECORD_ATTR)
        if trial.user_attrs.get(SURPLUS_ATTR) or data is None or trial.state.name in ("RUNNING", "WAITING"):
            continue
        if max_trials is not None and trial.number >= max_trials:
            continue
        records.append(record_from_dict(data))
    return sorted(records, key=lambda r: r.trial)


def record_from_dict(data: Mapping[str, Any]) -> TrialRecord:
    """A :class:`TrialRecord` from its :meth:`~TrialRecord.to_dict` form (unknown keys ignored).

    >>> record_from_dict({"trial": 3, "family": "mlp", "params": {}, "status": "ok", "val_score": 0.9,
    ...                   "fit_time": 1.0, "n_params": 5, "run_id": None, "later": 1}).trial
    3
    """
    names = TrialRecord.__dataclass_fields__
    return TrialRecord(**{k: v for k, v in data.items() if k in names})


def store_record(trial: Any, record: TrialRecord) -> None:
    """Keep ``record`` with the Optuna ``trial`` (JSON: the journal and RDB storages hold it for every worker)."""
    trial.set_user_attr(RECORD_ATTR, record.to_dict())


def ready_workers(study: Any) -> list[str]:
    """``host:pid`` of the workers that said they are ready (see :func:`mark_ready`)."""
    return sorted(k[len(READY_PREFIX):] for k in study.user_attrs if k.startswith(READY_PREFIX))


def mark_ready(study: Any) -> None:
    """Tell the leader this worker has loaded the data and starts taking trials."""
    study.set_user_attr(f"{READY_PREFIX}{worker_id()}", True)
