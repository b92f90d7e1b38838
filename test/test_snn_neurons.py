# Copyright 2026 predctl_ros contributors
# SPDX-License-Identifier: Apache-2.0
"""LIF and ALIF dynamics against their closed forms; fused scan against the reference."""

import math

from predctl_ros.snn import blas, neurons, scan
from predctl_ros.snn.scan import layer_scan, leaky_scan, ScanConfig
from predctl_ros.snn.surrogate import Surrogate
import pytest
import torch

F64 = torch.float64
SURROGATE = Surrogate('multi_gaussian', 4.0)


def _lif_params(a, b, n=1, threshold=1.0):
    return neurons.LIFParameters(torch.full((n,), a, dtype=F64), torch.full((n,), b, dtype=F64),
                                 threshold)


def _free_membrane(i_in, a, b, n):
    """Closed-form membrane after n steps of constant current from rest (no threshold)."""
    return i_in / (1 - a) * ((1 - b ** n) - (1 - b) * a * (b ** n - a ** n) / (b - a))


def test_lif_subthreshold_membrane_matches_closed_form():
    a, b, i_in, steps = math.exp(-2 / 5), math.exp(-2 / 10), 0.2, 60
    p = _lif_params(a, b, threshold=1e9)
    state, trace = neurons.lif_initial_state((1,), dtype=F64), []
    for _ in range(steps):
        _, state = neurons.lif_step(torch.tensor([i_in], dtype=F64), state, p, SURROGATE)
        trace.append(state.mem.item())
    n = torch.arange(1, steps + 1, dtype=F64)
    torch.testing.assert_close(torch.tensor(trace, dtype=F64), _free_membrane(i_in, a, b, n),
                               rtol=1e-12, atol=1e-14)
    # Steady state: the membrane settles at the DC gain I / (1 - a).
    assert trace[-1] == pytest.approx(i_in / (1 - a), rel=1e-3)


def test_lif_first_spike_time_and_subtractive_reset():
    a, b, i_in = math.exp(-2 / 5), math.exp(-2 / 10), 0.45
    p = _lif_params(a, b)
    free = [_free_membrane(i_in, a, b, k) for k in range(1, 100)]
    first = next(k for k, v in enumerate(free) if v > 1.0)
    state = neurons.lif_initial_state((1,), dtype=F64)
    for k in range(first + 1):
        v_before = b * state.mem + (1 - b) * (a * state.syn + i_in)
        z, state = neurons.lif_step(torch.tensor([i_in], dtype=F64), state, p, SURROGATE)
        assert z.item() == (1.0 if k == first else 0.0)
    # Subtractive reset: the membrane loses exactly one threshold at the spike.
    torch.testing.assert_close(state.mem, v_before - 1.0)


def test_alif_threshold_follows_adaptation_trace():
    a, b, c, xi = 0.5, 0.5, math.exp(-2 / 100), 0.3
    p = neurons.ALIFParameters(torch.full((1,), a, dtype=F64), torch.full((1,), b, dtype=F64),
                               torch.full((1,), c, dtype=F64), 1.0, xi, 0.0)
    state = neurons.alif_initial_state((1,), dtype=F64)
    drive = torch.tensor([0.9] * 20 + [0.0] * 20, dtype=F64)
    spikes, trace = [], []
    for i_in in drive:
        z, state = neurons.alif_step(i_in.view(1), state, p, SURROGATE)
        spikes.append(z.item())
        trace.append(state.ada.item())
    assert sum(spikes) >= 3
    expected, n = [], 0.0
    for z in spikes:
        n = c * n + z
        expected.append(n)
    assert trace == pytest.approx(expected, rel=1e-12)
    # Threshold of the next step is theta_0 + xi * n: with n > 0 a spike needs more drive.
    assert (state.base + xi * state.ada).item() == pytest.approx(1.0 + xi * expected[-1])


def test_alif_silent_threshold_decay_and_snap_back():
    base = torch.tensor([1.0, 0.05, 1.0], dtype=F64)
    z = torch.tensor([0.0, 0.0, 1.0], dtype=F64)
    out = neurons.silent_threshold_decay(base, z, 1.0, 0.1)
    torch.testing.assert_close(out, torch.tensor([0.9, 0.0, 1.0], dtype=F64))
    assert neurons.silent_threshold_decay(base, z, 1.0, 0.0) is base


