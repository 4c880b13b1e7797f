"""How the views print values: numbers rounded for reading (4 significant digits; whole numbers as integers, ``32``
not ``32.0``), a model's layer list as a line a person reads, and a comparison of runs with the rows that differ
marked. Pure functions shared by the dashboard and the notebook widgets.

>>> readable(32.0), readable(52650), readable(0.912345678), readable(17672.31), readable(True), readable(None)
('32', '52,650', '0.9123', '17,670', 'yes', '')
>>> layers_text([{"type": "Dense", "units": 32, "activation": "relu", "tt_rank": 4},
...              {"type": "Dropout", "rate": 0.1}, {"type": "Dense", "units": 10}])
'TT(32, rank 4, relu) → Dropout(0.1) → Dense(10)'
"""

from __future__ import annotations

import html
import math
from collections.abc import Mapping, Sequence
from typing import Any

import pandas as pd

__all__ = ["readable", "sig4", "layers_text", "compare_frame", "html_table"]

_SHAPES = ("in_shape", "out_shape")


def sig4(value: float) -> str:
    """``value`` with 4 significant digits and thousands separators (``17,670``, ``0.9123``, ``1.235e-05``).

    >>> sig4(123456.0), sig4(0.00001234567), sig4(-2.5)
    ('123,500', '1.235e-05', '-2.5')
    """
    if not math.isfinite(value):
        return str(value)
    if value == 0:
        return "0"
    if abs(value) < 1e-3 or abs(value) >= 1e15:
        return f"{value:.4g}"
    rounded = float(f"{value:.4g}")
    if rounded == int(rounded):
        return f"{int(rounded):,}"
    decimals = max(0, 3 - int(math.floor(math.log10(abs(rounded)))))
    return f"{rounded:,.{decimals}f}".rstrip("0").rstrip(".")


def _layer(cfg: Mapping[str, Any]) -> str:
    kind = str(cfg.get("type", "?"))
    rank = cfg.get("tt_rank") if cfg.get("tt_rank") is not None else cfg.get("rank")
    parts: list[str] = []
    if kind in ("Dense", "TTLinear", "Linear"):
        units = cfg.get("units", cfg.get("out_features"))
        if units is not None:
            parts.append(readable(units))
        if rank is not None:
            kind = "TT"
            parts.append(f"rank {readable(rank) if not isinstance(rank, list) else '-'.join(map(readable, rank))}")
    elif kind == "Conv2D":
        parts += [f"{readable(cfg.get('filters'))} filters", f"{readable(cfg.get('kernel_size'))}x"
                                                               f"{readable(cfg.get('kernel_size'))}"]
    elif kind == "Dropout":
        parts.append(readable(cfg.get("rate")))
    elif kind == "ZeroPad":
        parts.append(f"to {readable(cfg.get('features'))}")
    elif kind == "MaxPool2D":
        parts.append(readable(cfg.get("pool_size")))
    activation = cfg.get("activation")
    if activation and kind not in ("Dropout",):
        parts.append(str(activation))
    return f"{kind}({', '.join(parts)})" if parts else kind


def layers_text(layers: Any) -> str:
    """A layer list (``model.layers`` of a run) as ``TT(32, rank 4, relu) → Dense(10)``; anything else as is."""
    if isinstance(layers, Sequence) and not isinstance(layers, str) and all(isinstance(c, Mapping) for c in layers):
        return " → ".join(_layer(c) for c in layers) if layers else "(none: linear)"
    return readable(layers)


def readable(value: Any) -> str:
    """One value as text: whole numbers as integers, other numbers to 4 significant digits, lists joined,
    layer lists as :func:`layers_text`, missing values empty."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, float):
        return f"{int(value):,}" if value.is_integer() and abs(value) < 1e15 else sig4(value)
    if hasattr(value, "item") and not isinstance(value, (str, bytes)):  # numpy scalars
        try:
            return readable(value.item())
        except (TypeError, ValueError):
            pass
    if isinstance(value, Mapping):
        return ", ".join(f"{k}={readable(v)}" for k, v in value.items())
    if isinstance(value, (list, tuple)):
        if value and all(isinstance(c, Mapping) and "type" in c for c in value):
            return layers_text(value)
        return ", ".join(readable(v) for v in value)
    return str(value)


def compare_frame(columns: Mapping[str, Mapping[str, Any]]) -> tuple[pd.DataFrame, list[bool]]:
    """``{run label: {field: value}}`` → a text table (a ``field`` column, then one column per run, fields in the
    order first seen) and, per row, whether the runs differ there (rows where some runs lack the field count as
    different).

    >>> frame, differs = compare_frame({"a": {"lr": 0.1, "epochs": 2.0}, "b": {"lr": 0.01, "epochs": 2}})
    >>> frame.values.tolist(), differs
    ([['lr', '0.1', '0.01'], ['epochs', '2', '2']], [True, False])
    """
    fields: list[str] = []
    for values in columns.values():
        fields += [f for f in values if f not in fields]
    rows, differs = [], []
    for f in fields:
        texts = [readable(values.get(f)) for values in columns.values()]
        rows.append([f, *texts])
        differs.append(len(set(texts)) > 1)
    frame = pd.DataFrame(rows, columns=["field", *columns])
    return frame, differs


def html_table(frame: pd.DataFrame, *, highlight: Sequence[bool] | None = None, titles: pd.DataFrame | None = None,
               max_rows: int = 200) -> str:
    """``frame`` as an HTML table with text cells; ``highlight`` marks rows (amber background), ``titles`` (same
    shape) gives each cell's hover text (e.g. the full value behind a rounded one)."""
    head = "".join(f"<th>{html.escape(str(c))}</th>" for c in frame.columns)
    body = []
    for i, row in enumerate(frame.head(max_rows).itertuples(index=False)):
        style = ' style="background:#fff3cd"' if highlight is not None and highlight[i] else ""
        cells = []
        for j, value in enumerate(row):
            title = "" if titles is None else str(titles.iat[i, j])
            attr = f' title="{html.escape(title)}"' if title and title != str(value) else ""
            cells.append(f"<td{attr}>{html.escape(readable(value) if not isinstance(value, str) else value)}</td>")
        body.append(f"<tr{style}>{''.join(cells)}</tr>")
    return f'<table class="tesla-table"><thead><tr>{head}</tr></thead><tbody>{"".join(body)}</tbody></table>'
