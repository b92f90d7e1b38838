# Copyright 2026 predctl_ros contributors
# SPDX-License-Identifier: Apache-2.0
r"""
Spiking neuron models as pure step functions with explicit state.

Current-based leaky integrate-and-fire (LIF), per neuron, SNN step k:

.. math::

    \tau_{syn} \dot I = -I + \sum_j w_j s_j, \qquad
    \tau_{mem} \dot v = -v + I, \qquad z = H(v - \theta)

integrated exactly for piecewise-constant input with decays
:math:`\beta = e^{-\Delta t/\tau}`:

.. math::

    syn_k &= \beta_{syn}\, syn_{k-1} + I_k \\
    v_k &= \beta_{mem}\, mem_{k-1} + (1 - \beta_{mem})\, syn_k \\
    z_k &= H(v_k - \theta_k) \\
    mem_k &= v_k - \mathrm{sg}(\theta_k z_k)

where ``sg`` stops the gradient (the reset is detached) and :math:`I_k` is the
weighted input of the previous step's spikes plus a bias.  LIF uses a fixed
threshold :math:`\theta_k = \theta_0`.

Adaptive LIF (ALIF, Bellec et al. 2018) adds a spike-triggered threshold:

.. math::

    \theta_k &= b_{k-1} + \xi\, n_{k-1} \\
    n_k &= \beta_{ada}\, n_{k-1} + z_k

with the optional silent decay of the threshold base :math:`b`: it drops by
``silent_decay`` per step while the neuron is silent (floored at 0) and snaps
back to :math:`\theta_0` on a spike, so silent neurons re-engage.  ``b`` is
state without gradient.

These functions are the readable reference; :mod:`predctl_ros.snn.scan` runs
the same update over whole sequences with a hand-written backward pass.
"""

from typing import NamedTuple, Tuple

from predctl_ros.snn.surrogate import Surrogate
import torch
from torch import Tensor


class LIFParameters(NamedTuple):
    """Per-neuron decays (exp(-dt/tau)) and the threshold of a LIF population."""

    decay_syn: Tensor
    decay_mem: Tensor
    threshold: float = 1.0


class ALIFParameters(NamedTuple):
    """Per-neuron decays, threshold, adaptation strength xi and silent decay per step."""

    decay_syn: Tensor
    decay_mem: Tensor
    decay_ada: Tensor
    threshold: float = 1.0
    adaptation: float = 0.05
    silent_decay: float = 0.0


class LIFState(NamedTuple):
    """Synaptic current and (post-reset) membrane potential."""

    syn: Tensor
    mem: Tensor


class ALIFState(NamedTuple):
    """LIF state plus the adaptation trace n and the threshold base b."""

    syn: Tensor
    mem: Tensor
    ada: Tensor
    base: Tensor


def lif_initial_state(shape, threshold: float = 1.0, dtype=torch.float32,
                      device=None) -> LIFState:
    """
    Return a resting LIF state.

    :param shape: batch shape including the neuron axis, e.g. (B, N).
    :param threshold: unused; keeps the signature of alif_initial_state.
    :param dtype: floating dtype of the state.
    :param device: torch device.
    :return: zero current and membrane.
    """
    zeros = torch.zeros(shape, dtype=dtype, device=device)
    return LIFState(zeros, zeros.clone())


def alif_initial_state(shape, threshold: float = 1.0, dtype=torch.float32,
                       device=None) -> ALIFState:
    """
    Return a resting ALIF state (no adaptation, threshold base at theta_0).

    :param shape: batch shape including the neuron axis, e.g. (B, N).
    :param threshold: the base threshold theta_0.
    :param dtype: floating dtype of the state.
    :param device: torch device.
    :return: the initial state.
    """
    zeros = torch.zeros(shape, dtype=dtype, device=device)
    return ALIFState(zeros, zeros.clone(), zeros.clone(),
                     torch.full(shape, threshold, dtype=dtype, device=device))


def lif_step(current: Tensor, state: LIFState, p: LIFParameters,
             surrogate: Surrogate) -> Tuple[Tensor, LIFState]:
    """
    Advance LIF neurons by one step.

    :param current: input current I_k, shape (..., N).
    :param state: state after step k-1.
    :param p: parameters.
    :param surrogate: spike function for the backward pass.
    :return: spikes z_k and the state after step k.
    """
    syn = p.decay_syn * state.syn + current
    v = p.decay_mem * state.mem + (1.0 - p.decay_mem) * syn
    z = surrogate.spike(v - p.threshold)
    mem = v - (p.threshold * z).detach()
    return z, LIFState(syn, mem)


def alif_step(current: Tensor, state: ALIFState, p: ALIFParameters,
              surrogate: Surrogate) -> Tuple[Tensor, ALIFState]:
    """
    Advance adaptive LIF neurons by one step.

    :param current: input current I_k, shape (..., N).
    :param state: state after step k-1.
    :param p: parameters.
    :param surrogate: spike function for the backward pass.
    :return: spikes z_k and the state after step k.
    """
    syn = p.decay_syn * state.syn + current
    v = p.decay_mem * state.mem + (1.0 - p.decay_mem) * syn
    theta = state.base + p.adaptation * state.ada
    z = surrogate.spike(v - theta)
    mem = v - (theta * z).detach()
    ada = p.decay_ada * state.ada + z
    base = silent_threshold_decay(state.base, z, p.threshold, p.silent_decay)
    return z, ALIFState(syn, mem, ada, base)


def silent_threshold_decay(base: Tensor, z: Tensor, threshold: float,
                           silent_decay: float) -> Tensor:
    """
    Lower the threshold base of silent neurons and restore it on a spike.

    :param base: threshold base before the step.
    :param z: spikes of this step.
    :param threshold: theta_0, the value restored on a spike.
    :param silent_decay: decrement per silent step; 0 disables the mechanism.
    :return: the new threshold base (no gradient).
    """
    if silent_decay == 0.0:
        return base
    lowered = (base - silent_decay).clamp_(min=0.0)
    return torch.where(z.detach() > 0, torch.full_like(base, threshold), lowered)


def initial_state(neuron: str, shape, threshold: float = 1.0, dtype=torch.float32,
                  device=None):
    """
    Return the resting state for a neuron model by name.

    :param neuron: 'lif' or 'alif'.
    :param shape: batch shape including the neuron axis.
    :param threshold: base threshold theta_0.
    :param dtype: floating dtype.
    :param device: torch device.
    :return: LIFState or ALIFState.
    """
    factory = {'lif': lif_initial_state, 'alif': alif_initial_state}.get(neuron)
    if factory is None:
        raise ValueError(f"unknown neuron model {neuron!r}; choose 'lif' or 'alif'")
    return factory(shape, threshold, dtype, device)
