# Copyright 2026 predctl_ros contributors
# SPDX-License-Identifier: Apache-2.0
"""Public names of a package imported from their modules on first use (PEP 562)."""

import importlib
from typing import Callable, Dict, Tuple


def lazy_exports(package: str, exports: Dict[str, str],
                 namespace: dict) -> Tuple[Callable, Callable]:
    """
    Return a package's ``__getattr__`` and ``__dir__`` that import names on first use.

    A node that needs one light module of a package then does not load the heavy ones
    (torch, gymnasium) that its other modules import.

    :param package: the package's ``__name__``.
    :param exports: {public name: module of the package that defines it}.
    :param namespace: the package's ``globals()``; each name is cached there once loaded.
    :return: (__getattr__, __dir__).
    """
    def getattr_(name):
        module = exports.get(name)
        if module is None:
            raise AttributeError(f'module {package!r} has no attribute {name!r}')
        value = getattr(importlib.import_module(f'{package}.{module}'), name)
        namespace[name] = value
        return value

    def dir_():
        return sorted(set(namespace) | set(exports))

    return getattr_, dir_
