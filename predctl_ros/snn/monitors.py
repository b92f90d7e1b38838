# Copyright 2026 predctl_ros contributors
# SPDX-License-Identifier: Apache-2.0
"""
Activity monitors: spikes per layer, firing rates and synaptic operations.

SynOps counts the accumulate operations spikes trigger: each spike adds one
weight per target it reaches (next layer or its latent units, recurrent
targets, readout); the energy figure of neuromorphic hardware.
"""

from typing import Dict, List

import torch


class ActivityMonitor:
    """Accumulate spike counts of a SpikingNet over forward passes."""

    def __init__(self, net):
        """
        Prepare counters for the layers of net.

        :param net: a SpikingNet.
        """
        self.sizes = [layer.size for layer in net.layers]
        self.fan_out = list(net.fan_out())
        self.control_dt_s = net.spec.control_dt_s
        self.reset()

    def reset(self) -> None:
        """Zero all counters."""
        self.spike_counts = [0.0] * len(self.sizes)
        self.control_steps = 0

    def record(self, layer: int, spikes: torch.Tensor) -> None:
        """
        Add the spikes of one layer for a whole sequence.

        :param layer: layer index.
        :param spikes: spikes [T, B, N].
        """
        self.spike_counts[layer] += float(spikes.detach().sum())

    def count_control_steps(self, n: int) -> None:
        """
        Add n sample-control-steps (T x B of one forward pass).

        :param n: number of control steps times batch size.
        """
        self.control_steps += n

    def summary(self) -> Dict[str, List[float]]:
        """
        Return per-layer averages per control step and sample.

        :return: dict with 'spikes_per_step', 'rate_hz', 'synops_per_step' (lists over
            layers) and 'synops_total_per_step'.
        """
        steps = max(self.control_steps, 1)
        spikes = [c / steps for c in self.spike_counts]
        rates = [s / (n * self.control_dt_s) for s, n in zip(spikes, self.sizes)]
        synops = [s * f for s, f in zip(spikes, self.fan_out)]
        return {'spikes_per_step': spikes, 'rate_hz': rates, 'synops_per_step': synops,
                'synops_total_per_step': sum(synops)}
