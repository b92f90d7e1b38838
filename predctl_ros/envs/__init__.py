# Copyright 2026 predctl_ros contributors
# SPDX-License-Identifier: Apache-2.0
"""
Simulated arms and the reaching tasks of the method, free of ROS.

* models: the Panda (``urdf/panda.urdf``) and the planar arm (``urdf/reach2d.urdf``)
  compiled through ``MjSpec`` with torque motors (:func:`load_panda_model`);
* tasks: ``panda_reach`` and ``reach2d`` (:func:`task_spec`, :func:`test_set`,
  :func:`validation_set`);
* environments: gymnasium (:func:`make_env`, or ``gymnasium.make('predctl_ros/PandaReach-v0')``
  and ``'predctl_ros/Reach2D-v0'``, :mod:`predctl_ros.envs.registration`) and batched
  (:func:`make_batched_env`);
* :func:`episode_metrics`, :func:`reference_controller`, and offscreen rendering:
  :mod:`predctl_ros.envs.render` (camera, renderer), :mod:`predctl_ros.envs.episodes`
  (rendered episodes) and :mod:`predctl_ros.envs.image_files` (PNG, video files).

Importing this package on a machine without a display selects MuJoCo's EGL backend
(``MUJOCO_GL=egl``) unless ``MUJOCO_GL`` is already set, so that rendering works headless.
"""

import importlib.util
import os
from typing import TYPE_CHECKING

from predctl_ros.lazy_exports import lazy_exports

if TYPE_CHECKING:
    from predctl_ros.envs.batched import BatchedReachEnv

if 'MUJOCO_GL' not in os.environ and not os.environ.get('DISPLAY'):
    os.environ['MUJOCO_GL'] = 'egl'

TASK_IDS = ('panda_reach', 'reach2d')

# Where each public name lives. A name's module is imported when the name is first used
# (PEP 562), so that the ROS nodes, which simulate the arm or check goals through
# ``envs.tasks`` / ``envs.panda_sim``, import MuJoCo but not the gymnasium environments
# (``reach_env``, ``batched``), which only training and evaluation need, and start where
# gymnasium is not installed.
_EXPORTS = {
    'BatchedReachEnv': 'batched',
    'episode_metrics': 'metrics', 'summarize_metrics': 'metrics',
    'load_panda_model': 'models', 'load_reach2d_model': 'models', 'panda_spec': 'models',
    'panda_tcp_position': 'models',
    'make_env': 'reach_env', 'PandaReachEnv': 'reach_env', 'Reach2DEnv': 'reach_env',
    'ReachEnv': 'reach_env',
    'evaluate_reference': 'reference', 'OperationalSpaceController': 'reference',
    'reference_controller': 'reference',
    'ActionError': 'tasks', 'make_task': 'tasks', 'PandaReachTask': 'tasks',
    'Reach2DTask': 'tasks', 'ReachTask': 'tasks', 'SimulationDiverged': 'tasks',
    'task_spec': 'tasks', 'TaskSpec': 'tasks', 'test_set': 'tasks', 'TestSet': 'tasks',
    'validation_set': 'tasks',
}


__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS, globals())


def make_batched_env(task_id: str, num_envs: int, *, num_threads=None,
                     **kwargs) -> 'BatchedReachEnv':
    """
    Build N worlds of a task stepped together on several threads.

    :param task_id: 'panda_reach' or 'reach2d'.
    :param num_envs: number of worlds.
    :param num_threads: worker threads (default: the CPU count, at most num_envs).
    :param kwargs: the task's options (velocities, obs_noise, episode_steps, ...).
    :return: the batched environment.
    """
    from predctl_ros.envs.batched import BatchedReachEnv
    from predctl_ros.envs.tasks import make_task
    return BatchedReachEnv(make_task(task_id, **kwargs), num_envs, num_threads=num_threads)


__all__ = [
    'ActionError', 'BatchedReachEnv', 'episode_metrics', 'evaluate_reference',
    'load_panda_model', 'load_reach2d_model', 'make_batched_env', 'make_env', 'make_task',
    'OperationalSpaceController', 'panda_spec', 'panda_tcp_position', 'PandaReachEnv',
    'PandaReachTask', 'Reach2DEnv', 'Reach2DTask', 'ReachEnv', 'ReachTask',
    'reference_controller', 'SimulationDiverged', 'summarize_metrics', 'TASK_IDS',
    'task_spec', 'TaskSpec', 'test_set', 'validation_set', 'TestSet',
]

# Registered where gymnasium is installed; the nodes' environments without it
# (test/test_install.py) import nothing more. The registration imports gymnasium, not MuJoCo.
if importlib.util.find_spec('gymnasium') is not None:
    from predctl_ros.envs.registration import register_envs
    register_envs()
