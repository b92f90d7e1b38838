# Copyright 2026 predctl_ros contributors
# SPDX-License-Identifier: Apache-2.0
"""Joint states of a ros2_control robot, and the command it needs, without ROS."""

import numpy as np
from predctl_ros.control import (
    command_order, ControlPacer, damped_stop, JointHold, JointStateError, JointStateMerger,
    PolicyRunner, resolve_checkpoint, RobotAdapter, RobotDynamics, TorqueRateLimiter,
    VelocityStop)
from predctl_ros.envs import models
from predctl_ros.envs.panda_sim import PandaSim
import pytest

ARM = list(models.PANDA_JOINTS)
FINGERS = ['panda_finger_joint1', 'panda_finger_joint2']
MS = 1_000_000


def test_merger_takes_its_joints_by_name_and_ignores_the_rest():
    merger = JointStateMerger(ARM)
    names = [FINGERS[0]] + ARM[::-1] + [FINGERS[1]]
    q = [0.04] + [float(i) for i in range(7, 0, -1)] + [0.04]
    assert merger.update(names, q, [0.0] * 9, 5 * MS)
    np.testing.assert_array_equal(merger.position, [1, 2, 3, 4, 5, 6, 7])
    assert merger.has_velocities and merger.stamp_ns == 5 * MS
    # A NaN on a joint we do not use is not ours to refuse.
    q[-1] = float('nan')
    assert merger.update(names, q, [0.0] * 9, 6 * MS)
    # A message without any of our joints (a gripper's own publisher) is ignored.
    assert not merger.update(FINGERS, [0.01, 0.01], [], 7 * MS)
    assert merger.stamp_ns == 6 * MS


def test_merger_joins_publishers_and_ages_each_joint():
    merger = JointStateMerger(ARM)
    merger.update(ARM[:4], [0.1] * 4, [0.2] * 4, 10 * MS)
    assert not merger.complete and merger.missing() == ARM[4:] and merger.stamp_ns is None
    merger.update(ARM[4:], [0.3] * 3, [], 12 * MS)
    np.testing.assert_allclose(merger.position, [0.1] * 4 + [0.3] * 3)
    assert merger.stamp_ns == 10 * MS and merger.oldest_joint() == ARM[0]
    assert not merger.has_velocities           # joints 5-7 came without
    merger.update(ARM[4:], [0.4] * 3, [0.5] * 3, 30 * MS)
    merger.update(ARM[:4], [0.6] * 4, [0.7] * 4, 31 * MS)
    assert merger.has_velocities and merger.stamp_ns == 30 * MS
    np.testing.assert_allclose(merger.velocity, [0.7] * 4 + [0.5] * 3)


@pytest.mark.parametrize('names, q, qd, match', [
    (ARM, [0.0] * 6, [], '6 positions and 0 velocities for 7 joint names'),
    (ARM, [0.0] * 7, [0.0] * 5, '7 positions and 5 velocities'),
    (ARM[:6] + [ARM[0]], [0.0] * 7, [], 'name a joint twice'),
    (ARM, [0.0] * 6 + [float('inf')], [], 'non-finite values'),
    (ARM + FINGERS, [0.0] * 9, [0.0] * 6 + [float('nan')] + [0.0] * 2, 'non-finite values'),
])
def test_merger_refuses_malformed_messages_whole(names, q, qd, match):
    merger = JointStateMerger(ARM)
    merger.update(ARM, [0.5] * 7, [0.0] * 7, MS)
    with pytest.raises(JointStateError, match=match):
        merger.update(names, q, qd, 2 * MS)
    np.testing.assert_array_equal(merger.position, [0.5] * 7)
    assert merger.stamp_ns == MS


def _answered(pacer, stamps):
    out = []
    for stamp in stamps:
        if pacer.due(stamp):
            pacer.answered(stamp)
            out.append(stamp)
    return out


def test_pacer_steps_once_per_period_at_any_state_rate():
    period = 20 * MS
    # A 1 kHz broadcaster: one step per 20 ms on average, evenly spaced.
    answered = _answered(ControlPacer(period), [i * MS for i in range(1001)])
    assert len(answered) == 51 and np.all(np.diff(answered)[1:] == period)
    # States at the control rate, jittering by +-3 ms: every one is answered.
    rng = np.random.default_rng(0)
    stamps = [int(i * period + rng.uniform(-3, 3) * MS) for i in range(1, 100)]
    assert _answered(ControlPacer(period), stamps) == stamps
    # A re-sent state is answered once; a clock that restarts starts a new grid.
    pacer = ControlPacer(period)
    assert _answered(pacer, [0, 0, period, period, 5 * MS, 25 * MS]) == [0, period, 5 * MS,
                                                                         25 * MS]


