# Copyright 2026 predctl_ros contributors
# SPDX-License-Identifier: Apache-2.0
"""Replay buffer: window sampling, eviction, bad input, save/load."""

import numpy as np
from predctl_ros.learning.replay import ReplayBuffer
import pytest


def _episode(length, start, n_obs=3, n_act=2, n_goal=2):
    t = np.arange(length + 1, dtype=np.float32)[:, None] + start
    obs = np.repeat(t, n_obs, 1)
    return obs, obs[:-1, :n_act] * 10, np.full(n_goal, start, np.float32)


def test_windows_are_contiguous_slices_of_one_episode():
    buf = ReplayBuffer(3, 2, 2)
    for i, length in enumerate([5, 12, 30]):
        buf.add(*_episode(length, 1000 * i))
    w = buf.sample(200, 8, np.random.default_rng(0))
    assert w.obs.shape == (9, 200, 3) and w.action.shape == (8, 200, 2)
    assert w.goal.shape == (8, 200, 2)
    # Consecutive steps of one window differ by exactly 1 and share the episode's goal.
    np.testing.assert_array_equal(np.diff(w.obs[:, :, 0], axis=0), 1.0)
    np.testing.assert_array_equal(w.action[:, :, 0], w.obs[:-1, :, 0] * 10)
    episode_start = w.obs[0, :, 0] // 1000 * 1000
    np.testing.assert_array_equal(w.goal[:, :, 0], episode_start[None].repeat(8, 0))
    # The 5-step episode is too short for 8-step windows; the others are drawn in
    # proportion to how many windows they hold (5 vs 23).
    episode = w.obs[0, :, 0] // 1000
    assert set(np.unique(episode)) == {1, 2}
    assert 0.1 < np.mean(episode == 1) < 0.3


def test_capacity_evicts_oldest_whole_episodes():
    buf = ReplayBuffer(3, 2, 2, capacity_steps=50)
    for i in range(6):
        buf.add(*_episode(20, 1000 * i))
    assert len(buf) == 2 and buf.total_steps == 40
    assert buf.episodes[0].obs[0, 0] == 4000


def test_bad_episodes_are_rejected_with_reasons():
    buf = ReplayBuffer(3, 2, 2)
    obs, act, goal = _episode(10, 0)
    with pytest.raises(ValueError, match=r'obs has shape \(10, 3\), expected \(11, 3\)'):
        buf.add(obs[:-1], act, goal)
    bad = act.copy()
    bad[3, 1] = np.nan
    with pytest.raises(ValueError, match='action holds non-finite values'):
        buf.add(obs, bad, goal)
    with pytest.raises(ValueError, match='no episode holds a window of 50 steps'):
        buf.add(obs, act, goal)
        buf.sample(4, 50, np.random.default_rng(0))
    assert len(buf) == 1


def test_save_load_round_trip(tmp_path):
    buf = ReplayBuffer(3, 2, 2, capacity_steps=1000)
    for i, length in enumerate([7, 9]):
        buf.add(*_episode(length, 100 * i))
    path = buf.save(tmp_path / 'replay.npz')
    back = ReplayBuffer.load(path)
    assert back.sizes == buf.sizes and back.capacity_steps == 1000
    for a, b in zip(buf.episodes, back.episodes):
        for x, y in zip(a, b):
            np.testing.assert_array_equal(x, y)
    (tmp_path / 'broken.npz').write_bytes(path.read_bytes()[:100])
    with pytest.raises(ValueError, match='broken.npz: not a readable replay file'):
        ReplayBuffer.load(tmp_path / 'broken.npz')
