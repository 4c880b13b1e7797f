"""The TESLA documents' model stages (``from tesla.model import ModelTraining``): :class:`ModelTraining`,
:class:`ModelEvaluation` and :class:`ModelDeployment`, thin objects over :func:`~tesla_lab.workflow.train_model`,
:func:`~tesla_lab.workflow.evaluate_model`, :func:`~tesla_lab.workflow.deploy_model` and
:func:`~tesla_lab.serve.export_registered`: the same code path as ``tesla train`` / ``tesla evaluate`` /
``tesla deploy``.

Each method is named for the model it deals with (``linear_regression``, ``logistic_regression``,
``neural_network``) and takes a pipeline DataFrame whose target column is ``df.attrs["target"]`` (see
:mod:`tesla_lab.data.stages`) or its last column.

**Where runs go.** Every stage works in a TESLA project (:class:`~tesla_lab.store.Project`): the one given as
``project=`` (a Project or a folder, created there when it holds none), else the project around the current
folder (searched upward, as ``tesla`` commands do), else the pipeline's default project in ``~/.tesla/pipeline``
(``$TESLA_PIPELINE_DIR`` moves it), created on first use. The choice is logged; ``stage.project`` tells.

The package, one concept per module: :mod:`~.project` (where runs go), :mod:`~.trained_model` (what training
hands on), :mod:`~.stage` (what the stages share), :mod:`~.model_training`, :mod:`~.model_evaluation` and
:mod:`~.model_deployment`. Their loggers sit under ``tesla_lab.workflow.stages``.

>>> import tempfile, pandas as pd
>>> from tesla_lab.data import DataIngestion
>>> root = tempfile.mkdtemp()
>>> data = DataIngestion().load_sample("diabetes")
>>> train, evaluate = ModelTraining(project=root), ModelEvaluation()
>>> model = train.linear_regression(data)
>>> model.name, model.version, model.metrics["r2"] > 0.2
('linear-regression', 1, True)
>>> evaluation = evaluate.linear_regression(data, model)
>>> sorted(evaluation), evaluation["r2"] > 0.3
(['mae', 'mse', 'r2', 'rmse'], True)
"""

from tesla_lab.workflow.stages.model_deployment import Deployment, ModelDeployment
from tesla_lab.workflow.stages.model_evaluation import ModelEvaluation
from tesla_lab.workflow.stages.model_training import ModelTraining
from tesla_lab.workflow.stages.project import PIPELINE_DIR_ENV, open_stage_project, pipeline_dir
from tesla_lab.workflow.stages.trained_model import TrainedModel

__all__ = ["ModelTraining", "ModelEvaluation", "ModelDeployment", "TrainedModel", "Deployment",
           "open_stage_project", "pipeline_dir", "PIPELINE_DIR_ENV"]
