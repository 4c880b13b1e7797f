"""``tesla.ui.DataLoader()``: the Data view as an ipywidget (layout over :class:`~tesla_lab.ui.state.DataState`).

>>> loader = DataLoader(sample="iris")
>>> loader.state.frame.shape, loader.target.value
((150, 5), 'target')
>>> loader.path.value = "no/such/file.csv"; loader.load_path_button.click()
>>> "file not found" in loader.status.value
True
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from tesla_lab.store import Project
from tesla_lab.ui.state.data import DataState
from tesla_lab.ui.widgets.common import show_status, status_line, table_html, widgets

__all__ = ["DataLoader"]

_ACCEPT = ".csv,.tsv,.txt,.json,.jsonl,.ndjson,.parquet,.pq,.db,.sqlite,.sqlite3,.gz,.zip"


class DataLoader(widgets.VBox):
    """Pick a sample, upload a file or give a path / database; preview, schema, target, features, versions.

    Args:
        project: the project for dataset versions (optional).
        frame: a DataFrame to start with (instead of a sample).
        sample: the sample loaded at start (``None``: nothing).
        state: an existing :class:`DataState` to show (the workbench shares one).
    """

    def __init__(self, project: Project | None = None, frame: pd.DataFrame | None = None, *,
                 sample: str | None = "digits", state: DataState | None = None, **kwargs: Any) -> None:
        self.state = state or DataState(project)
        s = self.state
        sources = [("Sample", "sample"), ("Upload", "upload"), ("Path / SQL", "path")]
        self.source = widgets.ToggleButtons(options=sources, value=s.source)
        self.sample = widgets.Dropdown(options=s.param.sample.objects, value=s.sample, description="Sample")
        self.load_sample_button = widgets.Button(description="Load sample", button_style="primary")
        self.upload = widgets.FileUpload(accept=_ACCEPT, multiple=False, description="Upload file")
        self.path = widgets.Text(placeholder="data/train.csv, an MNIST folder, or sqlite:///data.db",
                                 description="Path / URL", layout=widgets.Layout(width="480px"))
        self.query = widgets.Text(placeholder="SQL query or table (databases only)", description="Query",
                                  layout=widgets.Layout(width="480px"))
        self.load_path_button = widgets.Button(description="Load", button_style="primary")
        self.status = status_line()
        self.summary = widgets.HTML()
        self.preview = widgets.HTML()
        self.schema = widgets.HTML()
        self.target = widgets.Dropdown(options=[], description="Target")
        self.features = widgets.SelectMultiple(options=[], description="Features", rows=8,
                                               layout=widgets.Layout(width="420px"))
        self.dataset_name = widgets.Text(description="Dataset")
        self.version_message = widgets.Text(placeholder="what changed", description="Message")
        self.save_button = widgets.Button(description="Save version", icon="save")
        self.versions = widgets.HTML()

        self._panels = {
            "sample": widgets.HBox([self.sample, self.load_sample_button]),
            "upload": widgets.HBox([self.upload]),
            "path": widgets.VBox([self.path, self.query, self.load_path_button]),
        }
        self.source_box = widgets.VBox([self._panels[s.source]])
        super().__init__([
            widgets.HTML("<h3>Data</h3>"), self.source, self.source_box, self.status, self.summary,
            widgets.HBox([self.target, self.features]),
            widgets.Accordion(children=[self.preview, self.schema, widgets.VBox([
                widgets.HBox([self.dataset_name, self.version_message, self.save_button]), self.versions])],
                titles=("Preview", "Schema & missing values", "Dataset versions"), selected_index=0),
        ], **kwargs)

        self._busy = False
        self.source.observe(lambda c: setattr(s, "source", c["new"]), names="value")
        self.sample.observe(lambda c: setattr(s, "sample", c["new"]), names="value")
        self.load_sample_button.on_click(lambda _: s.load_sample(self.sample.value))
        self.upload.observe(self._uploaded, names="value")
        self.load_path_button.on_click(lambda _: s.load_path(self.path.value, self.query.value))
        self.target.observe(self._target_picked, names="value")
        self.features.observe(self._features_picked, names="value")
        self.save_button.on_click(lambda _: s.snapshot(self.dataset_name.value or None, self.version_message.value))
        s.param.watch(self._source_changed, ["source"])
        s.param.watch(self._data_changed, ["frame", "target", "features", "dataset_name", "dataset_version"])
        s.param.watch(self._status_changed, ["error", "message"])
        if frame is not None:
            s.set_frame(frame)
        elif sample is not None and s.frame is None:
            s.load_sample(sample)
        self._data_changed()
        self._status_changed()

    # ------------------------------------------------------------------------------------------- events
    def _uploaded(self, change: Any) -> None:
        files = change["new"]
        if not files:
            return
        item = files[0]  # ipywidgets 8: a tuple of {"name", "content": memoryview, ...}
        self.state.load_upload(item["name"], bytes(item["content"]))

    def _target_picked(self, change: Any) -> None:
        if not self._busy:
            self.state.target = change["new"]

    def _features_picked(self, change: Any) -> None:
        if not self._busy:
            self.state.features = list(change["new"])

    def _source_changed(self, *_: Any) -> None:
        self.source.value = self.state.source
        self.source_box.children = [self._panels[self.state.source]]

    def _status_changed(self, *_: Any) -> None:
        show_status(self.status, error=self.state.error, message=self.state.message)

    def _data_changed(self, *_: Any) -> None:
        s = self.state
        self._busy = True
        try:
            columns = list(s.param.target.objects)
            self.target.options = columns
            self.target.value = s.target if s.target in columns else None
            self.features.options = [c for c in columns]
            self.features.value = tuple(c for c in s.features if c in columns)
            self.dataset_name.value = s.dataset_name
        finally:
            self._busy = False
        if s.frame is None:
            self.summary.value = "<i>no data loaded</i>"
            return
        rows, cols = s.frame.shape
        stored = f", stored as {s.dataset_name} v{s.dataset_version}" if s.dataset_version else ""
        image = f", images {s.image_shape[0]}x{s.image_shape[1]}" if s.image_shape else ""
        self.summary.value = (f"<b>{s.origin}</b>: {rows:,} rows x {cols} columns{image}{stored}; "
                              f"task: <b>{s.task or '?'}</b>")
        self.preview.value = table_html(s.preview(20))
        self.schema.value = table_html(s.schema(), max_rows=500)
        self.versions.value = table_html(s.versions())

    @property
    def frame(self) -> pd.DataFrame | None:
        """The loaded table."""
        return self.state.frame
