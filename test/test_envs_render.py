# Copyright 2026 predctl_ros contributors
# SPDX-License-Identifier: Apache-2.0
"""
Offscreen rendering: frames of the environments and `predctl render` files.

Each check that draws frames runs in a fresh interpreter, because MuJoCo picks its OpenGL
back end (MUJOCO_GL, egl here) when it is first imported, and other tests import it
earlier. The raster and the refusals draw no frame and run here.
"""

import os
from pathlib import Path
import re
import subprocess
import sys
import textwrap

import numpy as np
from policy_checkpoints import make_checkpoint
from predctl_ros import envs
from predctl_ros.cli import build_parser, main
from predctl_ros.learning.checkpoint_policy import load_policy
from predctl_ros.learning.train import rollout
from predctl_ros.snn import PolicyNet
from predctl_ros.snn.checkpoint import save_checkpoint
from predctl_ros.snn.monitors import ActivityMonitor
import pytest

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


@pytest.fixture(scope='module')
def checkpoints(tmp_path_factory):
    """Untrained Panda policies: a spiking one and an MLP baseline."""
    folder = tmp_path_factory.mktemp('checkpoints')
    mlp = PolicyNet(9, 3, 6, arch='mlp', hidden=(16, 16))
    save_checkpoint(folder / 'mlp.safetensors', {'policy': mlp}, task='panda_reach')
    return {'snn': str(make_checkpoint(folder / 'snn.safetensors', seed=1)),
            'mlp': str(folder / 'mlp.safetensors')}


def test_render_policy_writes_pictures_that_follow_the_goals(tmp_path, checkpoints):
    """A checkpoint's policy is rendered to PNG, GIF and MP4; other goals, other pictures."""
    import imageio.v2 as imageio
    import imageio.v3 as iio

    common = ['-m', 'predctl_ros.cli', 'render', '--steps', '8', '--width', '120',
              '--height', '90']
    first, second = '0.5,0.2,0.4', '0.3,-0.4,0.6'
    files = {kind: tmp_path / f'a.{kind}' for kind in ('png', 'gif', 'mp4')}
    stdout = _python([*common, '--checkpoint', checkpoints['snn'], '--goals', first, second,
                      '--every', '3', *(f'--{k}={v}' for k, v in files.items())], tmp_path,
                     PYTHONPATH=str(ROOT))
    # 16 control steps, one frame every 3 and the last: 0, 3, 6, 9, 12, 15, 16.
    assert stdout.count('(7 frames)') == 2
    assert 'goal 1/2 (0.500, 0.200, 0.400)' in stdout and 'goal 2/2 (0.300, -0.400, 0.600)' \
        in stdout
    assert iio.imread(files['gif'], index=None).shape[:3] == (7, 90, 120)
    with imageio.get_reader(files['mp4'], format='FFMPEG') as reader:
        assert reader.count_frames() == 7
    other = tmp_path / 'b.png'
    _python([*common, '--checkpoint', checkpoints['snn'], '--goals', second, first,
             '--png', str(other)], tmp_path, PYTHONPATH=str(ROOT))
    a, b = iio.imread(files['png']), iio.imread(other)
    assert a.shape == b.shape == (90, 120, 3)
    assert a.std() > 5.0 and b.std() > 5.0
    changed = np.abs(a.astype(int) - b).max(axis=-1) > 40
    assert changed.sum() > 20, 'the arm and the goal marker should differ'
    baseline = tmp_path / 'mlp.png'
    stdout = _python([*common, '--checkpoint', checkpoints['mlp'], '--episode', '5',
                      '--png', str(baseline)], tmp_path, PYTHONPATH=str(ROOT))
    assert f'panda_reach episode 5 (policy {checkpoints["mlp"]})' in stdout
    assert iio.imread(baseline).shape == (90, 120, 3)