def test_rate_limiter_bounds_each_change():
    limiter = TorqueRateLimiter(1000.0, 0.02, 2)
    out = [limiter.limit([87.0, -5.0]).copy() for _ in range(6)]
    np.testing.assert_allclose([o[0] for o in out], [20, 40, 60, 80, 87, 87])
    assert all(o[1] == -5.0 for o in out) and limiter.limited == 4
    np.testing.assert_allclose(limiter.limit([-87.0, 0.0]), [67.0, 0.0])
    free = TorqueRateLimiter(0.0, 0.02, 1)
    assert free.limit([87.0])[0] == 87.0 and free.limited == 0
    with pytest.raises(ValueError, match='rate >= 0'):
        TorqueRateLimiter(-1.0, 0.02, 1)


def test_velocity_stop_trips_near_the_limit_and_resumes_when_slow():
    stop = VelocityStop([2.0, 2.0], 0.9)
    assert not stop.update([1.7, 0.0], ['a', 'b'])
    assert stop.update([0.0, -1.85], ['a', 'b']) and stop.trips == 1
    assert 'b at -1.850 rad/s, 92% of its limit 2 rad/s' == stop.last_trip
    assert stop.update([1.0, 0.0], ['a', 'b'])          # above half the threshold: still
    assert not stop.update([0.8, 0.0], ['a', 'b'])      # below 0.45 x 2: the policy again
    assert stop.trips == 1 and stop.stop_commands == 2
    assert not VelocityStop([2.0], 0.0).update([5.0], ['a'])


def test_damped_stop_brings_a_fast_arm_to_rest_without_reversing():
    sim = PandaSim(gravity_compensation=True, joint7_servo=False)
    dyn = RobotDynamics(sim.model, sim.urdf, sim.joint_names)
    sim.data.qvel[:] = 0.95 * sim.velocity_limits * np.array([1, -1, 1, 1, -1, 1, -1])
    start = sim.data.qvel.copy()
    for _ in range(10):
        st = sim.state()
        sim.step(damped_stop(dyn.inertia(st.position), st.velocity, 0.02, dyn.effort_limits))
        assert np.all(sim.data.qvel * start >= -0.05 * np.abs(start)), 'reversed'
    assert np.abs(sim.data.qvel).max() < 0.05 * np.abs(start).max()


def test_joint_hold_is_a_limited_pd():
    hold = JointHold([2], kp=10.0, kd=1.0, max_torque=3.0)
    with pytest.raises(RuntimeError):
        hold.torque([0.0] * 3, [0.0] * 3)
    hold.set_reference([9.0, 9.0, 0.5])
    np.testing.assert_allclose(hold.torque([0, 0, 0.4], [0, 0, 0.5]), [0.5])
    np.testing.assert_allclose(hold.torque([0, 0, 2.0], [0, 0, 0.0]), [-3.0])
    with pytest.raises(ValueError, match='>= 0'):
        JointHold([6], -1.0, 0.0, 1.0)


def test_command_order_follows_the_controller():
    index = command_order(ARM, ARM[::-1])
    np.testing.assert_array_equal(np.arange(7.0)[index], np.arange(7.0)[::-1])
    with pytest.raises(ValueError, match='must name each of'):
        command_order(ARM, ARM[:6] + ['fer_joint7'])


@pytest.fixture(scope='module')
def shipped():
    runner = PolicyRunner(resolve_checkpoint(''), control_dt_s=0.02)
    assert runner.task.torque_interface.name == 'direct'
    return runner, RobotDynamics(runner.task.model, PandaSim().urdf, models.PANDA_JOINTS)


def _run(runner, sim, adapter, goal, steps=200):
    runner.set_target(goal)
    adapter.adopt_goal(sim.state().position)
    path, q7 = [], []
    for _ in range(steps):
        st = sim.state()
        sim.step(adapter.command(runner.step(st.position, st.velocity), st.position,
                                 st.velocity))
        path.append(sim.state().ee_position)
        q7.append(sim.state().position[6])
    return np.array(path), np.array(q7)


@pytest.mark.parametrize('goal', [(0.45, 0.15, 0.4), (0.4, -0.3, 0.3)])
def test_gravity_subtraction_gives_the_policys_trajectory_on_a_compensating_robot(shipped,
                                                                                  goal):
    runner, dyn = shipped
    trained, _ = _run(runner, PandaSim(), RobotAdapter(
        dyn, 0.02, trained_with_compensation=False, robot_compensates=False), goal)
    compensating = {'gravity_compensation': True}
    same, _ = _run(runner, PandaSim(**compensating), RobotAdapter(
        dyn, 0.02, trained_with_compensation=False, robot_compensates=True), goal)
    twice, _ = _run(runner, PandaSim(**compensating), RobotAdapter(
        dyn, 0.02, trained_with_compensation=False, robot_compensates=False), goal)
    # The same path up to the robot's compensation changing within a control period (the
    # subtracted g(q) is held for it): millimetres on average (measured 5-8), where gravity
    # counted twice is centimetres off (measured 3.2-5.5; the closed loop pulls it back).
    same_off = np.linalg.norm(same - trained, axis=1)
    twice_off = np.linalg.norm(twice - trained, axis=1)
    assert same_off.mean() < 0.015 and same_off.max() < 0.04
    assert twice_off.mean() > max(0.025, 3 * same_off.mean())
    assert np.linalg.norm(same[-1] - np.array(goal)) < 0.03


