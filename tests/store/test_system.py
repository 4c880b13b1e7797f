"""System metrics per epoch and the model's size, recorded by StoreCallback."""

import pytest
import torch

from tesla_lab.nn import Dense
from tesla_lab.store import Project, StoreCallback
from tesla_lab.store.system import SystemMonitor, model_size
from tesla_lab.train import Trainer


def test_each_epoch_records_cpu_and_memory_and_the_run_records_the_model_size(tmp_path):
    run = Project.init(tmp_path).start_run(name="tt")
    model = torch.nn.Sequential(Dense(64, input_dim=64, tt_rank=4), torch.nn.Linear(64, 2))
    Trainer(device="cpu", callbacks=[StoreCallback(run)]).fit(model, torch.randn(64, 64), torch.randint(0, 2, (64,)),
                                                               epochs=2, loss_fn="cross_entropy")
    history = run.history()
    assert (history["sys_rss_mb"] > 20).all()  # a Python process with torch holds far more than 20 MiB
    assert (history["sys_cpu_percent"] >= 0).all()
    assert "sys_gpu_mem_mb" not in history.columns  # CPU run
    params = run.params()
    assert params["n_params"] == 576 + 130 and params["dense_params"] == 4160 + 130
    assert params["compression"] == pytest.approx(4290 / 706, rel=1e-3)


def test_model_size_rounds_the_ratio_to_four_digits():
    assert model_size(Dense(64, input_dim=64, tt_rank=4)) == {"n_params": 576, "dense_params": 4160,
                                                              "compression": 7.222}


def test_log_system_false_records_none(tmp_path):
    run = Project.init(tmp_path).start_run()
    Trainer(device="cpu", callbacks=[StoreCallback(run, log_system=False)]).fit(
        torch.nn.Linear(2, 1), torch.randn(8, 2), torch.randn(8), epochs=1)
    assert not any(c.startswith("sys_") for c in run.history().columns)


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_gpu_memory_is_recorded_on_cuda():
    monitor = SystemMonitor()
    monitor.start("cuda")
    x = torch.zeros(1024, 1024, device="cuda")  # 4 MiB
    sample = monitor.sample()
    assert sample["sys_gpu_mem_mb"] >= 4 and x.is_cuda
