# Copyright 2026 predctl_ros contributors
# SPDX-License-Identifier: Apache-2.0
"""
One simulated Panda under joint torque control, as the ROS simulation node drives it.

The robot is the one the reaching task trains on: the same URDF loader
(:func:`predctl_ros.envs.models.build_spec`) with the task's options, torque motors on
joints 1-6 and joint 7 held by its PD servo, the task's physics timestep and control
period (:data:`predctl_ros.envs.tasks.CONTROL_DT_S`, ``PHYSICS_DT_S``). With the same
torques from the same start, :meth:`PandaSim.step` reproduces the task's environments
bit for bit.

A command is 7 torques (Nm), one per joint in model order:

* joints 1-6: motor torques, clipped to the URDF effort limits (87, 87, 87, 87, 12, 12);
* joint 7: its PD servo keeps holding the angle the arm was reset to (as in the task,
  where the policy has no joint-7 action); the command's 7th entry is added on top as an
  extra joint torque, clipped to the joint's effort limit (12 Nm). The policy sends 0.

What the robot adds to the command is the torque interface
(:mod:`predctl_ros.envs.torque_interfaces`), as in the task: ``direct`` (the method's:
nothing) or ``franka_damped`` (gravity compensated as Franka's own controller does below
the user's torque command, plus the joint damping of its 1 kHz loop). Gravity
compensation cancels gravity only, not the Coriolis and centrifugal terms (those stay
the controller's business). It uses MuJoCo's body gravity compensation, compiled in but
inactive where the interface has none, so the physics is the task's either way.

Two options make it a robot the policy was not trained on, for tests of the controller's
adaptation to other robots: ``gravity_compensation=True`` with the ``direct`` interface (a
robot that compensates gravity, without the Franka loop's damping) and
``joint7_servo=False`` (no servo on joint 7: the command's 7th entry is its torque).

The damped hold (for a controller that went silent) applies gravity compensation plus a
joint damping of ``hold_damping`` Nm s/rad, integrated implicitly so that it is stable
at any value, with the motors and the joint-7 extra torque at 0.

Joint speeds are clamped at the URDF's velocity limits after every physics step, as in
the task (:mod:`predctl_ros.envs.physics`); ``velocity_limit_steps`` counts the control
periods in which that happened.

The simulated clock counts control periods in integer nanoseconds and never goes back:
a reset moves the arm, not the clock.
"""

import dataclasses
import math
from typing import Optional

import mujoco
import numpy as np

from predctl_ros.envs import models, physics, tasks, torque_interfaces, worlds
from predctl_ros.resources import share_path


@dataclasses.dataclass
class SimState:
    """The robot's state after a control period (arrays are copies)."""

    time_ns: int
    """Simulated time in nanoseconds (a whole number of control periods)."""
    position: np.ndarray
    """Joint angles [7] in rad, model joint order."""
    velocity: np.ndarray
    """Joint velocities [7] in rad/s."""
    effort: np.ndarray
    """Joint torques [7] in Nm the drives applied in the last physics step (motors,
    joint-7 servo and extra torque, the torque interface's gravity compensation and
    damping, hold damping when holding)."""
    ee_position: np.ndarray
    """TCP position [3] in metres, in the base frame."""
    ee_orientation: np.ndarray
    """TCP orientation as a unit quaternion [4] (x, y, z, w), in the base frame."""


