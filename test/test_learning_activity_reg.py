# Copyright 2026 predctl_ros contributors
# SPDX-License-Identifier: Apache-2.0
"""Activity regularisation (rate upper bound, membrane lower bound) and action terms."""

from types import SimpleNamespace

from predctl_ros.learning.config import load_config, TrainConfig
from predctl_ros.learning.objectives import (
    ActivityReg, imitation_loss, policy_loss, prediction_loss)
from predctl_ros.snn import PolicyNet, PredictionNet, scan
from predctl_ros.snn.layers import SpikingLayer
from predctl_ros.snn.monitors import ActivityMonitor, ActivityPenalty
import pytest
import torch

F64 = torch.float64
NET = SimpleNamespace(spec=SimpleNamespace(dt_s=0.002))


class Integrator(torch.nn.Module):
    """Known forward model without a monitor argument: position moves by 0.3 * action."""

    def forward(self, x, state=None):
        return 0.3 * x[..., 2:], state


def _spikes(counts, steps):
    # [steps, B, N] with counts[b][n] spikes at the first steps of each neuron.
    counts = torch.tensor(counts)
    return (torch.arange(steps)[:, None, None] < counts).to(torch.float32)


def test_penalties_equal_the_hand_computed_values():
    # 10 SNN steps of 2 ms: 100 Hz is 2 spikes; counts split over two calls of 5 steps.
    pen = ActivityPenalty(NET, rate_max_hz=100.0, membrane_min=-1.0)
    assert pen.rate_penalty().item() == 0.0 and pen.membrane_penalty().item() == 0.0
    first = _spikes([[2, 1, 2], [2, 0, 5]], 5)
    second = _spikes([[2, 0, 0], [1, 0, 1]], 5)
    pen.record(0, first)
    pen.record(0, second)
    # rate / bound - 1 per neuron: (1, -0.5, 0), (0.5, -1, 2) -> squares 1, 0, 0, .25, 0, 4.
    assert pen.rate_penalty().item() == pytest.approx((1 + 0.25 + 4) / 6)
    pen.record_membranes(0, torch.tensor([[[-3.0, -1.0]], [[0.5, -1.5]]]))
    pen.record_membranes(1, torch.tensor([[[2.0, -0.5]]]))
    # shortfalls below -1: 2, 0, 0, 0.5 and 0, 0 -> (4 + 0.25) / 6 values.
    assert pen.membrane_penalty().item() == pytest.approx(4.25 / 6)

    quiet = ActivityPenalty(NET, rate_max_hz=100.0, membrane_min=-1.0)
    quiet.record(0, _spikes([[2, 0, 1]], 10))
    quiet.record(1, _spikes([[1, 1]], 10))
    quiet.record_membranes(0, torch.tensor([[[-1.0, 0.0, 3.0]]]))
    assert quiet.rate_penalty().item() == 0.0 and quiet.membrane_penalty().item() == 0.0


@pytest.mark.parametrize('alif', [False, True])
@pytest.mark.parametrize('recurrent', [False, True])
@pytest.mark.parametrize('kernels', [True, False])
def test_scan_membranes_and_their_gradient_match_the_reference(alif, recurrent, kernels,
                                                               monkeypatch):
    monkeypatch.setattr(scan, 'USE_KERNELS', kernels)
    torch.manual_seed(1)
    layer = SpikingLayer(3, 12, neuron='alif' if alif else 'lif', recurrent=recurrent,
                         rec_rank=4 if recurrent else None,
                         silent_decay_per_s=5.0).double()
    layer.ff.init_weights(1.5)
    if recurrent:
        layer.rec.init_weights(0.5)
    x = torch.randn(5, 4, 3, dtype=F64)
    probe = torch.randn(35, 4, 12, dtype=F64)
    results = []
    for reference in (False, True):
        state = layer.initial_state(4, F64)
        spikes, final, volt = layer.forward_membranes(x, state, 7, reference=reference)
        loss = ((-0.2 - volt).clamp(min=0) ** 2).sum() + (spikes * probe).sum()
        grads = torch.autograd.grad(loss, list(layer.parameters()))
        results.append((spikes, final.neurons.mem, volt, grads))
    (spikes, mem, volt, grads), (spikes_r, mem_r, volt_r, grads_r) = results
    assert torch.equal(spikes, spikes_r) and 0.05 < spikes.mean().item() < 0.95
    torch.testing.assert_close(volt, volt_r, rtol=1e-12, atol=1e-12)
    torch.testing.assert_close(mem, mem_r, rtol=1e-12, atol=1e-12)
    assert (volt < -0.2).any()
    for got, want in zip(grads, grads_r):
        torch.testing.assert_close(got, want, rtol=1e-10, atol=1e-10)


def _window(n_obs=3, n_act=2, steps=8, batch=4):
    torch.manual_seed(2)
    return torch.randn(steps + 1, batch, n_obs), torch.randn(steps, batch, n_act)


