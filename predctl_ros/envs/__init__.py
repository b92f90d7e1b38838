# Copyright 2026 predctl_ros contributors
# SPDX-License-Identifier: Apache-2.0
"""
Simulated arms and the reaching tasks of the method, free of ROS.

* models: the Panda (``urdf/panda.urdf``) and the planar arm (``urdf/reach2d.urdf``)
  compiled through ``MjSpec`` with torque motors (:func:`load_panda_model`);
* tasks: ``panda_reach`` and ``reach2d`` (:func:`task_spec`, :func:`test_set`);
* environments: gymnasium (:func:`make_env`) and batched (:func:`make_batched_env`);
* :func:`episode_metrics`, :func:`reference_controller`, and offscreen rendering in
  :mod:`predctl_ros.envs.render`.

Importing this package on a machine without a display selects MuJoCo's EGL backend
(``MUJOCO_GL=egl``) unless ``MUJOCO_GL`` is already set, so that rendering works headless.
"""

import os

if 'MUJOCO_GL' not in os.environ and not os.environ.get('DISPLAY'):
    os.environ['MUJOCO_GL'] = 'egl'

from predctl_ros.envs.batched import BatchedReachEnv  # noqa: E402
from predctl_ros.envs.metrics import episode_metrics, summarize_metrics  # noqa: E402
from predctl_ros.envs.models import (  # noqa: E402
    load_panda_model, load_reach2d_model, panda_spec, panda_tcp_position)
from predctl_ros.envs.reach_env import (  # noqa: E402
    make_env, PandaReachEnv, Reach2DEnv, ReachEnv)
from predctl_ros.envs.reference import (  # noqa: E402
    evaluate_reference, OperationalSpaceController, reference_controller)
from predctl_ros.envs.tasks import (  # noqa: E402
    ActionError, make_task, PandaReachTask, Reach2DTask, ReachTask, SimulationDiverged,
    task_spec, TaskSpec, test_set, TestSet)

TASK_IDS = ('panda_reach', 'reach2d')


def make_batched_env(task_id: str, num_envs: int, *, num_threads=None,
                     **kwargs) -> BatchedReachEnv:
    """
    Build N worlds of a task stepped together on several threads.

    :param task_id: 'panda_reach' or 'reach2d'.
    :param num_envs: number of worlds.
    :param num_threads: worker threads (default: the CPU count, at most num_envs).
    :param kwargs: the task's options (velocities, obs_noise, episode_steps, ...).
    :return: the batched environment.
    """
    return BatchedReachEnv(make_task(task_id, **kwargs), num_envs, num_threads=num_threads)


__all__ = [
    'ActionError', 'BatchedReachEnv', 'episode_metrics', 'evaluate_reference',
    'load_panda_model', 'load_reach2d_model', 'make_batched_env', 'make_env', 'make_task',
    'OperationalSpaceController', 'panda_spec', 'panda_tcp_position', 'PandaReachEnv',
    'PandaReachTask', 'Reach2DEnv', 'Reach2DTask', 'ReachEnv', 'ReachTask',
    'reference_controller', 'SimulationDiverged', 'summarize_metrics', 'TASK_IDS',
    'task_spec', 'TaskSpec', 'test_set', 'TestSet',
]
