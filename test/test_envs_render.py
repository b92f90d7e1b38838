# Copyright 2026 predctl_ros contributors
# SPDX-License-Identifier: Apache-2.0
"""
Offscreen rendering: frames of the environments and `predctl render` files.

Each check runs in a fresh interpreter, because MuJoCo picks its OpenGL back end
(MUJOCO_GL, egl here) when it is first imported, and other tests import it earlier.
"""

import os
from pathlib import Path
import subprocess
import sys
import textwrap

import numpy as np

ROOT = Path(__file__).resolve().parents[1]

FRAME_CHECK = textwrap.dedent("""
    import numpy as np
    from predctl_ros import envs
    pairs = envs.test_set('panda_reach')
    env = envs.make_env('panda_reach', render_mode='rgb_array', width=96, height=64)
    env.reset(options={'start': pairs.starts[0], 'goal': pairs.goals[0]})
    first = env.render()
    for _ in range(10):
        env.step(np.ones(6))
    second = env.render()
    env.close()
    flat = envs.make_env('reach2d', render_mode='rgb_array', width=32, height=24)
    flat.reset(seed=0)
    third = flat.render()
    np.savez(OUT, first=first, second=second, third=third)
""")


def _python(code_or_args, tmp_path, **env_extra):
    env = dict(os.environ)
    env.setdefault('MUJOCO_GL', 'egl')
    env.update(env_extra)
    args = ['-c', code_or_args] if isinstance(code_or_args, str) else list(code_or_args)
    result = subprocess.run([sys.executable, *args], cwd=tmp_path, env=env, timeout=120,
                            capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout


def test_env_frames(tmp_path):
    """Frames have the requested size, are not blank, and follow the arm's motion."""
    out = tmp_path / 'frames.npz'
    _python(f'OUT = {str(out)!r}\n' + FRAME_CHECK, tmp_path, PYTHONPATH=str(ROOT))
    frames = np.load(out)
    assert frames['first'].shape == (64, 96, 3) and frames['first'].dtype == np.uint8
    assert frames['third'].shape == (24, 32, 3)
    assert frames['first'].std() > 5.0
    assert np.abs(frames['first'].astype(int) - frames['second']).mean() > 0.5


def test_render_command_writes_png_and_mp4(tmp_path):
    """`predctl render` writes a decodable PNG of the right size and an MP4 video."""
    import imageio.v2 as imageio
    import imageio.v3 as iio

    png, mp4 = tmp_path / 'panda.png', tmp_path / 'sub' / 'panda.mp4'
    stdout = _python(['-m', 'predctl_ros.cli', 'render', '--task', 'panda_reach',
                      '--steps', '6', '--width', '80', '--height', '60', '--png', str(png),
                      '--mp4', str(mp4), '--every', '2'], tmp_path, PYTHONPATH=str(ROOT))
    assert f'wrote {png}' in stdout and '(4 frames)' in stdout
    assert iio.imread(png).shape == (60, 80, 3)
    with imageio.get_reader(mp4, format='FFMPEG') as reader:
        assert reader.count_frames() == 4
        assert reader.get_data(0).shape == (60, 80, 3)


def test_render_command_rejects_bad_arguments(tmp_path):
    """A test-set index out of range is an error with exit status 2."""
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    env.setdefault('MUJOCO_GL', 'egl')
    result = subprocess.run([sys.executable, '-m', 'predctl_ros.cli', 'render', '--task',
                             'reach2d', '--episode', '8'], cwd=tmp_path, env=env, timeout=120,
                            capture_output=True, text=True)
    assert result.returncode == 2
    assert 'episode must be in [0, 8)' in result.stderr and not result.stdout
