# Copyright 2026 predctl_ros contributors
# SPDX-License-Identifier: Apache-2.0
"""
Step N worlds of a reaching task at once, on several threads.

Each world is its own ``MjData`` of one shared model; a control step runs the same code
as the single environment (:class:`predctl_ros.envs.ReachEnv`, see
:mod:`predctl_ros.envs.worlds`), so world i after ``reset(seed=s)`` reproduces
``make_env(...).reset(seed=s + i)`` bit for bit. The physics of all worlds advance in
one ``mujoco.batch`` call on a C++ thread pool (Python threads over the worlds where
mujoco lacks it).
"""

from concurrent.futures import ThreadPoolExecutor
import os
import warnings

from gymnasium.utils import seeding
import numpy as np

from predctl_ros.envs import tasks as tasks_module
from predctl_ros.envs import worlds as worlds_module


class BatchedReachEnv:
    """
    N independent worlds of a reaching task, stepped together.

    ``reset`` returns ``(obs [N, obs_size], goal [N, goal_size])`` and ``step`` returns
    ``(obs [N, obs_size], info)`` with ``info`` = {``'distance'`` [N] (goal units),
    ``'ee'`` [N, goal_size], ``'diverged'`` [N] bool, ``'velocity_limited'`` [N] bool (a
    joint speed was clamped at its limit in this step), ``'step'`` int, ``'done'`` bool}.
    Arrays are fresh float64 copies. Episodes last ``spec.episode_steps`` steps; stepping
    further raises ``RuntimeError``. A world whose physics diverges is reset to its start
    state (its episode restarts from there) and flagged in ``info['diverged']``, with a
    :class:`SimulationDiverged` warning: drop that episode.
    """

    def __init__(self, task, num_envs: int, *, num_threads=None):
        """
        Create the worlds and the thread pool.

        :param task: a :class:`ReachTask`.
        :param num_envs: number of worlds N.
        :param num_threads: worker threads (default: the CPU count, at most N).
        """
        if int(num_envs) != num_envs or num_envs < 1:
            raise ValueError(f'num_envs must be a positive integer, got {num_envs!r}')
        self.task = task
        self.task_spec = task.spec
        self.model = task.model
        self.num_envs = int(num_envs)
        if num_threads is None:
            num_threads = os.cpu_count() or 1
        if int(num_threads) != num_threads or num_threads < 1:
            raise ValueError(f'num_threads must be a positive integer, got {num_threads!r}')
        self.num_threads = min(int(num_threads), self.num_envs)
        self.worlds = worlds_module.Worlds(task, self.num_envs, self.num_threads)
        self.datas = self.worlds.datas
        bounds = np.linspace(0, self.num_envs, self.num_threads + 1).round().astype(int)
        self._chunks = [range(lo, hi) for lo, hi in zip(bounds[:-1], bounds[1:])]
        self._pool = None
        if not worlds_module.HAS_BATCH and self.num_threads > 1:
            self._pool = ThreadPoolExecutor(self.num_threads, thread_name_prefix='predctl-env')
        self._rngs = self._make_rngs(None)
        self._obs = np.zeros((self.num_envs, self.task_spec.obs_size))
        self.steps = 0
        self._started = False

    @property
    def starts(self) -> np.ndarray:
        """
        Return the start configurations of the current episodes.

        :return: view [N, nq] (do not modify).
        """
        return self.worlds.starts

    @property
    def goals(self) -> np.ndarray:
        """
        Return the goals of the current episodes.

        :return: view [N, goal_size] (do not modify).
        """
        return self.worlds.goals

    def _make_rngs(self, seed):
        if seed is None:
            seed = int(np.random.SeedSequence().generate_state(1)[0])
        return [seeding.np_random(int(seed) + i)[0] for i in range(self.num_envs)]

    def reset(self, seed=None, starts=None, goals=None):
        """
        Start an episode in every world.

        Each world draws its start and goal from its own generator (seeded ``seed + i``),
        as the single environment does; given ``starts``/``goals`` replace the draws.

        :param seed: base seed; None keeps the generators (fresh ones on the first call).
        :param starts: optional start configurations [N, nq] in rad.
        :param goals: optional goals [N, goal_size] in goal units.
        :return: (obs [N, obs_size], goal [N, goal_size]).
        """
        n = self.num_envs
        for name, value, width in (('starts', starts, self.model.nq),
                                   ('goals', goals, self.task_spec.goal_size)):
            if value is not None and np.shape(value) != (n, width):
                raise ValueError(f'{name} must have shape ({n}, {width}), got '
                                 f'{np.shape(value)}')
        if seed is not None:
            self._rngs = self._make_rngs(seed)
        task = self.task
        for i in range(n):
            start, goal = task.sample_start_goal(self._rngs[i])
            if starts is not None:
                start = task.check_start(starts[i])
            if goals is not None:
                goal = task.check_goal(goals[i])
            self.worlds.reset_world(i, start, goal)
        self.steps = 0
        self._started = True
        return self.worlds.observe(self._obs, self._rngs).copy(), self.goals.copy()

    def retarget(self, goals):
        """
        Start a new episode in every world from where it is, toward new goals.

        As a goal sent to the robot mid-motion: positions and velocities carry over (unlike
        ``reset``, which puts the worlds at rest); only the goals and the step count change.

        :param goals: new goals [N, goal_size] in goal units.
        :return: (obs [N, obs_size], goal [N, goal_size]).
        :raises RuntimeError: before the first reset.
        """
        if not self._started:
            raise RuntimeError('call reset() before retarget()')
        n = self.num_envs
        if np.shape(goals) != (n, self.task_spec.goal_size):
            raise ValueError(f'goals must have shape ({n}, {self.task_spec.goal_size}), got '
                             f'{np.shape(goals)}')
        for i in range(n):
            self.worlds.retarget_world(i, self.task.check_goal(goals[i]))
        self.steps = 0
        return self.worlds.observe(self._obs, self._rngs).copy(), self.goals.copy()

    def step(self, actions):
        """
        Apply one action per world for one control period.

        :param actions: [N, action_size] in [-1, 1]; larger values are clipped.
        :return: (obs [N, obs_size], info dict, see the class docstring).
        :raises ActionError: on a wrong shape or NaN/inf entries.
        :raises RuntimeError: before reset or after the last step of the episode.
        """
        if not self._started:
            raise RuntimeError('call reset() before step()')
        if self.steps >= self.task_spec.episode_steps:
            raise RuntimeError(f'the episode is over after {self.steps} steps: call reset()')
        worlds = self.worlds
        worlds.set_actions(self.task.check_actions(actions, batch=self.num_envs))
        if self._pool is None:
            worlds.step()
        else:
            for future in [self._pool.submit(worlds.advance, c) for c in self._chunks]:
                future.result()
        self.steps += 1
        diverged = worlds.check()
        if diverged.any():
            warnings.warn(f'{self.task_spec.task_id}: simulation diverged in worlds '
                          f'{np.flatnonzero(diverged).tolist()} at step {self.steps}; they '
                          'were reset to their start states', tasks_module.SimulationDiverged,
                          stacklevel=2)
        ee = worlds.ee()
        info = {'distance': worlds.distances(ee), 'ee': ee, 'diverged': diverged,
                'velocity_limited': worlds.velocity_limited.copy(),
                'step': self.steps, 'done': self.steps >= self.task_spec.episode_steps}
        return worlds.observe(self._obs, self._rngs).copy(), info

    def close(self):
        """Stop the worker threads."""
        self.worlds.close()
        if self._pool is not None:
            self._pool.shutdown()
            self._pool = None

    def __enter__(self):
        """
        Use the environment as a context manager.

        :return: self.
        """
        return self

    def __exit__(self, *exc):
        """
        Close on leaving the context.

        :param exc: exception info (ignored).
        """
        self.close()