def test_raster_counts_the_spikes_of_the_episode(tmp_path, checkpoints, capsys, monkeypatch):
    """The raster draws as many spikes per layer as an ActivityMonitor counts in rollout."""
    import imageio.v3 as iio

    monkeypatch.setenv('MUJOCO_GL', os.environ.get('MUJOCO_GL', 'egl'))
    raster = tmp_path / 'raster.png'
    assert main(['render', '--checkpoint', checkpoints['snn'], '--episode', '1', '--steps',
                 '20', '--raster', str(raster)]) == 0
    stdout = capsys.readouterr().out
    drawn = [int(n) for n in re.search(r'spikes: hidden 1 (\d+), hidden 2 (\d+)\)',
                                       stdout).groups()]
    net, task, options = load_policy(checkpoints['snn'])
    pairs = envs.test_set(task)
    monitor = ActivityMonitor(net)
    with envs.make_batched_env(task, 1, episode_steps=20, **options) as batch:
        rollout(net, batch, starts=pairs.starts[1:2], goals=pairs.goals[1:2], monitor=monitor)
    assert drawn == monitor.spike_counts and min(drawn) > 0
    image = iio.imread(raster)
    assert image.shape[:2] == (840, 1000) and image.std() > 5.0
    assert not (tmp_path / 'panda_reach.png').exists(), 'no default PNG beside the raster'


@pytest.mark.parametrize('extra, message', [
    (['--checkpoint', '{missing}'], 'missing.safetensors: no such checkpoint file'),
    (['--checkpoint', '{snn}', '--goals', '0.4,0.2'],
     'goal 1 (0.4,0.2) has 2 values, panda_reach needs 3 (x,y,z in metres)'),
    (['--checkpoint', '{snn}', '--goals', '0.4,0.2,0.5', '2,0,0.5'],
     '--goals: goal (2.000, 0.000, 0.500) is 2.007 m from the shoulder'),
    (['--checkpoint', '{snn}', '--episode', '64'], 'episode must be in [0, 64) for panda_reach'),
    (['--checkpoint', '{snn}', '--task', 'reach2d'], 'policy maps 12 -> 6, reach2d needs 8 -> 2'),
    (['--checkpoint', '{mlp}', '--raster', 'r.png'],
     'its policy is a MLP baseline, which has no spikes to draw'),
    (['--raster', 'r.png'], "--raster draws a spiking policy's spikes: give its --checkpoint"),
    (['--checkpoint', '{snn}', '--controller', 'zero'], '--controller and --checkpoint exclude'),
    (['--goals', '0.4,0.2,0.5', '0.5,0,0.4', '--steps', '10', '--png-step', '21'],
     '--png-step must be in [-21, 20]'),
    (['--steps', '0'], '--steps must be in [1, 200], got 0'),
])
def test_render_refuses_bad_input(extra, message, tmp_path, checkpoints, capsys,
                                  monkeypatch):
    """Bad input is refused before anything runs, in one line that names the problem."""
    monkeypatch.setenv('MUJOCO_GL', os.environ.get('MUJOCO_GL', 'egl'))
    monkeypatch.chdir(tmp_path)
    paths = dict(checkpoints, missing=str(tmp_path / 'missing.safetensors'))
    assert main(['render', *(arg.format(**paths) for arg in extra)]) == 2
    out, err = capsys.readouterr()
    assert message in err and err.startswith('predctl render: error: ')
    assert err.count('\n') == 1 and not out
    assert not list(tmp_path.iterdir()), 'nothing is written'


def test_render_reads_goals_and_refuses_ones_that_are_not_numbers(capsys):
    """Goals are comma-separated numbers, negative ones too; anything else is named."""
    args = build_parser().parse_args(['render', '--goals', '-0.3,0.6', '0.5,-0.2',
                                      '--png-step', '-2'])
    assert args.goals == [(-0.3, 0.6), (0.5, -0.2)] and args.png_step == -2
    with pytest.raises(SystemExit) as exit_info:
        main(['render', '--goals', '0.4,up,0.5'])
    assert exit_info.value.code == 2
    assert "'0.4,up,0.5' is not a goal" in capsys.readouterr().err
