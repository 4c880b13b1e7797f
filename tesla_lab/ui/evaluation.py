"""A model evaluation as one offline HTML page: the confusion matrix (classification) or predicted-vs-true scatter
(regression), the headline metrics and the per-class precision / recall table. plotly.js is embedded in the page
(no CDN): it opens on a machine without network.

>>> report = {"accuracy": 0.8, "labels": [0, 1], "confusion_matrix": [[3, 1], [1, 5]],
...           "per_class": {"no": {"precision": 0.75, "recall": 0.75, "f1": 0.75, "support": 4},
...                         "yes": {"precision": 0.833, "recall": 0.833, "f1": 0.833, "support": 6}},
...           "summary": {"accuracy": 0.8}}
>>> page = evaluation_html(report, title="churn v1 on test.csv")
>>> "<h1>churn v1 on test.csv</h1>" in page, "<script src=" in page, "<td>yes</td>" in page
(True, False, True)
"""

from __future__ import annotations

import html
import os
from pathlib import Path
from typing import Any

import pandas as pd

from tesla_lab._atomic import atomic_write
from tesla_lab.ui.state.formatting import html_table, readable
from tesla_lab.ui.state.runs import report_figure

__all__ = ["evaluation_html", "write_evaluation_html"]

_STYLE = ("body{font-family:system-ui,sans-serif;margin:24px;color:#222}table{border-collapse:collapse;margin:8px 0}"
          "td,th{border-bottom:1px solid #ddd;padding:4px 10px;text-align:left}th{background:#f4f4f4}"
          ".row{display:flex;gap:24px;align-items:flex-start;flex-wrap:wrap}")


def evaluation_html(report: dict[str, Any], title: str = "Evaluation") -> str:
    """The whole HTML page of a test report (what :meth:`ModelBundle.evaluate` returns)."""
    parts = [f"<h1>{html.escape(title)}</h1>"]
    summary = report.get("summary") or {}
    if summary:
        parts.append(html_table(pd.DataFrame([{"metric": k, "value": readable(v)} for k, v in summary.items()])))
    fig = report_figure(report)
    figure = fig.to_html(include_plotlyjs=True, full_html=False) if fig is not None else ""
    per_class = report.get("per_class") or {}
    table = ""
    if per_class:
        frame = pd.DataFrame([{"class": k, **{m: readable(v.get(m)) for m in ("precision", "recall", "f1", "support")}}
                              for k, v in per_class.items()])
        table = "<div><h3>Per class</h3>" + html_table(frame) + "</div>"
    parts.append(f'<div class="row"><div style="flex:1;min-width:420px">{figure}</div>{table}</div>')
    return (f"<!DOCTYPE html><html><head><meta charset='utf-8'><title>{html.escape(title)}</title>"
            f"<style>{_STYLE}</style></head><body>{''.join(parts)}</body></html>")


def write_evaluation_html(report: dict[str, Any], path: str | os.PathLike[str], title: str = "Evaluation") -> Path:
    """Write :func:`evaluation_html` to ``path`` atomically; returns the path."""
    target = Path(path)
    with atomic_write(target) as f:
        f.write(evaluation_html(report, title).encode("utf-8"))
    return target
