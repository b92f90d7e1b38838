# Copyright 2026 predctl_ros contributors
# SPDX-License-Identifier: Apache-2.0
"""
Gymnasium ids of the reaching tasks, e.g. ``gymnasium.make('predctl_ros/PandaReach-v0')``.

:mod:`predctl_ros.envs` calls :func:`register_envs` on import where gymnasium is
installed. ``gymnasium.make`` passes its keyword arguments to the environment class
(render_mode, width, height, camera and the task's options, e.g.
``torque_interface='franka_damped'`` or ``velocities=True``) and wraps it in
PassiveEnvChecker, OrderEnforcing and a TimeLimit of the task's default episode length.
"""

from gymnasium.envs.registration import register, registry

from predctl_ros.envs.timing import EPISODE_STEPS

ENV_IDS = {'panda_reach': 'predctl_ros/PandaReach-v0', 'reach2d': 'predctl_ros/Reach2D-v0'}
"""Gymnasium id of each task; the version follows :mod:`predctl_ros.envs.reach_env`."""
ENTRY_POINTS = {'panda_reach': 'predctl_ros.envs.reach_env:PandaReachEnv',
                'reach2d': 'predctl_ros.envs.reach_env:Reach2DEnv'}
"""Environment class of each task, as a string: gymnasium imports it on the first make."""


def register_envs() -> None:
    """
    Register every task's id with gymnasium, once.

    An id already in the registry is left as it is: a second import (``importlib.reload``)
    would otherwise make gymnasium warn that it overrides the environment.
    """
    for task_id, env_id in ENV_IDS.items():
        if env_id in registry:
            continue
        register(env_id, entry_point=ENTRY_POINTS[task_id], max_episode_steps=EPISODE_STEPS)
