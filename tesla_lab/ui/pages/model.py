"""The dashboard's Model page (layout over :class:`~tesla_lab.ui.state.ModelState`).

>>> page = ModelPage(ModelState(n_inputs=64, n_outputs=10))
>>> page.add_kind.value = "Dropout"; page.add.clicks += 1
>>> [row.kind.value for row in page.rows]
['TT', 'Dropout']
>>> page.rows[0].fields["tt_rank"].value = 0
>>> page.status.alert_type, page.state.can_launch
('danger', False)
"""

from __future__ import annotations

from typing import Any

from tesla_lab.ui.pages.common import pn, set_table, status_line, table
from tesla_lab.ui.state.base import param
from tesla_lab.ui.state.model import LAYER_FIELDS, LAYER_KINDS, ModelState

__all__ = ["ModelPage", "LayerRow"]

_WIDTH = 120


def _field_widget(name: str, value: Any, activations: list[str], css: str) -> Any:
    options = {"label": name.replace("_", " "), "width": _WIDTH, "css_classes": [css]}
    if name == "activation":
        return pn.widgets.Select(options=activations, value=value if value in activations else "none", **options)
    if name in ("in_shape", "out_shape"):
        return pn.widgets.TextInput(value=str(value or ""), placeholder="auto", **options)
    if isinstance(value, float):
        return pn.widgets.FloatInput(value=value, step=0.05, **options)
    return pn.widgets.IntInput(value=value, **options)


class LayerRow(pn.viewable.Viewer):
    """One editable layer: kind, fields, move / remove buttons."""

    def __init__(self, state: ModelState, index: int, spec: dict[str, Any], **params: Any) -> None:
        super().__init__(**params)
        self.index = index
        self.kind = pn.widgets.Select(label=f"layer {index + 1}", options=list(LAYER_KINDS), value=spec["kind"],
                                      width=_WIDTH)
        self.fields = {name: _field_widget(name, spec.get(name, default), state.activations(),
                                           f"tesla-layer-{index + 1}-{name.replace('_', '-')}")
                       for name, default in LAYER_FIELDS[spec["kind"]].items()}
        self.up = pn.widgets.Button(label="▲", width=40, align="end")
        self.down = pn.widgets.Button(label="▼", width=40, align="end")
        self.remove = pn.widgets.Button(label="✕", width=40, align="end", color="danger")
        self.kind.param.watch(lambda e: state.update_layer(index, kind=e.new), "value")
        for name, w in self.fields.items():
            w.param.watch(lambda e, n=name: state.update_layer(index, **{n: e.new}), "value")
        self.up.on_click(lambda _: state.move_layer(index, -1))
        self.down.on_click(lambda _: state.move_layer(index, 1))
        self.remove.on_click(lambda _: state.remove_layer(index))

    def __panel__(self) -> Any:
        return pn.Row(self.kind, *self.fields.values(), self.up, self.down, self.remove,
                      css_classes=["tesla-layer-row"])


class ModelPage(pn.viewable.Viewer):
    """Layers and training settings, with the live parameter count, compression, memory estimate and errors."""

    def __init__(self, state: ModelState, **params: Any) -> None:
        super().__init__(**params)
        self.state = s = state
        self.rows: list[LayerRow] = []
        self.layers_box = pn.Column(sizing_mode="stretch_width")
        self.add_kind = pn.widgets.Select(label="add a layer", options=list(LAYER_KINDS), value="Dense", width=_WIDTH)
        self.add = pn.widgets.Button(label="Add layer", color="primary", align="end")
        self.io = pn.pane.Markdown("")
        self.image_input = pn.widgets.Checkbox.from_param(s.param.image_input, label="feed images as (1, H, W)")
        settings = ["model_name", "optimizer", "lr", "loss", "epochs", "batch_size", "device", "precision",
                    "checkpoint_every", "seed", "test_size", "val_size", "preprocessing"]
        self.settings = {name: self._setting(name) for name in settings}
        self.status = status_line(s)
        self.stats = pn.pane.Markdown("", css_classes=["tesla-model-stats"])
        self.summary = table(page_size=20)
        self.pad = pn.widgets.Button(label="Pad inputs", color="warning", visible=False, css_classes=["tesla-pad"])
        self._structure: tuple[str, ...] | None = None
        self.add.on_click(lambda _: s.add_layer(self.add_kind.value))
        self.pad.on_click(lambda _: s.pad_inputs())
        s.param.watch(self._layers_changed, ["layers"])
        s.param.watch(self._checked, ["summary", "error", "can_launch", "n_inputs", "n_outputs", "image_shape",
                                      "task"])
        self._layers_changed()
        self._checked()

    def _setting(self, name: str) -> Any:
        p = self.state.param[name]
        label = name.replace("_", " ")
        if name == "lr":
            label = "learning rate"
        options = {"label": label, "width": 160, "css_classes": [f"tesla-setting-{name.replace('_', '-')}"]}
        if isinstance(p, param.Selector):
            return pn.widgets.Select.from_param(p, **options)
        if name in ("lr", "test_size", "val_size"):
            return pn.widgets.FloatInput.from_param(p, step=0.05 if name != "lr" else 1e-4, **options)
        if name == "model_name":
            return pn.widgets.TextInput.from_param(p, **options)
        return pn.widgets.IntInput.from_param(p, **options)

    def _layers_changed(self, *_: Any) -> None:
        structure = tuple(spec["kind"] for spec in self.state.layers)
        if structure != self._structure:  # rebuild only when layers are added, removed, moved or retyped
            self._structure = structure
            self.rows = [LayerRow(self.state, i, spec) for i, spec in enumerate(self.state.layers)]
            self.layers_box.objects = self.rows or [pn.pane.Markdown("*No hidden layers: a linear model.*")]
            return
        for row, spec in zip(self.rows, self.state.layers):
            for name, w in row.fields.items():
                value = spec.get(name)
                value = str(value or "") if name in ("in_shape", "out_shape") else value
                if value is not None and w.value != value:
                    w.value = value

    def _checked(self, *_: Any) -> None:
        s = self.state
        image = f", images {s.image_shape[0]}x{s.image_shape[1]}" if s.image_shape else ""
        self.io.object = f"Inputs: **{s.n_inputs}** features{image} → outputs: **{s.n_outputs}** ({s.task})"
        self.image_input.visible = bool(s.image_shape)
        self.stats.object = f"**{s.stats_text()}**"
        offer = s.padding_offer()  # a prime feature count (wine: 13) cannot feed a TT layer: one click pads it
        self.pad.param.update(visible=offer is not None, label=f"Pad inputs to {offer} (zero features)" if offer
                              else "Pad inputs")
        set_table(self.summary, s.summary_table())

    def __panel__(self) -> Any:
        return pn.Column(
            "## Model", self.io, self.image_input, "#### Layers (an output layer for the targets is added)",
            self.layers_box, pn.Row(self.add_kind, self.add), "#### Training",
            pn.GridBox(*self.settings.values(), ncols=5), self.status, self.pad, self.stats, self.summary,
            sizing_mode="stretch_width", css_classes=["tesla-page-model"],
        )
