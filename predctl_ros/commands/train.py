# Copyright 2026 predctl_ros contributors
# SPDX-License-Identifier: Apache-2.0
"""`predctl train`: Pred-Control training from a YAML config, resumable."""

import argparse
import dataclasses
import os
from pathlib import Path

from predctl_ros.commands import error

HELP = 'train the prediction and policy networks (resumable with --resume)'


class _ListSettings(argparse.Action):
    # Like --version: answered while parsing, so that --out is not asked for.

    def __init__(self, option_strings, dest, **kwargs):
        super().__init__(option_strings, dest=argparse.SUPPRESS, default=argparse.SUPPRESS,
                         nargs=0, **kwargs)

    def __call__(self, parser, namespace, values, option_string=None):
        from predctl_ros.learning.config import describe_settings
        print(describe_settings())
        parser.exit()


def add_arguments(parser):
    """
    Declare the arguments of `predctl train`.

    :param parser: the subcommand's parser.
    """
    parser.add_argument('--config', help='YAML file of TrainConfig settings')
    parser.add_argument('--set', dest='overrides', action='append', default=[],
                        metavar='KEY=VALUE',
                        help='override a setting, e.g. --set iterations=10 --set model.rank=64')
    parser.add_argument('--list-settings', action=_ListSettings,
                        help='print every setting with its default and meaning, and exit')
    parser.add_argument('--out', required=True,
                        help='run directory; with --bags: the checkpoint file to write')
    parser.add_argument('--bags', nargs='+', metavar='PATH',
                        help='retrain from recorded bags (folders, .mcap/.db3 files, folders '
                        'of bags) instead of simulation; see docs/bags.md')
    parser.add_argument('--init', metavar='CKPT',
                        help="with --bags: checkpoint to fine-tune ('shipped': the package's "
                        'own); default: from scratch')
    parser.add_argument('--iterations', type=int, metavar='N',
                        help="training iterations (default: the config's; with --bags 20)")
    parser.add_argument('--resume', action='store_true',
                        help='continue the run in --out from its last iteration')


def run(args) -> int:
    """
    Train and report the last iteration's metrics.

    :param args: parsed arguments.
    :return: 0, 1 when retraining from bags fails (nothing written), 2 on a bad config
        (nothing written either).
    """
    from predctl_ros.learning.config import load_config, preflight

    try:
        cfg = load_config(args.config, args.overrides)
        if args.bags:
            from predctl_ros.learning.retrain import retrain_from_bags, RetrainError
        else:
            if args.iterations is not None:
                cfg = dataclasses.replace(cfg, iterations=args.iterations)
            if Path(args.out).exists() and not Path(args.out).is_dir():
                raise ValueError(f'--out {args.out}: exists and is not a directory')
            preflight(cfg)
    except ValueError as exc:
        return error(args, exc)
    if args.bags:
        try:
            result = retrain_from_bags(args.bags, args.out, init=args.init, config=cfg,
                                       iterations=20 if args.iterations is None
                                       else args.iterations)
        except RetrainError as exc:
            return error(args, exc, 1)
        print(result.report())
        return 0
    from predctl_ros.learning.train import train

    train(cfg, args.out, resume=args.resume)
    if os.environ.get('RANK', '0') == '0':   # under torchrun rank 0 alone writes
        print(f'checkpoint: {args.out}/model.safetensors')
    return 0
