# Copyright 2026 predctl_ros contributors
# SPDX-License-Identifier: Apache-2.0
"""
From the policy's torques to the command a given robot needs.

A policy is trained on one robot (the task's simulator with its torque interface); the
robot it drives may differ in three ways this layer makes up for:

* gravity: a policy trained without gravity compensation (``direct``) outputs torques that
  carry the links' weight; a robot that compensates gravity itself (Franka's controller,
  franka_ros2's Gazebo hardware) would count it twice, so the model's g(q) is subtracted.
  The other way round (a ``franka_damped`` policy on a robot that does not compensate)
  g(q) is added; the interface's joint damping cannot be made up for this way;
* joints without a servo: joints the policy does not drive (joint 7) are held by a
  :class:`JointHold` when the robot has no servo for them;
* safety: a damped stop near the velocity limits (:class:`VelocityStop`), then the
  effort limits, then the torque-rate limit (:class:`TorqueRateLimiter`), last, so that
  nothing the robot gets changes faster than the limit.
"""

from typing import Optional, Sequence

import numpy as np

from predctl_ros.control.dynamics import RobotDynamics
from predctl_ros.control.joint_hold import JointHold
from predctl_ros.control.safety import damped_stop, TorqueRateLimiter, VelocityStop


def command_order(joint_names: Sequence[str], controller_joints: Sequence[str]) -> np.ndarray:
    """
    Return the index that puts torques in joint_names order into the controller's order.

    :param joint_names: the policy's joints.
    :param controller_joints: the controller's ``joints`` parameter.
    :return: index with ``command = torque[index]``.
    :raises ValueError: unless controller_joints names the same joints, once each.
    """
    joints, controller = list(joint_names), list(controller_joints)
    if sorted(joints) != sorted(controller) or len(set(controller)) != len(controller):
        raise ValueError(f'controller joints {controller} must name each of {joints} once')
    return np.array([joints.index(name) for name in controller])


class RobotAdapter:
    """Policy torques + joint state -> the torque command for the robot at hand."""

    def __init__(self, dynamics: RobotDynamics, period_s: float, *,
                 trained_with_compensation: bool, robot_compensates: bool,
                 hold: Optional[JointHold] = None, rate_nm_s: float = 0.0,
                 velocity_stop_share: float = 0.0):
        """
        Configure what the robot needs.

        :param dynamics: the robot's model (gravity, inertia, limits), policy joint order.
        :param period_s: control period in s.
        :param trained_with_compensation: the policy's torque interface compensates gravity.
        :param robot_compensates: the robot compensates gravity below the command.
        :param hold: holds the joints the policy does not drive; None = the robot does.
        :param rate_nm_s: torque-rate limit in Nm/s (0: none).
        :param velocity_stop_share: damped stop from this share of the velocity limits (0:
            never).
        :raises ValueError: on bad limits.
        """
        self.dynamics = dynamics
        self.period_s = period_s
        # -1: subtract g (direct policy on a compensating robot); +1: add it; 0: as trained.
        self.gravity_sign = int(trained_with_compensation) - int(robot_compensates)
        self.robot_compensates = robot_compensates
        self.hold = hold
        n = len(dynamics.joint_names)
        self.limiter = TorqueRateLimiter(rate_nm_s, period_s, n)
        self.stop = VelocityStop(dynamics.velocity_limits, velocity_stop_share)
        self._torque = np.zeros(n)

    def adopt_goal(self, q) -> None:
        """Hold the held joints where they are now (call when a goal is adopted)."""
        if self.hold is not None:
            self.hold.set_reference(q)

    def command(self, policy_torque, q, qd=None) -> np.ndarray:
        """
        Turn one step's policy torques into the robot's command.

        :param policy_torque: Nm [n], policy joint order, as the policy was trained.
        :param q: joint angles [n] in rad.
        :param qd: joint velocities [n] in rad/s; None (a policy that does not observe
            them) leaves the velocity stop off and the hold undamped.
        :return: Nm [n] (a buffer overwritten by the next call).
        """
        dyn = self.dynamics
        torque = self._torque
        # Torques of our own (hold, stop) carry gravity where the robot does not; g(q) is
        # computed only where a term needs it (not for a policy run as trained).
        if qd is not None and self.stop.update(qd, dyn.joint_names):
            torque[:] = damped_stop(dyn.inertia(q), qd, self.period_s, dyn.effort_limits)
            if not self.robot_compensates:
                torque += dyn.gravity(q)
        else:
            torque[:] = policy_torque
            g = None
            if self.gravity_sign or (self.hold is not None and not self.robot_compensates):
                g = dyn.gravity(q)
            if self.gravity_sign:
                torque += self.gravity_sign * g
            if self.hold is not None:
                held = self.hold.joints
                velocity = np.zeros(len(torque)) if qd is None else qd
                torque[held] = self.hold.torque(q, velocity)
                if not self.robot_compensates:
                    torque[held] += g[held]
        np.clip(torque, -dyn.effort_limits, dyn.effort_limits, out=torque)
        return self.limiter.limit(torque)

    def hold_still(self, q, qd=None) -> np.ndarray:
        """
        Return the command that keeps the arm where it is while there is no goal.

        The damped stop (what is left of the joint speeds decays each period) plus g(q)
        where the robot does not carry the links' weight itself: for effort controllers
        that keep applying their last command (ros2_control's JointGroupEffortController)
        until a new one comes.

        :param q: joint angles [n] in rad.
        :param qd: joint velocities [n] in rad/s; None: gravity only.
        :return: Nm [n], rate-limited (a buffer overwritten by the next call).
        """
        dyn = self.dynamics
        torque = self._torque
        torque[:] = 0.0 if qd is None else damped_stop(dyn.inertia(q), qd, self.period_s,
                                                       dyn.effort_limits)
        if not self.robot_compensates:
            torque += dyn.gravity(q)
        np.clip(torque, -dyn.effort_limits, dyn.effort_limits, out=torque)
        return self.limiter.limit(torque)

    def idle(self) -> np.ndarray:
        """Return the zero-torque command (stale states), rate-limited like any other."""
        self._torque[:] = 0.0
        return self.limiter.limit(self._torque)
