# Copyright 2026 predctl_ros contributors
# SPDX-License-Identifier: Apache-2.0
"""A checkpoint's policy loaded for a task and stepped one control step at a time."""

import numpy as np
from policy_checkpoints import make_checkpoint
from predctl_ros import envs
from predctl_ros.learning.checkpoint_policy import load_policy, StepPolicy
from predctl_ros.learning.train import rollout
from predctl_ros.snn.checkpoint import CheckpointError
from predctl_ros.snn.monitors import ActivityMonitor, SpikeRecorder
import pytest
import torch

STEPS = 30


@pytest.fixture(scope='module')
def reach2d_policy(tmp_path_factory):
    path = make_checkpoint(tmp_path_factory.mktemp('ckpt') / 'r2d.safetensors',
                           task='reach2d', n_obs=6, n_goal=2, n_act=2, hidden=(24, 16),
                           seed=3)
    return load_policy(path)


def test_step_policy_replays_rollout_and_records_every_spike(reach2d_policy):
    """In the gymnasium env, StepPolicy gives rollout's actions and spikes, step for step."""
    net, task, options = reach2d_policy
    pairs = envs.test_set(task)
    monitor = ActivityMonitor(net)
    with envs.make_batched_env(task, 1, episode_steps=STEPS, **options) as batch:
        expected = rollout(net, batch, starts=pairs.starts[2:3], goals=pairs.goals[2:3],
                           monitor=monitor)
    recorder = SpikeRecorder(net)
    policy = StepPolicy(net, monitor=recorder)
    env = envs.make_env(task, episode_steps=STEPS, **options)
    obs, _ = env.reset(options={'start': pairs.starts[2], 'goal': pairs.goals[2]})
    actions = []
    for _ in range(STEPS):
        actions.append(policy(obs, env.goal))
        obs, _, _, _, info = env.step(actions[-1])
    np.testing.assert_array_equal(np.array(actions), expected['action'][:, 0])
    np.testing.assert_array_equal(info['ee'], expected['ee'][0, -1])
    assert recorder.spike_counts == monitor.spike_counts
    assert min(monitor.spike_counts) > 0, 'the test network should spike'
    for layer, size in enumerate(recorder.sizes):
        raster = recorder.raster(layer)
        assert raster.shape == (STEPS * net.spec.substeps, size) and raster.dtype == bool
        assert raster.sum() == monitor.spike_counts[layer]


def test_step_policy_reset_starts_from_rest(reach2d_policy):
    """After reset the network answers as a fresh one; without it, its state carries over."""
    net = reach2d_policy.net
    obs, goal = np.full(6, 0.3), np.array([0.2, -0.4])
    policy = StepPolicy(net)
    first = [policy(obs, goal).copy() for _ in range(3)]
    carried = policy(obs, goal).copy()
    policy.reset()
    again = [policy(obs, goal).copy() for _ in range(3)]
    np.testing.assert_array_equal(first, again)
    assert np.abs(carried - first[0]).max() > 1e-6


def test_spike_recorder_refuses_batches(reach2d_policy):
    """A raster is of one sample; a batch is refused, naming its size."""
    recorder = SpikeRecorder(reach2d_policy.net)
    assert recorder.raster(0).shape == (0, 24)
    with pytest.raises(ValueError, match='one sample, got a batch of 4'):
        recorder.record(0, torch.zeros(7, 4, 24))
    recorder.record(1, torch.ones(7, 1, 16))
    assert recorder.raster(1).sum() == 7 * 16
    recorder.reset()
    assert recorder.raster(1).shape == (0, 16) and recorder.spike_counts == [0.0, 0.0]


def test_load_policy_checks_the_task(tmp_path, reach2d_policy):
    """The task defaults to the checkpoint's; a policy of other sizes is refused."""
    assert reach2d_policy.task == 'reach2d' and reach2d_policy.task_options == {}
    with pytest.raises(CheckpointError, match='policy maps 8 -> 2, panda_reach needs 12 -> 6'):
        load_policy(make_checkpoint(tmp_path / 'r2d.safetensors', task='reach2d', n_obs=6,
                                    n_goal=2, n_act=2, hidden=(8, 8)), 'panda_reach')
    with pytest.raises(CheckpointError, match='no such checkpoint file'):
        load_policy(tmp_path / 'missing.safetensors')
