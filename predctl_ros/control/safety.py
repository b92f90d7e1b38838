# Copyright 2026 predctl_ros contributors
# SPDX-License-Identifier: Apache-2.0
"""
What a real Panda demands of a torque command: a bounded rate of change, and no overspeed.

* :class:`TorqueRateLimiter`: each command differs from the last by at most the robot's
  torque-rate limit times the control period (libfranka's ``limitRate`` does the same at
  1 kHz with the Panda's 1000 Nm/s);
* :class:`VelocityStop`: when a joint's speed comes near its limit, a damped stop instead
  of the policy, until every joint is slow again. The robot itself aborts motion with a
  reflex beyond the limits; stopping first keeps it from getting there.
"""

from typing import Optional

import numpy as np

# Share of the joint speeds the damped stop removes per control period: scaled by the
# inertia, so that the heavy shoulder and the light wrist slow alike, and below 1 so that
# a stop computed once per period cannot overshoot into reverse (which a fixed damping
# gain does on the wrist at 50 Hz).
STOP_SHARE_PER_PERIOD = 0.5
# The policy resumes when every joint is below this share of the trip threshold.
RESUME_SHARE = 0.5


class TorqueRateLimiter:
    """Limit the change between consecutive commands to ``rate x period``."""

    def __init__(self, rate_nm_s: float, period_s: float, n_joints: int):
        """
        Set the limit.

        :param rate_nm_s: largest rate of change in Nm/s (0: no limit).
        :param period_s: time between commands in s.
        :param n_joints: command length.
        :raises ValueError: on a negative or non-finite rate or a period <= 0.
        """
        if not (np.isfinite(rate_nm_s) and rate_nm_s >= 0 and period_s > 0):
            raise ValueError(f'need a finite rate >= 0 Nm/s and a period > 0 s, got '
                             f'{rate_nm_s}, {period_s}')
        self.max_step = rate_nm_s * period_s
        self._last = np.zeros(n_joints)
        self.limited = 0
        """Commands changed by the limit so far."""

    def limit(self, command) -> np.ndarray:
        """
        Return the command moved at most ``max_step`` from the last one returned.

        :param command: Nm [n_joints].
        :return: the limited command (a buffer overwritten by the next call).
        """
        command = np.asarray(command, dtype=float)
        if self.max_step <= 0:
            self._last[:] = command
            return self._last
        step = command - self._last
        if np.any(np.abs(step) > self.max_step):
            self.limited += 1
            np.clip(step, -self.max_step, self.max_step, out=step)
        self._last += step
        return self._last

    def reset(self, last=0.0) -> None:
        """Start again from a given command (the robot's, when known; else zero)."""
        self._last[:] = last


class VelocityStop:
    """Trip a damped stop when a joint nears its speed limit; resume when all are slow."""

    def __init__(self, velocity_limits, trip_share: float):
        """
        Set the thresholds.

        :param velocity_limits: rad/s per joint (> 0).
        :param trip_share: a stop trips when some |qd_i| >= trip_share x limit_i; 0 = never.
        :raises ValueError: on limits <= 0 or a share outside [0, 1].
        """
        self.limits = np.asarray(velocity_limits, dtype=float)
        if not np.all(self.limits > 0) or not 0.0 <= trip_share <= 1.0:
            raise ValueError(f'need velocity limits > 0 and trip_share in [0, 1], got '
                             f'{self.limits.tolist()}, {trip_share}')
        self.trip_share = trip_share
        self.stopping = False
        self.trips = 0
        """Stops started so far."""
        self.stop_commands = 0
        """Commands that were a damped stop."""
        self.last_trip: Optional[str] = None
        """Why the last stop tripped."""

    def update(self, qd, joint_names) -> bool:
        """
        Decide from the joint speeds whether this period's command is a stop.

        :param qd: joint velocities [n] in rad/s.
        :param joint_names: names for the report.
        :return: True when the command must be a damped stop.
        """
        if self.trip_share <= 0:
            return False
        share = np.abs(np.asarray(qd, dtype=float)) / self.limits
        if share.max() >= self.trip_share:
            if not self.stopping:
                self.trips += 1
                i = int(np.argmax(share))
                self.last_trip = (f'{joint_names[i]} at {qd[i]:+.3f} rad/s, '
                                  f'{share[i]:.0%} of its limit {self.limits[i]:g} rad/s')
            self.stopping = True
        elif self.stopping and share.max() < RESUME_SHARE * self.trip_share:
            self.stopping = False
        self.stop_commands += self.stopping
        return self.stopping


def damped_stop(inertia: np.ndarray, qd, period_s: float, effort_limits) -> np.ndarray:
    """
    Return the torque that removes a share of the joint speeds in one control period.

    :param inertia: M(q) [n, n] in kg m^2.
    :param qd: joint velocities [n] in rad/s.
    :param period_s: control period in s.
    :param effort_limits: Nm [n]; the torque is clipped to them.
    :return: Nm [n] (before any gravity torque the robot needs from the command).
    """
    torque = -(STOP_SHARE_PER_PERIOD / period_s) * (inertia @ np.asarray(qd, dtype=float))
    return np.clip(torque, -effort_limits, effort_limits)
