# Copyright 2026 predctl_ros contributors
# SPDX-License-Identifier: Apache-2.0
"""The source paths the linters check (scratch folders such as runs/ are not source)."""

from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SOURCES = ('predctl_ros', 'test', 'bench', 'launch', 'setup.py')


def lint_paths():
    """Return the existing source paths, relative to the repository root."""
    return [name for name in SOURCES if (ROOT / name).exists()]
