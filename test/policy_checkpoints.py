# Copyright 2026 predctl_ros contributors
# SPDX-License-Identifier: Apache-2.0
"""Small policy checkpoints in the format ``predctl train`` writes, for the control tests."""

from predctl_ros.snn import PolicyNet, PredictionNet
from predctl_ros.snn.checkpoint import save_checkpoint
import torch

# A reachable goal and a joint state near the Panda's ready pose (panda_joint1..7).
GOAL = (0.45, 0.1, 0.35)
Q = (0.1, -0.6, 0.05, -2.2, 0.02, 1.7, 0.0)
QD = (0.05, -0.1, 0.0, 0.2, 0.0, -0.05, 0.0)


def make_checkpoint(path, *, task='panda_reach', n_obs=9, n_goal=3, n_act=6, seed=0,
                    task_options=None, hidden=(48, 32), **overrides):
    """
    Write a small, untrained policy + prediction checkpoint as training does.

    :param path: destination file.
    :param task: task id written in the header.
    :param n_obs: observation size of the networks.
    :param n_goal: goal size.
    :param n_act: action size.
    :param seed: torch seed of the weights.
    :param task_options: task options written in the header.
    :param hidden: hidden layer sizes of both networks.
    :param overrides: further policy NetworkSpec fields (e.g. substeps).
    :return: the path.
    """
    with torch.random.fork_rng():
        torch.manual_seed(seed)
        policy = PolicyNet(n_obs, n_goal, n_act, hidden=hidden, **overrides)
        # Spread inputs as the trainer's data normalisation would, so that neurons spike.
        policy.set_input_normalisation(torch.zeros(n_obs + n_goal),
                                       torch.full((n_obs + n_goal,), 0.3))
        model = PredictionNet(n_obs, n_act, hidden=hidden)
    return save_checkpoint(path, {'prediction': model, 'policy': policy}, task=task,
                           task_options=task_options, extra={'iteration': 1})