class PandaSim:
    """
    A single Panda world: reset, torque steps, damped hold, state readout.

    Not thread-safe; one owner steps it.
    """

    def __init__(self, urdf: Optional[str] = None, *,
                 physics_dt_s: float = tasks.PHYSICS_DT_S,
                 control_dt_s: float = tasks.CONTROL_DT_S,
                 initial_positions=None,
                 torque_interface: str = torque_interfaces.DEFAULT,
                 hold_damping: float = 20.0, base_body: str = 'panda_link0',
                 gravity_compensation: Optional[bool] = None, joint7_servo: bool = True):
        """
        Load the model and put the arm at rest in the initial configuration.

        :param urdf: URDF file; None = the package's urdf/panda.urdf.
        :param physics_dt_s: physics timestep in seconds.
        :param control_dt_s: control period in seconds; an integer multiple of physics_dt_s.
        :param initial_positions: 7 joint angles in rad (default: Franka's "ready" pose
            [0, -pi/4, 0, -3pi/4, 0, pi/2, 0]).
        :param torque_interface: what the robot adds to a torque command (gravity
            compensation, damping); the interface the policy was trained with.
        :param hold_damping: joint damping of the damped hold in Nm s/rad (>= 0).
        :param base_body: the link poses are expressed in.
        :param gravity_compensation: whether the robot cancels gravity below the command;
            None = as the torque interface does. True with ``direct`` is a robot that
            compensates gravity without the interface's damping (a ros2_control
            simulation or Franka's controller seen by a policy trained without it).
        :param joint7_servo: hold joint 7 with the task's PD servo; False makes joint 7 a
            torque motor like the others (a robot with no servo for it: the command's
            7th entry is its whole torque).
        :raises ValueError: on a control period that is not a whole number of physics
            steps, a bad configuration, a model without the Panda's joints, or bad options.
        """
        self.n_substeps = tasks.substeps_per_control(control_dt_s, physics_dt_s)
        self.urdf = urdf or share_path(*models.PANDA_URDF)
        interface = torque_interfaces.torque_interface(torque_interface)
        options = dict(tasks.PandaReachTask.default_model_options)
        options.update(torque_interfaces.model_options(interface.name))
        # Compensation compiled in so that the damped hold can switch it on (MuJoCo counts
        # gravcomp bodies at compile time); body_gravcomp = 0 keeps the task's physics
        # where the interface has none.
        options['gravity_compensation'] = True
        self.joint7_servo = bool(joint7_servo)
        spec = models.build_spec(self.urdf, models.PANDA_EE_BODY, timestep_s=physics_dt_s,
                                 hold_joints=('panda_joint7',) if joint7_servo else (),
                                 rgba=models.PANDA_RGBA,
                                 **options)
        self.model = model = spec.compile()
        self._gravcomp_bodies = model.body_gravcomp.copy()
        model.body_gravcomp[:] = 0.0
        self._base_damping = model.dof_damping.copy()
        self.data = mujoco.MjData(model)
        self.joint_names = tuple(model.joint(i).name for i in range(model.njnt))
        if self.joint_names != models.PANDA_JOINTS or model.nu != 7:
            raise ValueError(f'{self.urdf}: expected the Panda joints {models.PANDA_JOINTS} '
                             f'in this order, got {self.joint_names}')
        self.lower = model.jnt_range[:, 0].copy()
        self.upper = model.jnt_range[:, 1].copy()
        limits = models.urdf_joint_limits(self.urdf)
        self.effort_limits = np.array([limits[n][2] for n in self.joint_names])
        self.velocity_limits = physics.joint_velocity_limits(self.urdf, self.joint_names)
        self.control_period_ns = self.n_substeps * round(model.opt.timestep * 1e9)
        self.control_dt_s = self.control_period_ns * 1e-9
        self._ee_site = model.site('ee_site').id
        try:
            self._base_body = model.body(base_body).id
        except KeyError:
            raise ValueError(f'{self.urdf}: no link named {base_body!r} to express poses '
                             'in') from None
        self.torque_interface = interface.name
        self.gravity_compensation = (interface.gravity_compensation
                                     if gravity_compensation is None
                                     else bool(gravity_compensation))
        self._drive_damping = np.array(interface.added_damping)
        self.hold_damping = 0.0
        self.set_hold_damping(hold_damping)
        if initial_positions is None:
            initial_positions = [0.0, -math.pi / 4, 0.0, -3 * math.pi / 4, 0.0, math.pi / 2,
                                 0.0]
        self.initial_positions = self.check_configuration(initial_positions)
        self.steps = 0
        self.divergences = 0
        self.velocity_limit_steps = 0
        self.holding = False
        self._extra = np.zeros(model.nv)
        self.reset()

    # -- configuration -------------------------------------------------------------------

    def configuration_problem(self, q) -> Optional[str]:
        """
        Say what is wrong with a joint configuration, if anything.

        :param q: 7 joint angles in rad, model joint order.
        :return: None when valid, else the reason.
        """
        try:
            q = np.array(q, dtype=float)
        except (TypeError, ValueError) as exc:
            return f'is not numeric: {exc}'
        if q.shape != (7,):
            return f'needs 7 joint angles ({", ".join(self.joint_names)}), got shape {q.shape}'
        if not np.all(np.isfinite(q)):
            return f'holds non-finite values: {q.tolist()}'
        outside = np.flatnonzero((q < self.lower - 1e-9) | (q > self.upper + 1e-9))
        if outside.size:
            return 'is outside the joint limits: ' + ', '.join(
                f'{self.joint_names[i]}={q[i]:.4f} not in [{self.lower[i]}, {self.upper[i]}]'
                for i in outside)
        return None

    def check_configuration(self, q) -> np.ndarray:
        """
        Validate a joint configuration against the joint limits.

        :param q: 7 joint angles in rad, model joint order.
        :return: a float copy.
        :raises ValueError: naming the problem.
        """
        problem = self.configuration_problem(q)
        if problem:
            raise ValueError(f'configuration {problem}')
        return np.array(q, dtype=float)

    def set_hold_damping(self, value: float):
        """
        Set the damping of the damped hold.

        :param value: Nm s/rad, finite and >= 0.
        :raises ValueError: otherwise.
        """
        if not (isinstance(value, (int, float)) and math.isfinite(value) and value >= 0):
            raise ValueError(f'hold_damping must be a finite number >= 0, got {value!r}')
        self.hold_damping = float(value)

    def reset(self, q=None, *, advance_clock: bool = False):
        """
        Put the arm at rest in a configuration; the clock keeps running.

        :param q: 7 joint angles in rad (default: the initial positions); joint 7's servo
            holds q[6] from now on.
        :param advance_clock: let the reset take one control period, so that a state
            published after it never shares its stamp with the one before.
        :raises ValueError: for a bad configuration (the arm is not moved).
        """
        q = self.initial_positions if q is None else self.check_configuration(q)
        if advance_clock:
            self.steps += 1
        model, data = self.model, self.data
        mujoco.mj_resetData(model, data)
        data.qpos[:] = q
        if self.joint7_servo:
            data.ctrl[6] = q[6]
        self.holding = False
        mujoco.mj_forward(model, data)

    # -- stepping ------------------------------------------------------------------------

    def clip_torques(self, torques) -> np.ndarray:
        """
        Validate 7 joint torques and clip them to the effort limits.

        :param torques: Nm, model joint order.
        :return: clipped float copy.
        :raises tasks.ActionError: on a wrong shape or NaN/inf entries.
        """
        try:
            tau = np.array(torques, dtype=float)
        except (TypeError, ValueError) as exc:
            raise tasks.ActionError(f'torques are not numeric: {exc}') from None
        if tau.shape != (7,):
            raise tasks.ActionError(f'need 7 joint torques, got shape {tau.shape}')
        if not np.all(np.isfinite(tau)):
            raise tasks.ActionError(f'torques hold NaN/inf: {tau.tolist()}')
        return np.clip(tau, -self.effort_limits, self.effort_limits, out=tau)

    def step(self, torques) -> bool:
        """
        Apply joint torques for one control period.

        :param torques: 7 torques in Nm (see the module docstring for joint 7).
        :return: True when the physics diverged; the arm was then reset to the initial
            positions (the clock still advances).
        :raises tasks.ActionError: on a wrong shape or NaN/inf entries (nothing advances).
        """
        tau = self.clip_torques(torques)
        self._configure(holding=False)
        if self.joint7_servo:
            self.data.ctrl[:6] = tau[:6]
            self._extra[6] = tau[6]
        else:
            self.data.ctrl[:] = tau
        return self._advance()

    def hold(self) -> bool:
        """
        Hold the arm for one control period: gravity compensation and damping, motors off.

        :return: True when the physics diverged (see :meth:`step`).
        """
        self._configure(holding=True)
        self.data.ctrl[:7 - self.joint7_servo] = 0.0
        self._extra[6] = 0.0
        return self._advance()

    def _configure(self, holding: bool):
        model = self.model
        gravcomp = holding or self.gravity_compensation
        model.body_gravcomp[:] = self._gravcomp_bodies if gravcomp else 0.0
        model.dof_damping[:] = self._base_damping + (self.hold_damping if holding else 0.0)
        self.holding = holding

    def _advance(self) -> bool:
        model, data = self.model, self.data
        data.qfrc_applied[:] = self._extra
        start = data.time
        warnings_before = worlds.bad_state_count(data)
        if physics.step_limited(model, data, self.n_substeps, self.velocity_limits):
            self.velocity_limit_steps += 1
        mujoco.mj_kinematics(model, data)
        self.steps += 1
        # MuJoCo answers a bad state with a warning and mj_resetData (time back to 0).
        clock_ok = abs(data.time - start - self.n_substeps * model.opt.timestep) \
            < 0.5 * model.opt.timestep
        finite = np.all(np.isfinite(data.qpos)) and np.all(np.isfinite(data.qvel))
        if finite and clock_ok and worlds.bad_state_count(data) == warnings_before:
            return False
        self.divergences += 1
        self.reset()
        return True

    # -- readout -------------------------------------------------------------------------

    @property
    def time_ns(self) -> int:
        """
        Return the simulated time.

        :return: nanoseconds, steps x control period.
        """
        return self.steps * self.control_period_ns

    def gravity_torques(self) -> np.ndarray:
        """
        Return the joint torques that cancel gravity at the current configuration.

        :return: Nm [7].
        """
        # Bias forces at zero velocity: gravity alone, no Coriolis terms.
        scratch = mujoco.MjData(self.model)
        scratch.qpos[:] = self.data.qpos
        mujoco.mj_fwdPosition(self.model, scratch)
        torques = np.zeros(self.model.nv)
        mujoco.mj_rne(self.model, scratch, 0, torques)
        return torques

    def applied_effort(self) -> np.ndarray:
        """
        Return the joint torques the drives applied in the last physics step.

        :return: Nm [7]: actuators (motors, joint-7 servo) + extra torque + gravity
            compensation when on - the interface's damping - hold damping when holding.
        """
        data = self.data
        effort = data.qfrc_actuator + data.qfrc_applied
        if self.holding or self.gravity_compensation:
            effort = effort + data.qfrc_gravcomp
        damping = self._drive_damping + (self.hold_damping if self.holding else 0.0)
        return effort - damping * data.qvel

    def state(self) -> SimState:
        """
        Read the robot's state.

        :return: a :class:`SimState` (copies).
        """
        data = self.data
        base_pos = data.xpos[self._base_body]
        base_rot = data.xmat[self._base_body].reshape(3, 3)
        site_rot = data.site_xmat[self._ee_site].reshape(3, 3)
        position = base_rot.T @ (data.site_xpos[self._ee_site] - base_pos)
        quat = np.zeros(4)
        mujoco.mju_mat2Quat(quat, (base_rot.T @ site_rot).ravel())
        return SimState(time_ns=self.time_ns, position=data.qpos.copy(),
                        velocity=data.qvel.copy(), effort=self.applied_effort(),
                        ee_position=position,
                        ee_orientation=np.array([quat[1], quat[2], quat[3], quat[0]]))
