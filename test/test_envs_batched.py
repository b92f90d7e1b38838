# Copyright 2026 predctl_ros contributors
# SPDX-License-Identifier: Apache-2.0
"""The batched environment against N single environments (fast path vs plain loop)."""

import numpy as np
from predctl_ros import envs
from predctl_ros.envs import worlds
import pytest


def _single_rollouts(task_id, seeds, actions, **kwargs):
    """Plain per-world loop: one gymnasium env per seed."""
    env = envs.make_env(task_id, **kwargs)
    observations, goals, distances = [], [], []
    for i, seed in enumerate(seeds):
        obs, info = env.reset(seed=seed)
        trajectory, dist = [obs], []
        for action in actions[:, i]:
            obs, _, _, _, info = env.step(action)
            trajectory.append(obs)
            dist.append(info['distance'])
        observations.append(trajectory)
        goals.append(info['goal'])
        distances.append(dist)
    return np.array(observations), np.array(goals), np.array(distances)


@pytest.mark.parametrize('task_id, kwargs', [
    ('panda_reach', {}),
    ('panda_reach', {'velocities': True}),
    ('reach2d', {'obs_noise': 0.01}),
])
@pytest.mark.parametrize('num_threads', [1, 2])
def test_batched_equals_single_envs(task_id, kwargs, num_threads):
    """World i of reset(seed=s) reproduces a single env reset with seed s + i, bit for bit."""
    n, steps, seed = 5, 15, 40
    size = envs.task_spec(task_id, **kwargs).action_size
    actions = np.random.default_rng(1).uniform(-1.2, 1.2, (steps, n, size))
    expected_obs, expected_goals, expected_dist = _single_rollouts(
        task_id, [seed + i for i in range(n)], actions, **kwargs)
    with envs.make_batched_env(task_id, n, num_threads=num_threads, **kwargs) as batch:
        obs, goals = batch.reset(seed=seed)
        trajectory, distances = [obs], []
        for action in actions:
            obs, info = batch.step(action)
            trajectory.append(obs)
            distances.append(info['distance'])
    np.testing.assert_array_equal(np.stack(trajectory, axis=1), expected_obs)
    np.testing.assert_array_equal(goals, expected_goals)
    np.testing.assert_array_equal(np.stack(distances, axis=1), expected_dist)


def test_explicit_test_set_in_one_batch():
    """Starts and goals of the fixed test set are used as given; ee obs matches the starts."""
    pairs = envs.test_set('panda_reach')
    task = envs.make_task('panda_reach')
    with envs.make_batched_env('panda_reach', len(pairs)) as batch:
        obs, goals = batch.reset(seed=0, starts=pairs.starts, goals=pairs.goals)
        np.testing.assert_array_equal(goals, pairs.goals)
        expected_ee = np.array([task.goal_of(q) for q in pairs.starts])
        np.testing.assert_array_equal(obs[:, batch.task_spec.ee_slice], expected_ee)
        np.testing.assert_array_equal(batch.datas[7].qpos, pairs.starts[7])
        obs2, info = batch.step(np.zeros((len(pairs), 6)))
        assert obs2.shape == (64, 9) and info['distance'].shape == (64,)
        assert not np.shares_memory(obs, obs2) and info['step'] == 1 and not info['done']


def test_batched_errors():
    """Wrong shapes, NaN actions, stepping before reset or past the episode raise."""
    with envs.make_batched_env('reach2d', 3, episode_steps=2) as batch:
        with pytest.raises(RuntimeError, match='reset'):
            batch.step(np.zeros((3, 2)))
        with pytest.raises(ValueError, match=r'starts must have shape \(3, 2\)'):
            batch.reset(seed=0, starts=np.zeros((2, 2)))
        batch.reset(seed=0)
        with pytest.raises(envs.ActionError, match=r'shape \(3, 2\)'):
            batch.step(np.zeros((3, 3)))
        bad = np.zeros((3, 2))
        bad[2, 1] = np.nan
        with pytest.raises(envs.ActionError, match=r'\[\[2, 1\]\]'):
            batch.step(bad)
        batch.step(np.zeros((3, 2)))
        _, info = batch.step(np.zeros((3, 2)))
        assert info['done']
        with pytest.raises(RuntimeError, match='episode is over'):
            batch.step(np.zeros((3, 2)))
    with pytest.raises(RuntimeError, match='closed'):
        batch.worlds.step()
    with pytest.raises(ValueError, match='num_envs'):
        envs.make_batched_env('reach2d', 0)


def test_diverging_world_is_reset_and_flagged(tmp_path, monkeypatch):
    """Only the corrupted world is flagged and put back at its start; the others continue."""
    monkeypatch.chdir(tmp_path)  # MuJoCo logs its warning to ./MUJOCO_LOG.TXT
    with envs.make_batched_env('panda_reach', 3, num_threads=2) as batch:
        batch.reset(seed=2)
        batch.step(np.zeros((3, 6)))
        batch.worlds.qvel[1, 0] = 1e12   # the live state of world 1
        with pytest.warns(envs.SimulationDiverged, match=r'worlds \[1\]'):
            obs, info = batch.step(np.zeros((3, 6)))
        np.testing.assert_array_equal(info['diverged'], [False, True, False])
        np.testing.assert_array_equal(batch.datas[1].qpos, batch.starts[1])
        assert batch.datas[0].time == pytest.approx(0.04)
        assert np.isfinite(obs).all()


