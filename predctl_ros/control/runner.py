# Copyright 2026 predctl_ros contributors
# SPDX-License-Identifier: Apache-2.0
"""
Run a trained policy checkpoint one control step at a time on the Panda.

:class:`PolicyRunner` loads a checkpoint as ``predctl train`` writes it (networks
``prediction`` and ``policy``, task id and task options in the header), checks that it
fits the robot and the control period, and maps joint states to joint torques:

1. observation by the task's own code (:meth:`PandaReachTask.observe_batch`), with the TCP
   from forward kinematics of the task's MuJoCo model;
2. input = observation + goal, one step of the network (:class:`SpikingStepper`: batch 1,
   preallocated, state carried from step to step, reset on a new target);
3. torque = action x the task's torque limits for the actuated joints (1-6); 0 for the
   others (joint 7, which the simulator holds).
"""

import os
from pathlib import Path
import time
from typing import Optional

import mujoco
import numpy as np

from predctl_ros.envs import torque_interfaces
from predctl_ros.envs.tasks import make_task
from predctl_ros.resources import ResourceNotFoundError, share_path
from predctl_ros.snn.checkpoint import CheckpointError, load_checkpoint, read_header

PANDA_TASK = 'panda_reach'
SHIPPED_CHECKPOINT = ('models', 'panda_reach_snn.safetensors')


def resolve_checkpoint(value: str) -> str:
    """
    Return the checkpoint file a ``checkpoint`` setting names.

    :param value: a path; empty = the shipped model.
    :return: a path (not checked for existence unless it is the shipped one).
    :raises CheckpointError: the shipped model is not installed.
    """
    if value:
        return os.path.expanduser(value)
    try:
        return share_path(*SHIPPED_CHECKPOINT)
    except ResourceNotFoundError as exc:
        raise CheckpointError(f'no checkpoint given and the shipped one is missing: {exc}')


def checkpoint_torque_interface(path) -> str:
    """
    Return the torque interface a checkpoint was trained with, reading only its header.

    :param path: checkpoint file.
    :return: an interface name (checkpoints from before the option: ``direct``).
    :raises CheckpointError: the file is missing or has no valid header.
    """
    options = read_header(path).get('task_options') or {}
    return options.get('torque_interface', torque_interfaces.DEFAULT)


class CheckpointMismatch(CheckpointError):
    """A checkpoint loads but does not fit the robot, the task or the control period."""


