# Copyright 2026 predctl_ros contributors
# SPDX-License-Identifier: Apache-2.0
"""The tasks under their gymnasium ids: ``gymnasium.make('predctl_ros/PandaReach-v0')``."""

import os
from pathlib import Path
import subprocess
import sys
import textwrap
import warnings

import gymnasium
from gymnasium.utils.env_checker import check_env
from gymnasium.wrappers import OrderEnforcing, PassiveEnvChecker, TimeLimit
import numpy as np
from predctl_ros import envs
from predctl_ros.envs import reach_env
from predctl_ros.envs.registration import ENV_IDS
import pytest

ROOT = Path(__file__).resolve().parents[1]
IDS = {'panda_reach': 'predctl_ros/PandaReach-v0', 'reach2d': 'predctl_ros/Reach2D-v0'}


def _make(env_id, **kwargs):
    """Make an environment; every warning but the unbounded observation space's fails."""
    with warnings.catch_warnings():
        warnings.simplefilter('error')
        warnings.filterwarnings('ignore', message='.*infinity.*')  # unbounded observations
        return gymnasium.make(env_id, **kwargs)


def test_ids_cover_every_task():
    """Each task has the documented id, and it is in gymnasium's registry."""
    assert ENV_IDS == IDS
    assert set(ENV_IDS) == set(envs.TASK_IDS)
    for env_id in IDS.values():
        assert env_id in gymnasium.registry


@pytest.mark.parametrize('task_id', envs.TASK_IDS)
def test_make_wraps_the_task_environment(task_id):
    """Make gives the task's class under the default wrappers, truncated at the episode length."""
    env = _make(IDS[task_id])
    layers = []
    while isinstance(env, gymnasium.Wrapper):
        layers.append(type(env))
        env = env.env
    assert layers == [TimeLimit, OrderEnforcing, PassiveEnvChecker]
    assert type(env) is reach_env.ENV_CLASSES[task_id]
    steps = envs.task_spec(task_id).episode_steps
    assert gymnasium.spec(IDS[task_id]).max_episode_steps == steps
    assert gymnasium.make(IDS[task_id]).spec.max_episode_steps == steps


@pytest.mark.parametrize('task_id', envs.TASK_IDS)
def test_check_env_passes(task_id):
    """Gymnasium's checker accepts the environment make builds."""
    env = _make(IDS[task_id])
    with warnings.catch_warnings():
        warnings.simplefilter('error')
        warnings.filterwarnings('ignore', message='.*infinity.*')
        check_env(env.unwrapped, skip_render_check=True)


@pytest.mark.parametrize('task_id', envs.TASK_IDS)
def test_seeded_reset_and_step(task_id):
    """The same seed gives the same observation, another seed another; a step follows the API."""
    options = {'obs_noise': 0.01} if task_id == 'reach2d' else {}
    env = _make(IDS[task_id], **options)
    first, info = env.reset(seed=11)
    again, _ = env.reset(seed=11)
    other, _ = env.reset(seed=12)
    np.testing.assert_array_equal(first, again)
    assert not np.array_equal(first, other)
    assert env.observation_space.contains(first) and first.dtype == np.float64
    action = env.action_space.sample()
    obs, reward, terminated, truncated, info = env.step(action)
    assert env.observation_space.contains(obs)
    assert reward == -info['distance'] and info['step'] == 1
    assert not terminated and not truncated


@pytest.mark.parametrize('task_id', envs.TASK_IDS)
def test_episode_is_truncated_at_the_task_length(task_id):
    """A whole episode runs the task's episode_steps and ends truncated, never terminated."""
    env = _make(IDS[task_id])
    env.reset(seed=0)
    action = np.zeros(env.action_space.shape, dtype=np.float32)
    for step in range(1, envs.task_spec(task_id).episode_steps + 1):
        _, _, terminated, truncated, _ = env.step(action)
        assert not terminated
        assert truncated == (step == envs.task_spec(task_id).episode_steps)


def test_task_options_are_passed_through():
    """Keyword arguments of make reach the task: interface, velocities, noise, length."""
    panda = _make(IDS['panda_reach'], torque_interface='franka_damped', velocities=True)
    assert panda.unwrapped.task.torque_interface.name == 'franka_damped'
    assert panda.observation_space.shape == (envs.task_spec('panda_reach',
                                                            velocities=True).obs_size,)
    assert panda.reset(seed=0)[0].shape == panda.observation_space.shape
    assert _make(IDS['panda_reach']).unwrapped.task.torque_interface.name == 'direct'
    flat = _make(IDS['reach2d'], obs_noise=0.02, episode_steps=3)
    assert flat.unwrapped.task.obs_noise == 0.02
    flat.reset(seed=0)
    truncated = [flat.step(np.zeros(2, dtype=np.float32))[3] for _ in range(3)]
    assert truncated == [False, False, True]
    with pytest.raises(ValueError, match='torque interface|torque_interface'):
        gymnasium.make(IDS['panda_reach'], torque_interface='no_such_interface')


def _python(code, tmp_path):
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(
        [str(ROOT)] + [p for p in os.environ.get('PYTHONPATH', '').split(os.pathsep) if p]))
    env.setdefault('MUJOCO_GL', 'egl')
    result = subprocess.run([sys.executable, '-c', textwrap.dedent(code)], cwd=tmp_path,
                            env=env, timeout=120, capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout


def test_import_registers_once_without_mujoco_or_warnings(tmp_path):
    """Importing envs registers the ids, loads no MuJoCo; a re-import warns nothing."""
    out = _python("""
        import importlib, sys, warnings
        warnings.simplefilter('error')
        import predctl_ros.envs
        import gymnasium
        print('mujoco' in sys.modules, 'predctl_ros/PandaReach-v0' in gymnasium.registry)
        spec = gymnasium.spec('predctl_ros/Reach2D-v0')
        importlib.reload(predctl_ros.envs)
        predctl_ros.envs.registration.register_envs()
        print(gymnasium.spec('predctl_ros/Reach2D-v0') is spec)
    """, tmp_path)
    assert out.split() == ['False', 'True', 'True']


def test_render_mode_is_passed_through(tmp_path):
    """render_mode='rgb_array' (and its size) reach the environment; frames are not blank."""
    out = _python("""
        import gymnasium
        import predctl_ros.envs
        env = gymnasium.make('predctl_ros/Reach2D-v0', render_mode='rgb_array', width=40,
                             height=30)
        env.reset(seed=0)
        frame = env.render()
        print(frame.shape, frame.dtype, int(frame.std() > 1))
        env.close()
    """, tmp_path)
    assert out.strip() == '(30, 40, 3) uint8 1'
