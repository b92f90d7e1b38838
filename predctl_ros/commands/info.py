# Copyright 2026 predctl_ros contributors
# SPDX-License-Identifier: Apache-2.0
"""`predctl info`: describe a checkpoint without running it."""

import json

from predctl_ros.commands import error

HELP = 'describe a checkpoint: task, networks, sizes, time step'


def add_arguments(parser):
    """
    Declare the arguments of `predctl info`.

    :param parser: the subcommand's parser.
    """
    parser.add_argument('checkpoint', help='checkpoint file (.safetensors)')
    parser.add_argument('--json', action='store_true', help='print the header as JSON')


def run(args) -> int:
    """
    Print what a checkpoint holds.

    :param args: parsed arguments.
    :return: 0, or 2 when the file is not a valid checkpoint.
    """
    from predctl_ros.snn.checkpoint import CheckpointError, load_checkpoint

    try:
        ckpt = load_checkpoint(args.checkpoint)
    except CheckpointError as exc:
        return error(args, exc)
    if args.json:
        print(json.dumps(ckpt.header, indent=2, sort_keys=True))
        return 0
    header = ckpt.header
    print(f'{ckpt.path}: task {header.get("task")}, package {header["package_version"]}, '
          f'SNN step {header["dt_s"] * 1e3:g} ms x {header["substeps"]} sub-steps')
    for name, net in ckpt.networks.items():
        spec = net.spec
        params = sum(p.numel() for p in net.parameters())
        layers = ' -> '.join([str(spec.n_in)] + [
            f'{h}{"r" if r else ""}' for h, r in zip(spec.hidden, spec.recurrent)] +
            [str(spec.n_out)])
        kind = spec.arch if spec.arch != 'snn' else f'snn/{spec.neuron}'
        rank = f', rank {spec.rank}' if spec.rank else ''
        print(f'  {name}: {kind} {layers}{rank}, {params} parameters')
    return 0