def test_bad_start_state_is_caught_on_the_first_step(tmp_path, monkeypatch):
    """A state MuJoCo resets before the first substep (clock still at 0) is flagged too."""
    monkeypatch.chdir(tmp_path)
    with envs.make_batched_env('reach2d', 2, num_threads=1) as batch:
        batch.reset(seed=0)
        batch.worlds.qpos[0, 1] = np.nan
        with pytest.warns(envs.SimulationDiverged, match=r'worlds \[0\]'):
            _, info = batch.step(np.zeros((2, 2)))
        np.testing.assert_array_equal(info['diverged'], [True, False])
        np.testing.assert_array_equal(batch.worlds.qpos[0], batch.starts[0])


def test_datas_follow_the_batch():
    """datas[i] is world i after each step: state, kinematics and the end-effector site."""
    with envs.make_batched_env('panda_reach', 3, num_threads=2) as batch:
        batch.reset(seed=5)
        for _ in range(3):
            batch.step(np.full((3, 6), 0.3))
        site = batch.task.ee_site
        for i in range(3):
            data = batch.datas[i]
            np.testing.assert_array_equal(data.qpos, batch.worlds.qpos[i])
            np.testing.assert_array_equal(data.qvel, batch.worlds.qvel[i])
            np.testing.assert_array_equal(data.site_xpos[site], batch.worlds.site[i])
            assert data.time == pytest.approx(0.06)
        assert [d.time for d in batch.datas[1:]] == [batch.datas[1].time] * 2


@pytest.mark.parametrize('num_threads', [1, 2])
def test_per_world_fallback_matches_batch(monkeypatch, num_threads):
    """Without mujoco.batch the per-world mj_step path gives the same trajectories, bit for bit."""
    actions = np.random.default_rng(2).uniform(-1, 1, (20, 4, 6))

    def run():
        with envs.make_batched_env('panda_reach', 4, num_threads=num_threads) as batch:
            trajectory = [batch.reset(seed=3)[0]]
            trajectory += [batch.step(action)[0] for action in actions]
        return np.array(trajectory)

    fast = run()
    monkeypatch.setattr(worlds, '_mj_batch', None)
    monkeypatch.setattr(worlds, 'HAS_BATCH', False)
    slow = run()
    np.testing.assert_array_equal(slow, fast)


@pytest.mark.parametrize('batched', [True, False])
def test_retarget_keeps_the_motion_and_moves_only_the_goal(monkeypatch, batched):
    """A goal sent mid-motion: state, velocities and physics carry over, bit for bit."""
    if not batched:
        monkeypatch.setattr(worlds, '_mj_batch', None)
        monkeypatch.setattr(worlds, 'HAS_BATCH', False)
    actions = np.random.default_rng(4).uniform(-1, 1, (10, 2, 6))
    new_goals = np.array([[0.4, 0.2, 0.5], [0.3, -0.3, 0.3]])

    def run(retarget):
        with envs.make_batched_env('panda_reach', 2, num_threads=2) as batch:
            batch.reset(seed=8)
            for action in actions[:5]:
                batch.step(action)
            moving = batch.worlds.qpos.copy(), batch.worlds.qvel.copy()
            if retarget:
                before = batch.worlds.observe(np.zeros((2, batch.task_spec.obs_size))).copy()
                obs, goals = batch.retarget(new_goals)
                np.testing.assert_array_equal(obs, before)
                np.testing.assert_array_equal(goals, new_goals)
                np.testing.assert_array_equal(batch.worlds.qpos, moving[0])
                np.testing.assert_array_equal(batch.worlds.qvel, moving[1])
                assert np.abs(moving[1]).max() > 0.1, 'the arms should be moving'
                assert batch.steps == 0
                np.testing.assert_array_equal(batch.starts, moving[0])
                for i in range(2):
                    marker = batch.datas[i].mocap_pos[batch.task.goal_mocap]
                    np.testing.assert_allclose(marker, batch.task.goal_to_site(new_goals[i]))
            out = [batch.step(action) for action in actions[5:]]
            return np.array([o for o, _ in out]), np.array([i['distance'] for _, i in out])

    obs_kept, distance_kept = run(False)
    obs_new, distance_new = run(True)
    np.testing.assert_array_equal(obs_new, obs_kept)
    assert not np.allclose(distance_new, distance_kept)


def test_retarget_errors():
    with envs.make_batched_env('panda_reach', 2, num_threads=1) as batch:
        with pytest.raises(RuntimeError, match='reset'):
            batch.retarget(np.zeros((2, 3)))
        batch.reset(seed=1)
        with pytest.raises(ValueError, match='shape'):
            batch.retarget(np.zeros((3, 3)))
        with pytest.raises(ValueError):
            batch.retarget(np.full((2, 3), np.nan))
