# Copyright 2026 predctl_ros contributors
# SPDX-License-Identifier: Apache-2.0
"""
NIR export: Norse, an independent consumer, runs the exported graph as we run the network.

The graph goes through the real path (`predctl export` -> file -> ``nir.read`` ->
``norse.torch.from_nir``) and is compared with the float64 network (spikes) and the
control-loop stepper (outputs).  Norse computes in float32; spikes must still match
exactly, because the test first checks that no membrane comes within 1e-4 of its
threshold (float32 rounding moves it by about 1e-6), so rounding cannot flip a spike on
any CPU.  Outputs then differ by float32 rounding of the readout only: below 1e-5.
"""

import copy

import nir
import numpy as np
from predctl_ros.cli import main
from predctl_ros.snn import MLPNet, PolicyNet, PredictionNet
from predctl_ros.snn.checkpoint import save_checkpoint
from predctl_ros.snn.nir_export import NIRExportError, to_nir
from predctl_ros.snn.spec import policy_spec
import pytest
import torch

norse = pytest.importorskip('norse.torch')
reset = pytest.importorskip('norse.torch.functional.reset')

CONTROL_STEPS = 12
MARGIN = 1e-4
OUTPUT_ATOL = 1e-5


def _trained_like(net, seed):
    # A fresh network has equal time constants and zero biases everywhere; perturb every
    # exported parameter so that a mix-up between neurons, or a dropped term, shows.
    gen = torch.Generator().manual_seed(seed)
    n_in = net.spec.n_in

    def noise(t, std):
        return torch.randn(t.shape, generator=gen) * std

    with torch.no_grad():
        net.input_scale.copy_(0.3 + torch.rand(n_in, generator=gen))
        net.set_input_normalisation(noise(net.input_mean, 1.0),
                                    0.5 + torch.rand(n_in, generator=gen))
        for layer in net.layers:
            layer.bias.add_(noise(layer.bias, 0.3))
            layer.tau_syn.log_tau.add_(noise(layer.tau_syn.log_tau, 0.4))
            layer.tau_mem.log_tau.add_(noise(layer.tau_mem.log_tau, 0.4))
        net.readout.bias.add_(noise(net.readout.bias, 0.2))
        net.readout.tau.log_tau.add_(noise(net.readout.tau.log_tau, 0.4))
    return net


def _networks():
    # Small, with what the shipped networks have (low rank, a recurrent layer, the policy's
    # tanh); the shipped checkpoints use ALIF and cannot be exported.
    return {'prediction': _trained_like(PredictionNet(5, 3, hidden=(24, 16), rank=6), 1),
            'policy': _trained_like(PolicyNet(5, 3, 3, hidden=(20, 16), rank=6), 2)}


def _inputs(net, seed=3):
    gen = torch.Generator().manual_seed(seed)
    x = torch.randn(CONTROL_STEPS, 1, net.spec.n_in, generator=gen, dtype=torch.float64)
    return net.input_mean.double() + 1.5 * net.input_std.double() * x


class _Recorder:
    """Spikes and threshold-relative membranes of every layer (a monitor of SpikingNet)."""

    membranes = True

    def __init__(self):
        self.spikes, self.volt = {}, {}

    def record(self, i, spikes):
        self.spikes[i] = spikes[:, 0]

    def record_membranes(self, i, volt):
        self.volt[i] = volt[:, 0]

    def count_control_steps(self, n):
        pass


def _ours(net, x):
    net64 = copy.deepcopy(net).double()
    recorder = _Recorder()
    with torch.no_grad():
        net64(x, monitor=recorder)
    stepper = net.stepper()
    outputs = np.stack([stepper.step(x[t, 0].numpy()).copy() for t in range(len(x))])
    return recorder, torch.from_numpy(outputs)


