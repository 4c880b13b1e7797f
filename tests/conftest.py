"""Fixtures shared across test packages."""

import numpy as np
import pandas as pd
import pytest
from sklearn.datasets import load_iris


def iris_frame(seed: int = 0) -> pd.DataFrame:
    """Iris with text labels and a low-cardinality text feature, shuffled."""
    frame = load_iris(as_frame=True).frame
    frame["species"] = np.array(["setosa", "versicolor", "virginica"])[frame.pop("target")]
    frame.insert(0, "lab", np.where(np.arange(len(frame)) % 3 == 0, "north", "south"))
    return frame.sample(frac=1.0, random_state=seed).reset_index(drop=True)


@pytest.fixture(scope="session")
def iris_csv(tmp_path_factory):
    """``data.csv`` (120 rows) and ``test.csv`` (30 held-out rows)."""
    root = tmp_path_factory.mktemp("iris")
    frame = iris_frame()
    frame.iloc[:120].to_csv(root / "data.csv", index=False)
    frame.iloc[120:].to_csv(root / "test.csv", index=False)
    return root / "data.csv", root / "test.csv"



# --------------------------------------------------------------------------------------------- PostgreSQL
# A real PostgreSQL server for the store tests (no mocks): initdb into a temporary folder, pg_ctl start on a free
# loopback port, one database per test (CREATE DATABASE ... TEMPLATE: a copy of an already migrated one), stopped
# at the end of the session. Skipped, with the reason, only when no server binary is installed or it cannot start.
import glob  # noqa: E402
import itertools  # noqa: E402
import os  # noqa: E402
import pwd  # noqa: E402
import shutil  # noqa: E402
import socket  # noqa: E402
import subprocess  # noqa: E402
import tempfile  # noqa: E402


def find_pg_bin():
    """The folder of ``initdb`` and ``pg_ctl`` (PATH, else Debian's /usr/lib/postgresql/<newest>/bin), or None."""
    initdb, pg_ctl = shutil.which("initdb"), shutil.which("pg_ctl")
    if initdb and pg_ctl:
        return os.path.dirname(os.path.realpath(pg_ctl))
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/pg_ctl"), key=lambda p: int(p.split("/")[4]))
    return os.path.dirname(found[-1]) if found else None


class PgCluster:
    """A throwaway PostgreSQL server owned by this test session."""

    def __init__(self, bindir):
        self.bindir = bindir
        self.folder = tempfile.mkdtemp(prefix="tesla-pg-", dir="/tmp")  # short: the socket path has a length limit
        self.port = None
        self.prefix = []  # as root: run the server as an unprivileged user (initdb refuses root)
        self._ids = itertools.count()
        self._admin = None

    def _as_user(self):
        if os.geteuid() != 0:
            return
        for name in ("postgres", "nobody"):
            try:
                user = pwd.getpwnam(name)
            except KeyError:
                continue
            os.chown(self.folder, user.pw_uid, user.pw_gid)
            if shutil.which("setpriv"):
                self.prefix = ["setpriv", f"--reuid={user.pw_uid}", f"--regid={user.pw_gid}", "--clear-groups"]
            elif shutil.which("runuser"):
                self.prefix = ["runuser", "-u", name, "--"]
            else:
                raise RuntimeError("running as root without setpriv or runuser to drop to an unprivileged user")
            return
        raise RuntimeError("running as root and no unprivileged user (postgres, nobody) to run the server")

    def _run(self, *cmd):
        done = subprocess.run([*self.prefix, *cmd], capture_output=True, text=True, timeout=120, check=False)
        if done.returncode != 0:
            raise RuntimeError(f"{' '.join(cmd[:2])} failed: {(done.stderr or done.stdout).strip()[-500:]}")

    def start(self):
        self._as_user()
        data = os.path.join(self.folder, "data")
        self._run(os.path.join(self.bindir, "initdb"), "-D", data, "-U", "tesla", "--auth=trust", "--locale=C",
                  "-E", "UTF8", "--no-sync")
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            self.port = probe.getsockname()[1]
        options = (f"-c listen_addresses=127.0.0.1 -p {self.port} -k {self.folder} -c fsync=off "
                   "-c full_page_writes=off -c synchronous_commit=off -c max_connections=400")
        self._run(os.path.join(self.bindir, "pg_ctl"), "-D", data, "-w", "-t", "60", "-o", options,
                  "-l", os.path.join(self.folder, "server.log"), "start")
        import psycopg

        self._admin = psycopg.connect(self.url("postgres"), autocommit=True)
        self._admin.execute("CREATE DATABASE tesla_template")
        from tesla_lab.store.pg import PgDatabase

        template = PgDatabase(self.url("tesla_template"))  # migrated once; every test copies it
        template.close()

    def url(self, dbname):
        return f"postgresql://tesla@127.0.0.1:{self.port}/{dbname}"

    def new_database(self, *, empty=False):
        """A new database: a copy of the migrated template, or ``empty`` (no TESLA tables)."""
        name = f"t{os.getpid()}_{next(self._ids)}"
        self._admin.execute(f"CREATE DATABASE {name} TEMPLATE {'template0' if empty else 'tesla_template'}")
        return self.url(name)

    def drop_database(self, url):
        """Drop a database of :meth:`new_database` (its connections are ended first): keeps the disk use small."""
        try:
            self._admin.execute(f"DROP DATABASE IF EXISTS {url.rsplit('/', 1)[1]} WITH (FORCE)")
        except Exception as exc:  # noqa: BLE001  (a leftover database only costs disk space until the session ends)
            print(f"could not drop {url}: {exc}")

    def stop(self):
        if self._admin is not None:
            self._admin.close()
        data = os.path.join(self.folder, "data")
        if self.port is not None and os.path.isdir(data):
            subprocess.run([*self.prefix, os.path.join(self.bindir, "pg_ctl"), "-D", data, "-m", "immediate", "-w",
                            "stop"], capture_output=True, timeout=60, check=False)
        shutil.rmtree(self.folder, ignore_errors=True)


@pytest.fixture(scope="session")
def pg_cluster():
    """The session's PostgreSQL server (started on first use)."""
    pytest.importorskip("psycopg", reason="psycopg 3 is missing: pip install 'tesla-lab[test]'")
    bindir = find_pg_bin()
    if bindir is None:
        pytest.skip("no PostgreSQL server binary (initdb/pg_ctl): apt-get install postgresql to run the PostgreSQL "
                    "store tests")
    cluster = PgCluster(bindir)
    try:
        cluster.start()
    except RuntimeError as exc:
        cluster.stop()
        pytest.skip(f"cannot start a PostgreSQL server here: {exc}")
    yield cluster
    cluster.stop()


@pytest.fixture
def pg_url(pg_cluster):
    """The URL of a new database holding an empty, current TESLA store (dropped after the test)."""
    url = pg_cluster.new_database()
    yield url
    pg_cluster.drop_database(url)


@pytest.fixture(params=["sqlite", "postgresql"])
def store_engine(request, monkeypatch):
    """Run the test on both store engines: PostgreSQL through ``TESLA_STORE_URL`` (what a team sets)."""
    monkeypatch.delenv("TESLA_STORE_URL", raising=False)
    if request.param == "postgresql" and request.node.get_closest_marker("sqlite_only"):
        pytest.skip("checks the SQLite store file itself")
    if request.param == "postgresql":
        monkeypatch.setenv("TESLA_STORE_URL", request.getfixturevalue("pg_url"))
    return request.param
