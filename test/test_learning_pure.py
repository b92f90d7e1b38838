# Copyright 2026 predctl_ros contributors
# SPDX-License-Identifier: Apache-2.0
"""The pure method's safeguards: unpoisoned inputs, an exploring start, P's measured quality."""

import numpy as np
from predctl_ros.learning import model_quality
from predctl_ros.learning.config import load_config
from predctl_ros.learning.train import set_input_normalisation, train
from predctl_ros.snn import init as snn_init
from predctl_ros.snn import PolicyNet, PredictionNet
from predctl_ros.snn.checkpoint import load_checkpoint
import pytest
import torch
from torch import nn

SMALL = ['envs=8', 'heldout_share=0.25', 'episode_steps=40', 'horizon=10', 'batch=16',
         'model_batches=2', 'policy_batches=2', 'model.hidden=[32, 32]',
         'policy.hidden=[32, 32]', 'task_options.velocities=true']


def test_a_silent_first_collection_cannot_poison_the_normalisation():
    """Silent actions and a still arm: actions stay raw, no input is amplified over 20x."""
    steps, worlds, n_obs, n_act = 30, 4, 8, 2
    rng = np.random.default_rng(0)
    obs = np.repeat(rng.uniform(-1, 1, (1, worlds, n_obs)), steps + 1, axis=0)
    obs[..., 6:] = 0.0                                 # the arm did not move
    data = {'obs': obs, 'action': np.full((steps, worlds, n_act), 1e-3),
            'goal': rng.uniform(-1, 1, (worlds, 2))}
    model, policy = PredictionNet(n_obs, n_act, hidden=(16, 16)), PolicyNet(n_obs, 2, n_act,
                                                                            hidden=(16, 16))
    set_input_normalisation(model, policy, data)
    torch.testing.assert_close(model.input_mean[n_obs:], torch.zeros(n_act))
    torch.testing.assert_close(model.input_std[n_obs:], torch.ones(n_act))
    for net in (model, policy):
        assert float(net.input_std.min()) >= 0.05
    # A full action reaches P as itself, not as 1000 standard deviations.
    x = torch.cat((torch.as_tensor(obs[0, 0], dtype=torch.float32), torch.ones(n_act)))
    assert float(((x - model.input_mean) / model.input_std)[n_obs:].abs().max()) == 1.0


def test_calibration_wakes_a_silent_policy_and_sets_its_spread():
    """Raw inputs of std 0.3 leave a fresh policy silent; calibrated, it fires and explores."""
    torch.manual_seed(0)
    policy = PolicyNet(6, 2, 2, hidden=(64, 64), neuron='alif')
    x = (0.3 * torch.randn(1, 128, 8)).expand(20, -1, -1)
    with torch.no_grad():
        before = policy(x)[0]
    result = snn_init.calibrate(policy, x, readout_std=0.5)
    with torch.no_grad():
        after = policy(x)[0]
    assert float(before.std()) < 0.05
    assert result['rates_hz'] == pytest.approx([50.0, 50.0], rel=0.2)
    pre_tanh = torch.atanh(after.clamp(-0.999999, 0.999999))
    assert float(pre_tanh.std()) == pytest.approx(0.5, rel=0.1)
    assert 0.25 < float(after.std()) < 0.6


class LinearArm(nn.Module):
    """Exact forward model of s' = s + B a (sequence API, no state)."""

    def __init__(self, gain: torch.Tensor, scale: float = 1.0):
        super().__init__()
        self.gain, self.scale, self.n_obs = gain, scale, gain.shape[0]

    def forward(self, x, state=None):
        return self.scale * x[..., self.n_obs:] @ self.gain.T, state


class LinearPolicy(nn.Module):
    """Deterministic a = tanh(K (g - s[:2])) (sequence API, no state)."""

    def forward(self, x, state=None):
        return torch.tanh(2.0 * (x[..., 4:6] - x[..., :2])), state


def drive(policy, gain, worlds=6, steps=30, seed=0):
    """Record episodes of the linear arm driven by a policy."""
    rng = np.random.default_rng(seed)
    obs = [rng.uniform(-1, 1, (worlds, 4)).astype(np.float32)]
    goal = rng.uniform(-1, 1, (worlds, 2)).astype(np.float32)
    actions = []
    for _ in range(steps):
        x = torch.as_tensor(np.concatenate((obs[-1], goal), -1))[None]
        a = policy(x)[0][0].numpy()
        actions.append(a)
        obs.append(obs[-1] + a @ gain.numpy().T)
    return np.stack(obs), np.stack(actions), goal


