# Copyright 2026 predctl_ros contributors
# SPDX-License-Identifier: Apache-2.0
"""The `predctl` command line: one entry point for the ROS-free core."""

import argparse
import copy
import importlib
import sys

from predctl_ros import __version__
from predctl_ros.commands import COMMANDS


def _load(name):
    return importlib.import_module(f'predctl_ros.commands.{COMMANDS[name]}')


class HelpFormatter(argparse.ArgumentDefaultsHelpFormatter):
    """Help that shows each argument's default, where there is one worth reading."""

    @staticmethod
    def _has_default(action) -> bool:
        # Flags, unset options and empty lists would only show False, None or [].
        return (action.nargs != 0 and action.default not in (None, argparse.SUPPRESS, '')
                and action.default != []
                and (bool(action.option_strings)
                     or action.nargs in (argparse.OPTIONAL, argparse.ZERO_OR_MORE)))

    def _get_help_string(self, action):
        if self._has_default(action) and '%(default)' not in action.help:
            return action.help + ' (default: %(default)s)'
        return action.help

    def _format_action(self, action):
        if action.help is None and self._has_default(action):
            # argparse prints no help line at all for an argument declared without help.
            action = copy.copy(action)
            action.help = 'default: %(default)s'
        return super()._format_action(action)


class ArgumentParser(argparse.ArgumentParser):
    """Parser whose refusals are one line on stderr, as every `predctl` error is."""

    def error(self, message):
        """
        Exit with status 2 after one line naming the command and the problem.

        :param message: argparse's description of the problem.
        """
        self.exit(2, f'{self.prog}: error: {message} (see {self.prog} --help)\n')


def build_parser():
    """
    Build the argument parser with every registered subcommand.

    :return: the top-level parser.
    """
    parser = ArgumentParser(
        prog='predctl', description='Pred-Control SNN: spiking torque control of robot arms.',
        formatter_class=HelpFormatter)
    parser.add_argument('--version', action='version', version=f'predctl_ros {__version__}')
    sub = parser.add_subparsers(dest='command', metavar='COMMAND', required=True)
    for name in COMMANDS:
        module = _load(name)
        cmd = sub.add_parser(name, help=module.HELP, description=module.HELP,
                             formatter_class=HelpFormatter)
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
