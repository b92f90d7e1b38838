# Copyright 2026 predctl_ros contributors
# SPDX-License-Identifier: Apache-2.0
"""Energy estimate: operation counts from layer shapes, published energies, eval's fields."""

import json

from predctl_ros.cli import main
from predctl_ros.learning.train import BASELINE_HIDDEN
from predctl_ros.snn import energy, PolicyNet, PredictionNet
from predctl_ros.snn.checkpoint import save_checkpoint
from predctl_ros.snn.monitors import ActivityMonitor
import pytest
import torch

# The published figures, written out here so that a changed constant fails a test:
# Horowitz (ISSCC 2014) 32-bit float multiply 3.7 pJ and add 0.9 pJ; Davies et al. (IEEE
# Micro 2018, Table 2) Loihi synaptic spike op 23.6 pJ and active neuron update 81 pJ.
MAC_PJ, AC_PJ, SYNOP_PJ, NEURON_PJ = 3.7 + 0.9, 0.9, 23.6, 81.0


def _policy():
    """Return a 5 -> 4 -> 6 (rank 2) -> 2 spiking policy of 3 SNN steps per control step."""
    return PolicyNet(3, 2, 2, hidden=(4, 6), rank=2, substeps=3)


def test_products_of_a_low_rank_policy_are_counted_by_hand():
    """Input once per control step; both low-rank factors and the readout every SNN step."""
    assert [tuple(p) for p in energy.products(_policy())] == [
        ('layers.0.ff', 5, 4, 1, False),       # analog input, held for the control step
        ('layers.1.ff.w1', 4, 2, 3, True),     # spikes into the latent
        ('layers.1.ff.w2', 2, 6, 3, False),    # the latent is analog
        ('readout', 6, 2, 3, True),
    ]


def test_products_of_a_recurrent_network():
    """A dense recurrent weight is spike-driven every SNN step; a low-rank one splits."""
    dense = PredictionNet(2, 1, hidden=(4, 6), substeps=3)
    assert [tuple(p) for p in energy.products(dense)] == [
        ('layers.0.ff', 3, 4, 1, False), ('layers.0.rec', 4, 4, 3, True),
        ('layers.1.ff', 4, 6, 3, True), ('readout', 6, 2, 3, True)]
    low = PredictionNet(2, 1, hidden=(4, 6), rank=2, substeps=3)
    names = [(p.name, p.spike_input) for p in energy.products(low)]
    assert names[1:3] == [('layers.0.rec.w1', True), ('layers.0.rec.w2', False)]


@pytest.mark.parametrize('net', [_policy(), PredictionNet(2, 1, hidden=(4, 6), substeps=3),
                                 PredictionNet(2, 1, hidden=(4, 6), rank=2, substeps=3)])
def test_spike_driven_synapses_match_the_monitors_fan_out(net):
    """Every spike-driven synapse each SNN step = each neuron's SynOps fan-out, every step."""
    dense = sum(p.synapses for p in energy.products(net) if p.spike_input)
    fan_out = sum(layer.size * n for layer, n in zip(net.layers, net.fan_out()))
    assert dense == fan_out * net.spec.substeps


def test_snn_estimate_arithmetic():
    """Counts and energies of the tiny policy, worked out by hand from its shapes."""
    est = energy.snn_estimate(_policy(), synops_per_step=10.0, control_dt_s=0.02)
    analog = 5 * 4 + 2 * 6 * 3                     # 56 MACs
    spiking = 4 * 2 * 3 + 6 * 2 * 3                # 60 synapses
    updates = (4 + 6 + 2) * 3                      # 36
    mlp = 5 * 4 + 4 * 6 + 6 * 2                    # 56 MACs
    assert (est['analog_macs_per_step'], est['spike_synapses_per_step'],
            est['neuron_updates_per_step'], est['mlp_macs_per_step']) == (analog, spiking,
                                                                          updates, mlp)
    expected_pj = {
        'loihi_synops_uj': 10 * SYNOP_PJ,
        'loihi_neuron_updates_uj': updates * NEURON_PJ,
        'analog_macs_uj': analog * MAC_PJ,
        'neuromorphic_uj': 10 * SYNOP_PJ + updates * NEURON_PJ + analog * MAC_PJ,
        'dense_ac_uj': analog * MAC_PJ + spiking * AC_PJ,
        'dense_mac_uj': (analog + spiking) * MAC_PJ,
        'mlp_uj': mlp * MAC_PJ,
    }
    for key, pj in expected_pj.items():
        assert est[key] == pytest.approx(pj * 1e-6, rel=1e-12), key
    assert est['control_rate_hz'] == pytest.approx(50.0)
    for key in ('neuromorphic', 'dense_ac', 'dense_mac', 'mlp'):
        assert est[f'{key}_uw'] == pytest.approx(est[f'{key}_uj'] * 50.0, rel=1e-12)


