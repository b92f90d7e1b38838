# Copyright 2026 predctl_ros contributors
# SPDX-License-Identifier: Apache-2.0
"""Run ament_copyright where it is installed (a ROS install; not on PyPI)."""

import pytest

ament_copyright = pytest.importorskip(
    'ament_copyright.main', reason='ament_copyright is not on PyPI; runs on ROS installs')


@pytest.mark.copyright
@pytest.mark.linter
def test_copyright():
    """Check every file carries a license header."""
    rc = ament_copyright.main(argv=['.', 'test'])
    assert rc == 0, 'Found errors'
