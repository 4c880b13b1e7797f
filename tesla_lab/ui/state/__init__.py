"""The workbench's states: plain ``param`` objects holding what each view does, tested without a browser.

>>> from tesla_lab.ui.state import ModelState
>>> ModelState(n_inputs=16, n_outputs=2).can_launch
True
"""

from tesla_lab.ui.state.base import StateBase, action
from tesla_lab.ui.state.data import DataState
from tesla_lab.ui.state.explore import ExploreState
from tesla_lab.ui.state.model import LAYER_FIELDS, LAYER_KINDS, ModelState, layer_config, training_memory
from tesla_lab.ui.state.monitor import MonitorState
from tesla_lab.ui.state.runs import RunsState
from tesla_lab.ui.state.session import load_ui_state, save_ui_state
from tesla_lab.ui.state.train import TrainState
from tesla_lab.ui.state.workbench import WorkbenchState

__all__ = [
    "StateBase", "action", "DataState", "ExploreState", "ModelState", "TrainState", "RunsState", "WorkbenchState",
    "MonitorState", "load_ui_state", "save_ui_state",
    "LAYER_KINDS", "LAYER_FIELDS", "layer_config", "training_memory",
]
