# Copyright 2026 predctl_ros contributors
# SPDX-License-Identifier: Apache-2.0
"""
Peer libraries as oracles: the same neuron must give the same spikes.

snnTorch's ``Synaptic`` with ``reset_delay=False`` is our current-based LIF when
alpha = b_syn, beta = b_mem and the input is scaled by (1 - b_mem).  Norse's LIF
integrates the same equations (dt / tau = 1 - b) but resets to 0 instead of
subtracting the threshold, so it must agree with us up to each neuron's first
spike, membrane trace included.
"""

import math

from predctl_ros.snn import neurons, scan
from predctl_ros.snn.scan import layer_scan, ScanConfig
from predctl_ros.snn.surrogate import Surrogate
import pytest
import torch

snntorch = pytest.importorskip('snntorch')
norse_lif = pytest.importorskip('norse.torch.functional.lif')

F64 = torch.float64
A, B = math.exp(-2 / 5), math.exp(-2 / 10)
STEPS, NEURONS = 1500, 200


def _inputs(seed=0):
    gen = torch.Generator().manual_seed(seed)
    return (0.25 + 0.5 * torch.randn(STEPS, NEURONS, generator=gen)).to(F64)


def _ours(currents):
    p = neurons.LIFParameters(torch.full((NEURONS,), A, dtype=F64),
                              torch.full((NEURONS,), B, dtype=F64), 1.0)
    state, spikes, mems = neurons.lif_initial_state((NEURONS,), dtype=F64), [], []
    for cur in currents:
        z, state = neurons.lif_step(cur, state, p, Surrogate())
        spikes.append(z)
        mems.append(state.mem)
    return torch.stack(spikes), torch.stack(mems)


def test_spike_trains_match_snntorch_synaptic():
    currents = _inputs()
    ours, mems = _ours(currents)
    # The mapping holds while the post-reset membrane stays below threshold (snnTorch
    # would reset twice otherwise); the moderate drive guarantees it.
    assert (mems > 1.0).sum() == 0
    lif = snntorch.Synaptic(alpha=A, beta=B, threshold=1.0, reset_delay=False).to(F64)
    syn = torch.zeros(NEURONS, dtype=F64)
    mem = torch.zeros(NEURONS, dtype=F64)
    theirs = []
    for cur in currents:
        spk, syn, mem = lif((1.0 - B) * cur, syn, mem)
        theirs.append(spk)
    theirs = torch.stack(theirs)
    assert ours.sum() > 1000, 'the drive must make the neurons spike'
    assert torch.equal(ours, theirs)


@pytest.mark.parametrize('kernels', [True, False], ids=['cpu-kernels', 'torch-ops'])
def test_fused_layer_scan_matches_snntorch_too(kernels, monkeypatch):
    monkeypatch.setattr(scan, 'USE_KERNELS', kernels)
    currents = _inputs(1)
    expected, _ = _ours(currents)
    state = neurons.lif_initial_state((1, NEURONS), dtype=F64)
    spikes, _ = layer_scan(ScanConfig(Surrogate()), currents[:, None],
                           torch.full((NEURONS,), A, dtype=F64),
                           torch.full((NEURONS,), B, dtype=F64), None, state, None)
    assert torch.equal(spikes[:, 0], expected)


def test_membrane_and_first_spikes_match_norse_lif():
    currents = _inputs(2)
    ours, mems = _ours(currents)
    dt = 1e-3
    p = norse_lif.LIFParameters(
        tau_syn_inv=torch.tensor((1.0 - A) / dt, dtype=F64),
        tau_mem_inv=torch.tensor((1.0 - B) / dt, dtype=F64),
        v_leak=torch.tensor(0.0, dtype=F64), v_th=torch.tensor(1.0, dtype=F64),
        v_reset=torch.tensor(0.0, dtype=F64))
    state = norse_lif.LIFFeedForwardState(v=torch.zeros(NEURONS, dtype=F64),
                                          i=torch.zeros(NEURONS, dtype=F64))
    theirs, volts = [], []
    for cur in currents:
        z, state = norse_lif.lif_feed_forward_step(cur, state, p, dt=dt)
        theirs.append(z)
        volts.append(state.v)
    theirs, volts = torch.stack(theirs), torch.stack(volts)
    first = ours.argmax(0)
    assert (ours.sum(0) > 0).all(), 'every neuron should spike at least once'
    assert torch.equal(first, theirs.argmax(0))
    before = torch.arange(STEPS)[:, None] < first[None]
    torch.testing.assert_close(mems[before], volts[before], rtol=1e-12, atol=1e-12)
