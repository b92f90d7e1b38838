# Copyright 2026 predctl_ros contributors
# SPDX-License-Identifier: Apache-2.0
"""
Interleaved A/B timing of the layer-scan switches on the Panda prediction network.

On a shared host whose CPU steal varies minute to minute, only runs interleaved in
one process compare fairly: each repetition times every variant back to back.

    python bench/ab_scan.py [--reps 6]
"""

import argparse
import os
import statistics
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from predctl_ros.snn import blas, PredictionNet, scan  # noqa: E402
import torch  # noqa: E402

# (module, switch, value) per variant.
VARIANTS = {
    'kernels, MKL recurrent products': [(scan, 'USE_KERNELS', True), (blas, 'USE_BLAS', True)],
    'kernels, compiled-loop products': [(scan, 'USE_KERNELS', True), (blas, 'USE_BLAS', False)],
    'torch ops': [(scan, 'USE_KERNELS', False), (blas, 'USE_BLAS', True)],
}


def main(argv=None):
    """
    Time one BPTT batch per variant, interleaved, and print medians.

    :param argv: command-line arguments.
    :return: 0.
    """
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('--reps', type=int, default=6)
    parser.add_argument('--skip-torch', action='store_true', help='leave out the slow path')
    args = parser.parse_args(argv)
    torch.manual_seed(0)
    net = PredictionNet(9, 6)
    x = torch.randn(45, 64, 15)
    variants = {k: v for k, v in VARIANTS.items() if not (args.skip_torch and 'torch' in k)}
    if not blas.available():
        print('torch carries no MKL here: both kernel variants use the compiled loop')

    def run(flags):
        for module, name, value in flags:
            setattr(module, name, value)
        for p in net.parameters():
            p.grad = None
        start = time.perf_counter()
        y, _ = net(x)
        (y[5:] ** 2).mean().backward()
        return time.perf_counter() - start

    for flags in variants.values():
        run(flags)
    times = {name: [] for name in variants}
    for _ in range(args.reps):
        for name, flags in variants.items():
            times[name].append(run(flags))
    for name, ts in times.items():
        print(f'{name:32s} median {statistics.median(ts):.3f} s  min {min(ts):.3f} s')
    return 0


if __name__ == '__main__':
    sys.exit(main())
