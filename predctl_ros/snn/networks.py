# Copyright 2026 predctl_ros contributors
# SPDX-License-Identifier: Apache-2.0
"""
Spiking prediction and policy networks, and their non-spiking baselines.

Every network maps a control-rate sequence x [T, B, n_in] and a state to
outputs [T, B, n_out] and the next state (sequence API, for BPTT), and offers
``stepper()`` for the control loop (batch 1, no grad).  A spiking network
feeds each control-step input for ``substeps`` SNN steps and emits the readout
of the last one.
"""

import math
from typing import NamedTuple, Optional, Tuple

from predctl_ros.snn import init as snn_init
from predctl_ros.snn.layers import LayerState, LeakyReadout, SpikingLayer
from predctl_ros.snn.spec import NetworkSpec, policy_spec, prediction_spec
from predctl_ros.snn.surrogate import Surrogate
import torch
from torch import nn, Tensor


class NetState(NamedTuple):
    """State of a spiking network: one LayerState per hidden layer and the readout."""

    layers: Tuple[LayerState, ...]
    readout: Tensor


class SpikingNet(nn.Module):
    """Stack of spiking layers with direct current input and a leaky readout."""

    def __init__(self, spec: NetworkSpec):
        """
        Build and initialise the network described by spec.

        :param spec: a NetworkSpec with arch 'snn'.
        """
        super().__init__()
        if spec.arch != 'snn':
            raise ValueError(f"SpikingNet needs arch 'snn', got {spec.arch!r}")
        self.spec = spec
        surrogate = Surrogate(spec.surrogate, spec.sharpness)
        self.input_scale = nn.Parameter(torch.full((spec.n_in,), spec.input_scale))
        # Fixed input normalisation (x - mean) / std, set from data before training
        # (set_input_normalisation); stored with the weights so every user applies it.
        self.register_buffer('input_mean', torch.zeros(spec.n_in))
        self.register_buffer('input_std', torch.ones(spec.n_in))
        layers, n_prev = [], spec.n_in
        for i, (size, recurrent) in enumerate(zip(spec.hidden, spec.recurrent)):
            layers.append(SpikingLayer(
                n_prev, size, neuron=spec.neuron, recurrent=recurrent,
                ff_rank=spec.rank if i > 0 else None, rec_rank=spec.rank,
                tau_mem_s=spec.tau_mem_s, tau_syn_s=spec.tau_syn_s, tau_ada_s=spec.tau_ada_s,
                learn_tau=spec.learn_tau, threshold=spec.threshold, adaptation=spec.adaptation,
                silent_decay_per_s=spec.silent_decay_per_s, surrogate=surrogate,
                dt_s=spec.dt_s, spike_input=i > 0))
            n_prev = size
        self.layers = nn.ModuleList(layers)
        self.readout = LeakyReadout(n_prev, spec.n_out, spec.tau_out_s, spec.learn_tau,
                                    spec.tanh, spec.dt_s)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """Draw initial weights by the spec's scheme (fluctuation-driven or plain)."""
        spec = self.spec
        kernel = snn_init.psp_kernel(math.exp(-spec.dt_s / spec.tau_syn_s),
                                     math.exp(-spec.dt_s / spec.tau_mem_s))
        for i, layer in enumerate(self.layers):
            ff_share = spec.init_ff_fraction if layer.rec is not None else 1.0
            if spec.init == 'plain':
                ff_std = snn_init.plain_std(layer.n_in)
                rec_std = snn_init.plain_std(layer.size)
            elif i == 0:
                ff_std = snn_init.direct_current_std(layer.n_in, kernel, spec.input_scale,
                                                     ff_share)
                rec_std = snn_init.fluctuation_std(layer.size, kernel, spec.init_rate_hz,
                                                   spec.dt_s, 1.0 - ff_share)
            else:
                ff_std = snn_init.fluctuation_std(layer.n_in, kernel, spec.init_rate_hz,
                                                  spec.dt_s, ff_share)
                rec_std = snn_init.fluctuation_std(layer.size, kernel, spec.init_rate_hz,
                                                   spec.dt_s, 1.0 - ff_share)
            layer.ff.init_weights(ff_std)
            if layer.rec is not None:
                layer.rec.init_weights(rec_std)
        with torch.no_grad():
            n_last = self.layers[-1].size
            self.readout.weight.normal_(0.0, spec.readout_gain / math.sqrt(n_last))

    def initial_state(self, batch: int, dtype=None, device=None) -> NetState:
        """
        Return the resting state for a batch.

        :param batch: batch size.
        :param dtype: floating dtype (default: the parameters').
        :param device: torch device (default: the parameters').
        :return: NetState.
        """
        dtype = dtype or self.input_scale.dtype
        device = device or self.input_scale.device
        return NetState(tuple(layer.initial_state(batch, dtype, device) for layer in self.layers),
                        self.readout.initial_state(batch, dtype, device))

    def forward(self, x: Tensor, state: Optional[NetState] = None, monitor=None,
                reference: bool = False) -> Tuple[Tensor, NetState]:
        """
        Run control steps x through the network.

        :param x: inputs [T, B, n_in], one per control step.
        :param state: state before the first step (default: resting).
        :param monitor: optional ActivityMonitor that records the spikes, or an
            ActivityPenalty; one whose ``membranes`` is true also receives each layer's
            membrane potentials (record_membranes), with gradient.
        :param reference: use the autograd step functions (slow; for tests).
        :return: outputs [T, B, n_out] and the state after the last step.
        """
        if x.dim() != 3 or x.shape[-1] != self.spec.n_in:
            raise ValueError(f'expected input [T, B, {self.spec.n_in}], got {tuple(x.shape)}')
        if state is None:
            state = self.initial_state(x.shape[1], x.dtype, x.device)
        x = (x - self.input_mean) / self.input_std * self.input_scale
        activity, repeat, new_states = x, self.spec.substeps, []
        membranes = getattr(monitor, 'membranes', False)
        for i, (layer, layer_state) in enumerate(zip(self.layers, state.layers)):
            if membranes:
                activity, layer_state, volt = layer.forward_membranes(activity, layer_state,
                                                                      repeat, reference)
                monitor.record_membranes(i, volt / layer.threshold)
            else:
                activity, layer_state = layer(activity, layer_state, repeat, reference)
            new_states.append(layer_state)
            if monitor is not None:
                monitor.record(i, activity)
            repeat = 1
        y, readout_state = self.readout(activity, state.readout, self.spec.substeps)
        if monitor is not None:
            monitor.count_control_steps(x.shape[0] * x.shape[1])
        return y, NetState(tuple(new_states), readout_state)

    def set_input_normalisation(self, mean, std, min_std: float = 1e-3) -> None:
        """
        Set the fixed input normalisation (x - mean) / std from data statistics.

        The fluctuation-driven initialisation assumes inputs of unit variance.

        :param mean: per-input mean [n_in].
        :param std: per-input standard deviation [n_in]; clamped below at min_std.
        :param min_std: floor for constant inputs.
        """
        mean = torch.as_tensor(mean, dtype=self.input_mean.dtype).reshape(-1)
        std = torch.as_tensor(std, dtype=self.input_std.dtype).reshape(-1)
        if mean.shape != self.input_mean.shape or std.shape != self.input_std.shape:
            raise ValueError(f'normalisation needs {self.spec.n_in} values, got '
                             f'{mean.numel()} and {std.numel()}')
        if not (torch.isfinite(mean).all() and torch.isfinite(std).all()):
            raise ValueError('normalisation statistics must be finite')
        self.input_mean.copy_(mean)
        self.input_std.copy_(std.clamp(min=min_std))

    def stepper(self):
        """
        Return a control-loop stepper with a copy of the current weights.

        :return: predctl_ros.snn.stepper.SpikingStepper.
        """
        from predctl_ros.snn.stepper import SpikingStepper
        return SpikingStepper(self)

    def fan_out(self) -> Tuple[int, ...]:
        """
        Return the accumulate operations one spike of each hidden layer triggers.

        :return: per layer: targets in the next layer (or latent units), the recurrent
            targets, and the readout.
        """
        out = []
        for i, layer in enumerate(self.layers):
            nxt = self.layers[i + 1].ff if i + 1 < len(self.layers) else None
            n = self.spec.n_out if nxt is None else getattr(nxt, 'rank', nxt.n_out)
            if layer.rec is not None:
                n += getattr(layer.rec, 'rank', layer.rec.n_out)
            out.append(n)
        return tuple(out)


