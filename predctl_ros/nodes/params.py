# Copyright 2026 predctl_ros contributors
# SPDX-License-Identifier: Apache-2.0
"""
Declared, validated node parameters.

Every node lists its parameters as :class:`Param` records. :func:`declare` declares them
with a ParameterDescriptor, refuses bad start values (the node does not start, and says
why) and installs a set-parameters callback that refuses bad changes with the reason.
"""

import math
import time
from typing import Any, Callable, Dict, Iterable, NamedTuple, Optional

from predctl_ros.envs import torque_interfaces
from rcl_interfaces.msg import FloatingPointRange, ParameterDescriptor, SetParametersResult

# A check returns None when the value is fine, else the reason it is refused.
Check = Callable[[Any], Optional[str]]


class Param(NamedTuple):
    """One parameter: name, default, description, check, whether it may change at run time."""

    name: str
    default: Any
    description: str
    check: Optional[Check] = None
    read_only: bool = False
    low: Optional[float] = None
    high: Optional[float] = None


class ParameterError(ValueError):
    """A parameter value was refused; the message names the parameter and the reason."""


def in_range(low: float, high: float) -> Check:
    """Return a check that a number is finite and within [low, high]."""
    def check(value):
        if not isinstance(value, (int, float)) or not math.isfinite(value):
            return f'must be a finite number, got {value!r}'
        if not low <= value <= high:
            return f'must lie in [{low}, {high}], got {value}'
        return None
    return check


def is_bool(value) -> Optional[str]:
    """Check that a value is true or false."""
    return None if isinstance(value, bool) else f'must be true or false, got {value!r}'


def one_of(*choices: str) -> Check:
    """Return a check that a string is one of the choices."""
    def check(value):
        return None if value in choices else f'must be one of {list(choices)}, got {value!r}'
    return check


def numbers(length: Optional[int] = None, multiple_of: Optional[int] = None) -> Check:
    """Return a check for a list of finite numbers of a given length (or a multiple)."""
    def check(value):
        values = list(value)
        if length is not None and len(values) != length:
            return f'needs {length} numbers, got {len(values)}'
        if multiple_of and (not values or len(values) % multiple_of):
            return f'needs a non-empty multiple of {multiple_of} numbers, got {len(values)}'
        if not all(math.isfinite(v) for v in values):
            return f'holds non-finite numbers: {values}'
        return None
    return check


def names(length: Optional[int] = None) -> Check:
    """Return a check for a list of distinct non-empty names."""
    def check(value):
        values = list(value)
        if length is not None and len(values) != length:
            return f'needs {length} names, got {len(values)}'
        if any(not v for v in values) or len(set(values)) != len(values):
            return f'needs distinct non-empty names, got {values}'
        return None
    return check


# Parameters every node of the stack shares (config/panda_reach.yaml, section /**).
JOINT_NAMES = Param(
    'joint_names', ['panda_joint1', 'panda_joint2', 'panda_joint3', 'panda_joint4',
                    'panda_joint5', 'panda_joint6', 'panda_joint7'],
    'Joint names in /joint_states and command order (panda_joint1..7 of urdf/panda.urdf).',
    names(7), read_only=True)
BASE_FRAME = Param('base_frame', 'panda_link0', 'Frame of the robot base; poses are in it.',
                   lambda v: None if v else 'must not be empty', read_only=True)
CONTROL_RATE = Param('control_rate_hz', 50.0, 'Control rate in Hz (the SNN was trained at 50).',
                     in_range(1.0, 5000.0), read_only=True, low=1.0, high=5000.0)
MODE = Param('mode', 'realtime', 'realtime: paced by the wall clock; lockstep: one control '
             'period per command, deterministic.', one_of('realtime', 'lockstep'),
             read_only=True)
COMMON = (JOINT_NAMES, BASE_FRAME, CONTROL_RATE, MODE)
# The robot's side of a torque command; the simulator applies it and the policy node only
# runs checkpoints trained with it. The stack sets both from the checkpoint it launches.
TORQUE_INTERFACE = Param(
    'torque_interface', torque_interfaces.DEFAULT, 'What the robot adds to a torque command: '
    "direct (nothing, the method's) or franka_damped (gravity compensation and the joint "
    "damping of Franka's 1 kHz loop); policies must be trained with it.",
    one_of(*torque_interfaces.INTERFACES), read_only=True)


def _descriptor(param: Param) -> ParameterDescriptor:
    descriptor = ParameterDescriptor(description=param.description, read_only=param.read_only)
    if param.low is not None and isinstance(param.default, float):
        descriptor.floating_point_range = [FloatingPointRange(
            from_value=float(param.low), to_value=float(param.high), step=0.0)]
    return descriptor


def declare(node, params: Iterable[Param],
            on_change: Optional[Callable[[str, Any], Optional[str]]] = None) -> Dict[str, Any]:
    """
    Declare and validate parameters; refuse bad values now and on every later change.

    :param node: the rclpy node.
    :param params: the node's parameters.
    :param on_change: called as on_change(name, value) for an accepted run-time change of a
        writable parameter; returns None to accept or a reason to refuse (e.g. a checkpoint
        that does not load).
    :return: {name: value} of the start values.
    :raises ParameterError: a start value is refused (the message names it and why).
    """
    params = {p.name: p for p in params}
    values = {}
    for param in params.values():
        value = node.declare_parameter(param.name, param.default,
                                       _descriptor(param)).value
        reason = param.check(value) if param.check else None
        if reason:
            raise ParameterError(f'{node.get_name()}: parameter {param.name!r} {reason}')
        values[param.name] = value

    def validate(changes):
        for change in changes:
            param = params.get(change.name)
            if param is None:
                continue
            reason = param.check(change.value) if param.check else None
            if reason is None and on_change is not None and not param.read_only:
                reason = on_change(change.name, change.value)
            if reason:
                node.get_logger().warning(f'refused {change.name}={change.value!r}: {reason}')
                return SetParametersResult(successful=False,
                                           reason=f'{change.name} {reason}')
        return SetParametersResult(successful=True)

    node.add_on_set_parameters_callback(validate)
    return values


class RejectCounter:
    """Count rejected inputs per kind and log them, throttled, without stopping the node."""

    def __init__(self, node, throttle_s: float = 2.0):
        """
        Bind to a node's logger.

        :param node: the rclpy node.
        :param throttle_s: at most one log line per kind per this many seconds.
        """
        self._logger = node.get_logger()
        self._throttle_s = throttle_s
        self.counts: Dict[str, int] = {}
        self._logged: Dict[str, float] = {}

    def reject(self, kind: str, reason: str) -> None:
        """Count one rejected input of this kind and log why (throttled)."""
        self.counts[kind] = self.counts.get(kind, 0) + 1
        # Throttled here, per kind: rclpy's throttle_duration_sec is per call site, so one
        # kind of reject would silence the others.
        now = time.monotonic()
        if now - self._logged.get(kind, -math.inf) >= self._throttle_s:
            self._logged[kind] = now
            self._logger.warning(f'rejected {kind} ({self.counts[kind]} so far): {reason}')
