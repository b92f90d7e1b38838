# Copyright 2026 predctl_ros contributors
# SPDX-License-Identifier: Apache-2.0
"""`predctl export`: write a checkpoint's spiking network in an exchange format (NIR)."""

from predctl_ros.commands import error

HELP = 'write a LIF network of a checkpoint as a NIR graph (neuromorphic exchange format)'


def add_arguments(parser):
    """
    Declare the arguments of `predctl export`.

    :param parser: the subcommand's parser.
    """
    parser.add_argument('checkpoint', help='checkpoint file (.safetensors)')
    parser.add_argument('--nir', required=True, metavar='OUT',
                        help='NIR file to write (HDF5, conventionally .nir)')
    parser.add_argument('--network', choices=('policy', 'prediction'), default='policy',
                        help='which network of the checkpoint to export')


def run(args) -> int:
    """
    Convert one network of a checkpoint and write it.

    :param args: parsed arguments.
    :return: 0, or 2 when the checkpoint or network cannot be exported.
    """
    from predctl_ros.snn.checkpoint import CheckpointError, load_checkpoint

    try:
        from predctl_ros.snn import nir_export
    except ImportError as exc:
        # nir is a test requirement, not a runtime one: a ROS install may lack it.
        return error(args, f'NIR export needs the nir package ({exc}); pip install nir==1.0.8')
    try:
        ckpt = load_checkpoint(args.checkpoint)
        graph = nir_export.to_nir(ckpt[args.network], args.network, ckpt.task)
    except (CheckpointError, nir_export.NIRExportError) as exc:
        return error(args, exc)
    try:
        path = nir_export.write_nir(graph, args.nir)
    except OSError as exc:
        return error(args, f'{args.nir}: cannot write ({exc.strerror or exc})')
    meta = graph.metadata
    print(f'{path}: {args.network} as NIR, {len(graph.nodes)} nodes, dt {meta["dt_s"] * 1e3:g} ms '
          f'x {meta["substeps"]} sub-steps per control step, output '
          f'{meta["output_nonlinearity"]}')
    return 0
