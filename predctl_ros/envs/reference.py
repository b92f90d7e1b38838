# Copyright 2026 predctl_ros contributors
# SPDX-License-Identifier: Apache-2.0
r"""
Classical reference controllers: what a perfect policy could reach, for comparison.

Operational-space control with gravity and Coriolis compensation from the model itself
(the controller reads the full simulator state, which a learned policy never sees).
With :math:`J` the end-effector position Jacobian over the actuated joints, :math:`M`
their inertia matrix and :math:`b` the bias forces (``qfrc_bias``):

.. math::

    \Lambda = (J M^{-1} J^T + \epsilon I)^{-1}, \quad
    F = \Lambda \left(k_p\, \mathrm{clip}(x^* - x, e_{max}) - k_d\, J \dot q\right)

    \tau = J^T F + b + (I - J^T \bar J^T)\, M \left(k_q (q_{rest} - q) - k_{qd} \dot q\right),
    \quad \bar J = M^{-1} J^T \Lambda

with :math:`q_{rest}` the middle of the joint ranges; the model's joint damping
(``qfrc_passive``) is compensated as well. The action is :math:`\tau` divided
by the torque limits and clipped to [-1, 1]; it is held for the 20 ms control period.
"""

import mujoco
import numpy as np

from predctl_ros.envs import metrics as metrics_module
from predctl_ros.envs import models
from predctl_ros.envs import tasks as tasks_module

DEFAULT_GAINS = {  # of the operational-space controller
    'panda_reach': {'kp': 100.0, 'kd': 20.0, 'null_kp': 25.0, 'null_kd': 10.0,
                    'max_error_m': 0.3},
    'reach2d': {'kp': 100.0, 'kd': 20.0, 'null_kp': 0.0, 'null_kd': 0.0,
                'max_error_m': 0.3},
}


class _BatchController:
    """Controllers map (MjData, goal) to an action; this adds the batch form."""

    def batch(self, datas, goals) -> np.ndarray:
        """
        Compute the actions of many worlds.

        :param datas: sequence of N worlds (e.g. ``BatchedReachEnv.datas``).
        :param goals: goals [N, goal_size].
        :return: actions [N, action_size].
        """
        return np.stack([self(data, goal) for data, goal in zip(datas, goals)])


class OperationalSpaceController(_BatchController):
    """Operational-space PD controller with model-based compensation (see module doc)."""

    def __init__(self, task, *, kp: float, kd: float, null_kp: float = 0.0,
                 null_kd: float = 0.0, max_error_m: float = 0.3, regularization: float = 1e-4):
        """
        Bind the controller to a task's model.

        :param task: a :class:`ReachTask`; the worlds passed later must use its model.
        :param kp: task-space stiffness in 1/s^2.
        :param kd: task-space damping in 1/s.
        :param null_kp: null-space posture stiffness in 1/s^2.
        :param null_kd: null-space damping in 1/s.
        :param max_error_m: clip of the position error norm in metres (limits saturation).
        :param regularization: epsilon added before inverting the task-space inertia.
        """
        for name, value in (('kp', kp), ('kd', kd), ('null_kp', null_kp), ('null_kd', null_kd),
                            ('max_error_m', max_error_m), ('regularization', regularization)):
            if not (np.isfinite(value) and value >= 0):
                raise ValueError(f'{name} must be a finite number >= 0, got {value!r}')
        self.task = task
        self.model = task.model
        self.kp, self.kd = float(kp), float(kd)
        self.null_kp, self.null_kd = float(null_kp), float(null_kd)
        self.max_error_m = float(max_error_m)
        self.regularization = float(regularization)
        self.dofs = np.array([self.model.jnt_dofadr[j] for j in task.actuated])
        self.qpos_idx = np.array([self.model.jnt_qposadr[j] for j in task.actuated])
        self.q_rest = task.ranges[task.actuated].mean(axis=1)
        self.rows = 3 if task.spec.goal_size == 3 else 2
        self._jacp = np.zeros((3, self.model.nv))

    def __call__(self, data: mujoco.MjData, goal) -> np.ndarray:
        """
        Compute the action for one world.

        Recomputes the position- and velocity-dependent quantities of ``data`` (no change to
        its state).

        :param data: the world (MjData of the task's model).
        :param goal: goal [goal_size] in goal units.
        :return: action [action_size] in [-1, 1].
        """
        m, idx, rows = self.model, self.dofs, self.rows
        mujoco.mj_fwdPosition(m, data)
        mujoco.mj_fwdVelocity(m, data)
        mujoco.mj_jacSite(m, data, self._jacp, None, self.task.ee_site)
        jac = self._jacp[:rows, idx]
        inertia = models.full_inertia(m, data)[np.ix_(idx, idx)]
        qd = data.qvel[idx]
        error = (self.task.goal_to_site(goal) - data.site_xpos[self.task.ee_site])[:rows]
        norm = np.linalg.norm(error)
        if norm > self.max_error_m:
            error *= self.max_error_m / norm
        m_inv_jt = np.linalg.solve(inertia, jac.T)
        lam = np.linalg.inv(jac @ m_inv_jt + self.regularization * np.eye(rows))
        force = lam @ (self.kp * error - self.kd * (jac @ qd))
        tau = jac.T @ force + data.qfrc_bias[idx] - data.qfrc_passive[idx]
        if self.null_kp or self.null_kd:
            posture = inertia @ (self.null_kp * (self.q_rest - data.qpos[self.qpos_idx])
                                 - self.null_kd * qd)
            jbar = m_inv_jt @ lam
            tau += posture - jac.T @ (jbar.T @ posture)
        return np.clip(tau / self.task.effort, -1.0, 1.0)


