"""Strategies by name (``Trainer(strategy='ddp')``) and the choice ``'auto'`` makes from the torchrun environment.

>>> sorted(set(STRATEGIES.names()) - {"none", "single_device", "layer_parallel"})
['auto', 'ddp', 'fsdp', 'model_parallel', 'single']
"""

from __future__ import annotations

from collections.abc import Mapping

from tesla_lab._registry import Registry
from tesla_lab.errors import ConfigError
from tesla_lab.train.distributed.ddp import DDPStrategy
from tesla_lab.train.distributed.fsdp import FSDPStrategy
from tesla_lab.train.distributed.process_group import distributed_env
from tesla_lab.train.distributed.strategy import SingleProcess, Strategy

__all__ = ["STRATEGIES", "get_strategy", "resolve_strategy"]

STRATEGIES: Registry[Strategy] = Registry("strategy")
STRATEGIES.register("single", SingleProcess, "none", "single_device")
STRATEGIES.register("ddp", DDPStrategy)
STRATEGIES.register("fsdp", FSDPStrategy)


def _model_parallel() -> Strategy:
    from tesla_lab.train.model_parallel import ModelParallelStrategy  # it builds on FSDPStrategy (no import cycle)

    return ModelParallelStrategy()


STRATEGIES.register("model_parallel", _model_parallel, "layer_parallel")
STRATEGIES.register("auto", lambda: None)  # resolved from the environment by resolve_strategy


def get_strategy(strategy: str | Strategy | None) -> Strategy | None:
    """The :class:`Strategy` named by ``strategy`` (``None`` for ``'auto'``/``None``, decided at ``fit``).

    >>> get_strategy("fsdp").name, get_strategy(None)
    ('fsdp', None)
    >>> get_strategy("dpp")
    Traceback (most recent call last):
    ...
    tesla_lab.errors.ConfigError: unknown strategy 'dpp' (did you mean 'ddp'?); choose one of: auto, ddp, fsdp, \
layer_parallel, model_parallel, none, single, single_device
    """
    if strategy is None or isinstance(strategy, Strategy):
        return strategy
    if not isinstance(strategy, str):
        raise ConfigError(f"strategy must be a name ('auto', 'single', 'ddp', 'fsdp', 'model_parallel') or a "
                          f"Strategy; got {type(strategy).__name__} {strategy!r}")
    return STRATEGIES.get(strategy)()


def resolve_strategy(strategy: str | Strategy | None, environ: Mapping[str, str] | None = None) -> Strategy:
    """The strategy one ``fit`` uses: ``'auto'``/``None`` become DDP under torchrun with ``WORLD_SIZE > 1``
    and one process otherwise; a name gives a fresh strategy object, a :class:`Strategy` itself.

    >>> resolve_strategy(None, environ={"RANK": "0", "WORLD_SIZE": "1", "LOCAL_RANK": "0"}).name
    'single'
    """
    chosen = get_strategy(strategy)
    if chosen is not None:
        return chosen
    env = distributed_env(environ)
    return DDPStrategy() if env is not None and env.world_size > 1 else SingleProcess()
