# Copyright 2026 predctl_ros contributors
# SPDX-License-Identifier: Apache-2.0
"""PolicyRunner (checkpoint -> torques, validated) and the goal checker, without ROS."""

import numpy as np
from policy_checkpoints import GOAL, make_checkpoint, Q, QD
from predctl_ros.control import (
    checkpoint_torque_interface, CheckpointMismatch, GoalChecker, GoalRejected, PolicyRunner,
    REACH_M, StepStats)
from predctl_ros.envs.models import panda_tcp_position
from predctl_ros.envs.tasks import make_task
from predctl_ros.snn.checkpoint import CheckpointError, load_checkpoint
import pytest
import torch

EFFORT = np.array([87.0, 87.0, 87.0, 87.0, 12.0, 12.0])


def _joint_states(n, velocities=False):
    rng = np.random.default_rng(1)
    q = np.array(Q) + 0.05 * rng.standard_normal((n, 7))
    q[:, 6] = 0.0
    qd = 0.3 * rng.standard_normal((n, 7)) if velocities else np.zeros((n, 7))
    return q, qd


def _reference_obs(q, qd, velocities):
    # Independent of the runner: soft limits from the task, TCP from the DH formula.
    task = make_task('panda_reach')
    obs = [(q[:, :6] - task.soft_mid[:6]) / task.soft_half[:6], panda_tcp_position(q)]
    if velocities:
        obs.append(qd[:, :6] / task.velocity_limits[:6])
    return np.concatenate(obs, axis=1)


@pytest.mark.parametrize('velocities', [False, True])
def test_runner_matches_the_sequence_api(tmp_path, velocities):
    path = make_checkpoint(tmp_path / 'p.safetensors', n_obs=15 if velocities else 9,
                           task_options={'velocities': True} if velocities else None)
    runner = PolicyRunner(path, control_dt_s=0.02)
    assert runner.needs_velocities == velocities
    runner.set_target(GOAL)
    q, qd = _joint_states(12, velocities)
    torques, synops = [], 0
    for t in range(len(q)):
        torques.append(runner.step(q[t], qd[t] if velocities else None).copy())
        synops += runner.synops
        assert runner.last_step_s > 0
    torques = np.array(torques)

    obs = _reference_obs(q, qd, velocities)
    x = np.concatenate((obs, np.tile(GOAL, (len(q), 1))), axis=1)
    net = load_checkpoint(path)['policy'].double()
    with torch.no_grad():
        actions, _ = net(torch.from_numpy(x)[:, None])
    expected = actions[:, 0].numpy() * EFFORT
    # The stepper folds the float32 input normalisation into its weights before widening
    # to float64, hence agreement to float32 rounding, not to the last bit.
    np.testing.assert_allclose(torques[:, :6], expected, rtol=1e-5, atol=1e-5)
    assert np.all(torques[:, 6] == 0.0)            # the simulator holds joint 7
    assert np.abs(torques[:, :6]).max() > 0.1      # the test means something
    assert synops > 0 and runner.rates_hz.shape == (2,)

    # A new target restarts the network from rest: the first step repeats.
    runner.set_target(GOAL)
    first = runner.step(q[0], qd[0] if velocities else None)
    np.testing.assert_allclose(first, torques[0], atol=1e-12)


def test_runner_refuses_bad_joint_states_and_needs_a_target(tmp_path):
    runner = PolicyRunner(make_checkpoint(tmp_path / 'p.safetensors'))
    with pytest.raises(RuntimeError, match='no target'):
        runner.step(Q)
    runner.set_target(GOAL)
    with pytest.raises(ValueError, match='7 finite'):
        runner.step(Q[:6])
    with pytest.raises(ValueError, match='7 finite'):
        runner.step((float('nan'),) + Q[1:])
    with pytest.raises(ValueError, match='velocities must be 7 finite'):
        runner.step(Q, (0.0,) * 6)
    assert runner.step(Q, QD).shape == (7,)   # velocities are optional when not observed

    vel = PolicyRunner(make_checkpoint(tmp_path / 'v.safetensors', n_obs=15,
                                       task_options={'velocities': True}))
    vel.set_target(GOAL)
    with pytest.raises(ValueError, match='observes joint velocities'):
        vel.step(Q)


@pytest.mark.parametrize('kwargs, control_dt_s, message', [
    ({'task': 'reach2d', 'n_obs': 6, 'n_goal': 2, 'n_act': 2}, 0.02,
     "trained on task 'reach2d'"),
    ({'task': None}, 0.02, 'trained on task None'),
    ({'n_obs': 10}, 0.02, 'policy takes 13 inputs'),
    ({'n_act': 7}, 0.02, 'policy gives 7 actions'),
    ({'n_obs': 15}, 0.02, 'policy takes 18 inputs'),
    ({'substeps': 15}, 0.02, 'longer than the control period'),
    ({}, 0.01, 'trained for a control period of 0.02 s'),
    ({'task_options': {'velocities': True}}, 0.02, 'policy takes 12 inputs'),
    ({'task_options': {'wings': 2}}, 0.02, 'do not build'),
])
def test_mismatched_checkpoints_are_refused(tmp_path, kwargs, control_dt_s, message):
    path = make_checkpoint(tmp_path / 'bad.safetensors', hidden=(8,), **kwargs)
    with pytest.raises(CheckpointMismatch, match=message) as info:
        PolicyRunner(path, control_dt_s=control_dt_s)
    assert str(path) in str(info.value)


