# Copyright 2026 predctl_ros contributors
# SPDX-License-Identifier: Apache-2.0
"""Check the license header of every Python file (ament_copyright's job where absent)."""

from lint_paths import lint_paths, ROOT
import pytest


def _python_files():
    for name in lint_paths():
        path = ROOT / name
        yield from sorted(path.rglob('*.py')) if path.is_dir() else [path]


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
