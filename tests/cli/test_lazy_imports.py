"""``tesla --help`` / ``--version`` and ``import tesla_lab`` import no heavy library (torch, pandas, Optuna, Panel,
Keras and its backends)."""

import subprocess
import sys

HEAVY = ("torch", "pandas", "numpy", "optuna", "panel", "sklearn", "keras", "tensorflow", "jax")

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


def test_import_tesla_lab_is_lazy_and_names_still_resolve():
    code = ("import sys, tesla_lab; before = 'torch' in sys.modules; from tesla_lab import TTLinear; "
            "import tesla_lab.nn; print(before, TTLinear is tesla_lab.nn.TTLinear)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=True)
    assert out.stdout.split() == ["False", "True"]
