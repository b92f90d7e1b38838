# Copyright 2026 predctl_ros contributors
# SPDX-License-Identifier: Apache-2.0
"""
Replay of whole episodes with bounded memory and window sampling.

Episodes may differ in length (recorded bags are cut at target changes and
time gaps); each holds observations [L + 1, n_obs], actions [L, n_act] and the
goal of every step [L, n_goal].  Training draws windows of warm-up + unroll
control steps uniformly over all windows that fit.  When the total number of
steps exceeds the capacity, the oldest episodes go first.
"""

from collections import deque
from pathlib import Path
from typing import NamedTuple, Optional
import zipfile

import numpy as np
from predctl_ros.atomic import atomic_path


class Episode(NamedTuple):
    """One episode: obs [L + 1, n_obs], action [L, n_act], goal [L, n_goal] (float32)."""

    obs: np.ndarray
    action: np.ndarray
    goal: np.ndarray

    @property
    def length(self) -> int:
        """Return the number of transitions."""
        return self.action.shape[0]


class Window(NamedTuple):
    """A batch of windows, time-major: obs [T + 1, B, n_obs], action/goal [T, B, ...]."""

    obs: np.ndarray
    action: np.ndarray
    goal: np.ndarray


class ReplayBuffer:
    """Bounded FIFO of episodes with uniform window sampling."""

    def __init__(self, n_obs: int, n_act: int, n_goal: int, capacity_steps: int = 2_000_000):
        """
        Create an empty buffer.

        :param n_obs: observation size.
        :param n_act: action size.
        :param n_goal: goal size.
        :param capacity_steps: most transitions kept in memory.
        """
        if min(n_obs, n_act, n_goal) < 1 or capacity_steps < 1:
            raise ValueError('replay sizes and capacity must be >= 1')
        self.sizes = (n_obs, n_act, n_goal)
        self.capacity_steps = capacity_steps
        self.episodes = deque()
        self.total_steps = 0

    def __len__(self) -> int:
        """Return the number of episodes held."""
        return len(self.episodes)

    def add(self, obs, action, goal) -> None:
        """
        Append one episode, evicting the oldest beyond capacity.

        :param obs: observations [L + 1, n_obs].
        :param action: actions [L, n_act].
        :param goal: goal per step [L, n_goal], or one goal [n_goal] for the whole episode.
        """
        obs = np.asarray(obs, dtype=np.float32)
        action = np.asarray(action, dtype=np.float32)
        goal = np.asarray(goal, dtype=np.float32)
        n_obs, n_act, n_goal = self.sizes
        if goal.ndim == 1:
            goal = np.broadcast_to(goal, (action.shape[0], goal.shape[0]))
        problems = []
        if action.ndim != 2 or action.shape[1] != n_act or action.shape[0] < 1:
            problems.append(f'action has shape {action.shape}, expected (L >= 1, {n_act})')
        elif obs.shape != (action.shape[0] + 1, n_obs):
            problems.append(f'obs has shape {obs.shape}, expected ({action.shape[0] + 1}, '
                            f'{n_obs})')
        elif goal.shape != (action.shape[0], n_goal):
            problems.append(f'goal has shape {goal.shape}, expected ({action.shape[0]}, '
                            f'{n_goal})')
        for name, arr in (('obs', obs), ('action', action), ('goal', goal)):
            if not np.isfinite(arr).all():
                problems.append(f'{name} holds non-finite values')
        if problems:
            raise ValueError('episode rejected: ' + '; '.join(problems))
        episode = Episode(obs.copy(), action.copy(), np.ascontiguousarray(goal))
        self.episodes.append(episode)
        self.total_steps += episode.length
        while self.total_steps > self.capacity_steps and len(self.episodes) > 1:
            self.total_steps -= self.episodes.popleft().length

    def add_batch(self, obs, action, goal) -> None:
        """
        Append N episodes of equal length collected side by side.

        :param obs: observations [L + 1, N, n_obs].
        :param action: actions [L, N, n_act].
        :param goal: goals [N, n_goal] or [L, N, n_goal].
        """
        goal = np.asarray(goal)
        for i in range(np.asarray(action).shape[1]):
            self.add(obs[:, i], action[:, i], goal[i] if goal.ndim == 2 else goal[:, i])

    def sample(self, batch: int, steps: int, rng: np.random.Generator) -> Window:
        """
        Draw windows of `steps` transitions uniformly over all that fit.

        :param batch: number of windows.
        :param steps: transitions per window (warm-up + unroll).
        :param rng: random generator.
        :return: Window, time-major.
        """
        lengths = np.array([e.length for e in self.episodes])
        starts = np.maximum(lengths - steps + 1, 0)
        if starts.sum() == 0:
            raise ValueError(f'no episode holds a window of {steps} steps '
                             f'(longest: {lengths.max(initial=0)})')
        flat = rng.integers(0, starts.sum(), size=batch)
        offsets = np.concatenate(([0], np.cumsum(starts)))
        which = np.searchsorted(offsets, flat, side='right') - 1
        t0 = flat - offsets[which]
        n_obs, n_act, n_goal = self.sizes
        obs = np.empty((steps + 1, batch, n_obs), np.float32)
        action = np.empty((steps, batch, n_act), np.float32)
        goal = np.empty((steps, batch, n_goal), np.float32)
        for b, (e, t) in enumerate(zip(which, t0)):
            ep = self.episodes[e]
            obs[:, b] = ep.obs[t:t + steps + 1]
            action[:, b] = ep.action[t:t + steps]
            goal[:, b] = ep.goal[t:t + steps]
        return Window(obs, action, goal)

    def save(self, path) -> Path:
        """
        Write all episodes to an .npz file atomically.

        :param path: destination file.
        :return: the path written.
        """
        path = Path(path)
        lengths = np.array([e.length for e in self.episodes], dtype=np.int64)
        n_obs, n_act, n_goal = self.sizes
        cat = (lambda arrays, width: np.concatenate(arrays) if arrays
               else np.zeros((0, width), np.float32))
        with atomic_path(path) as tmp, open(tmp, 'wb') as f:
            np.savez(f, lengths=lengths, sizes=np.array(self.sizes),
                     capacity_steps=np.array(self.capacity_steps),
                     obs=cat([e.obs for e in self.episodes], n_obs),
                     action=cat([e.action for e in self.episodes], n_act),
                     goal=cat([e.goal for e in self.episodes], n_goal))
        return path

    @classmethod
    def load(cls, path, capacity_steps: Optional[int] = None) -> 'ReplayBuffer':
        """
        Read a buffer written by save.

        :param path: .npz file.
        :param capacity_steps: override the stored capacity.
        :return: ReplayBuffer.
        """
        path = Path(path)
        try:
            with np.load(path, allow_pickle=False) as data:
                lengths, sizes = data['lengths'], tuple(int(s) for s in data['sizes'])
                capacity = int(capacity_steps or data['capacity_steps'])
                obs, action, goal = data['obs'], data['action'], data['goal']
        except (OSError, KeyError, ValueError, zipfile.BadZipFile) as exc:
            raise ValueError(f'{path}: not a readable replay file ({exc})') from exc
        buffer = cls(*sizes, capacity_steps=capacity)
        if lengths.sum() != action.shape[0] or lengths.sum() + len(lengths) != obs.shape[0]:
            raise ValueError(f'{path}: episode lengths do not match the stored arrays')
        o = a = 0
        for n in lengths:
            buffer.add(obs[o:o + n + 1], action[a:a + n], goal[a:a + n])
            o, a = o + n + 1, a + n
        return buffer
