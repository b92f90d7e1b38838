# Copyright 2026 predctl_ros contributors
# SPDX-License-Identifier: Apache-2.0
"""Populations of spiking neurons with their incoming weights, and the leaky readout."""

from typing import NamedTuple, Optional, Tuple

from predctl_ros.snn import neurons
from predctl_ros.snn.connections import make_connection
from predctl_ros.snn.scan import layer_scan, leaky_scan, ScanConfig
from predctl_ros.snn.surrogate import Surrogate
from predctl_ros.snn.time_constants import TimeConstant
import torch
from torch import nn, Tensor
import torch.nn.functional as F


class LayerState(NamedTuple):
    """Neuron state of a layer and, for recurrent layers, its last spikes."""

    neurons: tuple
    spikes: Optional[Tensor]


class SpikingLayer(nn.Module):
    """
    A population of LIF or ALIF neurons with feed-forward and optional recurrent input.

    The input current of step k is ``ff(x_k) + rec(z_{k-1}) + bias``.
    """

    def __init__(self, n_in: int, size: int, *, neuron: str = 'lif', recurrent: bool = False,
                 ff_rank: Optional[int] = None, rec_rank: Optional[int] = None,
                 tau_mem_s: float = 0.01, tau_syn_s: float = 0.005, tau_ada_s: float = 0.1,
                 learn_tau: bool = True, threshold: float = 1.0, adaptation: float = 0.05,
                 silent_decay_per_s: float = 0.0, surrogate: Surrogate = Surrogate(),
                 dt_s: float = 0.002, spike_input: bool = False):
        """
        Create the layer (weights are initialised by the owning network).

        :param n_in: presynaptic size.
        :param size: number of neurons.
        :param neuron: 'lif' or 'alif'.
        :param recurrent: add an all-to-all recurrent connection.
        :param ff_rank: latent rank of the feed-forward weights (None: dense).
        :param rec_rank: latent rank of the recurrent weights (None: dense).
        :param tau_mem_s: initial membrane time constant.
        :param tau_syn_s: initial synaptic time constant.
        :param tau_ada_s: initial adaptation time constant (ALIF).
        :param learn_tau: learn the time constants per neuron.
        :param threshold: base firing threshold theta_0.
        :param adaptation: ALIF threshold increase per unit of adaptation trace (xi).
        :param silent_decay_per_s: ALIF threshold-base decay of silent neurons, 1/s (0: off).
        :param surrogate: surrogate derivative of the spike.
        :param dt_s: SNN step in seconds.
        :param spike_input: the inputs are spikes (see input_current).
        """
        super().__init__()
        if neuron not in ('lif', 'alif'):
            raise ValueError(f"unknown neuron model {neuron!r}; choose 'lif' or 'alif'")
        self.n_in, self.size, self.neuron, self.dt_s = n_in, size, neuron, dt_s
        self.spike_input = spike_input
        self.threshold, self.adaptation = threshold, adaptation
        self.silent_decay = silent_decay_per_s * dt_s
        self.surrogate = surrogate.check()
        self.ff = make_connection(n_in, size, ff_rank)
        self.rec = make_connection(size, size, rec_rank) if recurrent else None
        self.bias = nn.Parameter(torch.zeros(size))
        self.tau_syn = TimeConstant(size, tau_syn_s, learn_tau)
        self.tau_mem = TimeConstant(size, tau_mem_s, learn_tau)
        self.tau_ada = TimeConstant(size, tau_ada_s, learn_tau) if neuron == 'alif' else None

    @property
    def alif(self) -> bool:
        """Whether the neurons adapt their threshold."""
        return self.neuron == 'alif'

    def scan_config(self, repeat: int) -> ScanConfig:
        """
        Return the static settings of the fused scan.

        :param repeat: SNN steps per entry of the input current.
        :return: ScanConfig.
        """
        rec = 'none' if self.rec is None else (
            'lowrank' if hasattr(self.rec, 'rank') else 'dense')
        return ScanConfig(self.surrogate, repeat, self.threshold,
                          self.adaptation if self.alif else 0.0,
                          self.silent_decay if self.alif else 0.0, self.alif, rec)

    def parameters_for_step(self):
        """
        Return the neuron parameters of the reference step functions.

        :return: LIFParameters or ALIFParameters.
        """
        a, b = self.tau_syn.decay(self.dt_s), self.tau_mem.decay(self.dt_s)
        if self.alif:
            return neurons.ALIFParameters(a, b, self.tau_ada.decay(self.dt_s), self.threshold,
                                          self.adaptation, self.silent_decay)
        return neurons.LIFParameters(a, b, self.threshold)

    def initial_state(self, batch: int, dtype=torch.float32, device=None) -> LayerState:
        """
        Return the resting state for a batch.

        :param batch: batch size.
        :param dtype: floating dtype.
        :param device: torch device.
        :return: LayerState.
        """
        state = neurons.initial_state(self.neuron, (batch, self.size), self.threshold,
                                      dtype, device)
        spikes = None
        if self.rec is not None:
            spikes = torch.zeros(batch, self.size, dtype=dtype, device=device)
        return LayerState(state, spikes)

    def forward(self, x: Tensor, state: LayerState, repeat: int = 1,
                reference: bool = False) -> Tuple[Tensor, LayerState]:
        """
        Run the layer over a sequence.

        :param x: presynaptic activity [T / repeat, B, n_in]; each entry is held for repeat
            SNN steps.
        :param state: state before the first step.
        :param repeat: SNN steps per input entry.
        :param reference: use the autograd step functions instead of the fused scan.
        :return: spikes [T, B, size] and the state after the last step.
        """
        current = self.input_current(x)
        if reference:
            return self._reference(current, state, repeat)
        p = self.parameters_for_step()
        rec_weights = () if self.rec is None else self.rec.scan_weights()
        spikes, final = layer_scan(self.scan_config(repeat), current, p.decay_syn, p.decay_mem,
                                   getattr(p, 'decay_ada', None), state.neurons, state.spikes,
                                   rec_weights)
        return spikes, LayerState(final, spikes[-1] if self.rec is not None else None)

    def forward_membranes(self, x: Tensor, state: LayerState, repeat: int = 1,
                          reference: bool = False) -> Tuple[Tensor, LayerState, Tensor]:
        """
        Run the layer and also return its membrane potentials, with gradient.

        :param x: presynaptic activity [T / repeat, B, n_in].
        :param state: state before the first step.
        :param repeat: SNN steps per input entry.
        :param reference: use the autograd step functions instead of the fused scan.
        :return: spikes [T, B, size], the state after the last step and the pre-reset
            membrane potentials v_k [T, B, size].
        """
        current = self.input_current(x)
        if reference:
            return self._reference(current, state, repeat, membranes=True)
        p = self.parameters_for_step()
        rec_weights = () if self.rec is None else self.rec.scan_weights()
        spikes, final, volt = layer_scan(
            self.scan_config(repeat)._replace(membranes=True), current, p.decay_syn,
            p.decay_mem, getattr(p, 'decay_ada', None), state.neurons, state.spikes,
            rec_weights)
        return spikes, LayerState(final, spikes[-1] if self.rec is not None else None), volt

    def input_current(self, x: Tensor) -> Tensor:
        """
        Return the feed-forward current ff(x) + bias.

        Under torch.autocast the product runs in the lower precision only when x are
        spikes (0 and 1, exact in bfloat16 and float16); analog inputs keep full precision.

        :param x: presynaptic activity [..., n_in].
        :return: currents [..., size].
        """
        if self.spike_input:
            return self.ff(x, self.bias)
        with torch.autocast(x.device.type, enabled=False):
            return self.ff(x, self.bias)

    def _reference(self, current: Tensor, state: LayerState, repeat: int,
                   membranes: bool = False):
        p = self.parameters_for_step()
        step = neurons.alif_step if self.alif else neurons.lif_step
        s, z, out, volt = state.neurons, state.spikes, [], []
        for k in range(current.shape[0] * repeat):
            i_k = current[k // repeat]
            if self.rec is not None:
                i_k = i_k + self.rec(z)
            mem_prev = s.mem
            z, s = step(i_k, s, p, self.surrogate)
            out.append(z)
            if membranes:
                # v_k as in the step function; it carries the gradient of the post-reset
                # membrane (the reset is detached) but not the reset itself.
                volt.append(p.decay_mem * mem_prev + (1.0 - p.decay_mem) * s.syn)
        result = torch.stack(out), LayerState(s, z if self.rec is not None else None)
        return result + (torch.stack(volt),) if membranes else result


class LeakyReadout(nn.Module):
    r"""
    Non-spiking leaky integrator read out at the last SNN step of each control step.

    :math:`r_k = \beta r_{k-1} + (1 - \beta)(W z_k + b)`, optionally squashed by tanh.
    """

    def __init__(self, n_in: int, n_out: int, tau_s: float = 0.01, learn_tau: bool = True,
                 tanh: bool = False, dt_s: float = 0.002):
        """
        Create the readout (weights are initialised by the owning network).

        :param n_in: number of presynaptic neurons.
        :param n_out: number of outputs.
        :param tau_s: initial time constant.
        :param learn_tau: learn the time constant per output.
        :param tanh: squash outputs into (-1, 1).
        :param dt_s: SNN step in seconds.
        """
        super().__init__()
        self.weight = nn.Parameter(torch.empty(n_out, n_in))
        self.bias = nn.Parameter(torch.zeros(n_out))
        self.tau = TimeConstant(n_out, tau_s, learn_tau)
        self.tanh, self.dt_s = tanh, dt_s

    def initial_state(self, batch: int, dtype=torch.float32, device=None) -> Tensor:
        """
        Return the resting readout value.

        :param batch: batch size.
        :param dtype: floating dtype.
        :param device: torch device.
        :return: zeros [B, n_out].
        """
        return torch.zeros(batch, self.weight.shape[0], dtype=dtype, device=device)

    def forward(self, spikes: Tensor, state: Tensor, repeat: int) -> Tuple[Tensor, Tensor]:
        """
        Integrate the spikes and sample the readout every repeat steps.

        :param spikes: presynaptic spikes [T, B, n_in].
        :param state: readout value before the first step [B, n_out].
        :param repeat: SNN steps per control step.
        :return: outputs [T / repeat, B, n_out] and the value after the last step.
        """
        decay = self.tau.decay(self.dt_s)
        # A small product whose result is the network's output: full precision under autocast.
        with torch.autocast(spikes.device.type, enabled=False):
            drive = (1.0 - decay) * F.linear(spikes, self.weight, self.bias)
        trace = leaky_scan(drive, decay, state)
        out = trace[repeat - 1::repeat]
        return (torch.tanh(out) if self.tanh else out), trace[-1]

    def output(self, value: Tensor) -> Tensor:
        """
        Map a readout value to the network output.

        :param value: readout value.
        :return: tanh(value) or value.
        """
        return torch.tanh(value) if self.tanh else value
