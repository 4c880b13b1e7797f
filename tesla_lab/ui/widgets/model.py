"""``tesla.ui.ModelBuilder()``: the Model view as an ipywidget (layout over :class:`~tesla_lab.ui.state.ModelState`).

>>> builder = ModelBuilder(n_inputs=64, n_outputs=10)
>>> builder.add_kind.value = "Dropout"; builder.add_button.click()
>>> [row.kind.value for row in builder.rows]
['TT', 'Dropout']
>>> builder.rows[0].fields["tt_rank"].value = 0
>>> "TT ranks must be integers" in builder.status.value, builder.state.can_launch
(True, False)
"""

from __future__ import annotations

from typing import Any

from tesla_lab.ui.state.model import LAYER_FIELDS, LAYER_KINDS, ModelState
from tesla_lab.ui.widgets.common import link_state, show_status, status_line, table_html, widgets
from tesla_lab.workflow import TrainConfig

__all__ = ["ModelBuilder", "LayerRow"]

_NARROW = widgets.Layout(width="150px")


def _field_widget(name: str, value: Any, activations: list[str]) -> Any:
    label = name.replace("_", " ")
    style = {"description_width": "initial"}
    if name == "activation":
        return widgets.Dropdown(options=activations, value=value if value in activations else "none",
                                description=label, layout=_NARROW, style=style)
    if name in ("in_shape", "out_shape"):
        return widgets.Text(value=str(value or ""), placeholder="auto", description=label, layout=_NARROW,
                            style=style, continuous_update=False)
    if isinstance(value, float):
        return widgets.FloatText(value=value, description=label, layout=_NARROW, style=style, step=0.05)
    return widgets.IntText(value=value, description=label, layout=_NARROW, style=style)


class LayerRow(widgets.HBox):
    """One editable layer: its kind, its fields, and move / remove buttons."""

    def __init__(self, builder: ModelBuilder, index: int, spec: dict[str, Any]) -> None:
        self.index = index
        self.kind = widgets.Dropdown(options=list(LAYER_KINDS), value=spec["kind"],
                                     layout=widgets.Layout(width="110px"))
        self.fields = {name: _field_widget(name, spec.get(name, default), builder.state.activations())
                       for name, default in LAYER_FIELDS[spec["kind"]].items()}
        self.up = widgets.Button(icon="arrow-up", tooltip="move up", layout=widgets.Layout(width="34px"))
        self.down = widgets.Button(icon="arrow-down", tooltip="move down", layout=widgets.Layout(width="34px"))
        self.remove = widgets.Button(icon="trash", tooltip="remove", layout=widgets.Layout(width="34px"))
        super().__init__([widgets.Label(f"{index + 1}.", layout=widgets.Layout(width="24px")), self.kind,
                          *self.fields.values(), self.up, self.down, self.remove])
        state = builder.state
        self.kind.observe(lambda c: state.update_layer(index, kind=c["new"]), names="value")
        for name, w in self.fields.items():
            w.observe(lambda c, n=name: state.update_layer(index, **{n: c["new"]}), names="value")
        self.up.on_click(lambda _: state.move_layer(index, -1))
        self.down.on_click(lambda _: state.move_layer(index, 1))
        self.remove.on_click(lambda _: state.remove_layer(index))