def _norse(graph, x, reset_method):
    dt = float(graph.metadata['dt_s'])
    substeps = int(graph.metadata['substeps'])
    module = norse.from_nir(graph, dt=dt, reset_method=reset_method)
    # Norse 1.1 maps no nir.LI (from_nir drops the node): integrate the readout node with
    # Norse's own leaky integrator, the cell it uses for CubaLIF's synapse, and the node's
    # parameters.
    li = graph.nodes['readout_li']
    cell = norse.LIBoxCell(norse.LIBoxParameters(
        tau_mem_inv=torch.from_numpy(1.0 / li.tau).float(),
        v_leak=torch.from_numpy(li.v_leak).float()), dt=dt)
    r = torch.from_numpy(li.r).float()
    names = [n for n in graph.nodes if n.endswith('_lif')]
    spikes = {n: [] for n in names}
    state = cell_state = None
    outputs = []
    with torch.no_grad():
        for t in range(len(x)):
            for _ in range(substeps):
                _, state = module(x[t].float(), state)
                value, cell_state = cell(r * state.cache['readout_ff'], cell_state)
                for n in names:
                    spikes[n].append(state.cache[n][0])
            outputs.append(value[0])
    outputs = torch.stack(outputs).double()
    if graph.metadata['output_nonlinearity'] == 'tanh':
        outputs = torch.tanh(outputs)
    return [torch.stack(spikes[n]).double() for n in sorted(names)], outputs


@pytest.fixture(scope='module')
def exported(tmp_path_factory):
    tmp = tmp_path_factory.mktemp('nir')
    with torch.random.fork_rng():
        torch.manual_seed(0)
        nets = _networks()
    ckpt = save_checkpoint(tmp / 'lif.safetensors', nets, task='reach2d')
    graphs = {}
    for name in nets:
        out = tmp / f'{name}.nir'
        assert main(['export', str(ckpt), '--nir', str(out), '--network', name]) == 0
        graphs[name] = nir.read(out)
    return nets, graphs


@pytest.mark.parametrize('name', ['prediction', 'policy'])
def test_norse_runs_the_exported_graph_as_we_run_the_network(exported, name):
    nets, graphs = exported
    net, graph = nets[name], graphs[name]
    x = _inputs(net)
    recorder, expected = _ours(net, x)
    theirs, outputs = _norse(graph, x, reset.reset_subtract)
    assert len(theirs) == len(net.layers)
    for i, spikes in enumerate(theirs):
        ours = recorder.spikes[i]
        margin = (recorder.volt[i] - 1.0).abs().min().item()
        assert margin > MARGIN, f'layer {i}: a membrane {margin:.1e} from threshold'
        rate = ours.mean().item()
        assert 0.02 < rate < 0.5, f'layer {i}: spike rate {rate:.3f} tests too little'
        assert torch.equal(spikes, ours), f'layer {i}: {(spikes != ours).sum()} spikes differ'
    assert expected.abs().max() > 0.05, 'outputs too small to compare'
    assert torch.allclose(outputs, expected, rtol=0.0, atol=OUTPUT_ATOL), \
        (outputs - expected).abs().max()


def test_a_reset_to_zero_gives_other_spikes(exported):
    # The graph's metadata asks for a subtractive reset; NIR's own reset-to-v_reset (Norse's
    # default) is a different network, which is why the metadata says so.
    nets, graphs = exported
    x = _inputs(nets['prediction'])
    recorder, _ = _ours(nets['prediction'], x)
    theirs, _ = _norse(graphs['prediction'], x, reset.reset_value)
    assert not torch.equal(theirs[0], recorder.spikes[0])


