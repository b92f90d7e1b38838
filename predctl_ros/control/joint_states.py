# Copyright 2026 predctl_ros contributors
# SPDX-License-Identifier: Apache-2.0
"""
Joint states as a ros2_control system publishes them, reduced to the joints a policy needs.

ros2_control's joint_state_broadcaster publishes every joint of the hardware (a Panda's
two finger joints beside the arm's seven), and set-ups with several hardware components
or robots spread the joints over several publishers of one topic. A consumer takes the
joints it needs by name, ignores the rest, and keeps the latest value of each joint.

* :class:`JointStateMerger`: the latest position, velocity and stamp per needed joint; a
  message with none of them is ignored, a malformed one is refused whole (nothing of it
  is kept), with the reason;
* :class:`ControlPacer`: which states a policy trained at one control period answers
  when states come faster (a broadcaster at 1 kHz) or are re-sent (lockstep).
"""

from typing import List, Optional, Sequence

import numpy as np


class JointStateError(ValueError):
    """A joint state message is malformed; the message says how."""


class JointStateMerger:
    """Latest position, velocity and stamp of each needed joint, from any number of messages."""

    def __init__(self, joint_names: Sequence[str]):
        """
        Track the given joints.

        :param joint_names: the joints to keep, in the order arrays are returned.
        :raises ValueError: on duplicate or empty names.
        """
        names = list(joint_names)
        if not names or len(set(names)) != len(names) or not all(names):
            raise ValueError(f'joint_names must be distinct non-empty names, got {names}')
        self.joint_names = names
        self._slot = {name: i for i, name in enumerate(names)}
        n = len(names)
        self.position = np.full(n, np.nan)
        self.velocity = np.full(n, np.nan)
        self._stamp_ns = np.full(n, -1, dtype=np.int64)
        self._has_velocity = np.zeros(n, dtype=bool)
        self._key = None
        self._pairs = None

    def update(self, names: Sequence[str], position: Sequence[float],
               velocity: Sequence[float], stamp_ns: int) -> bool:
        """
        Take the needed joints of one message.

        :param names: the message's joint names (any order, any extra joints).
        :param position: one position per name (rad).
        :param velocity: one velocity per name (rad/s), or none at all.
        :param stamp_ns: the message's stamp in nanoseconds.
        :return: True when the message held needed joints (now updated); False when it
            held none of them (ignored).
        :raises JointStateError: on lengths that do not match the names, a name given
            twice, or NaN/inf among the needed joints' values; nothing is updated.
        """
        key = tuple(names)
        if key != self._key:
            if len(set(key)) != len(key):
                raise JointStateError(f'joint names {list(key)} name a joint twice')
            pairs = [(i, self._slot[name]) for i, name in enumerate(key) if name in self._slot]
            self._key = key
            self._pairs = (np.array([p[0] for p in pairs], dtype=int),
                           np.array([p[1] for p in pairs], dtype=int))
        n = len(key)
        if len(position) != n or len(velocity) not in (0, n):
            raise JointStateError(f'{len(position)} positions and {len(velocity)} velocities '
                                  f'for {n} joint names')
        source, slot = self._pairs
        if not len(source):
            return False
        q = np.asarray(position, dtype=float)[source]
        qd = np.asarray(velocity, dtype=float)[source] if len(velocity) else None
        if not np.all(np.isfinite(q)) or (qd is not None and not np.all(np.isfinite(qd))):
            joints = [key[i] for i in source]
            raise JointStateError(f'non-finite values for {joints}: position {q.tolist()}, '
                                  f'velocity {None if qd is None else qd.tolist()}')
        self.position[slot] = q
        if qd is not None:
            self.velocity[slot] = qd
        self._has_velocity[slot] = qd is not None
        self._stamp_ns[slot] = stamp_ns
        return True

    def missing(self) -> List[str]:
        """Return the needed joints no message has given yet."""
        return [name for name, stamp in zip(self.joint_names, self._stamp_ns) if stamp < 0]

    @property
    def complete(self) -> bool:
        """Every needed joint has a value."""
        return bool(np.all(self._stamp_ns >= 0))

    @property
    def has_velocities(self) -> bool:
        """Every needed joint's latest value came with a velocity."""
        return self.complete and bool(np.all(self._has_velocity))

    @property
    def stamp_ns(self) -> Optional[int]:
        """Stamp of the oldest needed joint (the state is as old as its oldest joint)."""
        return int(self._stamp_ns.min()) if self.complete else None

    def oldest_joint(self) -> str:
        """Return the name of the joint with the oldest value."""
        return self.joint_names[int(np.argmin(self._stamp_ns))]


class ControlPacer:
    """
    Answer one state per control period, on a fixed grid of state stamps.

    A policy's network integrates one control period of its dynamics per step, so it must
    step once per period whatever the state rate. States are due on a grid of the period
    (not "a period after the last answer"), so that a 1 kHz stream gives exactly one step
    per period on average; a state up to ``tolerance`` of a period early counts, for
    stamps that jitter. A stamp equal to the last answered one (a re-sent state) is not
    due; one before it (a restarted clock) starts a new grid.
    """

    def __init__(self, period_ns: int, tolerance: float = 0.25):
        """
        Set the period.

        :param period_ns: control period in nanoseconds (> 0).
        :param tolerance: share of a period a state may come early and still be due.
        :raises ValueError: on a period <= 0 or a tolerance outside [0, 0.5].
        """
        if period_ns <= 0 or not 0.0 <= tolerance <= 0.5:
            raise ValueError(f'need period_ns > 0 and tolerance in [0, 0.5], got {period_ns}, '
                             f'{tolerance}')
        self.period_ns = int(period_ns)
        self._early_ns = int(tolerance * period_ns)
        self._answered = None
        self._next = None

    def due(self, stamp_ns: int) -> bool:
        """Say whether a state with this stamp is to be answered."""
        if self._answered is None or stamp_ns < self._answered:
            return True
        return stamp_ns != self._answered and stamp_ns >= self._next - self._early_ns

    def answered(self, stamp_ns: int) -> None:
        """Record that the state with this stamp was answered."""
        if self._next is None or stamp_ns < self._answered \
                or stamp_ns >= self._next + self.period_ns:
            self._next = stamp_ns + self.period_ns   # first state, or a gap: a new grid
        else:
            self._next += self.period_ns
        self._answered = stamp_ns

    def reset(self) -> None:
        """Forget the grid: the next state is due."""
        self._answered = self._next = None
