# Copyright 2026 predctl_ros contributors
# SPDX-License-Identifier: Apache-2.0
"""Networks: shapes, parameter counts, gradients, determinism, stepper vs sequence API."""

import numpy as np
from predctl_ros.snn import build_network, PolicyNet, prediction_spec, PredictionNet
from predctl_ros.snn.connections import LowRankConnection
from predctl_ros.snn.monitors import ActivityMonitor
from predctl_ros.snn.spec import NetworkSpec, policy_spec
import pytest
import torch

F64 = torch.float64


def _count(net):
    return sum(p.numel() for p in net.parameters())


def test_low_rank_parameter_count_follows_formula():
    conn = LowRankConnection(300, 200, 16)
    assert _count(conn) == 16 * (300 + 200) == LowRankConnection.parameter_count(300, 200, 16)
    conn.init_weights(0.05)
    x = torch.randn(7, 300)
    torch.testing.assert_close(conn(x), x @ conn.effective_weight().t(), rtol=1e-4, atol=1e-5)
    # Orthonormal W1 rows; the product has the requested entry std.
    torch.testing.assert_close(conn.w1 @ conn.w1.t(), torch.eye(16), rtol=0, atol=1e-5)
    assert conn.effective_weight().std().item() == pytest.approx(0.05, rel=0.1)
    with pytest.raises(ValueError, match='rank'):
        LowRankConnection(10, 10, 11)


@pytest.mark.parametrize('rank, method_total', [(16, 79e3), (64, 227e3), (None, 817e3)])
def test_panda_network_sizes_match_the_method(rank, method_total):
    """P (9 obs + 6 actions) plus pi (9 obs + 3 goal): the article's ~79k / 227k / 817k."""
    total = _count(PredictionNet(9, 6, rank=rank)) + _count(PolicyNet(9, 3, 6, rank=rank))
    assert total == pytest.approx(method_total, rel=0.05)


def test_low_rank_network_parameters_exact():
    net = PredictionNet(9, 6, rank=16, learn_tau=False)
    weights = 15 * 512 + 16 * (512 + 512) * 2 + 512 * 9
    biases_and_scales = 512 * 2 + 9 + 15
    assert _count(net) == weights + biases_and_scales


@pytest.mark.parametrize('neuron', ['lif', 'alif'])
@pytest.mark.parametrize('rank', [None, 8])
def test_gradients_reach_time_constants_and_factors(neuron, rank):
    net = PredictionNet(4, 2, hidden=(32, 32), neuron=neuron, rank=rank)
    x = torch.randn(6, 5, 6) * 2.0
    y, _ = net(x)
    y.square().sum().backward()
    for name, p in net.named_parameters():
        assert p.grad is not None, name
        assert p.grad.abs().sum() > 0, f'zero gradient for {name}'
    names = {n for n, _ in net.named_parameters()}
    assert any('log_tau' in n for n in names)
    if rank:
        assert any(n.endswith('w1') for n in names) and any(n.endswith('w2') for n in names)


def test_fixed_time_constants_are_buffers():
    net = PredictionNet(4, 2, hidden=(16, 16), learn_tau=False)
    assert not any('log_tau' in n for n, _ in net.named_parameters())
    assert any('log_tau' in n for n, _ in net.named_buffers())


def test_shapes_and_output_ranges():
    pred = PredictionNet(9, 6, hidden=(64, 64))
    pol = PolicyNet(9, 3, 6, hidden=(64, 64), neuron='alif')
    dx, state = pred(torch.randn(10, 4, 15))
    a, _ = pol(torch.randn(10, 4, 12) * 5)
    assert dx.shape == (10, 4, 9) and a.shape == (10, 4, 6)
    assert a.abs().max() < 1.0
    assert dx.abs().max() < 0.05, 'small readout gain: initial deltas near 0'
    assert len(state.layers) == 2 and state.layers[0].spikes is not None
    with pytest.raises(ValueError, match='expected input'):
        pred(torch.randn(10, 4, 14))


def test_chunked_sequence_equals_whole_sequence_with_gradients():
    """Carrying the state across calls is exact, forward and backward (imagined rollouts)."""
    net = PredictionNet(3, 2, hidden=(24, 24), neuron='alif', rank=6).double()
    x = torch.randn(8, 3, 5, dtype=F64) * 2.0
    whole, _ = net(x)
    (g_whole,) = torch.autograd.grad(whole.square().sum(), net.layers[0].ff.weight)
    first, state = net(x[:3])
    second, _ = net(x[3:], state)
    chunked = torch.cat((first, second))
    torch.testing.assert_close(chunked, whole)
    (g_chunked,) = torch.autograd.grad(chunked.square().sum(), net.layers[0].ff.weight)
    torch.testing.assert_close(g_chunked, g_whole)


