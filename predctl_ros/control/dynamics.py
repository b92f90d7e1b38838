# Copyright 2026 predctl_ros contributors
# SPDX-License-Identifier: Apache-2.0
"""
The Panda's rigid-body model for the controller's own use: gravity and inertia at a state.

Built from the package's URDF, the one source of the robot's kinematics and dynamics
(:func:`predctl_ros.envs.models.build_spec`, as the task and the simulator load it).
"""

import mujoco
import numpy as np

from predctl_ros.envs import models, physics


class RobotDynamics:
    """Gravity torques g(q), inertia M(q) and the joint limits of one robot model."""

    def __init__(self, model: mujoco.MjModel, urdf: str, joint_names):
        """
        Wrap a compiled model of the robot.

        :param model: a MuJoCo model of the robot (e.g. a task's), one dof per joint.
        :param urdf: the URDF it was built from (for the velocity and effort limits).
        :param joint_names: the model's joints in dof order.
        :raises ValueError: when the URDF lacks limits for a joint.
        """
        self.model = model
        self._data = mujoco.MjData(model)
        self.joint_names = tuple(joint_names)
        self.velocity_limits = physics.joint_velocity_limits(urdf, self.joint_names)
        limits = models.urdf_joint_limits(urdf)
        self.effort_limits = np.array([limits[name][2] for name in self.joint_names])
        self._gravity = np.zeros(model.nv)

    def _at(self, q) -> mujoco.MjData:
        data = self._data
        data.qpos[:] = q
        data.qvel[:] = 0.0
        mujoco.mj_fwdPosition(self.model, data)
        return data

    def gravity(self, q) -> np.ndarray:
        """
        Return the joint torques that hold the arm still against gravity at q.

        :param q: joint angles [nv] in rad.
        :return: Nm [nv] (a buffer overwritten by the next call).
        """
        # Bias forces at zero velocity: gravity alone, no Coriolis or centrifugal terms.
        mujoco.mj_rne(self.model, self._at(q), 0, self._gravity)
        return self._gravity

    def inertia(self, q) -> np.ndarray:
        """
        Return the joint-space inertia matrix at q.

        :param q: joint angles [nv] in rad.
        :return: M [nv, nv] in kg m^2 (a new array).
        """
        return models.full_inertia(self.model, self._at(q))
