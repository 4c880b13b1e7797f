"""Layers point one way: a module-level import may only reach the same or a lower layer (STYLE.md habit 1).

A method that delegates to a higher layer (``Model.fit`` → ``train.Trainer``) imports inside the function; that is
allowed and not checked here.
"""

import ast
from pathlib import Path

import pytest

PKG = Path(__file__).resolve().parents[1] / "tesla_lab"
LEVELS = {
    "errors": 0, "_registry": 0, "_atomic": 0, "_layer_options": 0, "utils": 0, "optim": 0, "loss": 0,
    "tn": 1, "nn": 2, "keras": 2,  # tesla_lab.keras: the Keras 3 counterpart of nn, on tn's shape planning
    "data": 3, "datasets": 3, "metrics": 3, "train": 4, "models": 4, "store": 5, "workflow": 6,
    "jobs": 7, "serve": 7,
    "automl": 7, "jupyter": 8, "ui": 8, "cli": 9, "demo": 9, "__main__": 10,
}


def _layer(parts: list[str]) -> int | None:
    return LEVELS.get(parts[0].removesuffix(".py")) if parts else None


def _top_level_imports(tree: ast.Module):
    for node in tree.body:
        if isinstance(node, ast.Import):
            yield from (a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            yield node.module
        elif isinstance(node, ast.Try):
            for sub in node.body:
                if isinstance(sub, ast.ImportFrom) and sub.module:
                    yield sub.module


MODULES = [p for p in PKG.rglob("*.py") if p.name != "__init__.py" or p.parent != PKG]


@pytest.mark.parametrize("path", MODULES, ids=lambda p: str(p.relative_to(PKG)))
def test_module_imports_only_point_downward(path):
    own = _layer(list(path.relative_to(PKG).parts))
    assert own is not None, f"{path.relative_to(PKG)} is in no layer; add it to LEVELS in this test"
    tree = ast.parse(path.read_text())
    for name in _top_level_imports(tree):
        parts = name.split(".")
        if parts[0] != "tesla_lab" or len(parts) == 1:
            continue
        target = _layer(parts[1:])
        assert target is not None and target <= own, (
            f"{path.relative_to(PKG)} (layer {own}) imports {name} (layer {target}): imports must point downward"
        )