def test_the_graph_holds_the_parameters_and_says_how_to_run_it(exported):
    nets, graphs = exported
    net, graph = nets['prediction'], graphs['prediction']
    dt = net.spec.dt_s
    layer = net.layers[0]
    lif = graph.nodes['layer0_lif']
    decay_syn = layer.tau_syn.decay(dt).double().detach()
    decay_mem = layer.tau_mem.decay(dt).double().detach()
    # Forward Euler at dt with these time constants gives our decays.
    assert torch.allclose(1 - dt / torch.from_numpy(lif.tau_syn), decay_syn, atol=1e-12)
    assert torch.allclose(1 - dt / torch.from_numpy(lif.tau_mem), decay_mem, atol=1e-12)
    assert torch.allclose(torch.from_numpy(lif.w_in) * (1 - decay_syn),
                          torch.ones(layer.size, dtype=torch.float64))
    assert lif.tau_syn.std() > 0, 'per-neuron time constants'
    rec = (layer.rec.w2.double() @ layer.rec.w1.double()).detach()
    assert torch.allclose(torch.from_numpy(graph.nodes['layer0_rec'].weight), rec)
    assert ('layer0_lif', 'layer0_rec') in graph.edges
    assert ('layer0_rec', 'layer0_lif') in graph.edges
    meta = graph.metadata
    assert (meta['dt_s'], meta['substeps'], meta['task']) == (dt, 7, 'reach2d')
    assert meta['reset'].startswith('subtract')
    assert meta['output_nonlinearity'] == 'none'
    assert graphs['policy'].metadata['output_nonlinearity'] == 'tanh'
    assert 'layer1_rec' not in graph.nodes and 'layer0_rec' not in graphs['policy'].nodes


def _one_error_line(capsys, *words):
    captured = capsys.readouterr()
    assert captured.out == ''
    lines = captured.err.splitlines()
    assert len(lines) == 1, captured.err
    for word in words:
        assert word in lines[0], (word, lines[0])


def test_bad_input_is_one_clear_line_and_writes_nothing(tmp_path, capsys):
    out = tmp_path / 'out.nir'
    assert main(['export', str(tmp_path / 'missing.safetensors'), '--nir', str(out)]) == 2
    _one_error_line(capsys, 'missing.safetensors: no such checkpoint file')
    alif = save_checkpoint(tmp_path / 'alif.safetensors', {
        'prediction': PredictionNet(4, 2, hidden=(8, 8), neuron='alif'),
        'policy': PolicyNet(4, 2, 2, hidden=(8, 8), neuron='alif')}, task='reach2d')
    alif = str(alif)
    assert main(['export', alif, '--nir', str(out)]) == 2
    _one_error_line(capsys, "network 'policy' uses adaptive-threshold (ALIF) neurons",
                    'policy.neuron=lif')
    assert main(['export', alif, '--nir', str(out), '--network', 'prediction']) == 2
    _one_error_line(capsys, "'prediction' uses adaptive-threshold", 'model.neuron=lif')
    with pytest.raises(SystemExit) as exc:
        main(['export', alif, '--nir', str(out), '--network', 'critic'])
    assert exc.value.code == 2
    _one_error_line(capsys, "invalid choice: 'critic'")
    only_policy = save_checkpoint(tmp_path / 'p.safetensors',
                                  {'policy': PolicyNet(4, 2, 2, hidden=(8, 8))})
    assert main(['export', str(only_policy), '--nir', str(out), '--network',
                 'prediction']) == 2
    _one_error_line(capsys, "has no network 'prediction'")
    assert not out.exists()


def test_non_spiking_and_alif_networks_are_refused_by_the_converter():
    with pytest.raises(NIRExportError, match="non-spiking 'mlp' baseline"):
        to_nir(MLPNet(policy_spec(4, 2, 2, arch='mlp', hidden=(8,))), 'policy')
    with pytest.raises(NIRExportError, match='ALIF'):
        to_nir(PredictionNet(4, 2, hidden=(8, 8), neuron='alif'), 'prediction')


def test_a_shipped_policy_exports(tmp_path, capsys):
    """The shipped reach2d policy is LIF: it goes to NIR, and the graph reads back."""
    out = tmp_path / 'reach2d_policy.nir'
    assert main(['export', 'models/reach2d_snn.safetensors', '--nir', str(out)]) == 0
    assert 'policy as NIR' in capsys.readouterr().out
    graph = nir.read(str(out))
    assert any(isinstance(node, nir.CubaLIF) for node in graph.nodes.values())