class GRUNet(nn.Module):
    """Non-spiking baseline forward model: GRU then a linear readout, one step per control step."""

    def __init__(self, spec: NetworkSpec):
        """
        Build the baseline from spec (hidden[0] GRU units).

        :param spec: a NetworkSpec with arch 'gru'.
        """
        super().__init__()
        if spec.arch != 'gru':
            raise ValueError(f"GRUNet needs arch 'gru', got {spec.arch!r}")
        self.spec = spec
        self.gru = nn.GRU(spec.n_in, spec.hidden[0])
        self.head = nn.Linear(spec.hidden[0], spec.n_out)
        with torch.no_grad():
            self.head.weight.mul_(spec.readout_gain * math.sqrt(3.0))
            self.head.bias.zero_()

    def initial_state(self, batch: int, dtype=None, device=None) -> Tensor:
        """
        Return a zero hidden state.

        :param batch: batch size.
        :param dtype: floating dtype.
        :param device: torch device.
        :return: h [1, B, H].
        """
        p = self.head.weight
        return torch.zeros(1, batch, self.spec.hidden[0], dtype=dtype or p.dtype,
                           device=device or p.device)

    def forward(self, x: Tensor, state: Optional[Tensor] = None, monitor=None,
                reference: bool = False) -> Tuple[Tensor, Tensor]:
        """
        Run control steps x through the GRU.

        :param x: inputs [T, B, n_in].
        :param state: hidden state (default zeros).
        :param monitor: ignored (no spikes).
        :param reference: ignored.
        :return: outputs [T, B, n_out] and the next hidden state.
        """
        if state is None:
            state = self.initial_state(x.shape[1], x.dtype, x.device)
        h_all, h = self.gru(x, state)
        y = self.head(h_all)
        return (torch.tanh(y) if self.spec.tanh else y), h

    def stepper(self):
        """
        Return a control-loop stepper.

        :return: predctl_ros.snn.stepper.TorchStepper.
        """
        from predctl_ros.snn.stepper import TorchStepper
        return TorchStepper(self)


