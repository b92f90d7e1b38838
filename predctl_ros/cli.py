# Copyright 2026 predctl_ros contributors
# SPDX-License-Identifier: Apache-2.0
"""The `predctl` command line: one entry point for the ROS-free core."""

import argparse
import importlib
import sys

from predctl_ros import __version__
from predctl_ros.commands import COMMANDS


def _load(name):
    return importlib.import_module(f'predctl_ros.commands.{COMMANDS[name]}')


def build_parser():
    """
    Build the argument parser with every registered subcommand.

    :return: the top-level parser.
    """
    parser = argparse.ArgumentParser(
        prog='predctl', description='Pred-Control SNN: spiking torque control of robot arms.')
    parser.add_argument('--version', action='version', version=f'predctl_ros {__version__}')
    sub = parser.add_subparsers(dest='command', metavar='COMMAND', required=True)
    for name in COMMANDS:
        module = _load(name)
        cmd = sub.add_parser(name, help=module.HELP, description=module.HELP)
        module.add_arguments(cmd)
        cmd.set_defaults(run=module.run)
    return parser


def main(argv=None):
    """
    Run the `predctl` command line.

    :param argv: arguments without the program name; defaults to sys.argv[1:].
    :return: process exit status.
    """
    args = build_parser().parse_args(argv)
    return args.run(args)


if __name__ == '__main__':
    sys.exit(main())
