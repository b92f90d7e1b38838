# Copyright 2026 predctl_ros contributors
# SPDX-License-Identifier: Apache-2.0
"""Bags of a simulated run, written by rosbags' own Writer, become the run's episodes."""

import bag_factory as bf
import numpy as np
from predctl_ros import bags, envs
from predctl_ros.learning.replay import ReplayBuffer
import pytest

GOAL_A, GOAL_B, GOAL_C = [0.5, 0.0, 0.4], [0.4, 0.3, 0.4], [0.3, -0.3, 0.6]
SWITCH, STEPS = 80, 150
ATOL = 1e-6  # float32 episodes


@pytest.fixture(scope='module')
def run():
    return bf.rollout(STEPS, {0: GOAL_A, SWITCH: GOAL_B})


@pytest.fixture(scope='module')
def task():
    return envs.make_task('panda_reach')


def _load(paths, task, **options):
    options.setdefault('min_steps', 10)
    return bags.load_bags(paths, task, bags.ConvertOptions(**options))


@pytest.mark.parametrize('storage', ['mcap', 'sqlite3'])
def test_episodes_equal_the_simulated_run(tmp_path, run, task, storage):
    path = bf.write_bag(tmp_path / 'bag', bf.messages(run), storage)
    load = _load([path], task)
    assert load.errors == []
    (summary,) = load.summaries
    assert summary.storage == storage and summary.goal_source == 'active_target'
    assert (summary.episodes, summary.steps, summary.goal_changes) == (2, STEPS, 2)
    first, second = load.episodes
    # Cut at the target change: the boundary observation ends one episode, starts the next.
    assert (first.length, second.length) == (SWITCH, STEPS - SWITCH)
    np.testing.assert_allclose(first.obs, run.obs[:SWITCH + 1], atol=ATOL)
    np.testing.assert_allclose(second.obs, run.obs[SWITCH:], atol=ATOL)
    np.testing.assert_allclose(first.action, run.action[:SWITCH], atol=ATOL)
    np.testing.assert_allclose(second.action, run.action[SWITCH:], atol=ATOL)
    np.testing.assert_allclose(first.goal, np.broadcast_to(GOAL_A, (SWITCH, 3)), atol=ATOL)
    np.testing.assert_allclose(second.goal, np.broadcast_to(GOAL_B, (STEPS - SWITCH, 3)),
                               atol=ATOL)


def test_actions_are_torques_over_limits_clipped(tmp_path, run, task):
    items = list(bf.messages(run))
    big = np.r_[3 * task.effort, 0.0]
    for i, (topic, msgtype, msg, t) in enumerate(items):
        if topic == '/effort_controller/commands':
            items[i] = (topic, msgtype, bf.command(big), t)
            break
    load = _load([bf.write_bag(tmp_path / 'bag', items)], task)
    np.testing.assert_array_equal(load.episodes[0].action[0], np.ones(6, np.float32))


def test_time_gap_cuts_the_episode(tmp_path, run, task):
    path = bf.write_bag(tmp_path / 'bag', bf.messages(run, drop=range(30, 41)))
    load = _load([path], task)
    (summary,) = load.summaries
    assert summary.gaps == 1
    lengths = [e.length for e in load.episodes]
    # states 0..29 | 41..80 (target change) | 80..150
    assert lengths == [29, SWITCH - 41, STEPS - SWITCH]
    np.testing.assert_allclose(load.episodes[1].obs, run.obs[41:SWITCH + 1], atol=ATOL)
    np.testing.assert_allclose(load.episodes[1].action, run.action[41:SWITCH], atol=ATOL)


def test_short_pieces_are_dropped_and_counted(tmp_path, run, task):
    path = bf.write_bag(tmp_path / 'bag', bf.messages(run))
    load = _load([path], task, min_steps=75)
    (summary,) = load.summaries
    assert [e.length for e in load.episodes] == [SWITCH]
    assert (summary.short_pieces, summary.short_steps) == (1, STEPS - SWITCH)


def test_goals_from_rviz_topics_without_active_target(tmp_path, task):
    run = bf.rollout(120, {0: GOAL_A, 60: GOAL_C})
    topics = {0: '/goal_pose', 60: '/clicked_point'}
    path = bf.write_bag(tmp_path / 'bag', bf.messages(run, goal_topics=topics))
    load = _load([path], task, goal_height=GOAL_A[2])
    assert load.summaries[0].goal_source == 'goal_pose/clicked_point'
    first, second = load.episodes
    np.testing.assert_allclose(first.goal[0], GOAL_A, atol=ATOL)   # z from goal_height
    np.testing.assert_allclose(second.goal[0], GOAL_C, atol=ATOL)  # full 3-D point
    np.testing.assert_allclose(second.obs, run.obs[60:], atol=ATOL)


