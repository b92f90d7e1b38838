# Copyright 2026 predctl_ros contributors
# SPDX-License-Identifier: Apache-2.0
"""The physics a real robot has: friction, damping and joint velocity limits."""

import math

import mujoco
import numpy as np
from predctl_ros import envs
from predctl_ros.envs import physics
import pytest

# Gaz et al., RA-L 2019: identified friction sigmoid per joint (phi1 Nm, phi2 s/rad, phi3 rad/s).
GAZ_PHI = np.array([
    [0.54615, 0.87224, 0.64068, 1.2794, 0.83904, 0.30301, 0.56489],
    [5.1181, 9.0657, 10.136, 5.5903, 8.3469, 17.133, 10.336],
    [0.039533, 0.025882, -0.04607, 0.036194, 0.026226, -0.021047, 0.0035526],
])


def gaz_friction(qd):
    """Return the identified friction torque (Nm) of the 7 joints at speed qd (rad/s)."""
    phi1, phi2, phi3 = GAZ_PHI
    return phi1 / (1 + np.exp(-phi2 * (qd + phi3))) - phi1 / (1 + np.exp(-phi2 * phi3))


def test_panda_friction_is_the_identified_coulomb_level():
    """The model's dry friction is the mean magnitude of the identified sigmoid's levels."""
    model = envs.make_task('panda_reach').model
    levels = 0.5 * (gaz_friction(np.full(7, 10.0)) - gaz_friction(np.full(7, -10.0)))
    np.testing.assert_allclose(model.dof_frictionloss, levels, atol=1e-5)
    # At a joint speed of 1 rad/s the sigmoid is within 4 % of that level.
    np.testing.assert_allclose(np.abs(gaz_friction(np.ones(7))), levels, rtol=0.3)


def test_friction_holds_the_panda_against_a_small_torque():
    """Joint 1 (vertical axis, no gravity load) stays put under 60 % of its friction."""
    task = envs.make_task('panda_reach')
    friction = task.model.dof_frictionloss[0]
    moved = {}
    for share in (0.6, 2.0):
        env = envs.make_batched_env('panda_reach', 1, num_threads=1)
        start = envs.test_set('panda_reach').starts[:1].copy()
        env.reset(seed=0, starts=start, goals=envs.test_set('panda_reach').goals[:1])
        # Hold every other joint with its gravity torque so that only joint 1 can move.
        for _ in range(25):
            mujoco.mj_forward(env.model, env.datas[0])
            action = env.datas[0].qfrc_bias[:6] / task.effort
            action[0] = share * friction / task.effort[0]
            env.step(action[None])
        moved[share] = abs(env.datas[0].qpos[0] - start[0, 0])
        env.close()
    assert moved[0.6] < 2e-3
    assert moved[2.0] > 20 * max(moved[0.6], 1e-4)


def test_panda_joint_speeds_stay_within_the_urdf_limits():
    """Full torque for 0.5 s: no joint beyond its limit, and every clamp is reported."""
    task = envs.make_task('panda_reach')
    np.testing.assert_array_equal(task.velocity_limits, [2.175] * 4 + [2.61] * 3)
    env = envs.make_batched_env('panda_reach', 4, num_threads=1)
    env.reset(seed=3)
    limited = []
    for step in range(25):
        _, info = env.step(np.full((4, 6), 1.0 if step % 10 < 5 else -1.0))
        assert np.all(np.abs(env.worlds.qvel) <= task.velocity_limits + 1e-12)
        limited.append(info['velocity_limited'])
    limited = np.stack(limited, axis=1)
    assert limited.any(axis=1).all()   # full torque drives every world into a limit
    metrics = envs.episode_metrics(np.zeros((4, 25, 3)), np.zeros((4, 3)), task.spec,
                                   velocity_limited=limited)
    np.testing.assert_array_equal(metrics['velocity_limit_steps'], limited.sum(axis=1))
    summary = envs.summarize_metrics(metrics)
    assert summary['velocity_limit_steps'] == limited.sum()
    assert summary['velocity_limit_episode_rate'] == 1.0
    env.close()


def test_clamp_velocities_reports_and_clamps_only_what_exceeds():
    """Rows within the limits are untouched; rows beyond are clamped and reported."""
    limits = np.array([1.0, 2.0])
    qvel = np.array([[0.5, -1.9], [1.5, 0.0], [-0.2, -2.5]])
    over = physics.clamp_velocities(qvel, limits)
    np.testing.assert_array_equal(over, [False, True, True])
    np.testing.assert_array_equal(qvel, [[0.5, -1.9], [1.0, 0.0], [-0.2, -2.0]])