def _random_setup(alif, rec, steps, repeat, batch=3, n=6):
    cur = (torch.randn(steps // repeat, batch, n, dtype=F64) * 1.5).requires_grad_()
    decays = [torch.empty(n, dtype=F64).uniform_(0.4, 0.9).requires_grad_()
              for _ in range(3 if alif else 2)]
    weights = {'none': [], 'dense': [torch.randn(n, n, dtype=F64)],
               'lowrank': [torch.randn(2, n, dtype=F64), torch.randn(n, 2, dtype=F64)]}[rec]
    weights = [w.requires_grad_() for w in weights]
    state = neurons.initial_state('alif' if alif else 'lif', (batch, n), dtype=F64)
    state = type(state)(*[t.clone().requires_grad_(i < 3) for i, t in enumerate(state)])
    z0 = torch.zeros(batch, n, dtype=F64, requires_grad=True) if rec != 'none' else None
    return cur, decays, weights, state, z0


@pytest.mark.parametrize('alif', [False, True])
@pytest.mark.parametrize('rec', ['none', 'dense', 'lowrank'])
@pytest.mark.parametrize('repeat', [1, 7])
@pytest.mark.parametrize('kernels', ['cpu-kernels', 'cpu-kernels-loop-products', 'torch-ops'])
@pytest.mark.parametrize('batch', [3, 11])
def test_fused_scan_matches_autograd_reference(alif, rec, repeat, kernels, batch, monkeypatch):
    # batch 11 on two threads: one block of four rows and a remainder per thread.
    monkeypatch.setattr(scan, 'USE_KERNELS', kernels != 'torch-ops')
    monkeypatch.setattr(blas, 'USE_BLAS', kernels == 'cpu-kernels')
    steps = 21
    cur, decays, weights, state, z0 = _random_setup(alif, rec, steps, repeat, batch)
    cfg = ScanConfig(SURROGATE, repeat, 1.0, 0.05 if alif else 0.0, 0.02 if alif else 0.0,
                     alif, rec)
    decay_ada = decays[2] if alif else None
    spikes, final = layer_scan(cfg, cur, decays[0], decays[1], decay_ada, state, z0, weights)

    p = (neurons.ALIFParameters(*decays, 1.0, 0.05, 0.02) if alif
         else neurons.LIFParameters(*decays, 1.0))
    step = neurons.alif_step if alif else neurons.lif_step
    s, z, ref = state, z0, []
    for k in range(steps):
        i_k = cur[k // repeat]
        if rec == 'dense':
            i_k = i_k + z @ weights[0].t()
        elif rec == 'lowrank':
            i_k = i_k + z @ weights[0].t() @ weights[1].t()
        z, s = step(i_k, s, p, SURROGATE)
        ref.append(z)
    ref = torch.stack(ref)
    assert torch.equal(spikes, ref)
    assert 0.05 < spikes.mean().item() < 0.95, 'test drive should make neurons spike'

    probe = torch.randn_like(spikes)

    def loss(spk, fin):
        out = (spk * probe).sum() + (fin.syn ** 2).sum() + 1.3 * fin.mem.sum()
        return out + ((fin.ada ** 2).sum() if alif else 0.0)

    leaves = [cur, *decays, *weights, *[t for t in state if t.requires_grad]]
    leaves += [z0] if z0 is not None else []
    fused = torch.autograd.grad(loss(spikes, final), leaves)
    expected = torch.autograd.grad(loss(ref, s), leaves)
    for got, want in zip(fused, expected):
        torch.testing.assert_close(got, want, rtol=1e-10, atol=1e-10)
        assert want.abs().sum() > 0


@pytest.mark.parametrize('alif', [False, True])
def test_frozen_time_constants_leave_the_other_gradients_unchanged(alif):
    # Without decay gradients (a frozen network) the kernels skip their sums; every other
    # gradient must be the same, bit for bit.
    cur, decays, weights, state, z0 = _random_setup(alif, 'lowrank', 21, 1, 5)
    cfg = ScanConfig(SURROGATE, 1, 1.0, 0.05 if alif else 0.0, 0.0, alif, 'lowrank')
    probe = torch.randn(21, 5, cur.shape[-1], dtype=F64)
    grads = []
    for frozen in (False, True):
        used = [d.detach().requires_grad_(not frozen) for d in decays]
        spikes, final = layer_scan(cfg, cur, used[0], used[1], used[2] if alif else None,
                                   state, z0, weights)
        leaves = [cur, *weights, z0]
        grads.append(torch.autograd.grad((spikes * probe).sum() + final.mem.sum(), leaves))
    for learned, frozen in zip(*grads):
        assert torch.equal(learned, frozen) and learned.abs().sum() > 0


def test_leaky_scan_gradients_match_autograd():
    x = torch.randn(9, 2, 3, dtype=F64, requires_grad=True)
    decay = torch.rand(3, dtype=F64, requires_grad=True)
    y0 = torch.randn(2, 3, dtype=F64, requires_grad=True)
    torch.autograd.gradcheck(lambda *t: leaky_scan(*t), (x, decay, y0))
    y, ref = leaky_scan(x, decay, y0), []
    prev = y0
    for k in range(9):
        prev = decay * prev + x[k]
        ref.append(prev)
    torch.testing.assert_close(y, torch.stack(ref))
