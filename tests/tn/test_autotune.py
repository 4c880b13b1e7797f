import json
import logging
import warnings

import pytest
import torch

from tesla_lab.nn.tt_linear import TTLinear
from tesla_lab.tn import autotune
from tesla_lab.tn.cost import Plan, model_plan

SHAPE, RANKS = (4, 4, 4), (1, 3, 3, 1)


def cores(dtype=torch.float32):
    g = torch.Generator().manual_seed(0)
    return [torch.randn(RANKS[k], 4, 4, RANKS[k + 1], generator=g, dtype=dtype) for k in range(3)]


@pytest.fixture
def tuned(tmp_path, monkeypatch):
    """Timing on, cache in tmp_path, a fake timer that says the dense plan is fastest and counts its calls."""
    monkeypatch.setenv("TESLA_AUTOTUNE", "1")
    monkeypatch.setenv("TESLA_CACHE_DIR", str(tmp_path))
    calls = []

    def fake_measure(runs, device):
        calls.append(sorted(runs))
        for run in runs.values():  # the candidates must really run
            run()
        return {plan: (0.001 if plan.path == "dense" else 0.002 + plan.groups * 1e-3) for plan in runs}

    monkeypatch.setattr(autotune, "measure", fake_measure)
    autotune.clear_memory()
    yield calls
    autotune.clear_memory()


def test_timing_is_off_under_pytest_by_default_and_the_model_decides(monkeypatch):
    monkeypatch.delenv("TESLA_AUTOTUNE", raising=False)
    monkeypatch.setattr(autotune, "measure", lambda runs, device: pytest.fail("must not time under pytest"))
    assert not autotune.timing_allowed()
    assert autotune.choose_plan(cores(), 2) == model_plan(SHAPE, SHAPE, RANKS, 2)


def test_autotune_0_turns_timing_off(tuned, monkeypatch):
    monkeypatch.setenv("TESLA_AUTOTUNE", "0")
    assert autotune.choose_plan(cores(), 2) == model_plan(SHAPE, SHAPE, RANKS, 2)
    assert tuned == []


def test_the_measured_winner_is_cached_on_disk_and_reused(tuned, tmp_path):
    assert model_plan(SHAPE, SHAPE, RANKS, 2).path == "factorized"  # the model would not pick dense here
    assert autotune.choose_plan(cores(), 2, train=True) == Plan("dense", 1)
    # the balanced split into 2 groups is (0), (1-2); the other split, (0-1), (2), is timed as well
    assert tuned == [sorted([Plan("dense", 1), Plan("factorized", 3), Plan("factorized", 2),
                             Plan("factorized", 2, (2,))])]
    data = json.loads((tmp_path / "tt_plans.json").read_text())
    (key, entry), = data["plans"].items()
    assert key == f"1x4x4x3,3x4x4x3,3x4x4x1|b2|cpu:{torch.get_num_threads()}t|float32|train|auto"
    assert entry["path"] == "dense" and entry["groups"] == 1 and entry["ms"]["dense/1"] == 1.0
    autotune.clear_memory()  # a new process: read back from disk, no new measurement
    assert autotune.choose_plan(cores(), 2, train=True) == Plan("dense", 1)
    assert len(tuned) == 1
    # same batch bucket (2 -> 2, 3 -> 4): 4 is a new bucket, measured once; inference is measured separately
    autotune.choose_plan(cores(), 2, train=False)
    autotune.choose_plan(cores(), 3, train=True)
    autotune.choose_plan(cores(), 4, train=True)
    assert len(tuned) == 3
    assert len(json.loads((tmp_path / "tt_plans.json").read_text())["plans"]) == 3


def test_an_unbalanced_split_can_win_and_is_cached_with_its_cuts(tmp_path, monkeypatch):
    monkeypatch.setenv("TESLA_AUTOTUNE", "1")
    monkeypatch.setenv("TESLA_CACHE_DIR", str(tmp_path))
    fastest = Plan("factorized", 2, (2,))
    monkeypatch.setattr(autotune, "measure", lambda runs, device: {p: 0.001 if p == fastest else 0.01 for p in runs})
    autotune.clear_memory()
    try:
        assert autotune.choose_plan(cores(), 8, train=True) == fastest
        entry, = json.loads((tmp_path / "tt_plans.json").read_text())["plans"].values()
        assert entry["cuts"] == [2] and entry["ms"]["factorized/2@2"] == 1.0
        autotune.clear_memory()  # read back from disk
        assert autotune.choose_plan(cores(), 8, train=True) == fastest
    finally:
        autotune.clear_memory()
    from tesla_lab.tn.contract import apply_plan, tt_matrix_full

    cs = cores(torch.float64)
    x = torch.randn(8, 64, dtype=torch.float64)
    for plan in (fastest, Plan("factorized", 3, (1, 2)), Plan("factorized", 2, (1,))):
        torch.testing.assert_close(apply_plan(x, cs, None, plan), x @ tt_matrix_full(cs).T)


