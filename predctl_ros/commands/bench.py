# Copyright 2026 predctl_ros contributors
# SPDX-License-Identifier: Apache-2.0
"""`predctl bench`: run the benchmark scripts of a source checkout."""

from pathlib import Path
import subprocess
import sys

from predctl_ros.commands import error

HELP = ('run the benchmarks in bench/ (SNN training and control step, environments, bag '
        'ingestion, a training iteration, ROS stack timing)')

BENCH_DIR = Path(__file__).resolve().parents[2] / 'bench'
SCRIPTS = {'snn': 'bench_snn.py', 'envs': 'bench_envs.py', 'bags': 'bench_bags.py',
           'train': 'bench_train.py', 'ros': 'bench_ros.py'}


def add_arguments(parser):
    """
    Declare the arguments of `predctl bench`.

    :param parser: the subcommand's parser.
    """
    parser.add_argument('which', nargs='*', metavar='NAME',
                        help=f'benchmarks to run: {", ".join(sorted(SCRIPTS))} '
                             '(default: all)')
    parser.add_argument('--write', metavar='FILE',
                        help='replace each benchmark section of this markdown file')
    parser.add_argument('--quick', action='store_true', help='short smoke runs')


def run(args) -> int:
    """
    Run each chosen benchmark script with the shared options.

    :param args: parsed arguments.
    :return: 0, or 2 when the bench/ directory is not there (installed without sources).
    """
    if not BENCH_DIR.is_dir():
        return error(args, f'{BENCH_DIR} not found; the benchmarks run from a source '
                     'checkout')
    unknown = sorted(set(args.which) - set(SCRIPTS))
    if unknown:
        return error(args, f'unknown benchmarks {unknown}; choose from {sorted(SCRIPTS)}')
    names = args.which or [n for n, f in SCRIPTS.items() if (BENCH_DIR / f).is_file()]
    for name in names:
        script = BENCH_DIR / SCRIPTS[name]
        if not script.is_file():
            return error(args, f'{script} not found')
        argv = (['--write', args.write] if args.write else []) + (
            ['--quick'] if args.quick else [])
        # A process of its own per script: the scripts import their neighbours in bench/.
        status = subprocess.call([sys.executable, str(script)] + argv)
        if status:
            return status
    return 0
