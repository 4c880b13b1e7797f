"""Where downloaded data sets live, and the one download routine they share (checked, atomic, offline-friendly).

Files are cached under ``~/.tesla/datasets/<data set>/`` (``TESLA_DATA_DIR`` moves the root). A missing file is
downloaded into a temporary file in the same folder, its SHA-256 checked against the published sum, and only then
renamed into place: an interrupted or corrupted download never leaves a file that looks complete. Files already in
the cache are used as they are (no network): copy them there by hand on an offline machine.

>>> dataset_folder("mnist", "mnist") == data_home() / "mnist"
True
"""

from __future__ import annotations

import hashlib
import logging
import os
from collections.abc import Mapping
from pathlib import Path

from tesla_lab._atomic import atomic_path
from tesla_lab.errors import ChecksumError, DownloadError

__all__ = ["DATA_DIR_ENV", "DownloadError", "ChecksumError", "data_home", "dataset_folder", "fetch_files"]

log = logging.getLogger(__name__)

#: environment variable that overrides the cache root ``~/.tesla/datasets``
DATA_DIR_ENV = "TESLA_DATA_DIR"
_CHUNK = 1 << 20


def data_home() -> Path:
    """The cache root: ``$TESLA_DATA_DIR`` when set, else ``~/.tesla/datasets``.

    >>> data_home() == (Path(os.environ["TESLA_DATA_DIR"]) if os.environ.get("TESLA_DATA_DIR")
    ...                 else Path.home() / ".tesla" / "datasets")
    True
    """
    env = os.environ.get(DATA_DIR_ENV)
    return Path(env).expanduser() if env else Path.home() / ".tesla" / "datasets"


def dataset_folder(path: str | os.PathLike[str] | None, default: str) -> Path:
    """The folder of one data set: ``default`` (or a relative ``path``) under :func:`data_home`, an absolute
    ``path`` as it is.

    >>> dataset_folder("/srv/mnist", "mnist")
    PosixPath('/srv/mnist')
    """
    folder = Path(path).expanduser() if path is not None else Path(default)
    return folder if folder.is_absolute() else data_home() / folder


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(_CHUNK), b""):
            digest.update(block)
    return digest.hexdigest()


def _by_hand(dataset: str, folder: Path, files: Mapping[str, str], base_url: str, mirror_env: str) -> str:
    names = ", ".join(files)
    return (f"to use {dataset} offline, download {names} from {base_url} on a machine with network access and copy "
            f"them into {folder} (mkdir -p it; set {DATA_DIR_ENV} to move the cache root), or point {mirror_env} / "
            "load_data(url=...) at a reachable mirror")


def _download(url: str, target: Path, sha256: str, timeout: float) -> None:
    """Stream ``url`` into a temporary file next to ``target``; keep it as ``target`` only if the sum matches."""
    import urllib.request  # imported here: `import tesla_lab` must not pay for http/ssl

    if not url.startswith(("http://", "https://")):
        raise DownloadError(f"download URL must start with http:// or https://; got {url!r}")
    with atomic_path(target, suffix=".part") as tmp:  # removed again on any error: no half file in the cache
        digest = hashlib.sha256()
        with urllib.request.urlopen(url, timeout=timeout) as response, open(tmp, "wb") as out:  # noqa: S310
            for block in iter(lambda: response.read(_CHUNK), b""):
                digest.update(block)
                out.write(block)
        got = digest.hexdigest()
        if got != sha256.lower():
            raise ChecksumError(
                f"downloaded {target.name} from {url} has SHA-256 {got}, but the published sum is {sha256}: the "
                f"server sent a different or damaged file, so it was not kept in {target.parent}; try again later "
                "or use another mirror"
            )


def fetch_files(dataset: str, files: Mapping[str, str], folder: Path, base_url: str, *, mirror_env: str,
                timeout: float = 60.0) -> dict[str, Path]:
    """Make sure every file of ``files`` (name -> SHA-256) is in ``folder``, downloading the missing ones from
    ``base_url``; returns name -> path. Cached files are used without any request.

    >>> import tempfile
    >>> folder = Path(tempfile.mkdtemp())
    >>> _ = (folder / "a.gz").write_bytes(b"cached")
    >>> fetch_files("demo", {"a.gz": "0" * 64}, folder, "http://127.0.0.1:9/", mirror_env="DEMO_MIRROR")["a.gz"].name
    'a.gz'
    """
    paths = {name: folder / name for name in files}
    missing = [name for name, path in paths.items() if not path.is_file()]
    if not missing:
        return paths
    base = base_url if base_url.endswith("/") else base_url + "/"
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise DownloadError(f"cannot create the {dataset} cache folder {folder} ({exc}); set {DATA_DIR_ENV} to a "
                            "writable folder") from exc
    for name in missing:
        url = base + name
        log.info("downloading %s %s from %s into %s", dataset, name, url, folder)
        try:
            _download(url, paths[name], files[name], timeout)
        except DownloadError:
            raise
        except (OSError, ValueError) as exc:  # URLError, HTTPError, timeouts, refused connections, bad URLs
            reason = getattr(exc, "reason", None) or exc
            raise DownloadError(
                f"cannot download {dataset} file {name} from {url} ({reason}); "
                f"missing in the cache {folder}: {', '.join(missing)}. "
                + _by_hand(dataset, folder, files, base, mirror_env)
            ) from exc
    return paths