@pytest.mark.parametrize('rank', [None, 6])
def test_frozen_network_passes_the_same_input_gradients(rank):
    """A frozen model (under the policy loss) skips its weight gradients, not the chain."""
    net = PredictionNet(3, 2, hidden=(24, 24), neuron='alif', rank=rank).double()
    x = (torch.randn(6, 2, 5, dtype=F64) * 2.0).requires_grad_()
    trained, _ = net(x)
    (g_trained,) = torch.autograd.grad(trained.square().sum(), x)
    net.requires_grad_(False)
    frozen, _ = net(x)
    (g_frozen,) = torch.autograd.grad(frozen.square().sum(), x)
    torch.testing.assert_close(g_frozen, g_trained, rtol=0, atol=0)
    assert g_frozen.abs().sum() > 0


def test_fused_network_matches_reference_network():
    net = PolicyNet(3, 2, 2, hidden=(20, 20), neuron='alif', silent_decay_per_s=10.0).double()
    x = torch.randn(6, 2, 5, dtype=F64) * 3.0
    fast, _ = net(x)
    slow, _ = net(x, reference=True)
    torch.testing.assert_close(fast, slow, rtol=1e-12, atol=1e-12)
    g_fast = torch.autograd.grad(fast.sum(), list(net.parameters()))
    g_slow = torch.autograd.grad(slow.sum(), list(net.parameters()))
    for a, b in zip(g_fast, g_slow):
        torch.testing.assert_close(a, b, rtol=1e-9, atol=1e-10)


def test_seeded_construction_and_runs_are_deterministic():
    def run():
        torch.manual_seed(123)
        net = PredictionNet(9, 6, hidden=(64, 64), rank=8)
        y, _ = net(torch.randn(5, 3, 15))
        return y

    assert torch.equal(run(), run())


@pytest.mark.parametrize('neuron', ['lif', 'alif'])
@pytest.mark.parametrize('rank', [None, 12])
def test_stepper_reproduces_sequence_api(neuron, rank):
    net = PolicyNet(9, 3, 6, hidden=(96, 64), neuron=neuron, rank=rank,
                    silent_decay_per_s=10.0).double()
    net.set_input_normalisation(torch.linspace(-1, 1, 12), torch.linspace(0.5, 2, 12))
    x = torch.randn(25, 1, 12, dtype=F64) * 2.0
    monitor = ActivityMonitor(net)
    with torch.no_grad():
        y, _ = net(x, monitor=monitor)
    stepper = net.stepper()
    steps, spikes = [], np.zeros(2)
    for t in range(25):
        steps.append(stepper.step(x[t, 0].numpy()).copy())
        spikes += stepper.spikes
    np.testing.assert_allclose(np.stack(steps), y[:, 0].numpy(), rtol=0, atol=1e-12)
    summary = monitor.summary()
    np.testing.assert_allclose(spikes / 25, summary['spikes_per_step'])
    assert spikes.sum() > 0
    stepper.reset()
    np.testing.assert_allclose(stepper.step(x[0, 0].numpy()), y[0, 0].numpy(), atol=1e-12)
    with pytest.raises(ValueError, match='expected input'):
        stepper.step(np.zeros(11))


def test_monitor_synops_and_rates():
    net = PredictionNet(4, 3, hidden=(16, 8), rank=4)
    monitor = ActivityMonitor(net)
    with torch.no_grad():
        net(torch.randn(10, 2, 7) * 3, monitor=monitor)
    s = monitor.summary()
    # Layer 0 spikes reach the 4 latent units of layer 1 and its own 4 recurrent latents;
    # layer 1 spikes reach the 4 readout units (n_out = n_obs = 4).
    assert net.fan_out() == (4 + 4, 4)
    assert s['synops_per_step'] == pytest.approx(
        [s['spikes_per_step'][0] * 8, s['spikes_per_step'][1] * 4])
    assert s['rate_hz'][0] == pytest.approx(s['spikes_per_step'][0] / (16 * 0.014))


