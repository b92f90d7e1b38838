# Copyright 2026 predctl_ros contributors
# SPDX-License-Identifier: Apache-2.0
"""
Gymnasium environments of the reaching tasks.

Version history: v0 (2026-11) first release.
"""

import warnings

import gymnasium
from gymnasium import spaces
import numpy as np

from predctl_ros.envs import tasks as tasks_module
from predctl_ros.envs import worlds as worlds_module


class ReachEnv(gymnasium.Env):
    """
    One world of a reaching task behind the gymnasium API.

    ``reset(seed=..., options={'start': qpos, 'goal': goal})`` starts an episode; without
    options the start and goal are drawn from ``self.np_random``
    (:meth:`ReachTask.sample_start_goal`). ``info`` holds ``goal``, ``ee`` (end-effector
    position in goal units), ``distance``, ``reward_distance`` (the only reward term:
    ``reward == info['reward_distance'] == -info['distance']``), ``step`` and
    ``diverged``.

    Episodes never terminate; they are truncated after ``spec.episode_steps`` control
    steps. Stepping a finished episode raises ``RuntimeError``. When the physics diverges
    (non-finite state or a MuJoCo bad-state warning) the step issues a
    :class:`SimulationDiverged` warning, resets the world to the episode's start,
    returns ``truncated=True`` with ``info['diverged'] = True``, and the episode is over.
    """

    metadata = {'render_modes': ['rgb_array'], 'render_fps': 50}

    def __init__(self, task, *, render_mode=None, width: int = 640, height: int = 480,
                 camera=None):
        """
        Wrap a task.

        :param task: a :class:`ReachTask` (see :func:`predctl_ros.envs.make_env`).
        :param render_mode: None or 'rgb_array'.
        :param width: rendered image width in pixels.
        :param height: rendered image height in pixels.
        :param camera: optional ``mujoco.MjvCamera`` for rendering (default: the task's view).
        """
        if render_mode not in (None, 'rgb_array'):
            raise ValueError(f'render_mode must be None or "rgb_array", got {render_mode!r}')
        self.task = task
        self.task_spec = task.spec
        self.model = task.model
        self._worlds = worlds_module.Worlds(task, 1)
        self.render_mode = render_mode
        self._render_size = (int(width), int(height))
        self._camera = camera
        self._renderer = None
        size = self.task_spec
        self.observation_space = spaces.Box(-np.inf, np.inf, (size.obs_size,), np.float64)
        self.action_space = spaces.Box(-1.0, 1.0, (size.action_size,), np.float32)
        self.dt = size.control_dt_s
        self.start = np.zeros(self.model.nq)
        self.goal = np.zeros(size.goal_size)
        self.steps = 0
        self._done = True
        self._started = False

    @property
    def data(self):
        """
        Return the world's MjData, current after every step.

        A state written into it is the next step's; look it up again after each step.

        :return: MjData.
        """
        return self._worlds.datas[0]

    def reset(self, *, seed=None, options=None):
        """
        Start an episode.

        :param seed: seed of ``self.np_random`` (gymnasium semantics).
        :param options: optional dict with 'start' (qpos [nq], rad) and/or 'goal'
            ([goal_size], goal units); missing entries are drawn at random.
        :return: (observation, info).
        """
        super().reset(seed=seed)
        options = dict(options or {})
        unknown = set(options) - {'start', 'goal'}
        if unknown:
            raise ValueError(f'unknown reset options {sorted(unknown)}; use "start", "goal"')
        start, goal = self.task.sample_start_goal(self.np_random)
        if options.get('start') is not None:
            start = self.task.check_start(options['start'])
        if options.get('goal') is not None:
            goal = self.task.check_goal(options['goal'])
        self.start, self.goal = start, goal
        self._worlds.reset_world(0, start, goal)
        self.steps = 0
        self._done = False
        self._started = True
        return self._observation(), self._info(diverged=False)

    def retarget(self, goal):
        """
        Start a new episode from where the arm is, toward a new goal.

        As a goal sent to the robot mid-motion (:meth:`BatchedReachEnv.retarget`): positions
        and velocities carry over, unlike ``reset``; the step count starts again.

        :param goal: the new goal [goal_size] in goal units.
        :return: (observation, info).
        :raises RuntimeError: before the first reset.
        """
        if not self._started:
            raise RuntimeError('call reset() before retarget()')
        self.goal = self.task.check_goal(goal)
        self._worlds.retarget_world(0, self.goal)
        self.start = self._worlds.starts[0].copy()
        self.steps = 0
        self._done = False
        return self._observation(), self._info(diverged=False)

    def step(self, action):
        """
        Apply an action for one control period.

        :param action: [action_size] in [-1, 1]; larger values are clipped.
        :return: (observation, reward, terminated, truncated, info).
        :raises ActionError: on a wrong shape or NaN/inf entries.
        :raises RuntimeError: when the episode is over (call reset).
        """
        if self._done:
            raise RuntimeError('the episode is over (or reset was never called): call reset()')
        action = self.task.check_actions(action)
        self._worlds.set_actions(action[None])
        self._worlds.step()
        ok = not self._worlds.check()[0]
        self.steps += 1
        if not ok:
            warnings.warn(
                f'{self.task_spec.task_id}: simulation diverged at step {self.steps} '
                f'(time {self.steps * self.dt:.2f} s); the world was reset to the episode '
                'start and the episode truncated', tasks_module.SimulationDiverged,
                stacklevel=2)
        truncated = (not ok) or self.steps >= self.task_spec.episode_steps
        self._done = truncated
        info = self._info(diverged=not ok)
        return self._observation(), info['reward_distance'], False, truncated, info

    def _observation(self):
        out = np.empty((1, self.task_spec.obs_size))
        return self._worlds.observe(out, (self.np_random,))[0]

    def _info(self, diverged):
        ee = self._worlds.ee()
        distance = float(self._worlds.distances(ee)[0])
        return {'goal': self.goal.copy(), 'ee': ee[0], 'distance': distance,
                'reward_distance': -distance, 'step': self.steps, 'diverged': diverged,
                'velocity_limited': bool(self._worlds.velocity_limited[0])}

    def render(self):
        """
        Render the current state.

        :return: RGB image [height, width, 3] (uint8), or None without a render mode.
        """
        if self.render_mode is None:
            return None
        from predctl_ros.envs import render as render_module
        if self._renderer is None:
            width, height = self._render_size
            self._renderer = render_module.make_renderer(self.model, width, height)
            if self._camera is None:
                self._camera = render_module.default_camera(self.task_spec.task_id)
        self._renderer.update_scene(self.data, camera=self._camera)
        return self._renderer.render()

    def close(self):
        """Release the renderer."""
        if self._renderer is not None:
            self._renderer.close()
            self._renderer = None
        self._worlds.close()