def test_prediction_quality_of_an_exact_and_of_a_do_nothing_model():
    """An exact P scores 0; a P that predicts no change scores exactly 1 on every ratio."""
    gain = torch.tensor([[0.1, 0.0], [0.0, 0.05], [0.02, 0.0], [0.0, 0.03]])
    obs, action, goal = drive(LinearPolicy(), gain)
    windows = model_quality.episode_windows(obs, action, goal, length=15, stride=5)
    assert windows.obs.shape == (16, 6 * 4, 4) and windows.goal.shape == (24, 2)
    exact = model_quality.prediction_quality(LinearArm(gain), windows, 5, 10, slice(0, 2))
    assert exact['one_step_error'] < 1e-12 and exact['free_run_ee_error'] < 1e-6
    still = model_quality.prediction_quality(LinearArm(gain, 0.0), windows, 5, 10, slice(0, 2),
                                             velocity_dims=[])
    assert still['one_step_vs_no_change'] == pytest.approx(1.0, abs=1e-6)
    assert still['one_step_vs_still'] == pytest.approx(1.0, abs=1e-6)
    assert still['free_run_vs_still'] == pytest.approx(1.0, abs=1e-6)
    wrong = model_quality.prediction_quality(LinearArm(gain, -1.0), windows, 5, 10,
                                             slice(0, 2))
    assert wrong['free_run_vs_still'] > 1.5


def test_imagined_distance_equals_the_real_one_under_an_exact_model():
    """Same policy, same states, exact P: imagined and real distances agree; a wrong P shows."""
    gain = torch.tensor([[0.1, 0.0], [0.0, 0.05], [0.02, 0.0], [0.0, 0.03]])
    obs, action, goal = drive(LinearPolicy(), gain)
    windows = model_quality.episode_windows(obs, action, goal, length=15, stride=5)
    imagined, real = model_quality.imagined_and_real_distance(
        LinearPolicy(), LinearArm(gain), windows, 5, 10, slice(0, 2))
    assert imagined == pytest.approx(real, rel=1e-5)
    flattering, real = model_quality.imagined_and_real_distance(
        LinearPolicy(), LinearArm(gain, 3.0), windows, 5, 10, slice(0, 2))
    assert flattering < 0.8 * real


def test_policy_waits_until_p_beats_standing_still(tmp_path, monkeypatch):
    """Policy minibatches run only in iterations where P's free-run ratio is below 1."""
    measure = model_quality.prediction_quality
    ratio = {}

    def measured(*args, **kwargs):
        # P's measured quality with its free-run ratio set by the test (measure is tested
        # exactly above); everything else is the real training loop.
        return dict(measure(*args, **kwargs), free_run_vs_still=ratio['value'])

    monkeypatch.setattr(model_quality, 'prediction_quality', measured)
    runs = {}
    for name, value, extra in (('gated', 1.5, []), ('open', 0.5, []),
                               ('no_policy_batches', 1.5, ['policy_batches=0'])):
        ratio['value'] = value
        summary = train(load_config(None, SMALL + ['iterations=1'] + extra), tmp_path / name,
                        log=lambda s: None)
        runs[name] = (summary, load_checkpoint(tmp_path / name / 'model.safetensors')
                      ['policy'].state_dict())
    assert runs['gated'][0]['policy_gated'] and runs['gated'][0]['policy_distance'] is None
    assert not runs['open'][0]['policy_gated']
    assert runs['open'][0]['policy_distance'] is not None
    for key, value in runs['gated'][1].items():
        assert torch.equal(value, runs['no_policy_batches'][1][key]), key
    assert any(not torch.equal(value, runs['open'][1][key])
               for key, value in runs['gated'][1].items())


class SimulatorAsModel(nn.Module):
    """A 'P' that answers by stepping its own copy of the simulator (sign flips the action)."""

    def __init__(self, env, n_obs: int, sign: float = 1.0):
        super().__init__()
        self.env, self.n_obs, self.sign = env, n_obs, sign

    def forward(self, x, state=None):
        deltas = []
        for step in x:
            obs, _ = self.env.step(self.sign * step[:, self.n_obs:].numpy())
            deltas.append(torch.as_tensor(obs, dtype=torch.float32) - step[:, :self.n_obs])
        return torch.stack(deltas), state


@pytest.mark.parametrize('sign, cosine', [(1.0, 1.0), (-1.0, -1.0)])
def test_action_effect_of_the_simulator_itself(sign, cosine):
    """P = the simulator: the right direction and size exactly; a mirrored P points back."""
    from predctl_ros import envs
    test = envs.test_set('reach2d')
    starts, goals = test.starts[:3], test.goals[:3]
    worlds = len(starts) * 5
    with envs.make_batched_env('reach2d', worlds, velocities=True) as env, \
            envs.make_batched_env('reach2d', worlds, velocities=True) as twin:
        twin.reset(starts=np.repeat(starts, 5, axis=0), goals=np.repeat(goals, 5, axis=0))
        model = SimulatorAsModel(twin, env.task_spec.obs_size, sign)
        effect = model_quality.action_effect(model, env, starts, goals, env.task_spec.ee_slice)
    assert effect['action_cosine'] == pytest.approx(cosine, abs=1e-5)
    assert effect['action_gain'] == pytest.approx(1.0, abs=1e-5)


def test_action_effect_of_a_model_that_ignores_actions():
    """A P blind to actions has no gain, whatever it predicts for the unperturbed arm."""
    from predctl_ros import envs
    test = envs.test_set('reach2d')
    with envs.make_batched_env('reach2d', 2 * 5, velocities=True) as env:
        blind = LinearArm(torch.zeros(env.task_spec.obs_size, 2))
        effect = model_quality.action_effect(blind, env, test.starts[:2], test.goals[:2],
                                             env.task_spec.ee_slice)
    assert effect == {'action_cosine': 0.0, 'action_gain': 0.0}
