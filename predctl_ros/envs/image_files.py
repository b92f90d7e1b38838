# Copyright 2026 predctl_ros contributors
# SPDX-License-Identifier: Apache-2.0
"""Write rendered frames to image and video files."""

import os

import numpy as np


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


def save_gif(path: str, frames, fps: float = 25.0):
    """
    Write frames as a looping GIF animation.

    :param path: output file.
    :param frames: sequence of uint8 images [height, width, 3] of one size.
    :param fps: frames per second (GIF delays are whole hundredths of a second).
    """
    import imageio.v3 as iio
    _ensure_directory(path)
    stack = np.stack([np.asarray(frame, dtype=np.uint8) for frame in frames])
    iio.imwrite(path, stack, extension='.gif', duration=1000.0 / fps, loop=0)


def _ensure_directory(path):
    directory = os.path.dirname(os.path.abspath(path))
    os.makedirs(directory, exist_ok=True)
