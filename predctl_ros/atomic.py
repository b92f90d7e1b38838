# Copyright 2026 predctl_ros contributors
# SPDX-License-Identifier: Apache-2.0
"""Atomic file replacement: a crash mid-write never destroys the previous file."""

from contextlib import contextmanager
import os
from pathlib import Path
import tempfile


@contextmanager
def atomic_path(path):
    """
    Yield a temporary path beside `path`; on success fsync it and rename it over `path`.

    The rename is atomic on POSIX file systems, so readers see either the old file or
    the complete new one.  On any exception (or interrupt) the temporary file is removed
    and `path` is left untouched.

    :param path: destination file.
    :yield: the temporary Path to write to.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f'.{path.name}.', suffix='.tmp', dir=path.parent)
    os.close(fd)
    try:
        yield Path(tmp)
        with open(tmp, 'rb') as f:
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
    dir_fd = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)