def test_losses_are_unchanged_bit_for_bit_when_off():
    obs, act = _window()
    model = PredictionNet(3, 2, hidden=(16, 16), neuron='alif')
    policy = PolicyNet(3, 2, 2, hidden=(16, 16))
    goal = torch.randn(9, 4, 2)
    off = ActivityReg()
    for tf in (1.0, 0.5):
        plain = prediction_loss(model, obs, act, 3, tf, torch.Generator().manual_seed(0))
        same = prediction_loss(model, obs, act, 3, tf, torch.Generator().manual_seed(0),
                               activity=off)
        assert torch.equal(plain, same)
    plain = policy_loss(policy, model, obs, act, goal, 3, 4, slice(0, 2), 0.1, 0.2)
    same = policy_loss(policy, model, obs, act, goal, 3, 4, slice(0, 2), 0.1, 0.2, off)
    assert torch.equal(plain.total, same.total) and same.rate.item() == 0.0
    plain = imitation_loss(policy, obs, goal[:8], act, 3)
    assert torch.equal(plain, imitation_loss(policy, obs, goal[:8], act, 3, 0.0, 0.0, off))


def test_non_spiking_networks_score_zero():
    obs, act = _window()
    on = ActivityReg(rate=1.0, rate_max_hz=1.0, membrane=1.0, membrane_min=0.5)
    gru = PredictionNet(3, 2, arch='gru', hidden=(8,))
    mlp = PolicyNet(3, 2, 2, arch='mlp', hidden=(8, 8))
    assert torch.equal(prediction_loss(gru, obs, act, 3, activity=on),
                       prediction_loss(gru, obs, act, 3))
    goal = torch.randn(8, 4, 2)
    assert torch.equal(imitation_loss(mlp, obs, goal, act, 3, activity=on),
                       imitation_loss(mlp, obs, goal, act, 3))


def test_penalty_gradients_reach_the_trained_network_only():
    obs, act = _window()
    model = PredictionNet(3, 2, hidden=(16, 16))
    policy = PolicyNet(3, 2, 2, hidden=(16, 16))
    goal = torch.randn(9, 4, 2)
    # Bounds every neuron violates, so each term alone has a gradient everywhere.
    for on in (ActivityReg(rate=1.0, rate_max_hz=1.0), ActivityReg(membrane=1.0,
                                                                   membrane_min=0.9)):
        penalty = (prediction_loss(model, obs, act, 3, activity=on)
                   - prediction_loss(model, obs, act, 3))
        assert penalty.item() > 0
        penalty.backward()
        for layer in model.layers:
            assert layer.ff.weight.grad.abs().sum() > 0
        model.zero_grad()
        model.requires_grad_(False)
        out = policy_loss(policy, model, obs, act, goal, 3, 4, slice(0, 2), activity=on)
        assert (out.rate if on.rate else out.membrane).item() > 0
        out.total.backward()
        assert all(layer.ff.weight.grad.abs().sum() > 0 for layer in policy.layers)
        assert all(p.grad is None for p in model.parameters())
        model.requires_grad_(True)
        policy.zero_grad()


def _mean_rate(net, x):
    monitor = ActivityMonitor(net)
    with torch.no_grad():
        net(x, monitor=monitor)
    return sum(monitor.summary()['rate_hz']) / len(net.layers)


def test_rate_regularisation_lowers_the_firing_rate():
    torch.manual_seed(3)
    policy = PolicyNet(3, 2, 2, hidden=(32, 32))
    # Inputs of std 3 drive the fresh network at about 60 Hz.
    obs, goal = 3 * torch.randn(11, 8, 3), 3 * torch.randn(10, 8, 2)
    label = torch.zeros(10, 8, 2)
    x = torch.cat((obs[:10], goal), -1)
    before = _mean_rate(policy, x)
    assert before > 30.0
    optim = torch.optim.Adam(policy.parameters(), lr=1e-2)
    reg = ActivityReg(rate=100.0, rate_max_hz=20.0)
    for _ in range(8):
        loss = imitation_loss(policy, obs, goal, label, 2, activity=reg)
        optim.zero_grad()
        loss.backward()
        optim.step()
    after = _mean_rate(policy, x)
    print(f'mean rate {before:.1f} Hz -> {after:.1f} Hz')
    assert after < 0.7 * before


def test_imitation_action_terms_equal_the_hand_computed_values():
    obs, act = _window()
    policy = PolicyNet(3, 2, 2, hidden=(16, 16))
    goal = torch.randn(8, 4, 2)
    with torch.no_grad():
        action, _ = policy(torch.cat((obs[:8], goal), -1))
        base = imitation_loss(policy, obs, goal, act, 3)
        loss = imitation_loss(policy, obs, goal, act, 3, magnitude_weight=0.5,
                              smoothness_weight=2.0)
    kept = action[3:]
    expected = base + 0.5 * (kept ** 2).mean() + 2.0 * ((kept[1:] - kept[:-1]) ** 2).mean()
    torch.testing.assert_close(loss, expected)


def test_config_refuses_bad_activity_settings():
    cfg = load_config(None, ['rate_reg=0.5', 'rate_max_hz=80', 'membrane_reg=0.1',
                             'membrane_min=-2'])
    assert ActivityReg.from_config(cfg) == ActivityReg(0.5, 80.0, 0.1, -2.0)
    for name, value in (('rate_reg', -1.0), ('membrane_reg', -0.1), ('rate_reg', float('nan')),
                        ('rate_max_hz', 0.0), ('membrane_min', 1.0),
                        ('membrane_min', float('-inf'))):
        with pytest.raises(ValueError, match=name):
            TrainConfig(**{name: value})