class PolicyRunner:
    """Checkpoint, task and stepper of one policy; ``step`` maps a joint state to torques."""

    def __init__(self, path, *, task_id: str = PANDA_TASK, control_dt_s: Optional[float] = None,
                 n_joints: int = 7, torque_interface: Optional[str] = None):
        """
        Load and validate a checkpoint.

        :param path: checkpoint file (``*.safetensors`` from ``save_checkpoint``).
        :param task_id: the task the robot runs; the checkpoint must be trained on it.
        :param control_dt_s: the control period the caller runs at; None skips the check.
        :param n_joints: joints of the robot (length of joint states and commands).
        :param torque_interface: what the robot adds to a torque command
            (:mod:`predctl_ros.envs.torque_interfaces`); the checkpoint must be trained
            with it. None skips the check.
        :raises CheckpointError: the file is missing or corrupt (message names the file).
        :raises CheckpointMismatch: it does not fit (message names the file and the mismatch).
        """
        self.path = Path(path)
        ckpt = load_checkpoint(self.path)
        self.checkpoint = ckpt
        where = str(self.path)
        if ckpt.task != task_id:
            raise CheckpointMismatch(f'{where}: trained on task {ckpt.task!r}, this robot runs '
                                     f'{task_id!r}')
        try:
            self.task = make_task(ckpt.task, **ckpt.task_options)
        except (TypeError, ValueError) as exc:
            raise CheckpointMismatch(f'{where}: task options {ckpt.task_options} do not '
                                     f'build {ckpt.task!r}: {exc}') from exc
        spec = self.task.spec
        trained = getattr(self.task, 'torque_interface', None)
        if torque_interface is not None and trained is not None \
                and trained.name != torque_interface:
            raise CheckpointMismatch(f'{where}: trained with torque_interface '
                                     f'{trained.name!r}, the robot has {torque_interface!r}')
        if len(spec.joint_names) != n_joints:
            raise CheckpointMismatch(f'{where}: task {spec.task_id!r} has '
                                     f'{len(spec.joint_names)} joints, the robot {n_joints}')
        net = ckpt['policy']
        net_spec = net.spec
        if net_spec.role != 'policy':
            raise CheckpointMismatch(f"{where}: network 'policy' has role {net_spec.role!r}")
        n_in = spec.obs_size + spec.goal_size
        if net_spec.n_in != n_in:
            raise CheckpointMismatch(
                f'{where}: policy takes {net_spec.n_in} inputs, task {spec.task_id!r} gives '
                f'{spec.obs_size} observations ({", ".join(spec.obs_labels)}) + '
                f'{spec.goal_size} goal = {n_in}')
        if net_spec.n_out != spec.action_size:
            raise CheckpointMismatch(f'{where}: policy gives {net_spec.n_out} actions, task '
                                     f'{spec.task_id!r} needs {spec.action_size}')
        # The network integrates dt_s x substeps of SNN time per control step; more than one
        # control period would run the network's dynamics faster than the robot's.
        if net_spec.control_dt_s > spec.control_dt_s + 1e-9:
            raise CheckpointMismatch(
                f'{where}: policy runs {net_spec.substeps} sub-steps of {net_spec.dt_s} s = '
                f'{net_spec.control_dt_s:.4f} s per control step, longer than the control '
                f'period {spec.control_dt_s} s')
        if control_dt_s is not None and abs(control_dt_s - spec.control_dt_s) > 1e-9:
            raise CheckpointMismatch(
                f'{where}: trained for a control period of {spec.control_dt_s} s '
                f'({1.0 / spec.control_dt_s:g} Hz), the controller runs at {control_dt_s} s '
                f'({1.0 / control_dt_s:g} Hz)')
        self.spec = spec
        self.net_spec = net_spec
        self.n_joints = n_joints
        self.needs_velocities = bool(getattr(self.task, 'velocities', False))
        self.stepper = net.stepper()
        # Compile or load the stepper's kernels now, not in the first control step.
        self.stepper.step(np.zeros(n_in))
        self.stepper.reset()
        self.layer_sizes = np.array([layer.size for layer in getattr(net, 'layers', ())],
                                    dtype=float)
        self._data = mujoco.MjData(self.task.model)
        self._qpos = np.zeros((1, self.task.model.nq))
        self._qvel = np.zeros((1, self.task.model.nv))
        self._site = np.zeros((1, 3))
        self._obs = np.zeros((1, spec.obs_size))
        self._x = np.zeros(n_in)
        self._action = np.zeros(spec.action_size)
        self._torque = np.zeros(n_joints)
        self.rates_hz = np.zeros(len(self.layer_sizes))
        self.target: Optional[np.ndarray] = None
        self.last_step_s = 0.0
        self.steps = 0

    @property
    def effort(self) -> np.ndarray:
        """Torque limits of the actuated joints in Nm (action 1 = this torque)."""
        return self.task.effort

    @property
    def synops(self) -> int:
        """Synaptic operations of the last control step."""
        return int(self.stepper.synops)

    def set_target(self, goal) -> None:
        """
        Adopt a new goal and start the network from rest.

        :param goal: goal [goal_size] in the task's goal units (metres for panda_reach).
        """
        self.target = self.task.check_goal(goal)
        self._x[self.spec.obs_size:] = self.target
        self.reset()

    def clear_target(self) -> None:
        """Forget the goal and reset the network."""
        self.target = None
        self.reset()

    def reset(self) -> None:
        """Return the network to rest (keeps the goal)."""
        self.stepper.reset()
        self.rates_hz[:] = 0.0

    def observe(self, q, qd=None) -> np.ndarray:
        """
        Build the task's observation of a joint state.

        :param q: joint positions [n_joints] in rad, task joint order.
        :param qd: joint velocities [n_joints] in rad/s (required if the task observes them).
        :return: the observation [obs_size] (a buffer overwritten by the next call).
        :raises ValueError: on a wrong length or non-finite entries.
        """
        q = np.asarray(q, dtype=float)
        if q.shape != (self.n_joints,) or not np.all(np.isfinite(q)):
            raise ValueError(f'joint positions must be {self.n_joints} finite numbers, '
                             f'got {q.tolist()}')
        self._qpos[0] = q
        if qd is None:
            if self.needs_velocities:
                raise ValueError(f'{self.path}: the policy observes joint velocities; '
                                 'the joint state has none')
            self._qvel[0] = 0.0
        else:
            qd = np.asarray(qd, dtype=float)
            if qd.shape != (self.n_joints,) or not np.all(np.isfinite(qd)):
                raise ValueError(f'joint velocities must be {self.n_joints} finite numbers, '
                                 f'got {qd.tolist()}')
            self._qvel[0] = qd
        data = self._data
        data.qpos[:] = self._qpos[0]
        mujoco.mj_kinematics(self.task.model, data)
        self._site[0] = data.site_xpos[self.task.ee_site]
        self.task.observe_batch(self._qpos, self._qvel, self._site, self._obs)
        return self._obs[0]

    def tcp(self) -> np.ndarray:
        """Return the TCP position [3] of the last observed joint state (a copy)."""
        return self._site[0].copy()

    def step(self, q, qd=None) -> np.ndarray:
        """
        Advance one control step: joint state -> joint torques.

        :param q: joint positions [n_joints] in rad, task joint order.
        :param qd: joint velocities [n_joints] in rad/s, or None.
        :return: torques [n_joints] in Nm (a buffer overwritten by the next call).
        :raises RuntimeError: no target is set.
        :raises ValueError: bad joint state, or the network produced non-finite actions.
        """
        if self.target is None:
            raise RuntimeError('no target set')
        t0 = time.perf_counter()
        n_obs = self.spec.obs_size
        self._x[:n_obs] = self.observe(q, qd)
        action = self.stepper.step(self._x)
        if not np.all(np.isfinite(action)):
            raise ValueError(f'{self.path}: the policy produced non-finite actions '
                             f'{action.tolist()}')
        np.clip(action, -1.0, 1.0, out=self._action)
        self._torque[:] = 0.0
        self._torque[self.task.actuated] = self._action * self.task.effort
        if len(self.layer_sizes):
            np.divide(self.stepper.spikes, self.layer_sizes * self.net_spec.control_dt_s,
                      out=self.rates_hz)
        self.steps += 1
        self.last_step_s = time.perf_counter() - t0
        return self._torque

    @property
    def action(self) -> np.ndarray:
        """Return the last action [action_size] in [-1, 1] (a buffer)."""
        return self._action


