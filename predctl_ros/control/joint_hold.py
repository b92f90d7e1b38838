# Copyright 2026 predctl_ros contributors
# SPDX-License-Identifier: Apache-2.0
"""
Hold joints the policy does not drive, on a robot with no servo for them.

The task's policy drives joints 1-6; in training (and in sim_node) a stiff servo holds
joint 7. On another robot nothing does, so the controller holds it with a PD to the angle
it had when the goal was adopted, limited in torque.
"""

import numpy as np


class JointHold:
    """A torque-limited PD holding some joints at reference angles."""

    def __init__(self, joints, kp: float, kd: float, max_torque: float):
        """
        Set the joints and gains.

        :param joints: indices of the held joints in the state vector.
        :param kp: stiffness in Nm/rad (>= 0).
        :param kd: damping in Nm s/rad (>= 0).
        :param max_torque: |torque| limit in Nm (>= 0).
        :raises ValueError: on negative or non-finite gains.
        """
        gains = np.array([kp, kd, max_torque], dtype=float)
        if not np.all(np.isfinite(gains)) or np.any(gains < 0):
            raise ValueError(f'kp, kd and max_torque must be finite and >= 0, got '
                             f'{gains.tolist()}')
        self.joints = np.asarray(joints, dtype=int)
        self.kp, self.kd, self.max_torque = (float(v) for v in gains)
        self.reference = None

    def set_reference(self, q) -> None:
        """Hold the held joints at their angles in q from now on."""
        self.reference = np.asarray(q, dtype=float)[self.joints].copy()

    def torque(self, q, qd) -> np.ndarray:
        """
        Return the PD torques of the held joints.

        :param q: joint angles [n] in rad.
        :param qd: joint velocities [n] in rad/s.
        :return: Nm [len(joints)].
        :raises RuntimeError: before :meth:`set_reference`.
        """
        if self.reference is None:
            raise RuntimeError('JointHold has no reference angles yet')
        q = np.asarray(q, dtype=float)[self.joints]
        qd = np.asarray(qd, dtype=float)[self.joints]
        torque = self.kp * (self.reference - q) - self.kd * qd
        return np.clip(torque, -self.max_torque, self.max_torque)
