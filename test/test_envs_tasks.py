# Copyright 2026 predctl_ros contributors
# SPDX-License-Identifier: Apache-2.0
"""Contract of the reaching tasks and their gymnasium environments."""

import math
import warnings

from gymnasium.utils.env_checker import check_env
import mujoco
import numpy as np
from predctl_ros import envs
from predctl_ros.envs import models
import pytest

TAU_MAX_1_6 = np.array([87.0, 87.0, 87.0, 87.0, 12.0, 12.0])
Q_MIN = np.array([-2.8973, -1.7628, -2.8973, -3.0718, -2.8973, -0.0175, -2.8973])
Q_MAX = np.array([2.8973, 1.7628, 2.8973, -0.0698, 2.8973, 3.7525, 2.8973])
SOFT_MID, SOFT_HALF = (Q_MIN + Q_MAX) / 2, 0.4 * (Q_MAX - Q_MIN)


@pytest.fixture(scope='module')
def panda():
    """Return a panda_reach environment shared by the tests of this module."""
    return envs.make_env('panda_reach')


@pytest.fixture(scope='module')
def reach2d():
    """Return a reach2d environment shared by the tests of this module."""
    return envs.make_env('reach2d')


def test_task_specs():
    """Sizes, timing, thresholds and the ee slice match the method."""
    spec = envs.task_spec('panda_reach')
    assert (spec.obs_size, spec.action_size, spec.goal_size) == (9, 6, 3)
    assert (spec.control_dt_s, spec.physics_dt_s, spec.substeps) == (0.02, 0.002, 10)
    assert spec.episode_steps == 200
    assert spec.ee_slice == slice(6, 9)
    assert (spec.success_threshold, spec.authors_threshold) == (0.05, 0.123)
    assert spec.actuated_joint_names == tuple(f'panda_joint{i}' for i in range(1, 7))
    assert envs.task_spec('panda_reach', velocities=True).obs_size == 15
    # Model options are a mapping; a spec of a task built with them is still cached.
    assert envs.task_spec('panda_reach', model_options={'damping': 30.0}) == spec
    spec2 = envs.task_spec('reach2d')
    assert (spec2.obs_size, spec2.action_size, spec2.goal_size) == (6, 2, 2)
    assert spec2.ee_slice == slice(0, 2) and spec2.goal_scale_m == 0.9
    assert spec2.authors_norm == 'linf'
    with pytest.raises(ValueError, match='unknown task'):
        envs.task_spec('cartpole')
    with pytest.raises(ValueError, match='multiple'):
        envs.make_env('reach2d', control_dt_s=0.021)


@pytest.mark.parametrize('task_id', envs.TASK_IDS)
def test_gymnasium_check_env(task_id):
    """Gymnasium's checker accepts both environments."""
    env = envs.make_env(task_id)
    with warnings.catch_warnings():
        warnings.filterwarnings('ignore', message='.*infinity.*')  # unbounded observations
        check_env(env, skip_render_check=True)


def test_panda_observation_and_action_scaling(panda):
    """Observation = soft-limit-scaled joints + TCP xyz; torques = action x limits."""
    start = np.array([0.3, -0.4, 0.2, -2.0, 0.1, 1.5, 0.0])
    goal = np.array([0.4, 0.1, 0.5])
    obs, info = panda.reset(options={'start': start, 'goal': goal})
    np.testing.assert_allclose(obs[:6], (start[:6] - SOFT_MID[:6]) / SOFT_HALF[:6], atol=1e-12)
    np.testing.assert_allclose(obs[6:9], models.panda_tcp_position(start), atol=1e-12)
    np.testing.assert_array_equal(info['goal'], goal)
    np.testing.assert_array_equal(panda.data.qvel, 0.0)
    np.testing.assert_array_equal(panda.data.mocap_pos[0], goal)
    assert info['distance'] == pytest.approx(np.linalg.norm(obs[6:9] - goal))
    action = np.array([0.5, -0.25, 1.0, -1.0, 0.5, 3.0])
    obs, reward, terminated, truncated, info = panda.step(action)
    np.testing.assert_array_equal(panda.data.ctrl[:6], np.clip(action, -1, 1) * TAU_MAX_1_6)
    assert panda.data.ctrl[6] == 0.0  # joint 7 servo target
    assert panda.data.time == pytest.approx(0.02)
    np.testing.assert_array_equal(obs[panda.task_spec.ee_slice], info['ee'])
    assert reward == info['reward_distance'] == -info['distance']
    assert not terminated and not truncated


