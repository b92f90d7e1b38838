# Copyright 2026 predctl_ros contributors
# SPDX-License-Identifier: Apache-2.0
"""
Goal checks for the Panda: finite, in a known frame, inside a geometric workspace bound.

The bound comes from the Panda kinematics (``models.PANDA_DH``, panda-facts.md), not from
sampling, so it says plainly why a goal is refused:

* reach: no point farther from the shoulder (joint 2 axis, 0.333 m above the base) than
  the sum of the straight segments shoulder-elbow, elbow-wrist and wrist-TCP (0.947 m);
* floor: the TCP must stay ``PandaReachTask.min_tcp_height_m`` (5 cm) above the floor,
  the margin the task's goals are drawn with;
* base column: below the shoulder, no point within 0.12 m of the base axis (the base
  link is a 0.08 m cylinder 2 cm behind the axis; 2 cm more for the hand).
"""

import math
from typing import Iterable, Optional

import numpy as np

from predctl_ros.envs.models import PANDA_DH, PANDA_FLANGE_D, PANDA_TCP_D
from predctl_ros.envs.tasks import PandaReachTask


def _panda_reach_m() -> float:
    # Shoulder (joint 2) -> elbow (joint 4) -> wrist (joints 5-6) -> TCP, each a straight
    # segment whose length the joints in between cannot change.
    upper_arm = math.hypot(PANDA_DH[2][1], PANDA_DH[3][0])
    forearm = math.hypot(PANDA_DH[4][1], PANDA_DH[4][0])
    hand = math.hypot(PANDA_DH[6][0], PANDA_FLANGE_D + PANDA_TCP_D)
    return upper_arm + forearm + hand


SHOULDER_M = (0.0, 0.0, PANDA_DH[0][1])
REACH_M = _panda_reach_m()
FLOOR_MARGIN_M = PandaReachTask.min_tcp_height_m
COLUMN_RADIUS_M = 0.12


class GoalRejected(ValueError):
    """A goal was refused; the message says why."""


class GoalChecker:
    """Refuse goals that are non-finite, in an unknown frame or outside the Panda's reach."""

    def __init__(self, accepted_frames: Iterable[str] = ('panda_link0', 'world'), *,
                 reach_m: float = REACH_M, floor_margin_m: float = FLOOR_MARGIN_M,
                 column_radius_m: float = COLUMN_RADIUS_M):
        """
        Set the frames and bounds.

        :param accepted_frames: frames a goal may be given in; all must coincide with the
            robot base (the simulated Panda stands at the world origin).
        :param reach_m: largest distance from the shoulder.
        :param floor_margin_m: lowest goal height above the floor.
        :param column_radius_m: radius around the base axis refused below the shoulder.
        """
        self.accepted_frames = tuple(accepted_frames)
        self.reach_m = float(reach_m)
        self.floor_margin_m = float(floor_margin_m)
        self.column_radius_m = float(column_radius_m)

    def check(self, point, frame: Optional[str] = None) -> np.ndarray:
        """
        Validate a goal point.

        :param point: xyz in metres.
        :param frame: the frame it is given in; None skips the frame check.
        :return: the goal as a float array [3] in the base frame.
        :raises GoalRejected: with the reason.
        """
        if frame is not None and frame not in self.accepted_frames:
            raise GoalRejected(f'frame {frame!r} is not one of the accepted frames '
                               f'{list(self.accepted_frames)}')
        try:
            goal = np.array(point, dtype=float).reshape(-1)
        except (TypeError, ValueError):
            raise GoalRejected(f'goal {point!r} is not a point') from None
        if goal.shape != (3,):
            raise GoalRejected(f'goal needs 3 coordinates, got {goal.size}')
        if not np.all(np.isfinite(goal)):
            raise GoalRejected(f'goal holds non-finite coordinates {goal.tolist()}')
        text = '(' + ', '.join(f'{v:.3f}' for v in goal) + ')'
        distance = float(np.linalg.norm(goal - SHOULDER_M))
        if distance > self.reach_m:
            raise GoalRejected(f'goal {text} is {distance:.3f} m from the shoulder '
                               f'{SHOULDER_M}; the arm reaches at most {self.reach_m:.3f} m')
        if goal[2] < self.floor_margin_m:
            raise GoalRejected(f'goal {text} is below the floor margin '
                               f'(z >= {self.floor_margin_m:.3f} m)')
        radius = float(np.hypot(goal[0], goal[1]))
        if radius < self.column_radius_m and goal[2] < SHOULDER_M[2]:
            raise GoalRejected(f'goal {text} is inside the base column (within '
                               f'{self.column_radius_m:.3f} m of the base axis below the '
                               f'shoulder at z = {SHOULDER_M[2]:.3f} m)')
        return goal
