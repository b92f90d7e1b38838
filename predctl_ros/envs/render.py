# Copyright 2026 predctl_ros contributors
# SPDX-License-Identifier: Apache-2.0
"""
Offscreen pictures of the simulated arms: each task's camera and the offscreen renderer.

Episodes are driven and rendered by :mod:`predctl_ros.envs.episodes` and written to image
and video files by :mod:`predctl_ros.envs.image_files`.

Headless machines need an offscreen OpenGL: ``MUJOCO_GL=egl`` (Debian packages libegl1,
libegl-mesa0, libgl1-mesa-dri, libopengl0; the default set by
:mod:`predctl_ros.envs` when there is no display) or ``MUJOCO_GL=osmesa`` (libosmesa6).
The variable must be set before mujoco is imported.
"""

import os

import mujoco

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
