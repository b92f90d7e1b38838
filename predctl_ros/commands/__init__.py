# Copyright 2026 predctl_ros contributors
# SPDX-License-Identifier: Apache-2.0
"""
Subcommands of the `predctl` command line.

Each module here defines ``HELP``, ``add_arguments(parser)`` and ``run(args) -> int``.
"""

# Subcommand name -> module under predctl_ros.commands; imported only when chosen.
COMMANDS = {
    'demo': 'demo',
    'train': 'train',
    'ablate': 'ablate',
    'eval': 'evaluate',
    'info': 'info',
    'render': 'render',
    'bench': 'bench',
    'bringup': 'bringup',
}
