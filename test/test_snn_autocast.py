# Copyright 2026 predctl_ros contributors
# SPDX-License-Identifier: Apache-2.0
"""
Spiking networks under torch.autocast: lower precision only where the inputs are spikes.

Spikes (0 and 1) are exact in bfloat16, so the products they feed lose only the
weights' and results' rounding; analog inputs, neuron states and readouts stay float32.
"""

from predctl_ros.snn import GRUNet, MLPNet, PredictionNet
from predctl_ros.snn.neurons import LIFState
from predctl_ros.snn.scan import layer_scan, ScanConfig
from predctl_ros.snn.spec import policy_spec, prediction_spec
from predctl_ros.snn.surrogate import Surrogate
import pytest
import torch

BF16 = {'device_type': 'cpu', 'dtype': torch.bfloat16}


def test_only_spike_inputs_are_multiplied_in_bfloat16():
    torch.manual_seed(0)
    net = PredictionNet(4, 2, hidden=(32, 32))
    x = torch.randn(5, 3, 6)
    spikes = (torch.rand(5, 3, 32) < 0.2).float()
    first, second = net.layers
    full = first.input_current(x)
    with torch.autocast(**BF16):
        analog = first.input_current(x)
        from_spikes = second.input_current(spikes)
    assert analog.dtype == torch.float32 and torch.equal(analog, full)
    assert from_spikes.dtype == torch.bfloat16
    expected = second.input_current(spikes)
    assert torch.allclose(from_spikes.float(), expected, rtol=0.02, atol=0.02)
    assert not torch.equal(from_spikes.float(), expected)


@pytest.mark.parametrize('rank', [None, 8])
def test_scan_keeps_state_and_adjoint_precise_and_rounds_weight_gradients(rank):
    # Same float32 current: the neuron update and the adjoint are float32 either way;
    # only the recurrent weights' gradient (a product over all steps) is bfloat16.
    torch.manual_seed(1)
    steps, batch, n = 40, 6, 24
    current = torch.randn(steps, batch, n) + 0.4
    decay_syn, decay_mem = torch.full((n,), 0.6), torch.full((n,), 0.8)
    if rank is None:
        weights = (0.3 * torch.randn(n, n),)
        cfg = ScanConfig(Surrogate(), rec='dense')
    else:
        weights = (torch.randn(rank, n) / n ** 0.5, 0.3 * torch.randn(n, rank))
        cfg = ScanConfig(Surrogate(), rec='lowrank')
    g_out = torch.randn(steps, batch, n)
    results = []
    for enabled in (False, True):
        cur = current.clone().requires_grad_()
        rec = [w.clone().requires_grad_() for w in weights]
        state = LIFState(torch.zeros(batch, n), torch.zeros(batch, n))
        with torch.autocast(**BF16, enabled=enabled):
            spikes, final = layer_scan(cfg, cur, decay_syn, decay_mem, None, state,
                                       torch.zeros(batch, n), rec)
        (spikes * g_out).sum().backward()
        results.append((spikes, final.mem, cur.grad, [w.grad for w in rec]))
    (spikes32, mem32, g_cur32, g_w32), (spikes16, mem16, g_cur16, g_w16) = results
    assert spikes16.dtype == torch.float32 and 0.05 < spikes32.mean() < 0.6
    assert torch.equal(spikes16, spikes32) and torch.equal(mem16, mem32)
    assert torch.equal(g_cur16, g_cur32)
    for exact, rounded in zip(g_w32, g_w16):
        assert rounded.dtype == torch.float32
        assert not torch.equal(rounded, exact)
        assert (rounded - exact).norm() < 0.01 * exact.norm()


@pytest.mark.parametrize('neuron, rank', [('lif', None), ('alif', 16)])
def test_network_gradients_under_autocast_follow_float32(neuron, rank):
    # bfloat16 currents flip a few near-threshold spikes; every parameter's gradient must
    # still point the same way (seeds 0-5 of this net: cosine 0.95-0.9998).
    torch.manual_seed(2)
    net = PredictionNet(5, 3, hidden=(64, 64), neuron=neuron, rank=rank)
    x, target = torch.randn(12, 8, 8), torch.randn(12, 8, 5)
    outputs, grads = [], []
    for enabled in (False, True):
        net.zero_grad()
        with torch.autocast(**BF16, enabled=enabled):
            out, _ = net(x)
        ((out - target) ** 2).mean().backward()
        outputs.append(out.detach())
        grads.append({name: p.grad.flatten().clone() for name, p in net.named_parameters()})
    assert outputs[1].dtype == torch.float32
    assert (outputs[1] - outputs[0]).norm() < 0.3 * outputs[0].norm()
    for name, exact in grads[0].items():
        assert torch.nn.functional.cosine_similarity(exact, grads[1][name], 0) > 0.9, name


def test_baselines_run_under_autocast():
    torch.manual_seed(3)
    for net in (GRUNet(prediction_spec(5, 3, arch='gru', hidden=(16,))),
                MLPNet(policy_spec(5, 2, 3, arch='mlp', hidden=(16, 16)))):
        with torch.autocast(**BF16):
            out, _ = net(torch.randn(4, 2, 8 if isinstance(net, GRUNet) else 7))
        out.float().sum().backward()
        assert all(torch.isfinite(p.grad).all() for p in net.parameters())
