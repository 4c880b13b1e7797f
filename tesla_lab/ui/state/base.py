"""What every workbench state shares: an ``error`` and a ``message`` the views show, and :func:`action`, which
turns any failure of a user action into a readable ``error`` instead of an exception in a callback.

>>> class Demo(StateBase):
...     @action("cannot divide")
...     def divide(self, a, b):
...         return a / b
>>> d = Demo()
>>> d.divide(1, 0) is None, d.error
(True, 'cannot divide: ZeroDivisionError: division by zero')
>>> d.divide(4, 2), d.error
(2.0, '')
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable
from typing import Any, TypeVar

from tesla_lab.errors import TeslaError
from tesla_lab.ui._deps import require

param = require("param")

__all__ = ["StateBase", "action"]

logger = logging.getLogger(__name__)

F = TypeVar("F", bound=Callable[..., Any])


def action(what: str) -> Callable[[F], F]:
    """Decorate a state method run by a button or a widget: its ``TeslaError`` becomes ``self.error`` as
    ``"<what>: <message>"`` (any other exception too, with its type, and is logged with the traceback); the
    method then returns ``None``. A successful call clears ``error``."""

    def decorate(fn: F) -> F:
        @functools.wraps(fn)
        def wrapper(self: StateBase, *args: Any, **kwargs: Any) -> Any:
            self.error = ""
            try:
                return fn(self, *args, **kwargs)
            except TeslaError as exc:
                self.error = f"{what}: {exc}"
            except Exception as exc:  # noqa: BLE001 - a view callback must never take the app down
                logger.exception("%s", what)
                self.error = f"{what}: {type(exc).__name__}: {exc}"
            return None

        return wrapper  # type: ignore[return-value]

    return decorate


class StateBase(param.Parameterized):
    """Base of the workbench states: plain ``param`` objects holding behaviour; the ipywidgets and Panel views
    only lay them out and call their methods."""

    error = param.String(default="", doc="the last action's error ('' when it worked)")
    message = param.String(default="", doc="the last action's outcome, for a status line")
