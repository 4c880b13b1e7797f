"""The dashboard's Data page (layout over :class:`~tesla_lab.ui.state.DataState`).

>>> page = DataPage(DataState())
>>> page.load_sample.clicks += 1  # what a click does
>>> page.state.frame.shape, len(page.preview.value)
((1797, 65), 20)
"""

from __future__ import annotations

from typing import Any

from tesla_lab.ui.pages.common import pn, set_table, status_line, sync, table
from tesla_lab.ui.state.data import DataState

__all__ = ["DataPage"]

_ACCEPT = ".csv,.tsv,.txt,.json,.jsonl,.ndjson,.parquet,.pq,.db,.sqlite,.sqlite3,.gz,.zip"


class DataPage(pn.viewable.Viewer):
    """Pick a sample, upload a file or give a path / SQL source; preview, schema, target, features, versions."""

    def __init__(self, state: DataState, **params: Any) -> None:
        super().__init__(**params)
        self.state = s = state
        sources = {"Sample": "sample", "Upload a file": "upload", "Path / SQL": "path"}
        self.source = sync(pn.widgets.RadioButtonGroup(options=sources, color="primary"), s, "source")
        self.sample = pn.widgets.Select.from_param(s.param.sample, label="Sample dataset")
        self.load_sample = pn.widgets.Button(label="Load sample", color="primary")
        self.upload = pn.widgets.FileInput(accept=_ACCEPT, multiple=False)
        folder = "the project folder" if s.project is None else str(s.project.path)
        self.path = pn.widgets.TextInput.from_param(s.param.path, label="Path, MNIST folder or database URL",
                                                    placeholder=f"data/train.csv or sqlite:///data.db: relative to "
                                                                f"{folder}", width=560)
        self.query = pn.widgets.TextInput.from_param(s.param.query, label="SQL query or table (databases)")
        self.load_path = pn.widgets.Button(label="Load", color="primary")
        self.status = status_line(s)
        self.summary = pn.pane.Markdown("", sizing_mode="stretch_width")
        self.target = pn.widgets.Select.from_param(s.param.target, label="Target column")
        self.features = pn.widgets.MultiSelect.from_param(s.param.features, label="Feature columns (ctrl/shift-click)",
                                                          size=6, sizing_mode="stretch_width")
        self.preview = table(page_size=10, css_classes=["tesla-preview"])
        self.schema = table(page_size=15)
        self.dataset_name = pn.widgets.TextInput.from_param(s.param.dataset_name, label="Dataset name")
        self.version_message = pn.widgets.TextInput(label="Message", placeholder="what changed")
        self.save = pn.widgets.Button(label="Save version", color="success")
        self.versions = table(page_size=5)
        self.datasets = table(page_size=5)
        self._panels = {
            "sample": pn.Row(self.sample, self.load_sample, align="end"),
            "upload": pn.Row(self.upload),
            "path": pn.Row(self.path, self.query, self.load_path, align="end"),
        }
        self.source_box = pn.Column(self._panels[s.source])

        self.load_sample.on_click(lambda _: s.load_sample(self.sample.value))
        self.load_path.on_click(lambda _: s.load_path(self.path.value, self.query.value))
        self.save.on_click(lambda _: s.snapshot(self.dataset_name.value or None, self.version_message.value))
        self.upload.param.watch(self._uploaded, "value")
        s.param.watch(lambda *_: setattr(self.source_box, "objects", [self._panels[s.source]]), ["source"])
        s.param.watch(self._refresh, ["frame", "target", "features", "dataset_version"])
        self._refresh()

    def _uploaded(self, event: Any) -> None:
        if event.new:
            self.state.load_upload(self.upload.filename or "upload", event.new)

    def _refresh(self, *_: Any) -> None:
        s = self.state
        if s.frame is None:
            self.summary.object = "*No data loaded yet.*"
        else:
            rows, cols = s.frame.shape
            image = f", images {s.image_shape[0]}x{s.image_shape[1]}" if s.image_shape else ""
            stored = f", stored as **{s.dataset_name} v{s.dataset_version}**" if s.dataset_version else ""
            missing = s.missing()
            gaps = (f"; **{int(missing.sum())} missing values** in {len(missing)} column(s)" if len(missing)
                    else "; no missing values")
            self.summary.object = (f"**{s.origin}**: {rows:,} rows x {cols} columns{image}{stored}; task: "
                                   f"**{s.task or '?'}**{gaps}")
        set_table(self.preview, s.preview(20))
        set_table(self.schema, s.schema())
        set_table(self.versions, s.versions())
        set_table(self.datasets, s.datasets())

    def __panel__(self) -> Any:
        return pn.Column(
            "## Data",
            self.source, self.source_box, self.status, self.summary,
            pn.Row(self.target, self.features, sizing_mode="stretch_width"),
            pn.Tabs(("Preview", self.preview), ("Schema & missing values", self.schema),
                    ("Dataset versions", pn.Column(pn.Row(self.dataset_name, self.version_message, self.save,
                                                          align="end"), self.versions, "#### All datasets",
                                                   self.datasets)),
                    # only the shown tab is laid out: a hidden Schema table cannot push the Preview down
                    dynamic=True, sizing_mode="stretch_width"),
            sizing_mode="stretch_width", css_classes=["tesla-page-data"],
        )
