# Copyright 2026 predctl_ros contributors
# SPDX-License-Identifier: Apache-2.0
"""
What a torque command means on the Panda: the layer between a policy's torques and the joints.

A policy runs at 50 Hz; the robot's own torque loop runs at 1 kHz. What that loop adds to
the command decides how hard the arm is to learn:

``direct``
    The command is the joint torque, nothing more: the links' weight is the policy's
    to carry, and only the URDF's small joint damping slows the arm. The method's setting
    (the authors' arm in Isaac Lab). A learned forward model's errors persist in this arm
    instead of decaying, and with the policy's first, random torques the joints spend most
    of their time at their stops (docs/results.md, session 8).
``franka_damped``
    What a Franka user's torque controller gets:

    * gravity compensated by the robot: libfranka's ``franka::Torques`` are "desired
      joint-level torques without gravity and friction"; the robot adds the gravity
      torques itself (and franka_ros2's Gazebo hardware adds them for the same reason);
    * joint damping in the 1 kHz loop, the damping gains of libfranka's joint impedance
      example (``examples/joint_impedance_control.cpp``, ``d_gains``):
      50, 50, 50, 50, 30, 25, 15 Nm s/rad on joints 1-7, added to the robot's own.

    Damping has to live in the 1 kHz loop: computed once per 20 ms control period from a
    measured speed it is unstable on the wrist (d dt / I >> 2 for its small inertia).
    Simulated as MuJoCo joint damping, integrated implicitly. At full torque the damped
    joints settle at 87/51 = 1.7 rad/s (joints 1-4), below their velocity limits, and a
    zero command holds the arm where it is.

The interface is a task option (``torque_interface``) saved with every checkpoint; the ROS
stack runs the simulated robot with the interface of the checkpoint it loads.
"""

import dataclasses
from typing import Tuple

DEFAULT = 'direct'


@dataclasses.dataclass(frozen=True)
class TorqueInterface:
    """How the robot's 1 kHz loop turns a torque command into joint torques."""

    name: str
    """Name used in task options, checkpoints and node parameters."""
    gravity_compensation: bool
    """The robot adds the torques that cancel the links' weight."""
    added_damping: Tuple[float, ...]
    """Joint damping in Nm s/rad the loop adds to the robot's own, joints 1-7."""


INTERFACES = {
    'direct': TorqueInterface('direct', False, (0.0,) * 7),
    'franka_damped': TorqueInterface('franka_damped', True,
                                     (50.0, 50.0, 50.0, 50.0, 30.0, 25.0, 15.0)),
}


def torque_interface(name: str) -> TorqueInterface:
    """
    Look an interface up by name.

    :param name: one of :data:`INTERFACES`.
    :return: the interface.
    :raises ValueError: naming the unknown value and the choices.
    """
    try:
        return INTERFACES[name]
    except (KeyError, TypeError):
        raise ValueError(f'torque_interface {name!r} is unknown; choose one of '
                         f'{sorted(INTERFACES)}') from None


def model_options(name: str) -> dict:
    """
    Return the options of :func:`predctl_ros.envs.models.build_spec` for an interface.

    :param name: interface name.
    :return: {'gravity_compensation': ..., 'added_damping': ...}.
    """
    interface = torque_interface(name)
    return {'gravity_compensation': interface.gravity_compensation,
            'added_damping': interface.added_damping}
