# Copyright 2026 predctl_ros contributors
# SPDX-License-Identifier: Apache-2.0
"""
Run a reaching episode under a controller and render it offscreen.

An episode starts at rest in a start configuration and runs toward one goal, or toward
several one after another, each for the same number of control steps and from wherever
the arm is, as the robot receives goals. One run gives the video frames, the still
pictures and the trace of what happened, so that they all show the same motion.
The pictures come from :mod:`predctl_ros.envs.render`;
:mod:`predctl_ros.envs.image_files` writes them to files.
"""

from typing import List, NamedTuple, Optional

import numpy as np

from predctl_ros.envs import metrics as metrics_module
from predctl_ros.envs import reference as reference_module
from predctl_ros.envs import tasks as tasks_module
from predctl_ros.envs.reach_env import make_env

CONTROLLERS = ('reference', 'zero', 'policy')


class EpisodeDiverged(RuntimeError):
    """The physics diverged during a rendered episode."""


class EpisodeTrace(NamedTuple):
    """
    What happened in a rendered episode, one row per control step (T in all).

    ``start`` qpos [nq] (rad); ``goals`` [G, goal_size] in the order they were sent;
    ``goal_index`` [T]: the goal each step ran toward; ``actions`` [T, action_size] as
    executed (clipped to [-1, 1]); ``ee`` [T, goal_size] and ``distance`` [T] to the step's
    goal, after each step (goal units); ``metrics``: :func:`episode_metrics` of each goal.
    """

    start: np.ndarray
    goals: np.ndarray
    goal_index: np.ndarray
    actions: np.ndarray
    ee: np.ndarray
    distance: np.ndarray
    metrics: List[dict]


class RenderedEpisode(NamedTuple):
    """
    Frames and trace of a rendered episode.

    ``video``: frames uint8 [height, width, 3] (empty without a video); ``stills``: one
    frame per requested still, in the order asked; ``trace``: :class:`EpisodeTrace`.
    """

    video: list
    stills: list
    trace: EpisodeTrace


def render_episode(task_id: str, *, controller: str = 'reference', episode: int = 0,
                   start=None, goals=None, steps: Optional[int] = None, width: int = 640,
                   height: int = 480, every: Optional[int] = None, stills=(),
                   policy=None, task_options: Optional[dict] = None) -> RenderedEpisode:
    """
    Run an episode and render it.

    :param task_id: 'panda_reach' or 'reach2d'.
    :param controller: 'reference' (the task's reference controller), 'zero' (no torque),
        or 'policy' (the ``policy`` callable).
    :param episode: index into the task's fixed test set: its start, and its goal when no
        ``goals`` are given.
    :param start: start configuration qpos [nq] (rad) instead of the test pair's.
    :param goals: goals [G, goal_size] to reach one after another instead of the test
        pair's goal.
    :param steps: control steps per goal (default: the task's episode length).
    :param width: image width in pixels.
    :param height: image height in pixels.
    :param every: video: keep one frame every this many control steps (the first and
        last states are always kept); None renders no video.
    :param stills: control steps to render as single pictures (0 = the start state,
        negative: from the end, -1 = the last).
    :param policy: callable (obs [obs_size], goal [goal_size]) -> action, for 'policy';
        its ``reset()``, if it has one, is called at every goal, as the policy node
        resets the network on a new target.
    :param task_options: options the task is built with (e.g. a checkpoint's).
    :return: RenderedEpisode.
    :raises ValueError: on bad arguments, before anything runs.
    :raises EpisodeDiverged: when the physics diverges.
    """
    pairs = tasks_module.test_set(task_id)
    if not 0 <= episode < len(pairs):
        raise ValueError(f'episode must be in [0, {len(pairs)}) for {task_id}, got {episode}')
    if controller not in CONTROLLERS:
        raise ValueError(f'controller must be reference, zero or policy, got {controller!r}')
    if controller == 'policy' and policy is None:
        raise ValueError('controller "policy" needs a policy callable')
    if every is not None and every < 1:
        raise ValueError(f'every must be >= 1, got {every}')
    env = make_env(task_id, render_mode='rgb_array', width=width, height=height,
                   **(task_options or {}))
    try:
        task, spec = env.task, env.task_spec
        per_goal = spec.episode_steps if steps is None else int(steps)
        if not 1 <= per_goal <= spec.episode_steps:
            raise ValueError(f'steps must be in [1, {spec.episode_steps}], got {steps}')
        start = task.check_start(pairs.starts[episode] if start is None else start)
        if goals is None:
            goals = [pairs.goals[episode]]
        goals = [task.check_goal(goal) for goal in goals]
        if not goals:
            raise ValueError('give at least one goal')
        total = per_goal * len(goals)
        still_steps = [total + 1 + k if k < 0 else k for k in stills]
        if not all(0 <= k <= total for k in still_steps):
            raise ValueError(f'still steps must lie in [-{total + 1}, {total}], got '
                             f'{list(stills)}')
        video_steps = set() if every is None else set(range(0, total + 1, every)) | {total}
        wanted = video_steps | set(still_steps)
        act = _controller(controller, env, policy)
        frames, trace = {}, {'goal_index': [], 'actions': [], 'ee': [], 'distance': []}
        for index, goal in enumerate(goals):
            if index == 0:
                obs, _ = env.reset(options={'start': start, 'goal': goal})
                if 0 in wanted:
                    frames[0] = env.render()
            else:
                obs, _ = env.retarget(goal)
            if hasattr(policy, 'reset'):
                policy.reset()
            for _ in range(per_goal):
                action = np.clip(np.asarray(act(obs), dtype=float), -1.0, 1.0)
                obs, _, _, _, info = env.step(action)
                step = len(trace['actions']) + 1
                if info['diverged']:
                    raise EpisodeDiverged(f'{task_id}: the simulation diverged at control '
                                          f'step {step} (goal {index + 1})')
                trace['goal_index'].append(index)
                trace['actions'].append(action)
                trace['ee'].append(info['ee'])
                trace['distance'].append(info['distance'])
                if step in wanted:
                    frames[step] = env.render()
    finally:
        env.close()
    goal_index, ee = np.array(trace['goal_index']), np.array(trace['ee'])
    metrics = [metrics_module.episode_metrics(ee[goal_index == i], goal, spec)
               for i, goal in enumerate(goals)]
    result = EpisodeTrace(start=start, goals=np.array(goals), goal_index=goal_index,
                          actions=np.array(trace['actions']), ee=ee,
                          distance=np.array(trace['distance']), metrics=metrics)
    return RenderedEpisode(video=[frames[k] for k in sorted(video_steps)],
                           stills=[frames[k] for k in still_steps], trace=result)


def _controller(name, env, policy):
    """Return obs -> action for the named controller of env."""
    if name == 'policy':
        return lambda obs: policy(obs, env.goal)
    if name == 'zero':
        zero = np.zeros(env.task_spec.action_size)
        return lambda obs: zero
    ref = reference_module.reference_controller(env.task_spec.task_id, task=env.task)
    return lambda obs: ref(env.data, env.goal)
