# Copyright 2026 predctl_ros contributors
# SPDX-License-Identifier: Apache-2.0
"""
Subcommands of the `predctl` command line.

Each module here defines ``HELP``, ``add_arguments(parser)`` and ``run(args) -> int``;
``run`` reports a refusal through :func:`error`.
"""

import sys

# Subcommand name -> module under predctl_ros.commands; imported only when chosen.
COMMANDS = {
    'demo': 'demo',
    'train': 'train',
    'ablate': 'ablate',
    'eval': 'evaluate',
    'info': 'info',
    'export': 'export',
    'render': 'render',
    'bench': 'bench',
    'bringup': 'bringup',
}


def error(args, message: str, status: int = 2) -> int:
    """
    Report a refusal as argparse does: one line on stderr, prefixed with the command.

    :param args: the parsed arguments (their ``command`` names the subcommand).
    :param message: what is wrong; newlines are folded so that it stays one line.
    :param status: exit status to return.
    :return: status.
    """
    print(f'predctl {args.command}: error: {" ".join(str(message).split())}', file=sys.stderr)
    return status