class InverseKinematicsController(_BatchController):
    r"""
    Joint-space PD towards an inverse-kinematics solution, with model compensation.

    On the first call for a (world, goal) pair, damped least squares finds joint angles
    :math:`q^*` of the actuated joints (others kept) that put the end effector on the goal
    within the joint ranges shrunk by ``limit_margin_rad``, starting from the current
    configuration and, if that fails, from seeded random ones. Then, every call,

    .. math::

        \tau = M \left(k_p\, \mathrm{clip}(q^* - q, e_{max}) - k_d \dot q\right) + b

    (computed torque over the actuated joints, the model's joint damping compensated too),
    divided by the torque limits and clipped. :math:`e_{max}` is ``max_error_rad``, lowered
    per joint so that the commanded speed :math:`k_p e_{max} / k_d` stays within 80 % of the
    joint's velocity limit.
    """

    def __init__(self, task, *, kp: float = 100.0, kd: float = 20.0,
                 max_error_rad: float = 0.5, limit_margin_rad: float = 0.05,
                 ik_tolerance_m: float = 1e-4, ik_iterations: int = 200, ik_restarts: int = 32):
        """
        Bind the controller to a task's model.

        :param task: a :class:`ReachTask`; the worlds passed later must use its model.
        :param kp: joint stiffness in 1/s^2.
        :param kd: joint damping in 1/s.
        :param max_error_rad: clip of each joint's position error.
        :param limit_margin_rad: distance kept from the joint limits by the IK solution.
        :param ik_tolerance_m: IK convergence tolerance on the position error.
        :param ik_iterations: IK iterations per attempt.
        :param ik_restarts: random restarts after the attempt from the current configuration.
        """
        for name, value in (('kp', kp), ('kd', kd), ('max_error_rad', max_error_rad),
                            ('limit_margin_rad', limit_margin_rad),
                            ('ik_tolerance_m', ik_tolerance_m)):
            if not (np.isfinite(value) and value >= 0):
                raise ValueError(f'{name} must be a finite number >= 0, got {value!r}')
        self.task = task
        self.model = task.model
        self.kp, self.kd = float(kp), float(kd)
        self.max_error_rad = float(max_error_rad)
        speed = 0.8 * task.velocity_limits[task.actuated]
        self.max_error = (np.minimum(self.max_error_rad, speed * self.kd / self.kp)
                          if self.kp > 0 else np.full(len(task.actuated), self.max_error_rad))
        self.ik_tolerance_m = float(ik_tolerance_m)
        self.ik_iterations, self.ik_restarts = int(ik_iterations), int(ik_restarts)
        self.dofs = np.array([self.model.jnt_dofadr[j] for j in task.actuated])
        self.qpos_idx = np.array([self.model.jnt_qposadr[j] for j in task.actuated])
        ranges = task.ranges[task.actuated]
        self.lower = ranges[:, 0] + limit_margin_rad
        self.upper = ranges[:, 1] - limit_margin_rad
        self.rows = 3 if task.spec.goal_size == 3 else 2
        self._scratch = mujoco.MjData(self.model)
        self._jacp = np.zeros((3, self.model.nv))
        self._targets = {}

    def solve_ik(self, qpos, goal) -> tuple:
        """
        Find actuated joint angles that put the end effector on the goal.

        :param qpos: configuration to start from [nq] (non-actuated joints are kept).
        :param goal: goal [goal_size] in goal units.
        :return: (joint angles of the actuated joints, remaining error in metres).
        """
        target = self.task.goal_to_site(goal)
        rng = np.random.default_rng(0)
        best, best_error = None, np.inf
        for attempt in range(self.ik_restarts + 1):
            if attempt == 0:
                q = np.clip(np.asarray(qpos)[self.qpos_idx], self.lower, self.upper)
            else:
                q = rng.uniform(self.lower, self.upper)
            q, error = self._dls(qpos, q, target)
            if error < best_error:
                best, best_error = q, error
            if error < self.ik_tolerance_m:
                break
        return best, best_error

    def _dls(self, qpos, q, target):
        m, data, rows = self.model, self._scratch, self.rows
        data.qpos[:] = qpos
        error = np.inf
        for _ in range(self.ik_iterations):
            data.qpos[self.qpos_idx] = q
            mujoco.mj_kinematics(m, data)
            mujoco.mj_comPos(m, data)
            delta = (target - data.site_xpos[self.task.ee_site])[:rows]
            error = float(np.linalg.norm(delta))
            if error < self.ik_tolerance_m:
                break
            mujoco.mj_jacSite(m, data, self._jacp, None, self.task.ee_site)
            jac = self._jacp[:rows, self.dofs]
            step = jac.T @ np.linalg.solve(jac @ jac.T + 1e-4 * np.eye(rows), delta)
            norm = np.linalg.norm(step)
            if norm > 0.3:
                step *= 0.3 / norm
            q = np.clip(q + step, self.lower, self.upper)
        return q, error

    def __call__(self, data: mujoco.MjData, goal) -> np.ndarray:
        """
        Compute the action for one world.

        Recomputes the position- and velocity-dependent quantities of ``data`` (no change to
        its state). The IK solution is cached per (world, goal).

        :param data: the world (MjData of the task's model).
        :param goal: goal [goal_size] in goal units.
        :return: action [action_size] in [-1, 1].
        """
        goal = np.asarray(goal, dtype=float)
        key = (id(data), goal.tobytes())
        target = self._targets.get(key)
        if target is None:
            if len(self._targets) > 4096:
                self._targets.clear()
            target = self._targets[key] = self.solve_ik(data.qpos.copy(), goal)[0]
        m, idx = self.model, self.dofs
        mujoco.mj_fwdPosition(m, data)
        mujoco.mj_fwdVelocity(m, data)
        inertia = models.full_inertia(m, data)[np.ix_(idx, idx)]
        error = np.clip(target - data.qpos[self.qpos_idx], -self.max_error, self.max_error)
        tau = (inertia @ (self.kp * error - self.kd * data.qvel[idx]) + data.qfrc_bias[idx]
               - data.qfrc_passive[idx])
        return np.clip(tau / self.task.effort, -1.0, 1.0)


