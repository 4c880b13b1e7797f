"""The training workflow every entry point shares (CLI, UI, notebooks, papermill): one :class:`TrainConfig`,
:func:`train_model` to run it into the project store, :func:`evaluate_model` and :func:`deploy_model` after.

>>> import tempfile
>>> from tesla_lab.store import Project
>>> from tesla_lab.workflow import TrainConfig, train_model
>>> project = Project.init(tempfile.mkdtemp())
>>> result = train_model(project, TrainConfig(dataset="diabetes", framework="scikit-learn",
...                                            family="sklearn:ridge"), name="diabetes-ridge")
>>> result.bundle.task, round(result.metrics["r2"], 1) > 0.2
('regression', True)
"""

from tesla_lab.workflow.config import TASK_CHOICES, TrainConfig
from tesla_lab.workflow.datasets import (
    DataSource,
    dataset_target,
    frame_source,
    last_dataset,
    load_dataset,
    parse_ref,
    resolve_data,
    snapshot_source,
)
from tesla_lab.workflow.deployment import (
    DEPLOY_STAGES,
    DeployResult,
    EvaluationResult,
    add_deploy_hook,
    deploy_model,
    evaluate_model,
    load_registered,
    remove_deploy_hook,
)
from tesla_lab.workflow.iterations import ITERATION_PARAMS, apply_iterations, iteration_option
from tesla_lab.workflow.preprocess import PreparedData, build_pipeline, column_kinds, detect_task, prepare
from tesla_lab.workflow.stages import (
    Deployment,
    ModelDeployment,
    ModelEvaluation,
    ModelTraining,
    TrainedModel,
    open_stage_project,
    pipeline_dir,
)
from tesla_lab.workflow.starter import STARTER_NOTEBOOKS, add_starter_notebooks, create_project, template_notebook
from tesla_lab.workflow.training import TrainResult, resolve_config, resume_model, train_model

__all__ = [
    "TrainConfig", "TASK_CHOICES", "TrainResult", "train_model", "resume_model", "resolve_config",
    "apply_iterations", "iteration_option", "ITERATION_PARAMS",
    "create_project", "add_starter_notebooks", "template_notebook", "STARTER_NOTEBOOKS",
    "EvaluationResult", "DeployResult", "evaluate_model", "deploy_model", "load_registered",
    "add_deploy_hook", "remove_deploy_hook", "DEPLOY_STAGES",
    "DataSource", "resolve_data", "frame_source", "load_dataset", "snapshot_source", "parse_ref", "last_dataset",
    "dataset_target",
    "PreparedData", "prepare", "detect_task", "column_kinds", "build_pipeline",
    "ModelTraining", "ModelEvaluation", "ModelDeployment", "TrainedModel", "Deployment", "open_stage_project",
    "pipeline_dir",
]
