# Copyright 2026 predctl_ros contributors
# SPDX-License-Identifier: Apache-2.0
"""Check the planar two-link arm against the textbook kinematics and dynamics."""

import math

import mujoco
import numpy as np
from predctl_ros.envs import models
import pytest

L1, L2 = 0.5, 0.4
M1, M2 = 1.0, 0.8
LC1, LC2 = 0.25, 0.2
I1, I2 = M1 * L1 ** 2 / 12, M2 * L2 ** 2 / 12  # uniform rods about their centres
ARMATURE = 0.01


@pytest.fixture(scope='module')
def model():
    """Return the planar arm without damping."""
    return models.load_reach2d_model(damping=0.0)


def _configurations(n):
    rng = np.random.default_rng(3)
    return rng.uniform([-math.pi, -2.6], [math.pi, 2.6], size=(n, 2))


def test_limits_and_actuators(model):
    """Two hinges about z with the URDF ranges and torque motors of 10 and 4 Nm."""
    np.testing.assert_array_equal(model.jnt_range, [[-3.14159, 3.14159], [-2.6, 2.6]])
    np.testing.assert_array_equal(model.jnt_axis, [[0, 0, 1], [0, 0, 1]])
    np.testing.assert_array_equal(model.actuator_ctrlrange, [[-10, 10], [-4, 4]])
    assert model.body_mass.sum() == pytest.approx(M1 + M2)


def test_hand_position_and_jacobian_are_textbook(model):
    """Hand xy and its Jacobian equal the two-link formulas."""
    d = mujoco.MjData(model)
    jacp = np.zeros((3, 2))
    for q in _configurations(30):
        d.qpos[:] = q
        mujoco.mj_kinematics(model, d)
        mujoco.mj_comPos(model, d)
        x = L1 * math.cos(q[0]) + L2 * math.cos(q[0] + q[1])
        y = L1 * math.sin(q[0]) + L2 * math.sin(q[0] + q[1])
        np.testing.assert_allclose(d.site_xpos[0], [x, y, 0.0], atol=1e-12)
        np.testing.assert_allclose(models.reach2d_hand_position(q), [x, y], atol=1e-12)
        mujoco.mj_jacSite(model, d, jacp, None, 0)
        s1, s12 = math.sin(q[0]), math.sin(q[0] + q[1])
        c1, c12 = math.cos(q[0]), math.cos(q[0] + q[1])
        expected = [[-L1 * s1 - L2 * s12, -L2 * s12], [L1 * c1 + L2 * c12, L2 * c12]]
        np.testing.assert_allclose(jacp[:2], expected, atol=1e-12)


def test_inertia_matrix_and_torque_response_are_textbook(model):
    """M(q) is the textbook two-link inertia (+ armature); from rest qacc = M^-1 tau."""
    d = mujoco.MjData(model)
    for q in _configurations(10):
        c2 = math.cos(q[1])
        m11 = I1 + I2 + M1 * LC1 ** 2 + M2 * (L1 ** 2 + LC2 ** 2 + 2 * L1 * LC2 * c2) + ARMATURE
        m12 = I2 + M2 * (LC2 ** 2 + L1 * LC2 * c2)
        m22 = I2 + M2 * LC2 ** 2 + ARMATURE
        expected = np.array([[m11, m12], [m12, m22]])
        d.qpos[:] = q
        d.qvel[:] = 0.0
        d.ctrl[:] = [3.0, -1.5]
        mujoco.mj_forward(model, d)
        np.testing.assert_allclose(models.full_inertia(model, d), expected, rtol=0, atol=1e-10)
        np.testing.assert_allclose(d.qfrc_bias, 0.0, atol=1e-12)  # gravity does no work
        np.testing.assert_allclose(d.qacc, np.linalg.solve(expected, [3.0, -1.5]), atol=1e-9)