def test_mlp_estimate_counts_its_linear_layers():
    """An arch 'mlp' policy's MACs are its weights; an SNN's MLP has its sizes or those given."""
    mlp = PolicyNet(3, 2, 2, hidden=(4, 6), arch='mlp')
    est = energy.mlp_estimate(mlp, control_dt_s=0.04)
    assert est['mlp_macs_per_step'] == 5 * 4 + 4 * 6 + 6 * 2
    assert est['mlp_uj'] == pytest.approx((5 * 4 + 4 * 6 + 6 * 2) * MAC_PJ * 1e-6)
    assert est['mlp_uw'] == pytest.approx(est['mlp_uj'] * 25.0)
    assert energy.products(energy.mlp_like(_policy())) == energy.products(mlp)
    wide = energy.snn_estimate(_policy(), 0.0, 0.02, mlp_hidden=(3,))
    assert wide['mlp_hidden'] == [3] and wide['mlp_macs_per_step'] == 5 * 3 + 3 * 2
    with pytest.raises(TypeError, match='no energy model'):
        energy.products(PredictionNet(2, 1, arch='gru', hidden=(8,), recurrent=(False,)))


def test_measured_synops_never_exceed_the_dense_count():
    """Spikes touch each spike-driven synapse at most once per SNN step."""
    net = _policy()
    net.set_input_normalisation(torch.zeros(5), torch.full((5,), 0.05))  # drive it hard
    monitor = ActivityMonitor(net)
    with torch.no_grad():
        net(torch.randn(20, 8, 5), monitor=monitor)
    synops = monitor.summary()['synops_total_per_step']
    est = energy.snn_estimate(net, synops, 0.02)
    assert 0 < synops <= est['spike_synapses_per_step']


def test_eval_activity_reports_the_estimate(tmp_path, capsys):
    """`predctl eval --activity --json` carries energy_* fields consistent with its SynOps."""
    snn = PolicyNet(6, 2, 2, hidden=(16, 16), rank=4)
    snn.set_input_normalisation(torch.zeros(8), torch.full((8,), 0.3))
    path = save_checkpoint(tmp_path / 'snn.safetensors', {'policy': snn}, task='reach2d')
    assert main(['eval', '--checkpoint', str(path), '--json', '--activity']) == 0
    out = json.loads(capsys.readouterr().out)
    expected = energy.snn_estimate(snn, out['policy_synops_per_step'], 0.02,
                                   mlp_hidden=BASELINE_HIDDEN['mlp'])
    del expected['synops_per_step']
    assert out['energy_mlp_hidden'] == expected.pop('mlp_hidden') == list(BASELINE_HIDDEN['mlp'])
    assert {k: v for k, v in out.items()
            if k.startswith('energy_') and k != 'energy_mlp_hidden'} == pytest.approx(
        {f'energy_{k}': v for k, v in expected.items()})
    assert out['energy_loihi_synops_uj'] == pytest.approx(
        out['policy_synops_per_step'] * SYNOP_PJ * 1e-6)
    assert out['energy_control_rate_hz'] == pytest.approx(50.0)

    mlp = PolicyNet(6, 2, 2, hidden=(16, 16), arch='mlp')
    path = save_checkpoint(tmp_path / 'mlp.safetensors', {'policy': mlp}, task='reach2d')
    assert main(['eval', '--checkpoint', str(path), '--activity']) == 0
    text = capsys.readouterr().out
    rows = dict(line.split(maxsplit=1) for line in text.splitlines())
    assert int(rows['energy_mlp_macs_per_step']) == 8 * 16 + 16 * 16 + 16 * 2
    assert 'energy_neuromorphic_uj' not in rows and 'policy_synops_per_step' not in rows

    assert main(['eval', '--checkpoint', str(path), '--json']) == 0
    assert not any(k.startswith('energy_') for k in json.loads(capsys.readouterr().out))
