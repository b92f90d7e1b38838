# Copyright 2026 predctl_ros contributors
# SPDX-License-Identifier: Apache-2.0
"""The single-world Panda simulator of the ROS node against the task's own stepping."""

import subprocess
import sys

import mujoco
import numpy as np
from predctl_ros import envs
from predctl_ros.envs import panda_sim, physics, tasks, torque_interfaces
import pytest

READY = [0.0, -0.785, 0.0, -2.356, 0.0, 1.571, 0.0]


@pytest.fixture(scope='module')
def sim():
    return panda_sim.PandaSim(initial_positions=READY)


@pytest.mark.parametrize('interface', sorted(torque_interfaces.INTERFACES))
def test_same_torques_same_trajectory_as_the_task(interface):
    """
    Torques tau = a * effort from a test-set start reproduce the task's stepping.

    Bit for bit against velocity-limited mj_steps on the task's own model and against the
    batched env, for every torque interface.
    """
    pairs = envs.test_set('panda_reach')
    actions = np.random.default_rng(3).uniform(-1.0, 1.0, (25, 6))
    sim = panda_sim.PandaSim(torque_interface=interface)
    sim.reset(pairs.starts[5])
    task = envs.make_task('panda_reach', torque_interface=interface)
    assert sim.n_substeps == task.n_substeps
    assert sim.model.opt.timestep == task.model.opt.timestep
    plain = mujoco.MjData(task.model)
    task.set_state(plain, pairs.starts[5], pairs.goals[5])
    with envs.make_batched_env('panda_reach', 1, num_threads=1,
                               torque_interface=interface) as batch:
        batch.reset(seed=0, starts=pairs.starts[5:6], goals=pairs.goals[5:6])
        for action in actions:
            sim.step(np.append(action * task.effort, 0.0))
            plain.ctrl[:6] = action * task.effort
            physics.step_limited(task.model, plain, task.n_substeps, task.velocity_limits)
            batch.step(action[None])
            np.testing.assert_array_equal(sim.data.qpos, plain.qpos)
            np.testing.assert_array_equal(sim.data.qvel, plain.qvel)
            np.testing.assert_array_equal(sim.data.qpos, batch.datas[0].qpos)
            np.testing.assert_array_equal(sim.data.qvel, batch.datas[0].qvel)
        np.testing.assert_array_equal(sim.state().ee_position, batch.worlds.site[0])


def test_clock_counts_control_periods(sim):
    """Each step advances exactly 20 ms of integer nanoseconds; reset keeps the clock."""
    t0 = sim.time_ns
    sim.step(np.zeros(7))
    sim.hold()
    assert sim.time_ns - t0 == 2 * 20_000_000 == 2 * sim.control_period_ns
    sim.reset()
    assert sim.time_ns - t0 == 40_000_000


def test_torques_clipped_to_limits(sim):
    """Commands beyond the limits act as the limits and are reported as applied effort."""
    sim.reset()
    big = np.array([500.0, -500.0, 500.0, -500.0, 50.0, -50.0, 50.0])
    np.testing.assert_array_equal(sim.clip_torques(big), [87, -87, 87, -87, 12, -12, 12])
    sim.step(big)
    expected = sim.state()
    sim.reset()
    sim.step([87, -87, 87, -87, 12, -12, 12])
    np.testing.assert_array_equal(sim.state().position, expected.position)
    np.testing.assert_array_equal(expected.effort[:6], [87, -87, 87, -87, 12, -12])


def test_bad_torques_refused(sim):
    """Wrong length or NaN/inf raise ActionError and do not advance the clock."""
    t0 = sim.time_ns
    for bad in (np.zeros(6), [0, 0, 0, np.nan, 0, 0, 0], [np.inf] + [0] * 6, 'abc'):
        with pytest.raises(tasks.ActionError):
            sim.step(bad)
    assert sim.time_ns == t0


def test_zero_torque_falls_direct_and_holds_on_the_franka_interface():
    """Without torque the arm falls; Franka's interface compensates gravity: it stays put."""
    falling = panda_sim.PandaSim(initial_positions=READY)
    held = panda_sim.PandaSim(initial_positions=READY, torque_interface='franka_damped')
    for _ in range(25):  # 0.5 s
        falling.step(np.zeros(7))
        held.step(np.zeros(7))
    assert np.abs(falling.state().position - READY).max() > 0.05
    assert np.abs(held.state().position - READY).max() < 1e-9
    np.testing.assert_allclose(held.state().effort[:6], held.gravity_torques()[:6],
                               atol=1e-9)