def test_panda_soft_limit_scaling_is_unit_at_the_soft_limits(panda):
    """A joint at its soft limit observes +-1."""
    start = SOFT_MID + SOFT_HALF
    start[6] = 0.0
    obs, _ = panda.reset(options={'start': start, 'goal': np.zeros(3)})
    np.testing.assert_allclose(obs[:6], 1.0, atol=1e-12)


def test_panda_velocity_observation():
    """With velocities=True the last six entries are qvel / qd_max."""
    env = envs.make_env('panda_reach', velocities=True)
    env.reset(seed=4)
    obs, *_ = env.step(np.full(6, 0.3))
    qd_max = np.array([2.175, 2.175, 2.175, 2.175, 2.61, 2.61])
    np.testing.assert_allclose(obs[9:], env.data.qvel[:6] / qd_max, atol=1e-15)
    assert np.abs(obs[9:]).max() > 0


def test_reach2d_observation(reach2d):
    """Observation = hand xy / 0.9 and sin/cos of the joints; goal in the same units."""
    start = np.array([0.4, -1.1])
    obs, info = reach2d.reset(options={'start': start, 'goal': [0.5, 0.2]})
    hand = models.reach2d_hand_position(start)
    np.testing.assert_allclose(obs, [*(hand / 0.9), math.sin(0.4), math.sin(-1.1),
                                     math.cos(0.4), math.cos(-1.1)], atol=1e-12)
    np.testing.assert_allclose(reach2d.data.mocap_pos[0], [0.45, 0.18, 0.0], atol=1e-15)
    assert info['distance'] == pytest.approx(np.linalg.norm(hand / 0.9 - [0.5, 0.2]))


def test_reach2d_noise_is_seeded():
    """Observation noise has the requested size and follows the seed."""
    noisy = envs.make_env('reach2d', obs_noise=0.01)
    exact = envs.make_env('reach2d')
    obs_a, _ = noisy.reset(seed=5)
    obs_b, _ = noisy.reset(seed=5)
    obs_c, _ = exact.reset(seed=5)
    np.testing.assert_array_equal(obs_a, obs_b)
    assert 0 < np.abs(obs_a - obs_c).max() < 0.05
    with pytest.raises(ValueError, match='obs_noise'):
        envs.make_env('reach2d', obs_noise=-1.0)


@pytest.mark.parametrize('task_id', envs.TASK_IDS)
def test_seeding_and_memory(task_id):
    """Same seed, same episode; different seeds differ; observations are fresh arrays."""
    env = envs.make_env(task_id)
    actions = np.random.default_rng(0).uniform(-1, 1, (10, env.task_spec.action_size))

    def run(seed):
        obs, info = env.reset(seed=seed)
        trajectory = [obs]
        for action in actions:
            trajectory.append(env.step(action)[0])
        return np.array(trajectory), info['goal']

    first, goal1 = run(11)
    second, goal2 = run(11)
    third, goal3 = run(12)
    np.testing.assert_array_equal(first, second)
    np.testing.assert_array_equal(goal1, goal2)
    assert not np.array_equal(goal1, goal3) and not np.array_equal(first[0], third[0])
    obs1, _ = env.reset(seed=1)
    obs2, *_ = env.step(actions[0])
    assert not np.shares_memory(obs1, obs2)
    assert np.isfinite(first).all() and first.shape[1] == env.task_spec.obs_size


def test_goals_are_reachable_and_inside_soft_limits():
    """Sampled goals are TCP positions of soft-limit configurations above the floor."""
    task = envs.make_task('panda_reach')
    rng = np.random.default_rng(9)
    for _ in range(20):
        q = task.sample_configuration(rng)
        assert np.all(np.abs(q[:6] - SOFT_MID[:6]) <= SOFT_HALF[:6]) and q[6] == 0.0
        np.testing.assert_allclose(task.goal_of(q), models.panda_tcp_position(q), atol=1e-12)
        assert task.goal_of(q)[2] >= 0.05


@pytest.mark.parametrize('split, sizes', [
    ('test', {'panda_reach': 64, 'reach2d': 8}),
    ('validation', {'panda_reach': 64, 'reach2d': 64})])
def test_fixed_sets_are_redrawn_from_their_seeds(split, sizes):
    """Test and validation pairs: read-only, redrawn identically from the documented seed."""
    for task_id, size in sizes.items():
        pairs = getattr(envs, f'{split}_set')(task_id)
        assert len(pairs) == size and pairs.starts.shape[0] == size
        assert not pairs.goals.flags.writeable
        task = envs.make_task(task_id)
        rng = np.random.default_rng(pairs.seed)
        for k in range(size):
            start, goal = task.sample_start_goal(rng)
            np.testing.assert_array_equal(start, pairs.starts[k])
            np.testing.assert_array_equal(goal, pairs.goals[k])
        assert len(np.unique(pairs.goals, axis=0)) == size


