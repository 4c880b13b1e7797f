"""The Panel pages without a browser: widgets drive the states, states drive what is shown."""

import pytest
import torch

from tesla_lab.store import Project
from tesla_lab.ui.pages.data import DataPage
from tesla_lab.ui.pages.explore import ExplorePage
from tesla_lab.ui.pages.model import ModelPage
from tesla_lab.ui.pages.runs import RunsPage
from tesla_lab.ui.pages.train import TrainPage
from tesla_lab.ui.state import DataState, ExploreState, ModelState, RunsState, WorkbenchState


@pytest.fixture
def project(tmp_path):
    return Project.init(tmp_path)


def test_data_page_uploads_switches_sources_and_stores_versions(project):
    page = DataPage(DataState(project))
    page.source.value = "upload"
    assert page.source_box.objects == [page._panels["upload"]]
    page.upload.filename = "t.csv"
    page.upload.value = b"a,b,y\n1,2,0\n3,4,1\n5,6,0\n"
    assert page.state.frame.shape == (3, 3) and "t.csv" in page.summary.object
    assert len(page.preview.value) == 3 and page.status.alert_type == "success"
    page.upload.filename = "bad.parquet"
    page.upload.value = b"not parquet"
    assert page.status.alert_type == "danger" and "not a readable Parquet file" in page.status.object
    page.dataset_name.value = "tiny"
    page.save.clicks += 1
    assert page.state.dataset_version == 1 and len(page.versions.value) == 1 and len(page.datasets.value) == 1


def test_data_page_target_select_and_path_errors(project, tmp_path):
    page = DataPage(DataState(project))
    page.load_sample.clicks += 1
    page.target.value = "pixel_0_1"
    assert page.state.target == "pixel_0_1" and "pixel_0_1" not in page.features.value
    page.path.value = str(tmp_path / "missing.csv")
    page.load_path.clicks += 1
    assert page.status.alert_type == "danger" and "file not found" in page.status.object


def test_explore_page_redraws_for_each_kind():
    state = ExploreState()
    page = ExplorePage(state)
    assert page.plot.object is None
    bench_data = DataState()
    bench_data.load_sample("digits")
    state.param.update(frame=bench_data.frame, target="target", image_shape=(8, 8))
    assert page.kind.options[-1] == "images"
    page.kind.value = "images"
    assert len(page.plot.object.layout.annotations) == 24 and not page.column.visible
    page.kind.value = "scatter matrix"
    assert page.columns.visible and page.plot.object.data[0].type == "splom"


def test_model_page_edits_layers_and_settings_with_inline_errors():
    page = ModelPage(ModelState(n_inputs=64, n_outputs=10))
    page.add_kind.value = "Conv2D"
    page.add.clicks += 1
    assert [r.kind.value for r in page.rows] == ["TT", "Conv2D"]
    assert page.status.alert_type == "danger"  # a Conv2D on flat rows cannot work: the error says why
    page.rows[1].remove.clicks += 1
    assert page.status.alert_type == "success" and page.state.can_launch
    page.rows[0].fields["units"].value = 16
    assert page.state.layers[0]["units"] == 16 and "16" in page.summary.value["output shape"].iloc[0]
    page.settings["batch_size"].value = 0
    assert page.status.alert_type == "danger" and "batch_size must be an integer >= 1" in page.status.object
    page.settings["batch_size"].value = 8
    page.settings["optimizer"].value = "sgd"
    assert page.state.can_launch and page.state.optimizer == "sgd"
    page.state.update_layer(0, tt_rank=3)
    assert page.rows[0].fields["tt_rank"].value == 3  # the state drives the widgets too


def test_train_page_shows_a_failed_runs_error_and_disables_buttons(project):
    run = project.start_run(name="broken", config={"epochs": 3})
    run.log_metrics({"loss": 1.0}, step=0)
    run.finish("failed", error="RuntimeError: CUDA out of memory")
    bench = WorkbenchState(project, sample="iris")
    page = TrainPage(bench.train, workbench=bench)
    assert not page.launch.disabled and page.stop.disabled and page.resume.disabled
    bench.train.watch(run.id)
    assert page.run_error.visible and "CUDA out of memory" in page.run_error.object
    assert page.plot.visible and "broken: failed" in page.plot.object.layout.title.text
    assert "epoch 1/3" in page.info.object
    shown = page.plot.object
    bench.train.history = None  # between two figures (a Resume starting): the chart is kept, never hidden
    page._redraw()
    assert page.plot.visible and page.plot.object is shown
    bench.model.epochs = 0
    assert page.launch.disabled
    page.tick()  # idle: nothing to poll


def test_runs_page_selection_overlay_and_promotion(project):
    for name in ("a", "b"):
        with project.start_run(name=name) as run:
            run.log_metric("loss", 0.5, step=0)
            run.log_model(torch.nn.Linear(1, 1))
    page = RunsPage(RunsState(project))
    assert len(page.table.value) == 2 and not page.plot.visible
    page.table.selection = [0, 1]
    assert page.plot.visible and len(page.plot.object.data) == 2 and page.compare.visible
    assert page.compare.pagination is None and list(page.compare.value.columns) == ["≠", "field", "b", "a"]
    page.promote.clicks += 1
    assert page.status.alert_type == "danger" and "select exactly one run" in page.status.object
    page.table.selection = [1]
    page.model_name.value = "best"
    page.promote.clicks += 1
    assert page.status.alert_type == "success" and page.models.value["stage"].tolist() == ["production"]