class PandaReachEnv(ReachEnv):
    """The panda_reach task as a gymnasium environment (see :class:`PandaReachTask`)."""

    def __init__(self, *, render_mode=None, width=640, height=480, camera=None, **kwargs):
        """
        Build the task and the environment.

        :param render_mode: None or 'rgb_array'.
        :param width: rendered image width.
        :param height: rendered image height.
        :param camera: optional ``mujoco.MjvCamera``.
        :param kwargs: options of :class:`PandaReachTask` (velocities, episode_steps, ...).
        """
        super().__init__(tasks_module.PandaReachTask(**kwargs), render_mode=render_mode,
                         width=width, height=height, camera=camera)


class Reach2DEnv(ReachEnv):
    """The reach2d task as a gymnasium environment (see :class:`Reach2DTask`)."""

    def __init__(self, *, render_mode=None, width=640, height=480, camera=None, **kwargs):
        """
        Build the task and the environment.

        :param render_mode: None or 'rgb_array'.
        :param width: rendered image width.
        :param height: rendered image height.
        :param camera: optional ``mujoco.MjvCamera``.
        :param kwargs: options of :class:`Reach2DTask` (obs_noise, episode_steps, ...).
        """
        super().__init__(tasks_module.Reach2DTask(**kwargs), render_mode=render_mode,
                         width=width, height=height, camera=camera)


ENV_CLASSES = {'panda_reach': PandaReachEnv, 'reach2d': Reach2DEnv}


def make_env(task_id: str, **kwargs) -> ReachEnv:
    """
    Build the gymnasium environment of a task.

    :param task_id: 'panda_reach' or 'reach2d'.
    :param kwargs: render_mode, width, height, camera and the task's options.
    :return: the environment.
    :raises ValueError: for an unknown task id.
    """
    try:
        cls = ENV_CLASSES[task_id]
    except KeyError:
        raise ValueError(f'unknown task {task_id!r}; choose one of {sorted(ENV_CLASSES)}') \
            from None
    return cls(**kwargs)