def test_validation_and_test_pairs_are_disjoint():
    """Choices made on the validation set never see a test goal."""
    for task_id in envs.TASK_IDS:
        test, validation = envs.test_set(task_id).goals, envs.validation_set(task_id).goals
        gaps = np.linalg.norm(test[:, None] - validation[None], axis=-1)
        assert gaps.min() > 1e-6, task_id


def test_truncation_after_episode_steps():
    """Episodes are truncated (never terminated) after episode_steps; then step raises."""
    env = envs.make_env('reach2d', episode_steps=5)
    env.reset(seed=0)
    flags = [env.step(np.zeros(2))[2:4] for _ in range(5)]
    assert flags == [(False, False)] * 4 + [(False, True)]
    with pytest.raises(RuntimeError, match='reset'):
        env.step(np.zeros(2))
    full = envs.make_env('panda_reach')
    full.reset(seed=0)
    truncated = [full.step(np.zeros(6))[3] for _ in range(200)]
    assert truncated[-1] and not any(truncated[:-1])
    assert full.data.time == pytest.approx(4.0)


def test_retarget_goes_on_from_where_the_arm_is():
    """A retargeted episode keeps the motion and moves the goal, as the batch's does."""
    env = envs.make_env('panda_reach', episode_steps=5)
    with pytest.raises(RuntimeError, match='reset'):
        env.retarget([0.4, 0.2, 0.5])
    env.reset(seed=3)
    for _ in range(5):
        env.step(np.full(6, 0.5))
    qpos, qvel = env.data.qpos.copy(), env.data.qvel.copy()
    assert np.abs(qvel).max() > 0.1, 'the arm should be moving'
    with envs.make_batched_env('panda_reach', 1, episode_steps=5) as batch:
        batch.reset(seed=0, starts=env.start[None], goals=env.goal[None])
        for _ in range(5):
            batch.step(np.full((1, 6), 0.5))
        expected_obs, _ = batch.retarget([[0.4, 0.2, 0.5]])
        expected_next = batch.step(np.full((1, 6), -0.3))[0][0]
    obs, info = env.retarget([0.4, 0.2, 0.5])
    np.testing.assert_array_equal(obs, expected_obs[0])
    np.testing.assert_array_equal(env.data.qvel, qvel)
    np.testing.assert_array_equal(env.start, qpos)
    np.testing.assert_array_equal(info['goal'], [0.4, 0.2, 0.5])
    assert info['distance'] == pytest.approx(np.linalg.norm(info['ee'] - [0.4, 0.2, 0.5]))
    np.testing.assert_array_equal(env.step(np.full(6, -0.3))[0], expected_next)
    assert env.steps == 1
    with pytest.raises(ValueError, match=r'goal must have shape \(3,\)'):
        env.retarget([0.4, 0.2])


def test_bad_actions_and_options_raise(panda):
    """NaN/inf or mis-shaped actions and bad reset options raise clear errors."""
    panda.reset(seed=0)
    with pytest.raises(envs.ActionError, match='NaN/inf'):
        panda.step(np.array([0.0, np.nan, 0.0, 0.0, 0.0, 0.0]))
    with pytest.raises(envs.ActionError, match='NaN/inf'):
        panda.step(np.array([np.inf, 0.0, 0.0, 0.0, 0.0, 0.0]))
    with pytest.raises(envs.ActionError, match=r'shape \(6,\)'):
        panda.step(np.zeros(7))
    with pytest.raises(envs.ActionError, match='not numeric'):
        panda.step(['a'] * 6)
    with pytest.raises(ValueError, match='shape'):
        panda.reset(options={'goal': np.zeros(2)})
    with pytest.raises(ValueError, match='joint range'):
        panda.reset(options={'start': np.full(7, 3.0)})
    with pytest.raises(ValueError, match='non-finite'):
        panda.reset(options={'goal': [0.0, np.nan, 0.0]})
    with pytest.raises(ValueError, match='unknown reset options'):
        panda.reset(options={'target': np.zeros(3)})


