# Copyright 2026 predctl_ros contributors
# SPDX-License-Identifier: Apache-2.0
"""
Activity monitors: spikes per layer, firing rates and synaptic operations.

SynOps counts the accumulate operations spikes trigger: each spike adds one
weight per target it reaches (next layer or its latent units, recurrent
targets, readout); the energy figure of neuromorphic hardware.
:class:`SpikeRecorder` also keeps each spike of one sample, for spike rasters.

:class:`ActivityPenalty` collects the same activity with its gradient, for the
activity regularisers of training.
"""

from typing import Dict, List

import numpy as np
import torch
from torch import Tensor


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


class SpikeRecorder(ActivityMonitor):
    """An ActivityMonitor of one sample that also keeps every spike, for rasters."""

    def reset(self) -> None:
        """Zero all counters and forget the spikes."""
        super().reset()
        self._chunks = [[] for _ in self.sizes]

    def record(self, layer: int, spikes: torch.Tensor) -> None:
        """
        Add the spikes of one layer for a whole sequence.

        :param layer: layer index.
        :param spikes: spikes [T, 1, N] (one SNN step per row).
        :raises ValueError: for a batch of more than one sample.
        """
        if spikes.shape[1] != 1:
            raise ValueError(f'SpikeRecorder records one sample, got a batch of '
                             f'{spikes.shape[1]}')
        super().record(layer, spikes)
        self._chunks[layer].append(spikes.detach()[:, 0].to('cpu', torch.bool).numpy())

    def raster(self, layer: int) -> np.ndarray:
        """
        Return the spikes of one layer over everything recorded.

        :param layer: layer index.
        :return: bool [SNN steps, neurons].
        """
        chunks = self._chunks[layer]
        if not chunks:
            return np.zeros((0, self.sizes[layer]), dtype=bool)
        return np.concatenate(chunks)


class ActivityPenalty:
    r"""
    Collect a network's activity over a window, with gradient, and score it.

    Pass it as ``monitor=`` to every forward pass of the window (state carried between
    calls), then read :meth:`rate_penalty` and :meth:`membrane_penalty`.  With
    :math:`c_{bi}` the spikes of hidden neuron i in sample b over the window's K SNN steps
    of dt seconds (every layer, warm-up included), its rate :math:`r_{bi} = c_{bi} / (K
    dt)` and :math:`v_{kbi}` the pre-reset membrane potential in units of the base
    threshold :math:`\theta_0`:

    .. math::

        P_{rate} = \mathrm{mean}_{b,i} \max(0, r_{bi} / r_{max} - 1)^2, \qquad
        P_{mem} = \mathrm{mean}_{k,b,i} \max(0, v_{min} - v_{kbi})^2

    (squared excess over the rate bound in units of the bound; squared shortfall below
    the membrane bound in units of the threshold).  A network without spikes records
    nothing and scores 0.
    """

    def __init__(self, net, rate_max_hz: float = 100.0, membrane_min: float = -1.0,
                 membranes: bool = False):
        """
        Prepare an empty window.

        :param net: the network whose forward passes will be given this collector.
        :param rate_max_hz: upper bound r_max of each neuron's firing rate.
        :param membrane_min: lower bound v_min of the membrane, in thresholds.
        :param membranes: also collect membrane potentials (the scan then keeps a copy of
            them for the backward pass).
        """
        self.dt_s = net.spec.dt_s
        self.rate_max_hz, self.membrane_min = rate_max_hz, membrane_min
        self.membranes = membranes
        self.counts: Dict[int, Tensor] = {}
        self.steps: Dict[int, int] = {}
        self.shortfall, self.membrane_values = None, 0

    def record(self, layer: int, spikes: Tensor) -> None:
        """
        Add the spikes of one layer for a sequence.

        :param layer: layer index.
        :param spikes: spikes [T, B, N], with gradient.
        """
        count = spikes.sum(0)
        self.counts[layer] = count if layer not in self.counts else self.counts[layer] + count
        self.steps[layer] = self.steps.get(layer, 0) + spikes.shape[0]

    def record_membranes(self, layer: int, volt: Tensor) -> None:
        """
        Add the membrane potentials of one layer for a sequence.

        :param layer: layer index.
        :param volt: pre-reset membrane potentials in thresholds [T, B, N], with gradient.
        """
        term = ((self.membrane_min - volt).clamp(min=0.0) ** 2).sum()
        self.shortfall = term if self.shortfall is None else self.shortfall + term
        self.membrane_values += volt.numel()

    def count_control_steps(self, n: int) -> None:
        """
        Accept the control-step count of a forward pass (not needed here).

        :param n: number of control steps times batch size.
        """

    def rate_penalty(self) -> Tensor:
        """
        Return the firing-rate upper-bound penalty of the window so far.

        :return: scalar P_rate (0 when nothing was recorded).
        """
        if not self.counts:
            return torch.zeros(())
        excess = [(self.counts[i] / (self.steps[i] * self.dt_s * self.rate_max_hz) - 1.0)
                  .clamp(min=0.0) ** 2 for i in sorted(self.counts)]
        return torch.cat(excess, -1).mean()

    def membrane_penalty(self) -> Tensor:
        """
        Return the membrane lower-bound penalty of the window so far.

        :return: scalar P_mem (0 when nothing was recorded).
        """
        if self.shortfall is None:
            return torch.zeros(())
        return self.shortfall / self.membrane_values