def test_joint_order_and_other_publishers(tmp_path, run, task):
    """Names in another order are permuted; a gripper's joint states are ignored."""
    order = [6, 0, 5, 1, 4, 2, 3]
    items = []
    for topic, msgtype, msg, t in bf.messages(run):
        if topic == '/joint_states':
            stamp = msg.header.stamp.sec * 10**9 + msg.header.stamp.nanosec
            msg = bf.joint_state(stamp, msg.position[order], msg.velocity[order],
                                 [bf.JOINTS[i] for i in order])
            items.append(('/joint_states', msgtype, bf.joint_state(
                stamp + 1, [0.01, 0.01], [0.0, 0.0], ['finger1', 'finger2']), t + 1))
        items.append((topic, msgtype, msg, t))
    load = _load([bf.write_bag(tmp_path / 'bag', items)], task)
    assert load.errors == []
    np.testing.assert_allclose(load.episodes[0].obs, run.obs[:SWITCH + 1], atol=ATOL)


def test_renamed_joints(tmp_path, run, task):
    names = [f'fer_joint{i}' for i in range(1, 8)]
    path = bf.write_bag(tmp_path / 'bag', bf.messages(run, names=names))
    load = _load([path], task, joint_names=tuple(names))
    np.testing.assert_allclose(load.episodes[1].obs, run.obs[SWITCH:], atol=ATOL)


def test_resampling_onto_the_control_period(tmp_path, task):
    """Jittered 100 Hz joint states are interpolated onto the 50 Hz grid."""
    rng = np.random.default_rng(0)
    n = 301
    t_ns = bf.SIM_T0_NS + np.arange(n) * 10_000_000 + rng.integers(-2, 3, n) * 1_000_000
    t_ns[[0, -1]] = bf.SIM_T0_NS + np.array([0, n - 1]) * 10_000_000
    q0, rate = np.array([0.1, -0.5, 0.2, -2.0, 0.1, 1.5, 0.0]), np.full(7, 0.05)
    q = q0 + np.outer((t_ns - bf.SIM_T0_NS) / 1e9, rate)
    items = [('/active_target', 'geometry_msgs/msg/PointStamped',
              bf.point(bf.SIM_T0_NS, GOAL_A), bf.WALL_T0_NS)]
    for k in range(n):
        wall = bf.WALL_T0_NS + (k + 1) * 10_000_000
        items.append(('/joint_states', 'sensor_msgs/msg/JointState',
                      bf.joint_state(t_ns[k], q[k], rate), wall))
        if k % 2 == 0:
            items.append(('/effort_controller/commands', 'std_msgs/msg/Float64MultiArray',
                          bf.command(np.full(7, k / 100.0)), wall + 1_000_000))
    load = _load([bf.write_bag(tmp_path / 'bag', items)], task)
    (episode,) = load.episodes
    grid_s = np.arange(episode.length + 1) * 0.02
    expected = np.empty((len(grid_s), 9))
    q_grid = q0 + np.outer(grid_s, rate)
    task.observe_batch(q_grid, np.zeros_like(q_grid), envs.panda_tcp_position(q_grid),
                       expected)
    assert episode.length == 150
    np.testing.assert_allclose(episode.obs, expected, atol=ATOL)
    # Command k (sent after state 2k, at t = 20k ms) drives control interval k.
    np.testing.assert_allclose(episode.action[:, 0],
                               np.clip(np.arange(150) * 0.02 / task.effort[0], -1, 1),
                               atol=ATOL)


def test_fill_replay_and_sample_windows(tmp_path, run, task):
    load = _load([bf.write_bag(tmp_path / 'bag', bf.messages(run))], task, min_steps=45)
    buffer = ReplayBuffer(9, 6, 3)
    assert bags.fill_replay(buffer, load.episodes) == STEPS
    window = buffer.sample(8, 45, np.random.default_rng(0))
    assert window.obs.shape == (46, 8, 9) and window.action.shape == (45, 8, 6)
    with pytest.raises(ValueError, match='another task'):
        bags.fill_replay(ReplayBuffer(6, 2, 2), load.episodes)


def test_split_held_out():
    episodes = list(range(12))
    train, held = bags.split_held_out(episodes, every=5)
    assert held == [4, 9] and len(train) == 10
    assert bags.split_held_out([1, 2], every=5) == ([1], [2])
    assert bags.split_held_out([1], every=5) == ([1], [])
