# Copyright 2026 predctl_ros contributors
# SPDX-License-Identifier: Apache-2.0
"""
Single-control-step inference for the control loop: batch 1, no autograd.

A control step of a spiking network is ``substeps`` SNN steps of a few hundred
neurons, where only a few percent spike.  ``SpikingStepper`` keeps every
buffer preallocated and drives the next layer by summing only the weight rows
of the neurons that spiked (event-driven accumulation), in small compiled
kernels.  It computes in float64 so that it reproduces the sequence API to
rounding (tested) and so that long runs accumulate no float32 drift.
"""

import numba
import numpy as np
import torch


@numba.njit(cache=True, nogil=True)
def _neuron_substep(cur, syn, mem, ada, base, decay_syn, decay_mem, decay_ada, threshold,
                    adaptation, silent_decay, alif, active):
    count = 0
    for i in range(cur.shape[0]):
        s = decay_syn[i] * syn[i] + cur[i]
        syn[i] = s
        v = decay_mem[i] * mem[i] + (1.0 - decay_mem[i]) * s
        theta = base[i] + adaptation * ada[i] if alif else threshold
        spike = 0.0
        if v > theta:
            spike = 1.0
            v -= theta
            active[count] = i
            count += 1
        mem[i] = v
        if alif:
            ada[i] = decay_ada[i] * ada[i] + spike
            if silent_decay > 0.0:
                base[i] = threshold if spike > 0.0 else max(base[i] - silent_decay, 0.0)
    return count


@numba.njit(cache=True, nogil=True)
def _add_rows(out, rows, active, count):
    # out += sum of rows[active[:count]]: the event-driven matrix-vector product.
    for j in range(count):
        r = rows[active[j]]
        for i in range(out.shape[0]):
            out[i] += r[i]


def _as64(t: torch.Tensor) -> np.ndarray:
    return np.ascontiguousarray(t.detach().to('cpu', torch.float64).numpy())


class _Projection:
    """Event-driven W z for one connection (dense or low rank); owns its buffers."""

    def __init__(self, conn):
        if hasattr(conn, 'rank'):
            self.rows = _as64(conn.w1.t())        # [n_in, d]: latent per presynaptic spike
            self.expand = _as64(conn.w2)          # [n_out, d]
            self.latent = np.zeros(conn.rank)
            self.tmp = np.zeros(conn.n_out)
        else:
            self.rows = _as64(conn.weight.t())    # [n_in, n_out]
            self.expand = None

    def add_to(self, out: np.ndarray, active: np.ndarray, count: int) -> None:
        if self.expand is None:
            _add_rows(out, self.rows, active, count)
        else:
            self.latent[:] = 0.0
            _add_rows(self.latent, self.rows, active, count)
            np.dot(self.expand, self.latent, out=self.tmp)
            out += self.tmp


class _LayerRuntime:
    """Buffers and constants of one spiking layer."""

    def __init__(self, layer):
        p = layer.parameters_for_step()
        n = layer.size
        self.alif = layer.alif
        self.threshold = float(layer.threshold)
        self.adaptation = float(layer.adaptation)
        self.silent_decay = float(layer.silent_decay)
        self.decay_syn, self.decay_mem = _as64(p.decay_syn), _as64(p.decay_mem)
        self.decay_ada = _as64(p.decay_ada) if layer.alif else np.zeros(n)
        self.bias = _as64(layer.bias)
        self.ff = _Projection(layer.ff)
        self.rec = _Projection(layer.rec) if layer.rec is not None else None
        self.cur = np.zeros(n)
        self.syn, self.mem, self.ada, self.base = (np.zeros(n) for _ in range(4))
        self.active = np.zeros(n, dtype=np.int64)
        self.count = 0

    def reset(self) -> None:
        self.syn[:] = 0.0
        self.mem[:] = 0.0
        self.ada[:] = 0.0
        self.base[:] = self.threshold
        self.count = 0

    def update(self) -> int:
        if self.rec is not None:
            self.rec.add_to(self.cur, self.active, self.count)
        self.count = _neuron_substep(
            self.cur, self.syn, self.mem, self.ada, self.base, self.decay_syn, self.decay_mem,
            self.decay_ada, self.threshold, self.adaptation, self.silent_decay, self.alif,
            self.active)
        return self.count


