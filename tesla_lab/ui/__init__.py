"""The interactive workbench: each view (Data, Explore, Model, Train, Runs) as an ipywidget for notebooks and as a
page of the Panel dashboard, both thin layouts over the state classes in :mod:`tesla_lab.ui.state`.

Notebook widgets: ``DataLoader()``, ``Explorer(df)``, ``ModelBuilder()``, ``TrainingMonitor(run)``,
``RunsBrowser(project)``, ``Workbench()``, ``Monitor(url=...)`` (a served model's metrics). Dashboard:
:func:`create_app` (one session) and
:func:`serve_dashboard` (``tesla dashboard`` / ``make run``). Names load on first use, so ``import tesla_lab.ui``
needs neither ipywidgets nor Panel until a view is asked for (the extra ``tesla-lab[ui]`` installs them).

>>> import tesla_lab.ui as ui
>>> ui.ModelBuilder(n_inputs=16, n_outputs=2).state.can_launch
True
"""

from __future__ import annotations

import importlib
from typing import Any

__all__ = [
    "DataLoader", "Explorer", "ModelBuilder", "TrainingMonitor", "RunsBrowser", "Workbench", "Monitor",
    "DataState", "ExploreState", "ModelState", "TrainState", "RunsState", "WorkbenchState", "MonitorState",
    "create_app", "serve_dashboard", "open_project", "SessionOrderedExecutor", "order_events_per_session",
]

_WHERE = {
    **dict.fromkeys(["DataLoader", "Explorer", "ModelBuilder", "TrainingMonitor", "RunsBrowser", "Workbench",
                     "Monitor"], "tesla_lab.ui.widgets"),
    **dict.fromkeys(["DataState", "ExploreState", "ModelState", "TrainState", "RunsState", "WorkbenchState",
                     "MonitorState"], "tesla_lab.ui.state"),
    "create_app": "tesla_lab.ui.app",
    "serve_dashboard": "tesla_lab.ui.serve",
    "open_project": "tesla_lab.ui.project",
    **dict.fromkeys(["SessionOrderedExecutor", "order_events_per_session"], "tesla_lab.ui.session_order"),
}


def __getattr__(name: str) -> Any:
    if name in _WHERE:
        return getattr(importlib.import_module(_WHERE[name]), name)
    raise AttributeError(f"module 'tesla_lab.ui' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(__all__)
