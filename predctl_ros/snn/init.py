# Copyright 2026 predctl_ros contributors
# SPDX-License-Identifier: Apache-2.0
r"""
Weight initialisation: fluctuation-driven (default) and plain.

Fluctuation-driven initialisation (Rossbroich, Gygax & Zenke 2022) picks the
weight variance so that, for presynaptic Poisson spikes at rate :math:`\nu`
and zero-mean weights, the free membrane potential has mean 0 and standard
deviation :math:`\sigma_U` (1, i.e. one threshold).  By Campbell's theorem
for the discrete PSP kernel :math:`\epsilon_k` (membrane response to one unit
input):

.. math::

    \sigma_U^2 = n\, \nu \Delta t\, \sigma_w^2 \sum_k \epsilon_k^2
    \quad\Rightarrow\quad
    \sigma_w^2 = \frac{\phi\, \sigma_U^2}{n\, \nu \Delta t \sum_k \epsilon_k^2}

where :math:`\phi` is the share of the variance a pathway contributes (0.9
feed-forward, 0.1 recurrent).  Real-valued inputs injected as currents are
held for a whole control step; for unit-variance inputs with scale s the
membrane settles at the DC gain :math:`G = \sum_k \epsilon_k`, so
:math:`\sigma_w^2 = \phi \sigma_U^2 / (n s^2 G^2)`.
"""

import math
from typing import Optional

import torch


def psp_kernel(decay_syn: float, decay_mem: float, tol: float = 1e-6,
               max_steps: int = 100000) -> torch.Tensor:
    """
    Return the membrane response to a unit current impulse until it decays below tol.

    :param decay_syn: synaptic decay per step.
    :param decay_mem: membrane decay per step.
    :param tol: truncation threshold relative to the peak.
    :param max_steps: hard cap on the kernel length.
    :return: float64 tensor eps_0 .. eps_K.
    """
    syn, mem, values = 1.0, 0.0, []
    for _ in range(max_steps):
        mem = decay_mem * mem + (1.0 - decay_mem) * syn
        values.append(mem)
        syn *= decay_syn
        if syn < tol and mem < tol * max(values):
            break
    return torch.tensor(values, dtype=torch.float64)


def fluctuation_std(n_pre: int, kernel: torch.Tensor, rate_hz: float, dt_s: float,
                    fraction: float = 1.0, target_std: float = 1.0) -> float:
    """
    Return the weight std for spiking input that gives the target membrane std.

    :param n_pre: number of presynaptic neurons.
    :param kernel: PSP kernel from psp_kernel.
    :param rate_hz: assumed presynaptic firing rate.
    :param dt_s: SNN step in seconds.
    :param fraction: share of the membrane variance from this pathway.
    :param target_std: membrane std in units of the threshold.
    :return: standard deviation of each weight.
    """
    denom = n_pre * rate_hz * dt_s * float((kernel ** 2).sum())
    return math.sqrt(fraction * target_std ** 2 / denom)


def direct_current_std(n_in: int, kernel: torch.Tensor, input_scale: float,
                       fraction: float = 1.0, target_std: float = 1.0) -> float:
    """
    Return the weight std for held real-valued input of unit variance.

    :param n_in: number of inputs.
    :param kernel: PSP kernel from psp_kernel (its sum is the DC gain).
    :param input_scale: initial per-input current scale.
    :param fraction: share of the membrane variance from this pathway.
    :param target_std: membrane std in units of the threshold.
    :return: standard deviation of each weight.
    """
    gain = float(kernel.sum())
    return math.sqrt(fraction * target_std ** 2 / (n_in * (input_scale * gain) ** 2))


def plain_std(n_in: int) -> float:
    """
    Return the std of PyTorch's default Linear init, U(-1/sqrt(n), 1/sqrt(n)).

    :param n_in: fan-in.
    :return: 1 / sqrt(3 n).
    """
    return 1.0 / math.sqrt(3.0 * n_in)


def _scale_connection(connection, factor: float) -> None:
    # The output-side factor of a low-rank connection scales W = W2 W1 like a dense weight.
    weight = connection.w2 if hasattr(connection, 'w2') else connection.weight
    weight.mul_(factor)


@torch.no_grad()
def calibrate(net, x: torch.Tensor, *, target_rate_hz: Optional[float] = None,
              readout_std: Optional[float] = None, steps: int = 12) -> dict:
    """
    Rescale a spiking network's weights so that it is active on real inputs.

    The fluctuation-driven init assumes unit-variance inputs and presynaptic rates of
    ``init_rate_hz``; raw inputs (the authors feed them unnormalised) can leave the first
    layer near silent and every later layer silent, and the policy's first actions then
    all near 0: nothing to learn from. Layer by layer, the feed-forward weights are scaled
    (by bisection in log scale) until the layer's mean rate on ``x`` is the target; the
    readout is then scaled to a given output spread. Inputs only, never the network's
    outputs, set the scales.

    :param net: SpikingNet.
    :param x: inputs [T, B, n_in], one per control step.
    :param target_rate_hz: mean rate of every hidden layer (default: spec.init_rate_hz).
    :param readout_std: std of the readout value (before tanh) over x; None leaves the
        readout as initialised.
    :param steps: bisection steps per layer (each one forward pass of that layer).
    :return: {'scales': per-layer factors, 'rates_hz': per-layer rates after, 'readout_scale'}.
    """
    spec = net.spec
    target = spec.init_rate_hz if target_rate_hz is None else float(target_rate_hz)
    if not target > 0:
        raise ValueError(f'target_rate_hz must be > 0, got {target_rate_hz!r}')
    activity = (x - net.input_mean) / net.input_std * net.input_scale
    repeat, scales, rates = spec.substeps, [], []

    def run(layer, inputs):
        state = layer.initial_state(inputs.shape[1], inputs.dtype, inputs.device)
        return layer(inputs, state, repeat)[0]

    for layer in net.layers:
        low, high, applied = math.log(1 / 64), math.log(64), 0.0
        for _ in range(steps):
            middle = 0.5 * (low + high)
            _scale_connection(layer.ff, math.exp(middle - applied))
            applied = middle
            rate = float(run(layer, activity).mean()) / spec.dt_s
            if rate < target:
                low = middle
            else:
                high = middle
        activity = run(layer, activity)
        scales.append(math.exp(applied))
        rates.append(float(activity.mean()) / spec.dt_s)
        repeat = 1
    readout_scale = 1.0
    if readout_std is not None:
        state = net.readout.initial_state(x.shape[1], x.dtype, x.device)
        value, _ = net.readout(activity, state, spec.substeps)
        if net.readout.tanh:
            value = torch.atanh(value.clamp(-1 + 1e-6, 1 - 1e-6))
        spread = float(value.std())
        if spread > 0:
            readout_scale = readout_std / spread
            net.readout.weight.mul_(readout_scale)
    return {'scales': scales, 'rates_hz': rates, 'readout_scale': readout_scale}