class MLPNet(nn.Module):
    """Non-spiking baseline policy: ReLU MLP with a tanh head; stateless."""

    def __init__(self, spec: NetworkSpec):
        """
        Build the baseline from spec (hidden sizes as given).

        :param spec: a NetworkSpec with arch 'mlp'.
        """
        super().__init__()
        if spec.arch != 'mlp':
            raise ValueError(f"MLPNet needs arch 'mlp', got {spec.arch!r}")
        self.spec = spec
        sizes, layers = (spec.n_in,) + tuple(spec.hidden), []
        for n_in, n_out in zip(sizes[:-1], sizes[1:]):
            layers += [nn.Linear(n_in, n_out), nn.ReLU()]
        self.body = nn.Sequential(*layers)
        self.head = nn.Linear(sizes[-1], spec.n_out)
        with torch.no_grad():
            self.head.weight.mul_(spec.readout_gain * math.sqrt(3.0))
            self.head.bias.zero_()

    def initial_state(self, batch: int, dtype=None, device=None):
        """
        Return None: the MLP keeps no state.

        :param batch: unused.
        :param dtype: unused.
        :param device: unused.
        :return: None.
        """
        return None

    def forward(self, x: Tensor, state=None, monitor=None,
                reference: bool = False) -> Tuple[Tensor, None]:
        """
        Map each control step independently.

        :param x: inputs [T, B, n_in].
        :param state: ignored.
        :param monitor: ignored.
        :param reference: ignored.
        :return: outputs [T, B, n_out] and None.
        """
        y = self.head(self.body(x))
        return (torch.tanh(y) if self.spec.tanh else y), None

    def stepper(self):
        """
        Return a control-loop stepper.

        :return: predctl_ros.snn.stepper.TorchStepper.
        """
        from predctl_ros.snn.stepper import TorchStepper
        return TorchStepper(self)


def build_network(spec: NetworkSpec) -> nn.Module:
    """
    Build the network a spec describes.

    :param spec: NetworkSpec.
    :return: SpikingNet, GRUNet or MLPNet.
    """
    return {'snn': SpikingNet, 'gru': GRUNet, 'mlp': MLPNet}[spec.arch](spec)


def PredictionNet(n_obs: int, n_act: int, **overrides) -> nn.Module:  # noqa: N802
    """
    Build a prediction network (state + action -> state change).

    :param n_obs: observation size.
    :param n_act: action size.
    :param overrides: NetworkSpec fields to change (e.g. rank=64, neuron='alif').
    :return: the network.
    """
    return build_network(prediction_spec(n_obs, n_act, **overrides))


def PolicyNet(n_obs: int, n_goal: int, n_act: int, **overrides) -> nn.Module:  # noqa: N802
    """
    Build a policy network (state + goal -> action in [-1, 1]).

    :param n_obs: observation size.
    :param n_goal: goal size.
    :param n_act: action size.
    :param overrides: NetworkSpec fields to change.
    :return: the network.
    """
    return build_network(policy_spec(n_obs, n_goal, n_act, **overrides))
