# Copyright 2026 predctl_ros contributors
# SPDX-License-Identifier: Apache-2.0
"""
Locate the package's data files (urdf/, config/, ...) in a checkout or an install.

A source checkout (or an editable install) keeps the files beside the package
directory; a colcon or pip install puts them under ``share/predctl_ros``, found
through ``ament_index_python``. No ROS import happens unless the first lookup fails.
"""

import os

PACKAGE_NAME = 'predctl_ros'
_SOURCE_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


class ResourceNotFoundError(FileNotFoundError):
    """A data file of the package is neither in the source tree nor in the share directory."""


def share_path(*parts: str) -> str:
    """
    Return the absolute path of a data file of the package.

    Looks in the source tree first (the directory above ``predctl_ros/``), then in
    the installed share directory from ``ament_index_python``.

    :param parts: path components relative to the package root, e.g. ``('urdf', 'panda.urdf')``.
    :return: an existing file or directory path.
    :raises ResourceNotFoundError: when neither location holds the path.
    """
    if not parts:
        raise ValueError('share_path needs at least one path component')
    relative = os.path.join(*parts)
    if os.path.isabs(relative):
        raise ValueError(f'share_path takes a relative path, got {relative!r}')
    tried = []
    source = os.path.join(_SOURCE_ROOT, relative)
    tried.append(source)
    if os.path.exists(source):
        return source
    reason = ''
    try:
        from ament_index_python.packages import (
            get_package_share_directory, PackageNotFoundError)
    except ImportError:
        reason = 'ament_index_python is not importable'
    else:
        try:
            installed = os.path.join(get_package_share_directory(PACKAGE_NAME), relative)
        except PackageNotFoundError:
            reason = f'package {PACKAGE_NAME!r} is not in the ament index'
        except OSError as exc:  # AMENT_PREFIX_PATH unset: no ROS environment sourced
            reason = str(exc)
        else:
            tried.append(installed)
            if os.path.exists(installed):
                return installed
    message = f'cannot find {relative!r} of {PACKAGE_NAME}; tried ' + ', '.join(tried)
    if reason:
        message += f' ({reason})'
    raise ResourceNotFoundError(message)
