# Copyright 2026 predctl_ros contributors
# SPDX-License-Identifier: Apache-2.0
"""Check the Panda model built from urdf/panda.urdf against the published facts."""

import math

import mujoco
import numpy as np
from predctl_ros.envs import models
from predctl_ros.resources import ResourceNotFoundError, share_path
import pytest

# Facts (Franka Control Interface documentation; Gaz et al. 2019), typed in independently
# of the URDF.
Q_MIN = [-2.8973, -1.7628, -2.8973, -3.0718, -2.8973, -0.0175, -2.8973]
Q_MAX = [2.8973, 1.7628, 2.8973, -0.0698, 2.8973, 3.7525, 2.8973]
TAU_MAX = [87, 87, 87, 87, 12, 12, 12]
QD_MAX = [2.175, 2.175, 2.175, 2.175, 2.61, 2.61, 2.61]
MASSES = {
    'panda_link0': 0.629769, 'panda_link1': 4.970684, 'panda_link2': 0.646926,
    'panda_link3': 3.228604, 'panda_link4': 3.587895, 'panda_link5': 1.225946,
    'panda_link6': 1.666555, 'panda_link7': 0.735522, 'panda_hand': 0.73,
}
# Centre of mass of each moving link in its own (DH) frame; the hand's in the hand frame.
COMS = [
    (0.003875, 0.002081, -0.04762), (-0.003141, -0.02872, 0.003495),
    (0.027518, 0.039252, -0.066502), (-0.05317, 0.104419, 0.027454),
    (-0.011953, 0.041065, -0.038437), (0.060149, -0.014117, -0.010517),
    (0.010517, -0.004252, 0.061597),
]
HAND_COM = (-0.01, 0.0, 0.03)
GRAVITY = 9.81


@pytest.fixture(scope='module')
def motor_model():
    """Return the Panda with seven torque motors and no damping (bias forces only)."""
    return models.load_panda_model(damping=0.0)


def _random_configurations(n, seed=0):
    rng = np.random.default_rng(seed)
    return rng.uniform(Q_MIN, Q_MAX, size=(n, 7))


def test_urdf_is_found_and_limits_parse():
    """The resolver finds the URDF and its <limit> tags hold the facts."""
    path = share_path('urdf', 'panda.urdf')
    limits = models.urdf_joint_limits(path)
    assert list(limits) == [f'panda_joint{i}' for i in range(1, 8)]
    np.testing.assert_array_equal([v[0] for v in limits.values()], Q_MIN)
    np.testing.assert_array_equal([v[1] for v in limits.values()], Q_MAX)
    np.testing.assert_array_equal([v[2] for v in limits.values()], TAU_MAX)
    np.testing.assert_array_equal([v[3] for v in limits.values()], QD_MAX)


def test_share_path_reports_missing_files():
    """A missing data file raises an error naming it."""
    with pytest.raises(ResourceNotFoundError, match='no_such_file.urdf'):
        share_path('urdf', 'no_such_file.urdf')
    with pytest.raises(ValueError):
        share_path()


def test_joint_ranges_actuators_and_mass(motor_model):
    """Joint names, ranges, torque limits and masses of the compiled model equal the facts."""
    m = motor_model
    assert [m.joint(i).name for i in range(m.njnt)] == [f'panda_joint{i}' for i in range(1, 8)]
    np.testing.assert_array_equal(m.jnt_range, np.column_stack((Q_MIN, Q_MAX)))
    assert m.jnt_limited.all()
    np.testing.assert_array_equal(m.actuator_ctrlrange,
                                  np.column_stack((np.negative(TAU_MAX), TAU_MAX)))
    np.testing.assert_array_equal(m.actuator_gainprm[:, 0], 1.0)
    np.testing.assert_array_equal(m.actuator_trnid[:, 0], np.arange(7))
    for name, mass in MASSES.items():
        assert m.body(name).mass[0] == pytest.approx(mass, abs=1e-12)
    assert m.body_mass.sum() == pytest.approx(sum(MASSES.values()), abs=1e-9)
    assert m.body_mass.sum() == pytest.approx(17.421901, abs=1e-9)
    np.testing.assert_allclose(m.body('panda_link1').ipos, COMS[0], atol=1e-12)
    assert m.opt.timestep == 0.002


def test_forward_kinematics_equals_dh(motor_model):
    """Every link frame, the flange and the TCP site follow the modified DH formula."""
    m = motor_model
    d = mujoco.MjData(m)
    site = m.site('ee_site').id
    bodies = [m.body(f'panda_link{i}').id for i in range(1, 9)] + [m.body('panda_hand_tcp').id]
    for q in _random_configurations(50):
        d.qpos[:] = q
        mujoco.mj_kinematics(m, d)
        frames = models.panda_dh_frames(q)
        for k, body in enumerate(bodies):
            np.testing.assert_allclose(d.xpos[body], frames[k, :3, 3], atol=1e-12)
            np.testing.assert_allclose(d.xmat[body].reshape(3, 3), frames[k, :3, :3],
                                       atol=1e-12)
        np.testing.assert_allclose(d.site_xpos[site], frames[-1, :3, 3], atol=1e-12)


