"""``tesla --help`` / ``--version`` and ``import tesla_lab`` import no heavy library (torch, pandas, Optuna, Panel,
Keras and its backends)."""

import subprocess
import sys

HEAVY = ("torch", "pandas", "numpy", "optuna", "panel", "bokeh", "sklearn", "papermill", "fastapi", "tesla_lab.automl",
         "keras", "tensorflow", "jax")

PROBE = """
import sys, contextlib, io
with contextlib.redirect_stdout(io.StringIO()):
    from tesla_lab.cli import main
    try:
        main({argv!r})
    except SystemExit:
        pass
print(",".join(m for m in {heavy!r} if m in sys.modules))
"""


def _loaded(argv):
    code = PROBE.format(argv=argv, heavy=HEAVY)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=True)
    return out.stdout.strip().splitlines()[-1] if out.stdout.strip() else ""


def test_help_and_version_import_no_heavy_library():
    assert _loaded(["--help"]) == ""
    assert _loaded(["--version"]) == ""
    assert _loaded(["train", "--help"]) == ""


def test_every_command_help_and_a_typo_import_no_heavy_library():
    from tesla_lab.cli.app import load_commands

    names = sorted(load_commands())
    code = ("import sys, contextlib, io\n"
            "from tesla_lab.cli import main\n"
            "bad = dict()\n"
            "for argv in {argv!r}:\n"
            "    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):\n"
            "        main(argv)\n"
            "    found = [m for m in {heavy!r} if m in sys.modules]\n"
            "    if found: bad[' '.join(argv)] = found; break\n"
            "print(bad)").format(argv=[[n, "--help"] for n in names] + [["trian"], ["train", "--epohcs", "3"]],
                                 heavy=HEAVY)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=True)
    assert out.stdout.strip() == "{}"


def test_import_tesla_lab_is_lazy_and_names_still_resolve():
    code = ("import sys, tesla_lab; before = 'torch' in sys.modules; from tesla_lab import TTLinear; "
            "import tesla_lab.nn; print(before, TTLinear is tesla_lab.nn.TTLinear)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=True)
    assert out.stdout.split() == ["False", "True"]


def test_every_name_dir_lists_imports_no_keras_panel_or_papermill():
    """pytest's fixture scan (and IDEs) getattr every name ``dir(tesla_lab)`` lists: that must not import Keras
    (TensorFlow), Panel or papermill, which a plain training process never asked for."""
    code = ("import sys, tesla_lab\n"
            "for name in dir(tesla_lab):\n"
            "    getattr(tesla_lab, name)\n"
            "print(sorted(m for m in ('keras', 'tensorflow', 'panel', 'papermill') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300, check=True)
    assert out.stdout.strip() == "[]"
