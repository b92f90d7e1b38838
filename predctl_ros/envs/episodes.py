# Copyright 2026 predctl_ros contributors
# SPDX-License-Identifier: Apache-2.0
"""
Run a reaching episode under a controller and render it offscreen.

The pictures come from :mod:`predctl_ros.envs.render`; :mod:`predctl_ros.envs.image_files`
writes them to files.
"""

import numpy as np

from predctl_ros.envs import metrics as metrics_module
from predctl_ros.envs import reference as reference_module
from predctl_ros.envs import tasks as tasks_module
from predctl_ros.envs.reach_env import make_env


def render_episode(task_id: str, *, controller: str = 'reference', episode: int = 0,
                   steps=None, width: int = 640, height: int = 480, every: int = 1,
                   only_steps=None, policy=None) -> tuple:
    """
    Run one test-set episode and render it.

    :param task_id: 'panda_reach' or 'reach2d'.
    :param controller: 'reference' (the task's reference controller), 'zero' (no torque),
        or 'policy' (the ``policy`` callable).
    :param episode: index into the task's fixed test set.
    :param steps: control steps to run (default: the whole episode).
    :param width: image width in pixels.
    :param height: image height in pixels.
    :param every: keep one frame every this many control steps (the first and last
        states are always kept).
    :param only_steps: render just these control steps instead (0 = the start state,
        -1 = the last), e.g. ``(-1,)`` for a single picture of the final state.
    :param policy: callable (obs [obs_size], goal [goal_size]) -> action, for 'policy'.
    :return: (frames list of uint8 [height, width, 3], metrics dict of the run).
    """
    pairs = tasks_module.test_set(task_id)
    if not 0 <= episode < len(pairs):
        raise ValueError(f'episode must be in [0, {len(pairs)}) for {task_id}, got {episode}')
    if controller not in ('reference', 'zero', 'policy'):
        raise ValueError(f'controller must be reference, zero or policy, got {controller!r}')
    if controller == 'policy' and policy is None:
        raise ValueError('controller "policy" needs a policy callable')
    if every < 1:
        raise ValueError(f'every must be >= 1, got {every}')
    env = make_env(task_id, render_mode='rgb_array', width=width, height=height)
    try:
        total = env.task_spec.episode_steps if steps is None else int(steps)
        if not 1 <= total <= env.task_spec.episode_steps:
            raise ValueError(f'steps must be in [1, {env.task_spec.episode_steps}], got {steps}')
        obs, info = env.reset(options={'start': pairs.starts[episode],
                                       'goal': pairs.goals[episode]})
        if only_steps is None:
            wanted = set(range(0, total + 1, every)) | {total}
        else:
            wanted = {total + 1 + k if k < 0 else k for k in only_steps}
            if not all(0 <= k <= total for k in wanted):
                raise ValueError(f'only_steps must lie in [-{total + 1}, {total}], got '
                                 f'{only_steps}')
        ref = reference_module.reference_controller(task_id, task=env.task)
        frames = [env.render()] if 0 in wanted else []
        trajectory = []
        for step in range(1, total + 1):
            if controller == 'reference':
                action = ref(env.data, env.goal)
            elif controller == 'zero':
                action = np.zeros(env.task_spec.action_size)
            else:
                action = policy(obs, env.goal)
            obs, _, _, _, info = env.step(action)
            trajectory.append(info['ee'])
            if step in wanted:
                frames.append(env.render())
        metrics = metrics_module.episode_metrics(np.array(trajectory), env.goal, env.task_spec)
    finally:
        env.close()
    return frames, metrics