def test_tcp_at_zero_configuration(motor_model):
    """At q = 0 the TCP sits at x = a4 - a5 + a7 = 0.088 m, z = 0.333 + 0.316 + 0.384 - 0.2104."""
    d = mujoco.MjData(motor_model)
    mujoco.mj_kinematics(motor_model, d)
    expected = [0.088, 0.0, 0.333 + 0.316 + 0.384 - 0.107 - 0.1034]
    np.testing.assert_allclose(d.site_xpos[motor_model.site('ee_site').id], expected,
                               atol=1e-12)


def _gravity_torques(q):
    """Generalised gravity compensation torque from the DH frames and the facts."""
    frames = models.panda_dh_frames(q)
    hand = frames[7] @ np.array([[math.cos(-math.pi / 4), -math.sin(-math.pi / 4), 0, 0],
                                 [math.sin(-math.pi / 4), math.cos(-math.pi / 4), 0, 0],
                                 [0, 0, 1, 0], [0, 0, 0, 1]])
    points = [frames[k] @ np.append(COMS[k], 1.0) for k in range(7)]
    points.append(hand @ np.append(HAND_COM, 1.0))
    masses = [MASSES[f'panda_link{k}'] for k in range(1, 8)] + [MASSES['panda_hand']]
    tau = np.zeros(7)
    for i in range(7):
        axis, origin = frames[i, :3, 2], frames[i, :3, 3]
        for k in range(i, 8):
            weight = np.array([0.0, 0.0, -masses[k] * GRAVITY])
            tau[i] -= np.cross(axis, points[k][:3] - origin) @ weight
    return tau


def test_gravity_torques_equal_bias_at_rest(motor_model):
    """At rest qfrc_bias is the gravity torque computed by hand from DH frames and inertials."""
    m = motor_model
    d = mujoco.MjData(m)
    for q in _random_configurations(20, seed=1):
        d.qpos[:] = q
        d.qvel[:] = 0.0
        mujoco.mj_forward(m, d)
        np.testing.assert_allclose(d.qfrc_bias, _gravity_torques(q), atol=1e-10)


def test_zero_torque_falls_and_gravity_compensation_holds(motor_model):
    """Without torque the arm falls; torque = qfrc_bias at every step holds it still."""
    m = motor_model
    q0 = np.array([0.0, 0.6, 0.0, -1.6, 0.0, 1.9, 0.0])
    site = m.site('ee_site').id
    falling = mujoco.MjData(m)
    falling.qpos[:] = q0
    mujoco.mj_forward(m, falling)
    z0 = falling.site_xpos[site, 2]
    mujoco.mj_step(m, falling, nstep=100)
    mujoco.mj_kinematics(m, falling)
    assert falling.qpos[1] > q0[1] + 0.05
    assert falling.site_xpos[site, 2] < z0 - 0.05

    held = mujoco.MjData(m)
    held.qpos[:] = q0
    for _ in range(500):
        mujoco.mj_forward(m, held)
        held.ctrl[:] = held.qfrc_bias
        mujoco.mj_step(m, held)
    assert held.time == pytest.approx(1.0)
    np.testing.assert_allclose(held.qpos, q0, atol=1e-9)
    np.testing.assert_allclose(held.qvel, 0.0, atol=1e-9)


def test_task_model_holds_joint7_with_a_servo():
    """With hold_joint7 the seventh actuator is a PD servo limited to +-12 Nm."""
    m = models.load_panda_model(hold_joint7=True)
    assert m.actuator(6).name == 'panda_joint7_servo'
    assert m.actuator_gainprm[6, 0] == 200.0
    assert m.actuator_biasprm[6, 1] == -200.0
    np.testing.assert_array_equal(m.actuator_forcerange[6], [-12.0, 12.0])
    np.testing.assert_array_equal(m.actuator_ctrlrange[6], [Q_MIN[6], Q_MAX[6]])


def test_build_spec_rejects_bad_options():
    """Bad loader options name the problem."""
    with pytest.raises(ValueError, match='timestep_s'):
        models.load_panda_model(timestep_s=0.0)
    with pytest.raises(ValueError, match='integrator'):
        models.load_panda_model(integrator='verlet')
    with pytest.raises(ValueError, match='hold_joints'):
        models.build_spec(share_path('urdf', 'panda.urdf'), 'panda_hand_tcp',
                          hold_joints=('elbow',))