def test_fluctuation_driven_init_gives_unit_membrane_std():
    """A layer driven by 50 Hz Poisson spikes has free membrane mean ~0 and std ~1."""
    net = PredictionNet(4, 2, hidden=(64, 400), threshold=1e6)
    layer = net.layers[1]
    steps = 3000
    spikes = (torch.rand(steps, 8, 64) < 50.0 * 0.002).float()
    with torch.no_grad():
        current = layer.ff(spikes) + layer.bias
        p = layer.parameters_for_step()
        syn = torch.zeros(8, 400)
        mem = torch.zeros(8, 400)
        trace = []
        for k in range(steps):
            syn = p.decay_syn * syn + current[k]
            mem = p.decay_mem * mem + (1 - p.decay_mem) * syn
            trace.append(mem)
    trace = torch.stack(trace[200:])
    # Campbell's theorem: temporal variance per neuron averages to the target of 1.
    assert trace.var(dim=0).mean().item() == pytest.approx(1.0, rel=0.15)
    assert abs(trace.mean().item()) < 0.3
    plain = PredictionNet(4, 2, hidden=(64, 400), init='plain')
    assert plain.layers[1].ff.weight.std().item() == pytest.approx(1 / (3 * 64) ** 0.5, rel=0.05)


def test_baselines_share_the_interface():
    gru = build_network(prediction_spec(9, 6, arch='gru', hidden=(50,)))
    mlp = build_network(policy_spec(9, 3, 6, arch='mlp', hidden=(40, 40)))
    y, h = gru(torch.randn(7, 3, 15))
    a, _ = mlp(torch.randn(7, 3, 12))
    assert y.shape == (7, 3, 9) and h.shape == (1, 3, 50)
    assert a.shape == (7, 3, 6) and a.abs().max() < 1
    x = torch.randn(4, 1, 15)
    with torch.no_grad():
        seq, _ = gru(x)
    stepper = gru.stepper()
    for t in range(4):
        np.testing.assert_allclose(stepper.step(x[t, 0].numpy()), seq[t, 0].numpy(), atol=1e-6)


def test_bad_specs_are_refused_with_reasons():
    with pytest.raises(ValueError, match='neuron must be'):
        prediction_spec(9, 6, neuron='izhikevich')
    with pytest.raises(ValueError, match='rank must be'):
        prediction_spec(9, 6, rank=0)
    with pytest.raises(ValueError, match='recurrent'):
        NetworkSpec(role='policy', n_in=3, n_out=2, hidden=(8, 8), recurrent=(False,))
    with pytest.raises(ValueError, match='unknown network spec fields'):
        NetworkSpec.from_dict({'role': 'policy', 'n_in': 3, 'n_out': 2, 'colour': 'red'})
    spec = policy_spec(9, 3, 6, rank=16)
    assert NetworkSpec.from_dict(spec.to_dict()) == spec


def test_recycled_buffers_give_identical_gradients_and_refuse_double_backward():
    net = PredictionNet(3, 2, hidden=(24, 24), neuron='alif', rank=6)
    x = torch.randn(6, 4, 5) * 2.0

    def grads():
        y, _ = net(x)
        return torch.autograd.grad(y.square().sum(), list(net.parameters()))

    first, second = grads(), grads()
    for a, b in zip(first, second):
        assert torch.equal(a, b)
    y, _ = net(x)
    loss = y.square().sum()
    loss.backward(retain_graph=True)
    with pytest.raises(RuntimeError, match='back-propagated only once'):
        loss.backward()


def test_input_normalisation_is_applied_stored_and_validated(tmp_path):
    from predctl_ros.snn.checkpoint import load_checkpoint, save_checkpoint

    net = PolicyNet(2, 1, 1, hidden=(16, 16))
    x = torch.randn(5, 3, 3) * 4 + 10
    y_raw, _ = net(x)
    net.set_input_normalisation(x.mean((0, 1)), x.std((0, 1)))
    y_norm, _ = net(x)
    twin = PolicyNet(2, 1, 1, hidden=(16, 16))
    twin.load_state_dict(net.state_dict())
    twin.set_input_normalisation(torch.zeros(3), torch.ones(3))
    y_twin, _ = twin((x - x.mean((0, 1))) / x.std((0, 1)))
    torch.testing.assert_close(y_norm, y_twin)
    assert not torch.equal(y_raw, y_norm)
    loaded = load_checkpoint(save_checkpoint(tmp_path / 'n.safetensors', {'policy': net}))
    torch.testing.assert_close(loaded['policy'](x)[0], y_norm)
    with pytest.raises(ValueError, match='needs 3 values'):
        net.set_input_normalisation(torch.zeros(2), torch.ones(2))
    with pytest.raises(ValueError, match='finite'):
        net.set_input_normalisation(torch.tensor([0.0, float('nan'), 0.0]), torch.ones(3))
