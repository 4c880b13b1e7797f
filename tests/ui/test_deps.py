"""Optional dependencies name the extra to install."""

import pytest

from tesla_lab.ui._deps import MissingDependencyError, require


def test_a_missing_package_names_the_ui_extra():
    with pytest.raises(MissingDependencyError, match=r"pip install 'tesla-lab\[ui\]'"):
        require("no_such_package_for_tesla")
    with pytest.raises(ImportError):
        require("no_such_package_for_tesla")
    assert require("param").__name__ == "param"
