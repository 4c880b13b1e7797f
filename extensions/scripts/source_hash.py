"""The hash of the JupyterLab extension's sources (what scripts/stamp-sources.js writes after a build).

``python extensions/scripts/source_hash.py --check`` exits 0 when tesla_lab/labextension was built from the
current sources, 1 when it must be rebuilt (`make labextension`).
"""

from __future__ import annotations

import hashlib
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
STAMP = ROOT.parent / "tesla_lab" / "labextension" / "source-hash.txt"


def _walk(folder: str) -> list[str]:
    base = ROOT / folder
    return [p.relative_to(ROOT).as_posix() for p in base.rglob("*")
            if p.is_file() and "__tests__" not in p.relative_to(base).parts]


def source_hash() -> str:
    """sha256 over the sorted relative paths and contents of package.json, yarn.lock, tsconfig.json, src/, style/."""
    files = sorted(["package.json", "yarn.lock", "tsconfig.json", *_walk("src"), *_walk("style")])
    digest = hashlib.sha256()
    for rel in files:
        digest.update(rel.encode() + b"\0")
        digest.update((ROOT / rel).read_bytes())
        digest.update(b"\0")
    return digest.hexdigest()


def built_hash() -> str | None:
    """The hash stamped by the last build, or None when there is no build."""
    return STAMP.read_text().strip() if STAMP.is_file() else None


if __name__ == "__main__":
    if "--check" in sys.argv[1:]:
        sys.exit(0 if built_hash() == source_hash() else 1)
    sys.stdout.write(source_hash() + "\n")
