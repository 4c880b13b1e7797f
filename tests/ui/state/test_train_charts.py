"""The Train view's live curves: one chart per metric with smoothing and a log scale, and a throughput that does
not jump with one slow epoch."""

from tesla_lab.store import Project
from tesla_lab.ui.state import TrainState


def test_live_curves_are_one_chart_per_metric_and_the_throughput_is_the_run_average(tmp_path):
    project = Project.init(tmp_path)
    run = project.start_run(name="live", params={"epochs": 3})
    for step, (speed, seconds) in enumerate(((90.0, 16.0), (17672.0, 0.08), (17000.0, 0.09))):
        run.log_metrics({"loss": 1.0 / (step + 1), "val_loss": 1.1 / (step + 1), "accuracy": 0.5 + step / 10,
                         "samples_per_sec": speed, "epoch_time": seconds}, step=step)
    state = TrainState(project, run)
    state.poll()
    # (90 * 16 + 17672 * 0.08 + 17000 * 0.09) samples in 16.17 s: the run's speed, not the last epoch's
    assert round(state.throughput) == round((1440 + 1413.76 + 1530) / 16.17)
    fig = state.figure()
    assert [a.text for a in fig.layout.annotations] == ["loss", "accuracy"]
    assert [t.name for t in fig.data] == ["train", "validation", "train"]
    state.param.update(smoothing=0.6, log_y=True)
    fig = state.figure()
    assert fig.layout.yaxis.type == "log" and len(fig.data) == 6  # a faint raw line under each smoothed one
    assert fig.data[1].y[-1] != fig.data[0].y[-1]  # smoothed differs from raw at the end