def test_planar_arm_free_motion_decays_within_tenths_of_a_second():
    """Released at speed with no torque, the planar arm stops within 0.3 s."""
    task = envs.make_task('reach2d')
    np.testing.assert_array_equal(task.model.dof_damping, [5.0, 1.0])
    data = mujoco.MjData(task.model)
    data.qpos[:] = [0.3, 1.0]
    data.qvel[:] = [3.0, -3.0]
    speed0 = np.linalg.norm(data.qvel)
    steps = math.ceil(0.3 / task.model.opt.timestep)
    physics.step_limited(task.model, data, steps, task.velocity_limits)
    assert np.linalg.norm(data.qvel) < 0.05 * speed0


@pytest.mark.parametrize('task_id', envs.TASK_IDS)
def test_batched_and_single_world_stepping_agree_under_clamps(task_id):
    """The batched worlds and the per-world fallback clamp identically (bit for bit)."""
    task = envs.make_task(task_id)
    pairs = envs.test_set(task_id)
    env = envs.make_batched_env(task_id, 2, num_threads=1)
    env.reset(seed=0, starts=pairs.starts[:2], goals=pairs.goals[:2])
    datas = []
    for i in range(2):
        data = mujoco.MjData(task.model)
        task.set_state(data, pairs.starts[i], pairs.goals[i])
        datas.append(data)
    for step in range(20):
        action = np.full((2, task.spec.action_size), 1.0 if step < 10 else -1.0)
        env.step(action)
        for i, data in enumerate(datas):
            data.ctrl[:task.spec.action_size] = action[i] * task.effort
            physics.step_limited(task.model, data, task.n_substeps, task.velocity_limits)
            np.testing.assert_array_equal(env.worlds.qvel[i], data.qvel)
            np.testing.assert_array_equal(env.worlds.qpos[i], data.qpos)
    env.close()


def test_gravity_compensation_cancels_exactly_the_links_weight():
    """
    Cancel the links' weight and nothing else.

    With compensation (as Franka's controller adds below a torque command) an arm at rest
    under zero torque has zero acceleration; without it, the arm's weight accelerates it.
    The torque that compensation adds is the gravity part of the bias force.
    """
    q = np.array([0.3, 0.5, -0.2, -1.5, 0.4, 1.8, 0.0])
    accelerations = {}
    for compensated in (False, True):
        model = envs.load_panda_model(hold_joint7=True, gravity_compensation=compensated)
        data = mujoco.MjData(model)
        data.qpos[:] = q
        mujoco.mj_forward(model, data)
        accelerations[compensated] = np.abs(data.qacc[:6]).max()
        if compensated:
            np.testing.assert_allclose(data.qfrc_gravcomp, data.qfrc_bias, atol=1e-10)
    assert accelerations[True] < 1e-8
    assert accelerations[False] > 1.0


def test_damping_per_joint_replaces_the_urdf_values_in_order():
    values = [60.0, 50.0, 40.0, 30.0, 8.0, 7.0, 1.0]
    np.testing.assert_array_equal(envs.load_panda_model(damping=values).dof_damping, values)
    np.testing.assert_array_equal(envs.load_panda_model(damping=3.0).dof_damping, [3.0] * 7)
    with pytest.raises(ValueError, match='damping: 2 values for the 7 joints'):
        envs.load_panda_model(damping=[1.0, 2.0])


def test_added_damping_adds_to_the_joints_own_in_order():
    added = [50.0, 40.0, 30.0, 20.0, 9.0, 8.0, 7.0]
    own = envs.load_panda_model().dof_damping
    np.testing.assert_array_equal(own, [1.0] * 7)   # urdf/panda.urdf <dynamics damping>
    np.testing.assert_array_equal(envs.load_panda_model(added_damping=added).dof_damping,
                                  own + added)
    np.testing.assert_array_equal(
        envs.load_panda_model(damping=2.0, added_damping=added).dof_damping,
        np.add(2.0, added))
    for bad in ([1.0, 2.0], [-1.0] * 7, [math.nan] * 7):
        with pytest.raises(ValueError, match='added_damping: need 7 finite values >= 0'):
            envs.load_panda_model(added_damping=bad)


def test_the_franka_interface_is_gravity_compensation_plus_the_loops_damping():
    direct = envs.make_task('panda_reach')
    franka = envs.make_task('panda_reach', torque_interface='franka_damped')
    np.testing.assert_array_equal(franka.model.dof_damping - direct.model.dof_damping,
                                  [50.0, 50.0, 50.0, 50.0, 30.0, 25.0, 15.0])
    assert not direct.model.body_gravcomp.any() and franka.model.body_gravcomp.max() == 1.0
    with pytest.raises(ValueError, match="torque_interface 'soft' is unknown"):
        envs.make_task('panda_reach', torque_interface='soft')