class SpikingStepper:
    """
    Stateful one-control-step runner of a SpikingNet (batch 1, no grad).

    ``step(x)`` returns the network output for one control step and keeps the state
    for the next; ``reset()`` starts a new episode.  The weights are a copy taken at
    construction: build a new stepper after training.
    """

    def __init__(self, net):
        """
        Copy the weights of net into preallocated float64 buffers.

        :param net: a SpikingNet.
        """
        spec = net.spec
        self.spec = spec
        self.substeps = spec.substeps
        # Input normalisation and scale folded into the first weights and bias:
        # W (s (x - m) / d) + b = (W s / d) x + (b - (W s / d) m).
        folded = net.layers[0].ff.weight * (net.input_scale / net.input_std)
        self.in_weight = _as64(folded)                                     # [N0, n_in]
        self.in_bias = _as64(net.layers[0].bias - folded @ net.input_mean)
        self.layers = [_LayerRuntime(layer) for layer in net.layers]
        self.readout_rows = _as64(net.readout.weight.t())                  # [N_last, n_out]
        self.readout_bias = _as64(net.readout.bias)
        self.readout_decay = _as64(net.readout.tau.decay(spec.dt_s))
        self.readout_value = np.zeros(spec.n_out)
        self.drive = np.zeros(spec.n_out)
        self.first_current = np.zeros(net.layers[0].size)
        self.output = np.zeros(spec.n_out)
        self.fan_out = np.asarray(net.fan_out(), dtype=np.int64)
        self.spikes = np.zeros(len(self.layers), dtype=np.int64)
        self.tanh = spec.tanh
        self.reset()

    def reset(self) -> None:
        """Return every neuron and the readout to rest."""
        for layer in self.layers:
            layer.reset()
        self.readout_value[:] = 0.0
        self.spikes[:] = 0

    @property
    def synops(self) -> int:
        """Synaptic (accumulate) operations of the last control step."""
        return int(self.spikes @ self.fan_out)

    def step(self, x) -> np.ndarray:
        """
        Advance one control step.

        :param x: input vector [n_in] (array-like).
        :return: output [n_out]; a buffer overwritten by the next call (copy to keep it).
        """
        x = np.asarray(x, dtype=np.float64)
        if x.shape != (self.spec.n_in,):
            raise ValueError(f'expected input of shape ({self.spec.n_in},), got {x.shape}')
        np.dot(self.in_weight, x, out=self.first_current)
        self.first_current += self.in_bias
        self.spikes[:] = 0
        for _ in range(self.substeps):
            prev = None
            for i, layer in enumerate(self.layers):
                if prev is None:
                    layer.cur[:] = self.first_current
                else:
                    layer.cur[:] = layer.bias
                    layer.ff.add_to(layer.cur, prev.active, prev.count)
                self.spikes[i] += layer.update()
                prev = layer
            self.drive[:] = self.readout_bias
            _add_rows(self.drive, self.readout_rows, prev.active, prev.count)
            self.readout_value *= self.readout_decay
            self.readout_value += (1.0 - self.readout_decay) * self.drive
        if self.tanh:
            np.tanh(self.readout_value, out=self.output)
        else:
            self.output[:] = self.readout_value
        return self.output


class TorchStepper:
    """Stateful one-control-step runner for the non-spiking baselines."""

    def __init__(self, net):
        """
        Wrap a GRUNet or MLPNet.

        :param net: the network (used in eval mode without grad).
        """
        self.net = net
        self.spec = net.spec
        self.spikes = np.zeros(0, dtype=np.int64)
        self.synops = 0
        self.reset()

    def reset(self) -> None:
        """Reset the hidden state."""
        self.state = self.net.initial_state(1)

    def step(self, x) -> np.ndarray:
        """
        Advance one control step.

        :param x: input vector [n_in].
        :return: output [n_out].
        """
        x = torch.as_tensor(np.asarray(x), dtype=self.net.head.weight.dtype)
        if x.shape != (self.spec.n_in,):
            raise ValueError(f'expected input of shape ({self.spec.n_in},), got {tuple(x.shape)}')
        with torch.no_grad():
            y, self.state = self.net(x.view(1, 1, -1), self.state)
        return y.view(-1).numpy()
