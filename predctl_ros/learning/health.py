# Copyright 2026 predctl_ros contributors
# SPDX-License-Identifier: Apache-2.0
"""
Health of the spiking networks during training: activity, time constants, gradients.

Once per iteration, :func:`activity_columns` runs P and the policy once more over the
held-out windows on which the loop measures P (teacher forced: P on the recorded states
and actions, the policy on the recorded states and its goals), from rest, warm-up
included.  Those windows are already cut and few (an eighth of the worlds by default),
and a forward pass without gradient costs a fraction of one training minibatch, where
the collection rollout would need a monitor call at every control step.  Per hidden
layer it reports, over every SNN step and window:

* ``<net>_layer<i>_rate_hz``: mean firing rate of the layer's neurons, Hz;
* ``<net>_layer<i>_silent``: fraction of neurons that never spiked;
* ``<net>_layer<i>_saturated``: fraction of neurons that spiked on at least
  :data:`SATURATED_SHARE` of the SNN steps, the maximum rate being one spike per step.

``<net>`` is ``model`` (P) or ``policy``.  Non-spiking baselines (and iterations without
held-out windows) leave the columns empty.  :func:`gradient_columns` summarises the
pre-clip gradient norms of an iteration's updates, :func:`time_constants_ms` gives every
layer's time constants for TensorBoard histograms.
"""

from typing import Dict, Iterable, List, Optional

import numpy as np
import torch
from torch import Tensor

SATURATED_SHARE = 0.9
"""A neuron spiking on at least this share of the SNN steps counts as saturated."""
NETWORKS = ('model', 'policy')
"""Column prefixes of the prediction network and the policy."""


class NeuronCounts:
    """Spike count of every hidden neuron over forward passes (a network's ``monitor``)."""

    def __init__(self, net):
        """
        Prepare empty counts for the hidden layers of net.

        :param net: a SpikingNet.
        """
        self.dt_s = net.spec.dt_s
        self.counts: List[Optional[Tensor]] = [None] * len(net.spec.hidden)
        self.steps = [0] * len(net.spec.hidden)

    def record(self, layer: int, spikes: Tensor) -> None:
        """
        Add the spikes of one layer for a sequence.

        :param layer: layer index.
        :param spikes: spikes [T, B, N] of T SNN steps.
        """
        # float64: a bfloat16 sum stops counting exactly at 256 spikes.
        count = spikes.detach().sum((0, 1), dtype=torch.float64)
        previous = self.counts[layer]
        self.counts[layer] = count if previous is None else previous + count
        self.steps[layer] += spikes.shape[0] * spikes.shape[1]

    def count_control_steps(self, n: int) -> None:
        """
        Accept the control-step count of a forward pass (the SNN steps are counted).

        :param n: number of control steps times batch size.
        """

    def layers(self) -> List[Optional[dict]]:
        """
        Return each hidden layer's health over everything recorded.

        :return: per layer {'rate_hz', 'silent', 'saturated'}, or None where nothing was
            recorded.
        """
        out = []
        for count, steps in zip(self.counts, self.steps):
            if count is None or steps == 0:
                out.append(None)
                continue
            out.append({'rate_hz': float(count.mean()) / (steps * self.dt_s),
                        'silent': float((count == 0).double().mean()),
                        'saturated': float((count >= SATURATED_SHARE * steps).double().mean())})
        return out


def _is_spiking(net) -> bool:
    return getattr(net.spec, 'arch', None) == 'snn'


@torch.no_grad()
def layer_health(net, x: Tensor) -> List[Optional[dict]]:
    """
    Run a network over control-step inputs from rest and return its hidden layers' health.

    :param net: a network of predctl_ros.snn.networks.
    :param x: inputs [T, B, n_in].
    :return: per hidden layer the dict of :meth:`NeuronCounts.layers`; None for every
        layer of a non-spiking network (not run).
    """
    if not _is_spiking(net):
        return [None] * len(net.spec.hidden)
    counts = NeuronCounts(net)
    net(x, monitor=counts)
    return counts.layers()


def activity_columns(model, policy, windows=None) -> Dict[str, Optional[float]]:
    """
    Return the activity columns of both networks on held-out windows.

    :param model: prediction network, input (obs, action).
    :param policy: policy network, input (obs, goal).
    :param windows: model_quality.Windows (obs [L + 1, B, n_obs], action [L, B, n_act],
        goal [B, n_goal]); None: every column empty.
    :return: {'<net>_layer<i>_<rate_hz|silent|saturated>': float or None}.
    """
    inputs = {'model': None, 'policy': None}
    if windows is not None:
        device = next(model.parameters()).device
        as_tensor = (lambda a: torch.as_tensor(a, dtype=torch.float32, device=device))
        obs, goal = as_tensor(windows.obs[:-1]), as_tensor(windows.goal)
        inputs = {'model': torch.cat((obs, as_tensor(windows.action)), -1),
                  'policy': torch.cat((obs, goal[None].expand(len(obs), -1, -1)), -1)}
    out = {}
    for name, net in zip(NETWORKS, (model, policy)):
        x = inputs[name]
        layers = [None] * len(net.spec.hidden) if x is None else layer_health(net, x)
        for i, health in enumerate(layers):
            for key in ('rate_hz', 'silent', 'saturated'):
                out[f'{name}_layer{i}_{key}'] = None if health is None else health[key]
    return out


def gradient_columns(norms: Dict[str, Iterable[float]], clip: float) -> Dict[str, Optional[float]]:
    """
    Summarise the pre-clip gradient norms of one iteration's optimiser steps per network.

    :param norms: {'model': [...], 'policy': [...]}, one norm per step.
    :param clip: the gradient-norm clip.
    :return: {'<net>_grad_norm': mean norm, '<net>_grad_clipped': fraction of the steps
        whose norm exceeded clip}, None for a network without steps.
    """
    out = {}
    for name in NETWORKS:
        values = np.asarray(list(norms.get(name, ())), dtype=np.float64)
        out[f'{name}_grad_norm'] = float(values.mean()) if values.size else None
        out[f'{name}_grad_clipped'] = float((values > clip).mean()) if values.size else None
    return out


def time_constants_ms(networks: Dict[str, object]) -> Dict[str, np.ndarray]:
    """
    Return every time constant of the spiking networks, per layer and kind, in ms.

    :param networks: {'model': ..., 'policy': ...}; non-spiking ones have none.
    :return: {'tau_ms/<net>/layer<i>_<syn|mem|ada>' or 'tau_ms/<net>/readout': time
        constants in ms [neurons]}; the keys are TensorBoard tags.
    """
    out = {}
    for name, net in networks.items():
        if not _is_spiking(net):
            continue
        for i, layer in enumerate(net.layers):
            for kind in ('syn', 'mem', 'ada'):
                tau = getattr(layer, f'tau_{kind}')
                if tau is not None:
                    out[f'tau_ms/{name}/layer{i}_{kind}'] = _ms(tau)
        out[f'tau_ms/{name}/readout'] = _ms(net.readout.tau)
    return out


def _ms(tau) -> np.ndarray:
    return tau.tau_s().detach().cpu().double().numpy() * 1e3
