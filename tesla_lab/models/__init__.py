"""Model families behind one interface, and the bundle that makes a trained model usable later.

Torch families (TESLA networks rebuilt by ``build_model(config)``): ``linear``, ``logistic``, ``mlp``, ``cnn``,
``tt_mlp``; scikit-learn families: ``sklearn:logistic``, ``sklearn:random_forest``, ``sklearn:ridge``, ...

>>> from tesla_lab.models import make_model, families
>>> model = make_model("tt_mlp", n_features=64, n_outputs=10, task="classification", hidden_sizes=[32])
>>> model.module.summary().compression_ratio > 1, "sklearn:ridge" in families()
(True, True)
"""

from tesla_lab.models.base import FRAMEWORKS, TASKS, Estimator
from tesla_lab.models.bundle import BUNDLE_FILE, ModelBundle, load_bundle, save_bundle, summary_metrics
from tesla_lab.models.registry import (
    FAMILIES,
    FRAMEWORK_CHOICES,
    Family,
    check_framework,
    check_hparams,
    default_family,
    families,
    get_family,
    load_estimator,
    make_model,
    resolve_framework,
)
from tesla_lab.models.sklearn import SklearnModel
from tesla_lab.models.torch_model import TorchModel

__all__ = [
    "Estimator", "TorchModel", "SklearnModel", "TASKS", "FRAMEWORKS",
    "Family", "FAMILIES", "FRAMEWORK_CHOICES", "get_family", "families", "make_model", "check_hparams",
    "default_family", "check_framework", "resolve_framework", "load_estimator",
    "ModelBundle", "save_bundle", "load_bundle", "summary_metrics", "BUNDLE_FILE",
]