def test_the_robot_must_add_to_torques_what_the_policy_was_trained_with(tmp_path):
    """A checkpoint names its torque interface; a robot with another one refuses it."""
    damped = make_checkpoint(tmp_path / 'damped.safetensors', hidden=(8,),
                             task_options={'torque_interface': 'franka_damped'})
    older = make_checkpoint(tmp_path / 'older.safetensors', hidden=(8,))
    assert checkpoint_torque_interface(damped) == 'franka_damped'
    assert checkpoint_torque_interface(older) == 'direct'
    assert PolicyRunner(damped, torque_interface='franka_damped').task.model.dof_damping[0] \
        == 51.0
    PolicyRunner(older, torque_interface='direct')
    with pytest.raises(CheckpointMismatch, match="torque_interface 'franka_damped', the "
                       "robot has 'direct'") as info:
        PolicyRunner(damped, torque_interface='direct')
    assert str(damped) in str(info.value)
    with pytest.raises(CheckpointMismatch, match='do not build'):
        PolicyRunner(make_checkpoint(tmp_path / 'odd.safetensors', hidden=(8,),
                                     task_options={'torque_interface': 'soft'}))


def test_a_checkpoint_for_another_rate_runs_at_that_rate(tmp_path):
    path = make_checkpoint(tmp_path / 'fast.safetensors', hidden=(8,), substeps=1,
                           task_options={'control_dt_s': 0.002})
    assert PolicyRunner(path, control_dt_s=0.002).spec.control_dt_s == 0.002


def test_corrupt_and_missing_files_are_refused(tmp_path):
    good = make_checkpoint(tmp_path / 'good.safetensors', hidden=(8,))
    corrupt = tmp_path / 'corrupt.safetensors'
    corrupt.write_bytes(good.read_bytes()[:200])
    for path in (corrupt, tmp_path / 'missing.safetensors'):
        with pytest.raises(CheckpointError) as info:
            PolicyRunner(path)
        assert str(path) in str(info.value)


def test_step_stats_summary():
    stats = StepStats(capacity=4)
    for i in range(6):
        stats.add(0.001 * (i + 1), np.array([10.0, 20.0]), 100, state_to_command_s=0.002)
    out = stats.summary()
    assert out['steps'] == 6
    assert out['step_latency_max_ms'] == pytest.approx(6.0)   # the ring keeps the last 4
    assert out['rate_hz'] == [10.0, 20.0] and out['synops_per_step'] == 100
    assert out['state_to_command_p99_ms'] == pytest.approx(2.0)
    assert stats.summary() == {'steps': 0, 'commands_total': 6, 'late_commands_total': 0}


def test_step_stats_count_late_commands_over_all_windows():
    stats = StepStats(capacity=4, late_s=0.002)
    for latency in (0.001, 0.0021, 0.002, 0.005):
        stats.add(0.0005, np.array([1.0]), 1, state_to_command_s=latency)
    assert stats.summary()['late_commands_total'] == 2   # 2.1 and 5 ms; 2.0 is on time
    stats.add(0.0005, np.array([1.0]), 1, state_to_command_s=0.003)
    stats.add(0.0005, np.array([1.0]), 1)                 # no arrival time: not counted
    out = stats.summary()
    assert (out['commands_total'], out['late_commands_total']) == (5, 3)


@pytest.mark.parametrize('point, frame, message', [
    ((0.5, 0.0, float('nan')), 'panda_link0', 'non-finite'),
    ((0.5, 0.0, float('inf')), 'world', 'non-finite'),
    ((0.5, 0.0, 0.4), 'map', "frame 'map' is not one of"),
    ((0.5, 0.0, 0.4), '', "frame '' is not one of"),
    ((1.2, 0.0, 0.4), 'panda_link0', 'the arm reaches at most 0.947 m'),
    ((0.0, 0.0, 1.4), 'panda_link0', 'the arm reaches at most'),
    ((0.5, 0.0, 0.01), 'panda_link0', 'below the floor margin'),
    ((0.5, 0.0, -0.2), 'panda_link0', 'below the floor margin'),
    ((0.05, 0.05, 0.2), 'panda_link0', 'inside the base column'),
    ((0.5, 0.0), 'panda_link0', 'needs 3 coordinates'),
])
def test_goal_checker_refuses_with_a_reason(point, frame, message):
    with pytest.raises(GoalRejected, match=message):
        GoalChecker().check(point, frame)


def test_goal_checker_accepts_what_the_task_samples():
    checker = GoalChecker()
    for point in [(0.5, 0.0, 0.4), (0.4, 0.3, 0.5), (0.05, 0.0, 0.9), (0.0, 0.3, 0.06)]:
        np.testing.assert_array_equal(checker.check(point, 'world'), point)
    assert REACH_M == pytest.approx(0.9474, abs=1e-4)
    # The bound is the arm's: every sampled reachable TCP passes the reach test, and the
    # column and floor refuse only a small share of what the task draws.
    task = make_task('panda_reach')
    rng = np.random.default_rng(3)
    refused = 0
    for _ in range(300):
        goal = task.goal_of(task.sample_configuration(rng))
        try:
            checker.check(goal, 'panda_link0')
        except GoalRejected as exc:
            assert 'base column' in str(exc)
            refused += 1
    assert refused < 10