def test_franka_interface_damps_a_moving_arm_and_reports_the_damping_torque():
    """
    The loop's damping slows a pushed arm and shows in the applied effort.

    A constant joint-1 torque with gravity compensated: the damped joint settles near
    tau / (d_robot + d_loop) (joint 1's axis is vertical, so gravity does no work on it),
    while the direct arm keeps accelerating up to its velocity limit.
    """
    tau = np.array([40.0, 0, 0, 0, 0, 0, 0])
    damped = panda_sim.PandaSim(initial_positions=READY, torque_interface='franka_damped')
    for _ in range(25):  # 0.5 s: many time constants of I / d (about 0.01 s)
        damped.step(tau)
    d_total = damped.model.dof_damping[0]
    assert d_total == 1.0 + torque_interfaces.INTERFACES['franka_damped'].added_damping[0]
    state = damped.state()
    assert state.velocity[0] == pytest.approx(40.0 / d_total, rel=0.05)
    # Motor torque + gravity compensation - damping x speed (the robot's own 1 Nm s/rad is
    # the joint's, not the drive's).
    drive = 40.0 + damped.data.qfrc_gravcomp[0] - (d_total - 1.0) * state.velocity[0]
    assert state.effort[0] == pytest.approx(drive, abs=1e-9)
    direct = panda_sim.PandaSim(initial_positions=READY)
    for _ in range(25):
        direct.step(tau)
    assert abs(direct.state().velocity[0]) > 2 * abs(state.velocity[0])


def test_damped_hold_keeps_the_arm_nearly_still():
    """The hold holds against gravity and brings a moving arm to rest."""
    sim = panda_sim.PandaSim(initial_positions=READY, hold_damping=20.0)
    for _ in range(50):
        sim.hold()
    assert sim.holding and np.abs(sim.state().position - READY).max() < 1e-6
    sim.reset()
    sim.data.qvel[:6] = 1.0  # a fast-moving arm when commands stop
    for _ in range(50):  # 1 s
        sim.hold()
    state = sim.state()
    assert np.abs(state.velocity).max() < 0.01
    assert np.abs(state.position - READY).max() < 0.5
    sim.step(np.zeros(7))
    assert not sim.holding


def test_bad_configurations_refused(sim):
    """Wrong length, non-finite or out-of-limit configurations are refused, naming the joint."""
    assert sim.configuration_problem(READY) is None
    assert 'needs 7' in sim.configuration_problem([0.0] * 6)
    assert 'non-finite' in sim.configuration_problem([np.nan] + READY[1:])
    problem = sim.configuration_problem([0.0, -0.785, 0.0, 0.5, 0.0, 1.571, 0.0])
    assert 'panda_joint4' in problem and 'outside' in problem
    with pytest.raises(ValueError, match='panda_joint6'):
        sim.reset([0.0, -0.785, 0.0, -2.356, 0.0, 4.0, 0.0])
    with pytest.raises(ValueError, match='panda_joint2'):
        panda_sim.PandaSim(initial_positions=[0.0, 3.0, 0.0, -2.356, 0.0, 1.571, 0.0])
    with pytest.raises(ValueError, match='integer multiple'):
        panda_sim.PandaSim(control_dt_s=0.015, physics_dt_s=0.002)


def test_state_readout_and_divergence(sim):
    """Pose readout matches the DH formula; a non-finite state is reset and reported."""
    sim.reset(READY)
    state = sim.state()
    np.testing.assert_allclose(state.ee_position, envs.panda_tcp_position(READY), atol=1e-6)
    assert abs(np.linalg.norm(state.ee_orientation) - 1.0) < 1e-12
    # TCP z axis points down in the ready pose.
    x, y, z, w = state.ee_orientation
    z_axis_z = 1 - 2 * (x * x + y * y)
    assert z_axis_z < -0.99
    count = sim.divergences
    sim.data.qvel[2] = np.nan
    assert sim.step(np.zeros(7)) is True
    assert sim.divergences == count + 1
    np.testing.assert_array_equal(sim.state().position, READY)


def test_panda_sim_is_ros_free():
    """The simulator core imports nothing from ROS (the node is the only adapter)."""
    code = ('import sys, predctl_ros.envs.panda_sim\n'
            'print(sorted(m for m in sys.modules if m.split(".")[0] in ("rclpy", "std_msgs",'
            ' "sensor_msgs", "rosgraph_msgs")))\n')
    out = subprocess.run([sys.executable, '-c', code], capture_output=True, text=True,
                         check=True)
    assert out.stdout.strip() == '[]'
