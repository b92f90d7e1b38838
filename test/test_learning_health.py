# Copyright 2026 predctl_ros contributors
# SPDX-License-Identifier: Apache-2.0
"""SNN health: activity per layer, gradient norms and time constants reach the run's logs."""

import csv
from types import SimpleNamespace

from predctl_ros.learning import health
from predctl_ros.learning.config import load_config
from predctl_ros.learning.train import train
from predctl_ros.snn import PolicyNet
from predctl_ros.snn.monitors import ActivityMonitor
import pytest
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator
from tensorboard.plugins.custom_scalar import layout_pb2
import torch

TINY = ['envs=8', 'heldout_share=0.25', 'episode_steps=40', 'horizon=10', 'batch=8',
        'model_batches=2', 'policy_batches=2', 'gate_policy=false']
SPIKING = TINY + ['model.hidden=[16, 16]', 'policy.hidden=[16, 16]', 'policy.neuron=alif']
LAYER_KEYS = ('rate_hz', 'silent', 'saturated')


def _rows(run):
    with open(run / 'metrics.csv', newline='') as f:
        return list(csv.DictReader(f))


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


def test_a_spiking_run_logs_its_health(tmp_path, monkeypatch):
    # The policy's scores on the 64 validation and test pairs are not under test here, and
    # would take most of the run: a constant stands in for them.
    from predctl_ros.learning import train as train_module
    monkeypatch.setattr(train_module, 'evaluate', lambda *args, **kwargs: dict.fromkeys(
        train_module.TEST_KEYS, 0.5))
    # Validation (and so the histograms) every second iteration only.
    train(load_config(None, SPIKING + ['iterations=2', 'eval_every=2']), tmp_path,
          log=lambda s: None)
    rows = _rows(tmp_path)
    max_rate_hz = 1.0 / 0.002   # one spike per SNN step
    for row in rows:
        for net in ('model', 'policy'):
            for i in (0, 1):
                rate, silent, saturated = (float(row[f'{net}_layer{i}_{k}']) for k in LAYER_KEYS)
                assert 0.0 <= rate <= max_rate_hz
                assert 0.0 <= silent <= 1.0 and 0.0 <= saturated <= 1.0
            norm = float(row[f'{net}_grad_norm'])
            assert 0.0 < norm < float('inf')
            assert 0.0 <= float(row[f'{net}_grad_clipped']) <= 1.0
        # Calibrated to fire: a layer without a spike would be a dead network.
        assert sum(float(row[f'policy_layer{i}_rate_hz']) for i in (0, 1)) > 0.0

    events = EventAccumulator(str(tmp_path / 'tensorboard'), size_guidance={'histograms': 0})
    events.Reload()
    tags = events.Tags()
    expected = ({f'tau_ms/model/layer{i}_{k}' for i in (0, 1) for k in ('syn', 'mem')}
                | {f'tau_ms/policy/layer{i}_{k}' for i in (0, 1) for k in ('syn', 'mem', 'ada')}
                | {'tau_ms/model/readout', 'tau_ms/policy/readout'})
    assert set(tags['histograms']) == expected
    # Written at the evaluation (iteration 2: 2 x 8 worlds x 40 steps), not every iteration.
    assert [e.step for e in events.Histograms('tau_ms/policy/layer0_ada')] == [640]
    assert {'health/policy_layer1_saturated', 'health/model_grad_norm',
            'charts/imagined_distance', 'charts/real_distance'} <= set(tags['scalars'])
    # The imagined and the real distance share one chart of the Custom Scalars tab.
    config = events.Tensors('custom_scalars__config__')[0].tensor_proto.string_val[0]
    charts = [chart.multiline.tag for category in layout_pb2.Layout.FromString(config).category
              for chart in category.chart]
    assert charts == [['charts/imagined_distance', 'charts/real_distance']]


def test_a_baseline_run_leaves_the_activity_columns_empty(tmp_path):
    cfg = load_config(None, TINY + ['iterations=1', 'model.arch=gru', 'model.hidden=[16]',
                                    'policy.arch=mlp', 'policy.hidden=[16, 16]'])
    train(cfg, tmp_path, log=lambda s: None)
    row = _rows(tmp_path)[0]
    activity = [k for k in row if k.startswith(('model_layer', 'policy_layer'))]
    assert sorted(activity) == sorted(
        [f'model_layer0_{k}' for k in LAYER_KEYS]
        + [f'{net}_layer{i}_{k}' for net in ('policy',) for i in (0, 1) for k in LAYER_KEYS])
    assert all(row[k] == '' for k in activity)
    assert float(row['model_grad_norm']) > 0.0 and float(row['policy_grad_norm']) > 0.0
    events = EventAccumulator(str(tmp_path / 'tensorboard'))
    events.Reload()
    assert events.Tags()['histograms'] == []