@pytest.mark.parametrize('corrupt', ['huge_velocity', 'nan_position'])
def test_divergence_is_reported_and_reset(corrupt, tmp_path, monkeypatch):
    """A non-finite or runaway state is detected, warned about, reset and ends the episode."""
    monkeypatch.chdir(tmp_path)  # MuJoCo logs its warning to ./MUJOCO_LOG.TXT
    env = envs.make_env('panda_reach')
    env.reset(seed=3)
    for _ in range(3):
        env.step(np.zeros(6))
    if corrupt == 'huge_velocity':
        env.data.qvel[2] = 1e12
    else:
        env.data.qpos[1] = np.nan
    with pytest.warns(envs.SimulationDiverged, match='diverged'):
        obs, reward, terminated, truncated, info = env.step(np.zeros(6))
    assert info['diverged'] and truncated and not terminated
    np.testing.assert_array_equal(env.data.qpos, env.start)
    assert np.isfinite(obs).all() and math.isfinite(reward)
    with pytest.raises(RuntimeError, match='reset'):
        env.step(np.zeros(6))
    env.reset(seed=3)
    assert not env.step(np.zeros(6))[4]['diverged']


def test_divergence_on_the_first_step_is_detected(tmp_path, monkeypatch):
    """Even a blow-up on the very first physics step of an episode is caught."""
    monkeypatch.chdir(tmp_path)  # MuJoCo logs its warning to ./MUJOCO_LOG.TXT
    env = envs.make_env('reach2d')
    env.reset(seed=0)
    env.data.qvel[0] = 1e11
    with pytest.warns(envs.SimulationDiverged):
        info = env.step(np.zeros(2))[4]
    assert info['diverged']


def test_render_mode_is_validated():
    """Unknown render modes are refused; None renders nothing."""
    with pytest.raises(ValueError, match='render_mode'):
        envs.make_env('reach2d', render_mode='human')
    env = envs.make_env('reach2d')
    env.reset(seed=0)
    assert env.render() is None


def test_metrics_on_a_known_trajectory():
    """Distances 0.3, 0.2, 0.1, 0.04, 0.06 m along x give the hand-computed metrics."""
    goal = np.array([0.1, 0.2, 0.3])
    distances = np.array([0.3, 0.2, 0.1, 0.04, 0.06])
    ee = goal + distances[:, None] * np.array([1.0, 0.0, 0.0])
    result = envs.episode_metrics(ee, goal, 'panda_reach')
    assert result['final_distance'] == pytest.approx(0.06)
    assert result['min_distance'] == pytest.approx(0.04)
    assert result['integrated_distance'] == pytest.approx(0.7 * 0.02)
    assert result['steps_to_target'] == 4 and result['steps_on_target'] == 1
    assert result['success'] is False and result['authors_success'] is True
    far = envs.episode_metrics(ee + [0.2, 0.0, 0.0], goal, 'panda_reach')
    assert far['steps_to_target'] == -1 and far['authors_success'] is False
    batch = envs.episode_metrics(np.stack([ee, ee + [0.2, 0, 0]]), np.stack([goal, goal]),
                                 'panda_reach')
    np.testing.assert_array_equal(batch['steps_to_target'], [4, -1])
    summary = envs.summarize_metrics(batch)
    assert summary['success_rate'] == 0.0 and summary['authors_success_rate'] == 0.5
    assert summary['median_steps_to_target'] == 4.0
    with pytest.raises(ValueError, match='goal'):
        envs.episode_metrics(ee, goal[:2], 'panda_reach')


def test_reach2d_metrics_use_the_per_axis_authors_test():
    """An error of (0.04, 0.04) is within 0.05 per axis but not in L2 (0.0566)."""
    ee = np.array([[0.54, 0.24]])
    result = envs.episode_metrics(ee, np.array([0.5, 0.2]), 'reach2d')
    assert result['final_distance'] == pytest.approx(math.hypot(0.04, 0.04))
    assert result['success'] is False and result['authors_success'] is True


def test_task_spec_is_used_consistently_by_mujoco():
    """The task model steps 10 physics steps of 2 ms per control step."""
    task = envs.make_task('panda_reach')
    assert task.model.opt.timestep == 0.002 and task.n_substeps == 10
    assert task.model.opt.integrator == mujoco.mjtIntegrator.mjINT_IMPLICITFAST


def test_reach2d_velocity_observation():
    """With velocities=True two entries qvel / 10 rad/s follow; single and batched agree."""
    assert envs.task_spec('reach2d', velocities=True).obs_size == 8
    env = envs.make_env('reach2d', velocities=True)
    env.reset(seed=4)
    obs, *_ = env.step(np.full(2, 0.5))
    np.testing.assert_allclose(obs[6:], env.data.qvel[:2] / 10.0, atol=1e-15)
    assert np.abs(obs[6:]).max() > 0
    with envs.make_batched_env('reach2d', 2, num_threads=1, velocities=True) as batched:
        batched.reset(seed=4)
        obs_b, _ = batched.step(np.full((2, 2), 0.5))
    np.testing.assert_allclose(obs_b[0], obs, atol=1e-12)