def test_a_corrupt_cache_file_is_ignored_with_a_log_and_rewritten(tuned, tmp_path, caplog):
    (tmp_path / "tt_plans.json").write_text("{not json")
    with caplog.at_level(logging.WARNING, logger="tesla_lab.tn.autotune"):
        assert autotune.choose_plan(cores(), 2, train=True) == Plan("dense", 1)
    assert "ignoring the unreadable TT plan cache" in caplog.text
    assert len(tuned) == 1
    assert json.loads((tmp_path / "tt_plans.json").read_text())["version"] == 1


def test_a_cache_with_a_bad_entry_is_ignored(tuned, tmp_path, caplog):
    key = autotune._plan_key(cores(), 2, "train", "auto")
    bad = {"version": 1, "plans": {key: {"path": "teleport", "groups": 1}}}
    (tmp_path / "tt_plans.json").write_text(json.dumps(bad))
    with caplog.at_level(logging.WARNING, logger="tesla_lab.tn.autotune"):
        assert autotune.choose_plan(cores(), 2, train=True) == Plan("dense", 1)
    assert "bad plan" in caplog.text and len(tuned) == 1


def test_an_unwritable_cache_folder_only_logs(tuned, tmp_path, monkeypatch, caplog):
    blocker = tmp_path / "file"
    blocker.write_text("")
    monkeypatch.setenv("TESLA_CACHE_DIR", str(blocker / "sub"))  # a folder below a file cannot be created
    with caplog.at_level(logging.WARNING, logger="tesla_lab.tn.autotune"):
        assert autotune.choose_plan(cores(), 2, train=True) == Plan("dense", 1)
    assert "could not write the TT plan cache" in caplog.text


def test_a_pinned_factorized_path_only_times_factorized_plans(tuned):
    assert autotune.choose_plan(cores(), 2, path="factorized", train=True) == Plan("factorized", 2)
    assert all(p.path == "factorized" for p in tuned[0])


def test_no_timing_while_tracing(tuned):
    layer = TTLinear(64, 64, rank=3, in_shape=SHAPE, out_shape=SHAPE)
    with torch.no_grad(), warnings.catch_warnings():
        warnings.simplefilter("ignore")  # TracerWarnings where the cores' sizes are read: constants of the layer
        torch.jit.trace(layer, torch.randn(2, 64), check_trace=False)
    assert tuned == []


def test_ttlinear_uses_the_measured_plan_and_stays_correct(tuned):
    torch.manual_seed(0)
    layer = TTLinear(64, 64, rank=3, in_shape=SHAPE, out_shape=SHAPE, dtype=torch.float64)
    x = torch.randn(2, 64, dtype=torch.float64)
    y = layer(x)
    assert layer.plans == {2: "dense"}
    torch.testing.assert_close(y, x @ layer.weight.T + layer.bias)
    layer(x)
    assert len(tuned) == 1  # memoized on the layer
    with torch.no_grad():  # inference is measured on its own, with W and the core matrices prepared as cached
        torch.testing.assert_close(layer(x), y.detach())
    assert len(tuned) == 2


def test_real_timer_times_every_candidate():
    runs = {Plan("dense", 1): lambda: None, Plan("factorized", 2): lambda: torch.ones(3).sum()}
    times = autotune.measure(runs, torch.device("cpu"))
    assert set(times) == set(runs) and all(t >= 0 for t in times.values())


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_measured_plans_on_cuda_match_cpu(tmp_path, monkeypatch):
    monkeypatch.setenv("TESLA_AUTOTUNE", "1")
    monkeypatch.setenv("TESLA_CACHE_DIR", str(tmp_path))
    autotune.clear_memory()
    torch.manual_seed(0)
    layer = TTLinear(256, 256, rank=8)
    x = torch.randn(64, 256)
    ref = layer(x)
    ref.square().sum().backward()
    ref_grads = [c.grad.clone() for c in layer.cores]
    gpu = TTLinear(256, 256, rank=8, device="cuda")
    gpu.load_state_dict(layer.state_dict())
    y = gpu(x.cuda())  # measures the train plans on the GPU (real timer)
    y.square().sum().backward()
    torch.testing.assert_close(y.cpu(), ref, atol=1e-4, rtol=1e-4)
    for got, want in zip(gpu.cores, ref_grads):
        torch.testing.assert_close(got.grad.cpu(), want, atol=1e-3, rtol=1e-3)
    with torch.no_grad():
        torch.testing.assert_close(gpu(x.cuda()).cpu(), ref, atol=1e-4, rtol=1e-4)
    assert "cuda:" in (tmp_path / "tt_plans.json").read_text()
    autotune.clear_memory()


def test_the_model_plan_stays_unless_another_is_clearly_faster(tmp_path, monkeypatch):
    monkeypatch.setenv("TESLA_AUTOTUNE", "1")
    monkeypatch.setenv("TESLA_CACHE_DIR", str(tmp_path))
    model = model_plan(SHAPE, SHAPE, RANKS, 2)
    monkeypatch.setattr(autotune, "measure", lambda runs, device: {p: 1.03 if p == model else 1.0 for p in runs})
    autotune.clear_memory()
    assert autotune.choose_plan(cores(), 2, train=True) == model  # 3 % is within the noise margin
    monkeypatch.setattr(autotune, "measure", lambda runs, device: {p: 1.2 if p == model else 1.0 for p in runs})
    assert autotune.choose_plan(cores(), 4, train=True) != model
    autotune.clear_memory()
