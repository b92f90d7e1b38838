# Copyright 2026 predctl_ros contributors
# SPDX-License-Identifier: Apache-2.0
"""
The control loop of the ROS nodes, free of ROS: policy runner and goal checks.

* :class:`PolicyRunner`: a checkpoint validated against the Panda task and the control
  period; joint state -> observation -> SNN step -> joint torques, with diagnostics;
* :class:`GoalChecker`: refuse non-finite goals, unknown frames and points outside a
  geometric bound of the Panda's workspace, with the reason;
* :class:`GoalSource` and :class:`GoalReport`: the goal publisher's goals (random reachable
  or a list) and its per-goal report.
"""

from predctl_ros.control.goals import GoalReport, GoalResult, GoalSource
from predctl_ros.control.runner import (
    CheckpointMismatch, PANDA_TASK, PolicyRunner, StepStats)
from predctl_ros.control.workspace import (
    COLUMN_RADIUS_M, FLOOR_MARGIN_M, GoalChecker, GoalRejected, REACH_M, SHOULDER_M)

__all__ = [
    'CheckpointMismatch', 'COLUMN_RADIUS_M', 'FLOOR_MARGIN_M', 'GoalChecker', 'GoalRejected',
    'GoalReport', 'GoalResult', 'GoalSource', 'PANDA_TASK', 'PolicyRunner', 'REACH_M',
    'SHOULDER_M', 'StepStats',
]
