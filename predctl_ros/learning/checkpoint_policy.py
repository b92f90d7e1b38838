# Copyright 2026 predctl_ros contributors
# SPDX-License-Identifier: Apache-2.0
"""
A checkpoint's policy for a task: loaded, checked against the task, stepped one by one.

:func:`load_policy` is what ``predctl eval`` and ``predctl render`` load;
:class:`StepPolicy` drives the network one control step at a time as
:func:`predctl_ros.learning.train.rollout` does (sequence API, float32, state carried):
an episode run through it is, bit for bit, rollout's episode in a one-world batch. (In a
batch of many worlds the products can round differently, and a spike that flips changes
the rest of a closed-loop episode.)
"""

from typing import NamedTuple, Optional

import numpy as np
from predctl_ros import envs
from predctl_ros.snn.checkpoint import CheckpointError, load_checkpoint
import torch
from torch import nn


class TaskPolicy(NamedTuple):
    """A checkpoint's policy network with the task it runs and that task's options."""

    net: nn.Module
    task: str
    task_options: dict


def load_policy(path, task: Optional[str] = None) -> TaskPolicy:
    """
    Load a checkpoint's policy and check that it fits a task.

    :param path: checkpoint file.
    :param task: task id (default: the checkpoint's). The checkpoint's task options apply
        only to its own task.
    :return: TaskPolicy.
    :raises CheckpointError: the file is missing or corrupt, the task is unknown, or the
        policy's input or output size does not fit the task (the message names the file).
    """
    ckpt = load_checkpoint(path)
    task = task or ckpt.task
    if task not in envs.TASK_IDS:
        raise CheckpointError(f'{path}: unknown task {task!r}; pass --task')
    options = ckpt.task_options if task == ckpt.task else {}
    spec = envs.task_spec(task, **options)
    policy = ckpt['policy']
    expected = spec.obs_size + spec.goal_size
    if policy.spec.n_in != expected or policy.spec.n_out != spec.action_size:
        raise CheckpointError(
            f'{path}: policy maps {policy.spec.n_in} -> {policy.spec.n_out}, '
            f'{task} needs {expected} -> {spec.action_size}')
    return TaskPolicy(policy, task, dict(options))


class StepPolicy:
    """A policy network as a controller: (observation, goal) -> action, state carried."""

    def __init__(self, net: nn.Module, monitor=None):
        """
        Wrap a policy network.

        :param net: policy network (sequence API).
        :param monitor: optional monitor given to every step (an ActivityMonitor or
            SpikeRecorder of a spiking policy).
        """
        self.net, self.monitor = net, monitor
        self.state = None

    def reset(self) -> None:
        """Start the network from rest (a new goal or episode)."""
        self.state = None

    @torch.no_grad()
    def __call__(self, obs, goal) -> np.ndarray:
        """
        Advance one control step.

        :param obs: observation [obs_size].
        :param goal: goal [goal_size].
        :return: action [action_size] (float64, not clipped).
        """
        x = torch.as_tensor(np.concatenate((obs, goal)), dtype=torch.float32)
        action, self.state = self.net(x[None, None], self.state, monitor=self.monitor)
        return action[0, 0].numpy().astype(np.float64)
