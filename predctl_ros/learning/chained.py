# Copyright 2026 predctl_ros contributors
# SPDX-License-Identifier: Apache-2.0
"""
Evaluate a Panda policy on chained goals, as the ROS demo sends them, without ROS.

The fixed test set starts every episode at rest.  On the robot (and in ``make demo``)
goals arrive one after another: each from wherever the arm is, still moving, with the
network reset on the new target as the policy node does.  Here each world replays the
goal stream of one seed of the demo's goal publisher (``GoalSource``), from the demo's
start configuration, for a control period's worth of steps per goal.
"""

import numpy as np
from predctl_ros import envs
from predctl_ros.control.goals import GoalSource
from predctl_ros.learning.train import rollout
from predctl_ros.resources import share_path
import torch
import yaml


def demo_start() -> np.ndarray:
    """
    Return the simulated robot's start configuration from config/panda_reach.yaml.

    :return: joint angles [7] in rad.
    """
    with open(share_path('config', 'panda_reach.yaml')) as f:
        params = yaml.safe_load(f)
    return np.asarray(params['sim_node']['ros__parameters']['initial_positions'], dtype=float)


def demo_goals(seeds: int, count: int) -> np.ndarray:
    """
    Return the goal streams of the demo's random goal publisher.

    :param seeds: number of streams (publisher seeds 0 .. seeds - 1).
    :param count: goals per stream.
    :return: goals [seeds, count, 3] in metres.
    """
    streams = []
    for seed in range(seeds):
        source = GoalSource('random', seed=seed)
        streams.append([source.draw() for _ in range(count)])
    return np.asarray(streams)


def evaluate_chained(policy, goals: np.ndarray, start: np.ndarray, task_options=None,
                     device='cpu') -> dict:
    """
    Run each world through its chain of goals and summarise the final distances.

    :param policy: Panda policy network (sequence API).
    :param goals: [worlds, count, 3] goal streams (see demo_goals).
    :param start: start configuration of every world [7].
    :param task_options: options of the panda_reach task the policy was trained on.
    :param device: torch device of the policy.
    :return: dict with per-goal 'final_distance' [worlds, count] and 'min_distance', the
        velocity-limit steps of all segments, and
        summaries of the first goal (from rest) and of the chained ones.
    """
    worlds, count = goals.shape[:2]
    final = np.zeros((worlds, count))
    closest = np.zeros((worlds, count))
    limited = np.zeros((worlds, count), dtype=int)
    with envs.make_batched_env('panda_reach', worlds, **(task_options or {})) as env:
        for j in range(count):
            # The rollout starts the network afresh: a new target resets it in the node too.
            with torch.no_grad():
                out = rollout(policy, env, starts=np.tile(start, (worlds, 1)), goals=goals[:, j],
                              device=device, retarget=j > 0)
            distance = np.linalg.norm(out['ee'] - out['goal'][:, None], axis=-1)
            final[:, j], closest[:, j] = distance[:, -1], distance.min(axis=1)
            limited[:, j] = out['velocity_limited'].sum(axis=1)
    out = {'worlds': int(worlds), 'goals_per_world': int(count),
           'final_distance': final.tolist(), 'min_distance': closest.tolist(),
           'velocity_limit_steps': int(limited.sum())}
    for name, part, near in (('first', final[:, :1], closest[:, :1]),
                             ('chained', final[:, 1:], closest[:, 1:])):
        if part.size:
            out[name] = {'goals': int(part.size), 'median_final_distance': float(np.median(part)),
                         'final_within_0.05': float(np.mean(part < 0.05)),
                         'final_within_0.1': float(np.mean(part < 0.1)),
                         'ever_within_0.05': float(np.mean(near < 0.05))}
    return out