class ModelBuilder(widgets.VBox):
    """Edit layers (Dense / TT / Conv2D / MaxPool2D / BatchNorm / LeakyReLU / Dropout / Flatten) and training
    settings; the parameter count, TT compression, memory estimate and any error update on every change.

    Args:
        n_inputs, n_outputs: the data's features per sample and classes (the workbench sets them from the data).
        state: an existing :class:`ModelState` (the workbench shares one).
    """

    def __init__(self, n_inputs: int = 64, n_outputs: int = 10, *, state: ModelState | None = None,
                 **kwargs: Any) -> None:
        self.state = state or ModelState(n_inputs=n_inputs, n_outputs=n_outputs)
        s = self.state
        self.rows: list[LayerRow] = []
        self.layers_box = widgets.VBox()
        self.add_kind = widgets.Dropdown(options=list(LAYER_KINDS), value="Dense", layout=widgets.Layout(width="120px"))
        self.add_button = widgets.Button(description="Add layer", icon="plus")
        self.io = widgets.HTML()
        self.image_input = widgets.Checkbox(value=s.image_input, description="images as (1, H, W) input")
        self.settings = self._settings()
        self.status = status_line()
        self.stats = widgets.HTML()
        self.summary = widgets.HTML()
        super().__init__([
            widgets.HTML("<h3>Model</h3>"), self.io, self.image_input, self.layers_box,
            widgets.HBox([self.add_kind, self.add_button]), widgets.HTML("<b>Training</b>"), self.settings,
            self.status, self.stats, self.summary,
        ], **kwargs)
        self.add_button.on_click(lambda _: s.add_layer(self.add_kind.value))
        link_state(s, self.image_input, "image_input")
        self._structure: tuple[str, ...] | None = None
        s.param.watch(self._layers_changed, ["layers"])
        s.param.watch(self._checked, ["summary", "error", "message", "can_launch", "n_inputs", "n_outputs",
                                      "image_shape"])
        self._layers_changed()
        self._checked()

    def _settings(self) -> Any:
        s = self.state
        style = {"description_width": "110px"}
        controls = {
            "model_name": widgets.Text(description="model name", style=style),
            "optimizer": widgets.Dropdown(options=s.param.optimizer.objects, description="optimizer", style=style),
            "lr": widgets.FloatText(description="learning rate", style=style, step=1e-4),
            "loss": widgets.Dropdown(options=s.param.loss.objects, description="loss", style=style),
            "epochs": widgets.IntText(description="epochs", style=style),
            "batch_size": widgets.IntText(description="batch size", style=style),
            "device": widgets.Dropdown(options=s.param.device.objects, description="device", style=style),
            "precision": widgets.Dropdown(options=s.param.precision.objects, description="precision", style=style),
            "checkpoint_every": widgets.IntText(description="checkpoint every", style=style),
            "seed": widgets.IntText(description="seed", style=style),
            "test_size": widgets.FloatText(description="test fraction", style=style, step=0.05),
            "val_size": widgets.FloatText(description="validation fraction", style=style, step=0.05),
            "preprocessing": widgets.Dropdown(options=s.param.preprocessing.objects, description="preprocessing",
                                              style=style),
        }
        for name, w in controls.items():
            w.value = getattr(s, name)
            link_state(s, w, name)
        self.controls = controls
        return widgets.GridBox(list(controls.values()), layout=widgets.Layout(grid_template_columns="repeat(3, 320px)"))

    def _layers_changed(self, *_: Any) -> None:
        structure = tuple(spec["kind"] for spec in self.state.layers)
        if structure != self._structure:  # rebuild rows only when layers are added, removed, moved or retyped
            self._structure = structure
            self.rows = [LayerRow(self, i, spec) for i, spec in enumerate(self.state.layers)]
            self.layers_box.children = self.rows or [widgets.HTML("<i>no hidden layers: a linear model</i>")]
        else:
            for row, spec in zip(self.rows, self.state.layers):
                for name, w in row.fields.items():
                    value = spec.get(name)
                    if name in ("in_shape", "out_shape"):
                        value = str(value or "")
                    if w.value != value and value is not None:
                        w.value = value

    def _checked(self, *_: Any) -> None:
        s = self.state
        image = f", images {s.image_shape[0]}x{s.image_shape[1]}" if s.image_shape else ""
        self.io.value = f"inputs: <b>{s.n_inputs}</b> features{image}; outputs: <b>{s.n_outputs}</b> ({s.task})"
        self.image_input.layout.display = "" if s.image_shape else "none"
        show_status(self.status, error=s.error, message=s.message)
        self.stats.value = f"<b>{s.stats_text()}</b>"
        self.summary.value = table_html(s.summary_table())

    @property
    def config(self) -> TrainConfig:
        """The training config of the current settings (``ConfigError`` when invalid)."""
        return self.state.train_config()