def test_a_servoless_compensating_panda_is_driven_safely_to_goals(shipped):
    runner, dyn = shipped
    for goal in [(0.45, 0.15, 0.4), (0.4, -0.3, 0.3)]:
        sim = PandaSim(gravity_compensation=True, joint7_servo=False)
        adapter = RobotAdapter(dyn, 0.02, trained_with_compensation=False,
                               robot_compensates=True,
                               hold=JointHold([6], kp=20.0, kd=1.0, max_torque=12.0),
                               rate_nm_s=1000.0, velocity_stop_share=0.9)
        start = sim.state().position[6]
        path, q7 = _run(runner, sim, adapter, goal)
        assert np.linalg.norm(path[-1] - goal) < 0.05, goal
        assert np.abs(q7 - start).max() < 0.05, 'joint 7 drifted'
        assert adapter.limiter.limited > 0      # the shipped policy switches faster


def test_hold_and_stop_carry_gravity_on_a_robot_that_does_not_compensate(shipped):
    runner, dyn = shipped
    q = np.array([0.0, -0.785, 0.0, -2.356, 0.0, 1.571, 0.3])
    g = dyn.gravity(q).copy()
    adapter = RobotAdapter(dyn, 0.02, trained_with_compensation=True, robot_compensates=False,
                           hold=JointHold([6], 5.0, 0.3, 12.0), velocity_stop_share=0.9)
    adapter.adopt_goal(q)
    policy = np.r_[np.ones(6), 0.0]
    np.testing.assert_allclose(adapter.command(policy, q, np.zeros(7)), policy + g)
    qd = np.zeros(7)
    qd[0] = 2.0
    stop = damped_stop(dyn.inertia(q), qd, 0.02, dyn.effort_limits) + g
    np.testing.assert_allclose(adapter.command(policy, q, qd), stop)


def test_joint_hold_brings_a_kicked_wrist_back(shipped):
    _, dyn = shipped
    drift = {}
    for held in (False, True):
        sim = PandaSim(gravity_compensation=True, joint7_servo=False)
        # Trained with compensation: a zero policy torque is "stay" on this robot.
        adapter = RobotAdapter(dyn, 0.02, trained_with_compensation=True,
                               robot_compensates=True,
                               hold=JointHold([6], 20.0, 1.0, 12.0) if held else None)
        start = sim.state().position
        adapter.adopt_goal(start)
        sim.data.qvel[6] = 1.0                 # the wrist knocked, 0.4 of its limit
        for _ in range(100):
            st = sim.state()
            sim.step(adapter.command(np.zeros(7), st.position, st.velocity))
        drift[held] = abs(sim.state().position[6] - start[6])
    # Unheld, friction stops it where the kick left it (measured 0.06 rad); held, the PD
    # brings it back to within friction / kp (0.3 / 20 rad).
    assert drift[True] < 0.02 and drift[False] > 0.04, drift


@pytest.mark.parametrize('compensating', [True, False])
def test_hold_still_keeps_a_moving_arm_where_it_stops(shipped, compensating):
    """Between goals on a robot without a hold of its own: the arm stops and stays."""
    _, dyn = shipped
    sim = PandaSim(gravity_compensation=compensating, joint7_servo=False)
    adapter = RobotAdapter(dyn, 0.02, trained_with_compensation=False,
                           robot_compensates=compensating)
    sim.data.qvel[:4] = [0.5, -0.5, 0.5, 0.5]       # moving when the goal is cleared
    for _ in range(25):                              # half a second to stop
        st = sim.state()
        sim.step(adapter.hold_still(st.position, st.velocity))
    stopped = sim.state().position.copy()
    for _ in range(100):                             # then two seconds of holding
        st = sim.state()
        sim.step(adapter.hold_still(st.position, st.velocity))
    # Measured: rest within 0.01 rad/s; the held pose creeps by friction-sized amounts.
    assert np.abs(sim.state().velocity).max() < 0.05
    assert np.abs(sim.state().position - stopped).max() < 0.02
    # Without it (nothing commanded: zero torque) a non-compensating arm falls.
    if not compensating:
        fall = PandaSim(gravity_compensation=False, joint7_servo=False)
        start = fall.state().position.copy()
        for _ in range(50):
            fall.step(np.zeros(7))
        assert np.abs(fall.state().position - start).max() > 0.1
