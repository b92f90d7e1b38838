# Copyright 2026 predctl_ros contributors
# SPDX-License-Identifier: Apache-2.0
"""Run the ament flake8 linter over the package, tests and benchmarks."""

from ament_flake8.main import main_with_errors
from lint_paths import lint_paths, ROOT
import pytest


@pytest.mark.flake8
@pytest.mark.linter
def test_flake8():
    """Lint everything with ament's flake8 configuration."""
    rc, errors = main_with_errors(argv=[str(ROOT / p) for p in lint_paths()])
    assert rc == 0, f'Found {len(errors)} code style errors / warnings:\n' + '\n'.join(errors)
