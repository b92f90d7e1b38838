# Copyright 2026 predctl_ros contributors
# SPDX-License-Identifier: Apache-2.0
"""Check the license header of every Python file (ament_copyright's job where absent)."""

from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SKIP = {'.venv', 'build', 'install', 'log', '.git'}


def _python_files():
    for path in sorted(ROOT.rglob('*.py')):
        if not SKIP.intersection(path.relative_to(ROOT).parts):
            yield path


@pytest.mark.linter
def test_every_python_file_has_license_header():
    """Each file starts with the copyright line and the SPDX identifier."""
    missing = []
    for path in _python_files():
        head = path.read_text(encoding='utf-8').splitlines()[:3]
        if not (head and head[0].startswith('# Copyright')
                and any('SPDX-License-Identifier: Apache-2.0' in line for line in head)):
            missing.append(str(path.relative_to(ROOT)))
    assert not missing, f'files without license header: {missing}'
