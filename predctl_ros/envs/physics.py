# Copyright 2026 predctl_ros contributors
# SPDX-License-Identifier: Apache-2.0
"""
Joint velocity limits enforced in the physics, as Isaac Lab does for the Panda.

Friction and damping are compiled into the model from the URDF's ``<dynamics>``; a joint
velocity limit (``<limit velocity>``) has no MuJoCo counterpart, so the simulator clamps
each joint's speed to its limit after every physics step. That is what the authors'
simulator does (Isaac Lab's Franka configuration sets PhysX's maximum joint velocity to
2.175 / 2.61 rad/s). The real robot instead stops with a reflex when a joint exceeds its
limit; a clamp keeps training episodes going, and every clamp is counted, so a policy
that would trip the reflex shows in the metrics (``velocity_limit_steps``).

The task environments (:mod:`predctl_ros.envs.worlds`), :class:`PandaSim` and through it
the ROS simulation node all step through :func:`step_limited`.
"""

import mujoco
import numpy as np

from predctl_ros.envs import models


def joint_velocity_limits(urdf: str, joint_names) -> np.ndarray:
    """
    Read the velocity limits of joints from a URDF.

    :param urdf: URDF file.
    :param joint_names: the model's joints, in dof order (one dof each).
    :return: rad/s [len(joint_names)].
    :raises ValueError: for a joint the URDF does not list as revolute.
    """
    limits = models.urdf_joint_limits(urdf)
    missing = [name for name in joint_names if name not in limits]
    if missing:
        raise ValueError(f'{urdf}: no velocity limit for joints {missing}')
    values = np.array([limits[name][3] for name in joint_names], dtype=float)
    if not np.all(np.isfinite(values) & (values > 0)):
        raise ValueError(f'{urdf}: velocity limits must be positive, got {values.tolist()}')
    return values


def clamp_velocities(qvel: np.ndarray, limits: np.ndarray) -> np.ndarray:
    """
    Clamp joint velocities to their limits in place.

    :param qvel: velocities [..., nv] (written).
    :param limits: rad/s [nv].
    :return: bool [...]: where some joint exceeded its limit (before the clamp).
    """
    over = (np.abs(qvel) > limits).any(axis=-1)
    if over.any():
        np.clip(qvel, -limits, limits, out=qvel)
    return over


def step_limited(model: mujoco.MjModel, data: mujoco.MjData, nstep: int,
                 limits: np.ndarray) -> bool:
    """
    Advance one MjData by nstep physics steps, clamping joint speeds after each.

    :param model: the model.
    :param data: the world (advanced).
    :param nstep: physics steps.
    :param limits: rad/s [nv].
    :return: whether any step exceeded a limit.
    """
    over = False
    for _ in range(nstep):
        mujoco.mj_step(model, data)
        over |= bool(clamp_velocities(data.qvel, limits))
    return over
