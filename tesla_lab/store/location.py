"""Where a project's store lives: the embedded SQLite file (default) or a PostgreSQL server shared by a team.

The store is chosen, in this order, by the environment variable ``TESLA_STORE_URL``, the ``store:`` key of
``tesla.yaml``, else ``<project>/.tesla/store.db``. Accepted URLs: ``postgresql://user[:password]@host[:port]/db``
(also ``postgres://`` and SQLAlchemy's ``postgresql+psycopg://``) and ``sqlite:///path/to/store.db`` (a relative
path is taken from the project folder). Artifacts follow ``artifacts:`` (a local folder by default; any fsspec URL
such as ``s3://bucket/prefix`` or ``file:///shared/artifacts``).

>>> from pathlib import Path
>>> store_location(Path("/p"), {}, env={}).describe()
'sqlite file /p/.tesla/store.db (default)'
>>> store_location(Path("/p"), {"store": "postgresql://ann:secret@db.lan/lab"}, env={}).describe()
'postgresql://ann:***@db.lan/lab (tesla.yaml store:)'
>>> store_location(Path("/p"), {"store": "mysql://db/lab"}, env={})
Traceback (most recent call last):
...
tesla_lab.errors.ConfigError: tesla.yaml store: 'mysql://db/lab' is not a store URL TESLA Lab can open; ...
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from tesla_lab.errors import ConfigError

__all__ = ["StoreLocation", "store_location", "redact_url", "ENV_STORE_URL", "ENV_ARTIFACTS_URL"]

ENV_STORE_URL = "TESLA_STORE_URL"
ENV_ARTIFACTS_URL = "TESLA_ARTIFACTS_URL"
_PG_SCHEMES = ("postgresql", "postgres", "postgresql+psycopg")
_FIX = ("use postgresql://user@host:port/dbname (a PostgreSQL server) or sqlite:///path/to/store.db, or remove it "
        "for the default .tesla/store.db")


def redact_url(url: str) -> str:
    """``url`` with its password replaced by ``***`` (for messages and logs).

    >>> redact_url("postgresql://ann:pw@host:5432/db"), redact_url("postgresql://host/db")
    ('postgresql://ann:***@host:5432/db', 'postgresql://host/db')
    """
    try:
        parts = urlsplit(url)
    except ValueError:
        return "<unparsable URL>"
    if parts.password is None:
        return url
    netloc = f"{parts.username or ''}:***@{parts.hostname or ''}" + (f":{parts.port}" if parts.port else "")
    return urlunsplit((parts.scheme, netloc, parts.path, parts.query, parts.fragment))


@dataclass(frozen=True)
class StoreLocation:
    """The store of a project: ``engine`` (``'sqlite'`` or ``'postgresql'``), the URL or file, and where that
    choice came from (``source``); ``artifacts`` is the artifact folder or fsspec URL."""

    engine: str
    url: str
    path: Path | None
    source: str
    artifacts: str

    def describe(self) -> str:
        """One line for ``tesla doctor`` and the CLI (never shows a password)."""
        where = f"sqlite file {self.path}" if self.engine == "sqlite" else redact_url(self.url)
        return f"{where} ({self.source})"


def _check_pg(url: str, what: str) -> str:
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018  (raises ValueError on a port that is not a number)
    except ValueError as exc:
        raise ConfigError(f"{what} {redact_url(url)!r} is not a valid URL ({exc}); {_FIX}") from exc
    if not parts.path.strip("/"):
        raise ConfigError(f"{what} {redact_url(url)!r} names no database; add it after the host, e.g. "
                          "postgresql://user@host:5432/tesla")
    scheme = "postgresql"
    return urlunsplit((scheme, parts.netloc, parts.path, parts.query, parts.fragment))


def store_location(root: Path, config: Mapping[str, Any], *, env: Mapping[str, str] | None = None) -> StoreLocation:
    """The store of the project at ``root`` with ``tesla.yaml`` ``config``; raises :class:`ConfigError` naming a
    value that is not a usable URL, with the forms that are."""
    env = os.environ if env is None else env
    artifacts = env.get(ENV_ARTIFACTS_URL) or config.get("artifacts") or str(root / ".tesla" / "artifacts")
    if not isinstance(artifacts, str):
        raise ConfigError(f"tesla.yaml artifacts: must be a folder or an fsspec URL (s3://bucket/prefix); got "
                          f"{artifacts!r}")
    if "://" not in artifacts:  # a folder: relative to the project
        artifacts = str(root / Path(artifacts).expanduser())
    if env.get(ENV_STORE_URL):
        value, source = env[ENV_STORE_URL], ENV_STORE_URL
    elif config.get("store") is not None:
        value, source = config["store"], "tesla.yaml store:"
    else:
        path = root / ".tesla" / "store.db"
        return StoreLocation("sqlite", path.as_uri(), path, "default", artifacts)
    if not isinstance(value, str) or "://" not in value:
        raise ConfigError(f"{source} {value!r} is not a store URL; {_FIX}")
    scheme = value.split("://", 1)[0].lower()
    if scheme in _PG_SCHEMES:
        return StoreLocation("postgresql", _check_pg(value, source), None, source, artifacts)
    if scheme == "sqlite":
        raw = value.split("://", 1)[1]
        raw = raw[1:] if raw.startswith("/") else raw  # sqlite:///rel/path, sqlite:////abs/path (SQLAlchemy's form)
        if not raw:
            raise ConfigError(f"{source} {value!r} names no file; {_FIX}")
        path = Path(raw).expanduser()
        path = path if path.is_absolute() else root / path
        return StoreLocation("sqlite", path.as_uri(), path, source, artifacts)
    raise ConfigError(f"{source} {redact_url(value)!r} is not a store URL TESLA Lab can open; {_FIX}")
