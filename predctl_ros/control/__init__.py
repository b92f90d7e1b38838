# Copyright 2026 predctl_ros contributors
# SPDX-License-Identifier: Apache-2.0
"""
The control loop of the ROS nodes, free of ROS: policy runner and goal checks.

* :class:`PolicyRunner`: a checkpoint validated against the Panda task and the control
  period; joint state -> observation -> SNN step -> joint torques, with diagnostics;
* :class:`GoalChecker`: refuse non-finite goals, unknown frames and points outside a
  geometric bound of the Panda's workspace, with the reason;
* :class:`JointStateMerger`, :class:`ControlPacer`: joint states of a ros2_control robot
  (extra joints, several publishers, faster than the control rate) to one state per period;
* :class:`RobotAdapter`: the policy's torques to the command a robot needs (gravity
  compensation the policy was not trained with, a hold for joint 7, a damped stop near the
  velocity limits, the torque-rate limit), with :class:`RobotDynamics` from the URDF;
* :class:`GoalSource` and :class:`GoalReport`: the goal publisher's goals (random reachable
  or a list) and its per-goal report.
"""

from predctl_ros.lazy_exports import lazy_exports

# Where each public name lives, imported on first use (PEP 562): the goal publisher
# needs the goal checks and reports, not the policy runner's torch, numba and network.
_EXPORTS = {
    'GoalReport': 'goals', 'GoalResult': 'goals', 'GoalSource': 'goals',
    'CheckpointMismatch': 'runner', 'PANDA_TASK': 'runner', 'PolicyRunner': 'runner',
    'SHIPPED_CHECKPOINT': 'runner', 'StepStats': 'runner',
    'checkpoint_torque_interface': 'runner', 'resolve_checkpoint': 'runner',
    'COLUMN_RADIUS_M': 'workspace', 'FLOOR_MARGIN_M': 'workspace',
    'GoalChecker': 'workspace', 'GoalRejected': 'workspace', 'REACH_M': 'workspace',
    'SHOULDER_M': 'workspace',
    'ControlPacer': 'joint_states', 'JointStateError': 'joint_states',
    'JointStateMerger': 'joint_states', 'RobotDynamics': 'dynamics', 'JointHold': 'joint_hold',
    'TorqueRateLimiter': 'safety', 'VelocityStop': 'safety', 'damped_stop': 'safety',
    'RobotAdapter': 'robot_adapter', 'command_order': 'robot_adapter',
}


__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS, globals())


__all__ = [
    'CheckpointMismatch', 'COLUMN_RADIUS_M', 'FLOOR_MARGIN_M', 'GoalChecker', 'GoalRejected',
    'GoalReport', 'GoalResult', 'GoalSource', 'PANDA_TASK', 'PolicyRunner', 'REACH_M',
    'SHOULDER_M', 'StepStats', 'ControlPacer', 'JointStateError', 'JointStateMerger',
    'RobotDynamics', 'JointHold', 'TorqueRateLimiter', 'VelocityStop', 'damped_stop',
    'RobotAdapter', 'command_order',
]
