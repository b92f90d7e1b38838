# Copyright 2026 predctl_ros contributors
# SPDX-License-Identifier: Apache-2.0
"""Run the ament pep257 docstring linter."""

from ament_pep257.main import main
from lint_paths import lint_paths, ROOT
import pytest


@pytest.mark.linter
@pytest.mark.pep257
def test_pep257():
    """Check docstrings with ament's pydocstyle settings."""
    rc = main(argv=[str(ROOT / p) for p in lint_paths()])
    assert rc == 0, 'Found code style errors / warnings'
