# Copyright 2026 predctl_ros contributors
# SPDX-License-Identifier: Apache-2.0
"""
Offscreen pictures of reaching episodes: PNG frames and MP4 videos.

Headless machines need an offscreen OpenGL: ``MUJOCO_GL=egl`` (Debian packages libegl1,
libegl-mesa0, libgl1-mesa-dri, libopengl0; the default set by
:mod:`predctl_ros.envs` when there is no display) or ``MUJOCO_GL=osmesa`` (libosmesa6).
The variable must be set before mujoco is imported.
"""

import os

import mujoco
import numpy as np

from predctl_ros.envs import metrics as metrics_module
from predctl_ros.envs import reference as reference_module
from predctl_ros.envs import tasks as tasks_module
from predctl_ros.envs.reach_env import make_env

CAMERAS = {
    # lookat xyz (m), distance (m), azimuth (deg), elevation (deg)
    'panda_reach': ((0.1, 0.0, 0.55), 2.4, 150.0, -18.0),
    'reach2d': ((0.0, 0.0, 0.0), 2.4, 90.0, -89.0),
}


class RenderError(RuntimeError):
    """No offscreen OpenGL context could be created."""


def default_camera(task_id: str) -> mujoco.MjvCamera:
    """
    Return the free camera used for pictures of a task.

    :param task_id: 'panda_reach' or 'reach2d'.
    :return: the camera.
    """
    lookat, distance, azimuth, elevation = CAMERAS[task_id]
    camera = mujoco.MjvCamera()
    camera.type = mujoco.mjtCamera.mjCAMERA_FREE
    camera.lookat[:] = lookat
    camera.distance, camera.azimuth, camera.elevation = distance, azimuth, elevation
    return camera


def make_renderer(model: mujoco.MjModel, width: int, height: int) -> mujoco.Renderer:
    """
    Create an offscreen renderer, enlarging the model's offscreen buffer if needed.

    :param model: the model.
    :param width: image width in pixels.
    :param height: image height in pixels.
    :return: the renderer.
    :raises RenderError: when no OpenGL context can be created, with the fix.
    """
    if width < 1 or height < 1:
        raise ValueError(f'image size must be positive, got {width}x{height}')
    model.vis.global_.offwidth = max(model.vis.global_.offwidth, int(width))
    model.vis.global_.offheight = max(model.vis.global_.offheight, int(height))
    try:
        renderer = mujoco.Renderer(model, height=int(height), width=int(width))
    except Exception as exc:  # noqa: B902 - GL back ends raise many exception types
        backend = os.environ.get('MUJOCO_GL', '(unset)')
        raise RenderError(
            f'cannot create an offscreen OpenGL context with MUJOCO_GL={backend}: {exc}. '
            'Headless machines need MUJOCO_GL=egl (apt: libegl1 libegl-mesa0 '
            'libgl1-mesa-dri libopengl0) or MUJOCO_GL=osmesa (apt: libosmesa6), set before '
            'mujoco is imported (a process that imported mujoco first keeps its choice).'
        ) from exc
    # Reflections double the drawing cost of software OpenGL for little gain.
    renderer.scene.flags[mujoco.mjtRndFlag.mjRND_REFLECTION] = 0
    return renderer


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


def save_png(path: str, frame: np.ndarray):
    """
    Write one frame as a PNG file.

    :param path: output file.
    :param frame: uint8 image [height, width, 3].
    """
    import imageio.v3 as iio
    _ensure_directory(path)
    iio.imwrite(path, np.asarray(frame, dtype=np.uint8), extension='.png')


def save_mp4(path: str, frames, fps: float = 50.0):
    """
    Write frames as an H.264 MP4 video (needs imageio-ffmpeg).

    :param path: output file.
    :param frames: sequence of uint8 images [height, width, 3] of one size.
    :param fps: frames per second.
    """
    import imageio.v2 as imageio
    _ensure_directory(path)
    with imageio.get_writer(path, fps=fps, codec='libx264', quality=7,
                            macro_block_size=1) as writer:
        for frame in frames:
            writer.append_data(np.asarray(frame, dtype=np.uint8))


def _ensure_directory(path):
    directory = os.path.dirname(os.path.abspath(path))
    os.makedirs(directory, exist_ok=True)