CONTROLLERS = {'joint_pd': InverseKinematicsController, 'osc': OperationalSpaceController}


def reference_controller(task_id: str, task=None, kind: str = 'joint_pd', **gains):
    """
    Build a reference controller of a task with its default gains.

    :param task_id: 'panda_reach' or 'reach2d'.
    :param task: the task whose model the worlds use (default: a fresh default task);
        pass ``env.task`` to control an existing environment.
    :param kind: 'joint_pd' (IK then computed-torque joint PD, the default and the better
        of the two) or 'osc' (operational-space PD).
    :param gains: overrides of the controller's keyword arguments.
    :return: the controller; call it as ``controller(data, goal) -> action``, or
        ``controller.batch(datas, goals) -> actions``.
    """
    if task_id not in DEFAULT_GAINS:
        raise ValueError(f'unknown task {task_id!r}; choose one of {sorted(DEFAULT_GAINS)}')
    if kind not in CONTROLLERS:
        raise ValueError(f'unknown controller kind {kind!r}; choose one of '
                         f'{sorted(CONTROLLERS)}')
    if task is None:
        task = tasks_module.make_task(task_id)
    elif task.spec.task_id != task_id:
        raise ValueError(f'task is {task.spec.task_id!r}, not {task_id!r}')
    options = dict(DEFAULT_GAINS[task_id]) if kind == 'osc' else {}
    options.update(gains)
    return CONTROLLERS[kind](task, **options)


def evaluate_reference(task_id: str, *, kind: str = 'joint_pd', starts=None, goals=None,
                       num_threads=None, task_options=None, **gains) -> tuple:
    """
    Run the reference controller on the fixed test set (or given pairs) in one batch.

    :param task_id: 'panda_reach' or 'reach2d'.
    :param kind: controller kind, see :func:`reference_controller`.
    :param starts: optional starts [N, nq] (default: the test set).
    :param goals: optional goals [N, goal_size] (default: the test set).
    :param num_threads: threads of the batched environment.
    :param task_options: options of the task (e.g. its torque_interface).
    :param gains: controller gain overrides.
    :return: (per-episode metrics dict of arrays, summary dict, ee trajectories [N, T, G]).
    """
    from predctl_ros.envs.batched import BatchedReachEnv

    if starts is None or goals is None:
        pairs = tasks_module.test_set(task_id)
        starts = pairs.starts if starts is None else starts
        goals = pairs.goals if goals is None else goals
    task = tasks_module.make_task(task_id, **(task_options or {}))
    controller = reference_controller(task_id, task=task, kind=kind, **gains)
    with BatchedReachEnv(task, len(goals), num_threads=num_threads) as env:
        env.reset(seed=0, starts=starts, goals=goals)
        trajectory, limited = [], []
        for _ in range(task.spec.episode_steps):
            _, info = env.step(controller.batch(env.datas, env.goals))
            trajectory.append(info['ee'])
            limited.append(info['velocity_limited'])
    ee = np.stack(trajectory, axis=1)
    per_episode = metrics_module.episode_metrics(ee, np.asarray(goals), task.spec,
                                                 velocity_limited=np.stack(limited, axis=1))
    return per_episode, metrics_module.summarize_metrics(per_episode), ee
