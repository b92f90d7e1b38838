# Copyright 2026 predctl_ros contributors
# SPDX-License-Identifier: Apache-2.0
"""Chained-goal evaluation of the shipped Panda policy, as the ROS demo sends goals."""

import json

import numpy as np
from predctl_ros import envs
from predctl_ros.cli import main
from predctl_ros.control.goals import GoalSource
from predctl_ros.learning.chained import demo_goals, demo_start, evaluate_chained
from predctl_ros.learning.train import rollout
from predctl_ros.resources import share_path
from predctl_ros.snn.checkpoint import load_checkpoint
import torch

PANDA = share_path('models', 'panda_reach_snn.safetensors')


def test_demo_goals_and_start_are_the_demos():
    goals = demo_goals(2, 3)
    source = GoalSource('random', seed=1)
    np.testing.assert_array_equal(goals[1], [source.draw() for _ in range(3)])
    start = demo_start()
    assert start.shape == (7,) and start[3] < -2.0   # elbow bent, as in the sim's parameter


def test_first_goal_is_a_plain_episode_and_the_summary_matches_the_distances():
    ckpt = load_checkpoint(PANDA)
    policy, options = ckpt['policy'], ckpt.task_options
    goals, start = demo_goals(2, 2), demo_start()
    result = evaluate_chained(policy, goals, start, options)
    final = np.array(result['final_distance'])
    assert final.shape == (2, 2)
    with envs.make_batched_env('panda_reach', 2, **options) as env, torch.no_grad():
        out = rollout(policy, env, starts=np.tile(start, (2, 1)), goals=goals[:, 0])
    reached = np.linalg.norm(out['ee'][:, -1] - goals[:, 0], axis=-1)
    np.testing.assert_allclose(final[:, 0], reached)
    assert result['chained']['goals'] == 2
    assert result['chained']['final_within_0.1'] == np.mean(final[:, 1] < 0.1)
    assert (np.array(result['min_distance']) <= final + 1e-12).all()


def test_cli_chained_prints_json_and_refuses_other_tasks(capsys):
    assert main(['eval', '--checkpoint', PANDA, '--chained', '2', '--goal-seeds', '1',
                 '--json']) == 0
    out = json.loads(capsys.readouterr().out)
    assert out['worlds'] == 1 and len(out['final_distance'][0]) == 2
    assert 0.0 <= out['chained_final_within_0.05'] <= 1.0
    reach2d = share_path('models', 'reach2d_snn.safetensors')
    assert main(['eval', '--checkpoint', reach2d, '--chained', '2']) == 2
    assert 'panda' in capsys.readouterr().err.lower()