class StepStats:
    """Per-window statistics of control steps: latencies, firing rates, SynOps."""

    def __init__(self, capacity: int = 8192, late_s: Optional[float] = None):
        """
        Preallocate the latency ring buffers.

        :param capacity: most recent samples kept per window.
        :param late_s: a command published more than this after its state's arrival counts
            as late; the late count runs over all windows (a per-window p99 cannot be
            pooled into the whole run's, a count can).
        """
        self.late_s = late_s
        self.late_total = 0
        self.e2e_total = 0
        self._step = np.zeros(capacity)
        self._e2e = np.zeros(capacity)
        self._n = 0
        self._n_e2e = 0
        self._rates = None
        self._synops = 0
        self.total_steps = 0

    def add(self, step_s: float, rates_hz: np.ndarray, synops: int,
            state_to_command_s: Optional[float] = None) -> None:
        """
        Record one control step.

        :param step_s: time of the network step (observation to torques).
        :param rates_hz: firing rate of each layer in this step.
        :param synops: synaptic operations of this step.
        :param state_to_command_s: from the joint state's arrival to the command published.
        """
        cap = len(self._step)
        self._step[self._n % cap] = step_s
        self._n += 1
        if state_to_command_s is not None:
            self._e2e[self._n_e2e % cap] = state_to_command_s
            self._n_e2e += 1
            self.e2e_total += 1
            self.late_total += self.late_s is not None and state_to_command_s > self.late_s
        if self._rates is None or len(self._rates) != len(rates_hz):
            self._rates = np.zeros(len(rates_hz))
        self._rates += rates_hz
        self._synops += synops
        self.total_steps += 1

    def summary(self, reset: bool = True) -> dict:
        """
        Summarise the window.

        :param reset: start a new window.
        :return: dict with steps, step_latency_p50_ms/p99_ms/max_ms,
            state_to_command_p50_ms/p99_ms, rate_hz (per layer), synops_per_step and,
            over all windows, commands_total and late_commands_total.
        """
        n = min(self._n, len(self._step))
        out = {'steps': self._n, 'commands_total': self.e2e_total,
               'late_commands_total': self.late_total}
        if n:
            step = self._step[:n] * 1e3
            out.update(step_latency_p50_ms=float(np.percentile(step, 50)),
                       step_latency_p99_ms=float(np.percentile(step, 99)),
                       step_latency_max_ms=float(step.max()),
                       rate_hz=(self._rates / self._n).tolist(),
                       synops_per_step=self._synops / self._n)
        m = min(self._n_e2e, len(self._e2e))
        if m:
            e2e = self._e2e[:m] * 1e3
            out.update(state_to_command_p50_ms=float(np.percentile(e2e, 50)),
                       state_to_command_p99_ms=float(np.percentile(e2e, 99)))
        if reset:
            self._n = self._n_e2e = 0
            self._synops = 0
            if self._rates is not None:
                self._rates[:] = 0.0
        return out
