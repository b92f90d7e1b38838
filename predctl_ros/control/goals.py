# Copyright 2026 predctl_ros contributors
# SPDX-License-Identifier: Apache-2.0
"""
Goal sources and the per-goal report of the goal publisher, free of ROS.

:class:`GoalSource` yields goals as a person would click them: reachable random ones (the
TCP of a random configuration inside the soft limits, from the task's own sampler, kept
only when :class:`GoalChecker` accepts it) or a fixed list, cycled.  :class:`GoalReport`
follows each goal: how close the end effector came, how soon it was within tolerance.
"""

from dataclasses import asdict, dataclass, field
import itertools
import json
import math
from typing import Iterator, List, Optional

import numpy as np

from predctl_ros.atomic import atomic_path
from predctl_ros.control.workspace import GoalChecker


class GoalSource:
    """An endless, reproducible stream of goal points [3] in metres (base frame)."""

    def __init__(self, source: str = 'random', goals=(), seed: int = 0,
                 checker: Optional[GoalChecker] = None):
        """
        Choose where goals come from.

        :param source: 'random' (reachable TCP positions) or 'list'.
        :param goals: flat x, y, z triples for source 'list'.
        :param seed: seed of the random generator.
        :param checker: workspace check random goals must pass (default GoalChecker()).
        """
        if source not in ('random', 'list'):
            raise ValueError(f"source must be 'random' or 'list', got {source!r}")
        self.source = source
        self.checker = checker or GoalChecker()
        if source == 'list':
            values = np.asarray(list(goals), dtype=float)
            if values.size == 0 or values.size % 3:
                raise ValueError(f'goals needs a non-empty list of x, y, z triples, got '
                                 f'{values.size} numbers')
            self._iter: Iterator = itertools.cycle(values.reshape(-1, 3))
        else:
            from predctl_ros.envs.tasks import PandaReachTask
            self._task = PandaReachTask()
            self._rng = np.random.default_rng(seed)
            self._iter = self._random()

    def _random(self):
        task, rng = self._task, self._rng
        while True:
            goal = task.goal_of(task.sample_configuration(rng))
            try:
                yield self.checker.check(goal)
            except ValueError:
                continue   # e.g. a TCP beside the base column: not a goal a person would set

    def draw(self) -> np.ndarray:
        """
        Return the next goal.

        :return: xyz [3] in metres.
        """
        return np.array(next(self._iter), dtype=float)


@dataclass
class GoalResult:
    """How one goal went."""

    index: int
    """1-based goal number."""
    sent: List[float]
    """The point sent (z = 0 for /goal_pose)."""
    sent_at_s: float
    """Node-clock time it was sent."""
    target: Optional[List[float]] = None
    """The target the policy adopted (from /active_target), or None if it never did."""
    final_distance: Optional[float] = None
    """End-effector distance to the target at the end of the goal's period (m)."""
    min_distance: Optional[float] = None
    """Smallest distance seen (m)."""
    time_to_tolerance: Optional[float] = None
    """Seconds from sending to the first distance within tolerance, or None."""
    reached: bool = False
    """Whether the final distance is within tolerance."""
    samples: int = 0
    """End-effector poses seen while the target was active."""

    @property
    def adopted(self) -> bool:
        """Whether the policy adopted the goal."""
        return self.target is not None

    def line(self, count: int) -> str:
        """
        Format the result as one line of key=value pairs.

        :param count: goals planned (0 = unbounded).
        :return: e.g. 'goal_result index=1 of=2 sent=0.5000,0.0000,0.4000 ... reached=true'.
        """
        def num(value, fmt='.4f'):
            return 'none' if value is None else format(value, fmt)

        def point(values):
            return 'none' if values is None else ','.join(f'{v:.4f}' for v in values)

        return (f'goal_result index={self.index} of={count or "inf"} sent={point(self.sent)} '
                f'target={point(self.target)} adopted={str(self.adopted).lower()} '
                f'final_distance={num(self.final_distance)} '
                f'min_distance={num(self.min_distance)} '
                f'time_to_tolerance={num(self.time_to_tolerance, ".3f")} '
                f'reached={str(self.reached).lower()} samples={self.samples}')


@dataclass
class GoalReport:
    """Per-goal results and their summary; optionally kept in a JSON file."""

    tolerance: float
    """A goal counts as reached within this distance (m)."""
    count: int = 0
    """Goals planned (0 = unbounded)."""
    results: List[GoalResult] = field(default_factory=list)
    """Finished goals, in order."""
    current: Optional[GoalResult] = None
    """The goal in progress."""

    def start(self, sent, now_s: float) -> GoalResult:
        """
        Begin following a goal just sent.

        :param sent: the point sent.
        :param now_s: node-clock time.
        :return: its result record.
        """
        self.current = GoalResult(index=len(self.results) + 1,
                                  sent=[float(v) for v in sent], sent_at_s=now_s)
        return self.current

    def adopt(self, target) -> None:
        """
        Note the target the policy adopted for the current goal.

        :param target: xyz [3] from /active_target.
        """
        if self.current is not None:
            self.current.target = [float(v) for v in target]

    def observe(self, ee, now_s: float) -> None:
        """
        Add an end-effector position for the current goal.

        :param ee: xyz [3] in metres.
        :param now_s: node-clock time.
        """
        result = self.current
        if result is None or result.target is None:
            return
        distance = math.dist(ee, result.target)
        result.final_distance = distance
        result.samples += 1
        if result.min_distance is None or distance < result.min_distance:
            result.min_distance = distance
        if result.time_to_tolerance is None and distance <= self.tolerance:
            result.time_to_tolerance = max(now_s - result.sent_at_s, 0.0)

    def finish(self) -> Optional[GoalResult]:
        """
        Close the current goal.

        :return: its result, or None if no goal was in progress.
        """
        result, self.current = self.current, None
        if result is not None:
            result.reached = (result.final_distance is not None and
                              result.final_distance <= self.tolerance)
            self.results.append(result)
        return result

    def summary(self) -> dict:
        """
        Summarise the finished goals.

        :return: dict with goals, adopted, reached, median_final_distance (None if none).
        """
        finals = [r.final_distance for r in self.results if r.final_distance is not None]
        return {'goals': len(self.results),
                'adopted': sum(r.adopted for r in self.results),
                'reached': sum(r.reached for r in self.results),
                'median_final_distance': float(np.median(finals)) if finals else None}

    def summary_line(self) -> str:
        """
        Format the summary as one line of key=value pairs.

        :return: e.g. 'goal_summary reached=2 of=2 adopted=2 median_final_distance=0.0120'.
        """
        s = self.summary()
        median = s['median_final_distance']
        return (f"goal_summary reached={s['reached']} of={s['goals']} adopted={s['adopted']} "
                f"median_final_distance={'none' if median is None else format(median, '.4f')}")

    def write(self, path, **meta) -> None:
        """
        Write the results and summary as JSON, atomically.

        :param path: destination file.
        :param meta: further top-level entries (topic, source, ...).
        """
        data = dict(meta, tolerance=self.tolerance, count=self.count,
                    goals=[dict(asdict(r), adopted=r.adopted) for r in self.results],
                    summary=self.summary())
        with atomic_path(path) as tmp:
            tmp.write_text(json.dumps(data, indent=2))
