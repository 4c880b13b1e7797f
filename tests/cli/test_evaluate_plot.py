"""`tesla evaluate --plot out.html`: the confusion matrix (or predicted vs true) and the per-class table in one
offline page, plotly.js embedded (no CDN)."""

import re

from tesla_lab.store import Project
from tesla_lab.workflow import train_model


def test_evaluate_writes_an_offline_confusion_matrix_page(tmp_path, tesla):
    project = Project.init(tmp_path / "p")
    train_model(project, {"dataset": "iris", "family": "sklearn:logistic", "framework": "sklearn"}, name="iris-lr")
    out = tmp_path / "eval.html"
    code, stdout, stderr = tesla("--project", tmp_path / "p", "evaluate", "-m", "iris-lr", "-d", "iris",
                                 "--plot", out)
    assert code == 0 and f"wrote {out}" in stderr and "precision" in stdout
    page = out.read_text()
    assert "<h1>iris-lr v1 on iris@1 (150 rows)</h1>" in page
    assert '"type":"heatmap"' in page and "true class" in page
    assert "<th>precision</th><th>recall</th>" in page and page.count("<td>50</td></tr>") == 3  # 3 classes of 50
    assert not re.search(r"<script[^>]+src=\"https?://", page)  # nothing fetched from the network
    assert len(page) > 1_000_000  # plotly.js itself is in the page


def test_a_regression_page_plots_predicted_against_true(tmp_path, tesla):
    project = Project.init(tmp_path / "p")
    train_model(project, {"dataset": "diabetes", "family": "sklearn:linear", "framework": "sklearn"}, name="dia")
    out = tmp_path / "eval.html"
    code, _, _ = tesla("--project", tmp_path / "p", "evaluate", "-m", "dia", "-d", "diabetes", "--plot", out)
    page = out.read_text()
    assert code == 0 and "Predicted vs true (442 test rows)" in page and '"name":"y = x"' in page


def test_train_summary_shows_tt_layers_with_ranks_and_compression(tmp_path, tesla):
    Project.init(tmp_path)
    code, out, _ = tesla("--project", tmp_path, "train", "-m", "d", "-d", "digits", "--family", "tt_mlp",
                         "--iterations", "1", "-q", "--summary")
    assert code == 0
    header = next(line for line in out.splitlines() if line.startswith("Layer"))
    assert header.split() == ["Layer", "Type", "TT", "ranks", "Output", "shape", "Params", "Dense-equiv.",
                              "Compression"]
    body = next(line for line in out.splitlines() if line.startswith("body"))
    assert "TT+ReLU+TT+ReLU" in body and "1-4-1" in body and body.rstrip().endswith("7.2x") and "Dense" not in body
