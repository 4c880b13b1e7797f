"""The workbench views as ipywidgets, for notebooks: ``DataLoader``, ``Explorer``, ``ModelBuilder``,
``TrainingMonitor``, ``RunsBrowser`` and ``Workbench`` (all five in tabs),
and ``Monitor`` (a served model's metrics).

>>> from tesla_lab.ui.widgets import ModelBuilder
>>> ModelBuilder(n_inputs=16, n_outputs=2).state.can_launch
True
"""

from tesla_lab.ui.widgets.data import DataLoader
from tesla_lab.ui.widgets.explore import Explorer
from tesla_lab.ui.widgets.model import ModelBuilder
from tesla_lab.ui.widgets.monitor import Monitor
from tesla_lab.ui.widgets.runs import RunsBrowser
from tesla_lab.ui.widgets.train import TrainingMonitor
from tesla_lab.ui.widgets.workbench import Workbench

__all__ = ["DataLoader", "Explorer", "ModelBuilder", "TrainingMonitor", "RunsBrowser", "Workbench", "Monitor"]
