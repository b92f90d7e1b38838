# Copyright 2026 predctl_ros contributors
# SPDX-License-Identifier: Apache-2.0
"""SNN health: activity per layer, gradient norms and time constants."""

from types import SimpleNamespace

from predctl_ros.learning import health
from predctl_ros.snn import PolicyNet
from predctl_ros.snn.monitors import ActivityMonitor
import pytest
import torch


def test_neuron_counts_of_a_known_spike_train():
    # 10 SNN steps of 2 ms, 2 samples, 5 neurons: silent; every step; 9 of 10 steps (just
    # saturated); 10 and 7 of 10 (85 %, not); one spike.
    spikes = torch.zeros(10, 2, 5)
    spikes[:, :, 1] = 1.0
    spikes[:9, :, 2] = 1.0
    spikes[:, 0, 3] = 1.0
    spikes[:7, 1, 3] = 1.0
    spikes[4, 1, 4] = 1.0
    counts = health.NeuronCounts(SimpleNamespace(spec=SimpleNamespace(dt_s=0.002,
                                                                      hidden=(5, 3))))
    # Two forward passes of one window add up; bfloat16 spikes count the same.
    counts.record(0, spikes[:6])
    counts.record(0, spikes[6:].to(torch.bfloat16))
    layer, unrecorded = counts.layers()
    # 56 spikes of 5 neurons over 20 sample-steps of 2 ms.
    assert layer['rate_hz'] == pytest.approx(56 / 5 / (20 * 0.002), rel=1e-12)
    assert layer['silent'] == 0.2 and layer['saturated'] == 0.4
    assert unrecorded is None


def test_layer_rates_agree_with_the_activity_monitor():
    torch.manual_seed(0)
    net = PolicyNet(3, 2, 2, hidden=(12, 8))
    x = 3.0 * torch.randn(6, 4, 5)
    monitor = ActivityMonitor(net)
    with torch.no_grad():
        net(x, monitor=monitor)
    layers = health.layer_health(net, x)
    expected = monitor.summary()['rate_hz']
    assert [lay['rate_hz'] for lay in layers] == pytest.approx(expected, rel=1e-6)
    assert any(lay['rate_hz'] > 0 for lay in layers)
    assert health.layer_health(PolicyNet(3, 2, 2, arch='mlp', hidden=(8, 8, 8)), x) == [None] * 3


def test_gradient_columns_average_norms_and_count_clipped_steps():
    columns = health.gradient_columns({'model': [1.0, 3.0, 40.0], 'policy': []}, clip=30.0)
    assert columns == {'model_grad_norm': pytest.approx(44.0 / 3.0),
                       'model_grad_clipped': pytest.approx(1.0 / 3.0),
                       'policy_grad_norm': None, 'policy_grad_clipped': None}


def test_time_constants_per_layer_and_kind_in_ms():
    net = PolicyNet(3, 2, 2, hidden=(4, 6), neuron='alif', tau_syn_s=0.005, tau_out_s=0.02)
    taus = health.time_constants_ms({'policy': net, 'model': PolicyNet(3, 2, 2, arch='mlp')})
    assert sorted(taus) == sorted(
        [f'tau_ms/policy/layer{i}_{kind}' for i in (0, 1) for kind in ('syn', 'mem', 'ada')]
        + ['tau_ms/policy/readout'])
    assert taus['tau_ms/policy/layer1_syn'].tolist() == pytest.approx([5.0] * 6)
    assert taus['tau_ms/policy/readout'].tolist() == pytest.approx([20.0] * 2)
