# Copyright 2026 predctl_ros contributors
# SPDX-License-Identifier: Apache-2.0
"""
N simulated worlds of a task, stepped with no Python per world.

Both environments are built on :class:`Worlds` (the gymnasium one with N = 1), so a
world of the batch and a single environment run exactly the same code.

The worlds live in a ``mujoco.batch.Batch``: one state row per world, stepped by
MuJoCo's C++ thread pool, with the end-effector site computed at the new state in the
same call. ``qpos``/``qvel`` are live views of the state rows, so observations,
distances and divergence checks are vectorised over the batch and nothing is copied
per world. The batch is bit-identical to one ``mj_step`` loop per world at any thread
count (tested). Copying states in and out of ``mujoco.rollout`` per control step was
measured 1.4-2x slower than bare stepping on the planar arm, where the per-world Python
costs as much as the physics.

``datas[i]`` is a plain ``MjData`` of world i for controllers and renderers, synced from
the batch (state and kinematics) when it is looked up after a step; the state of an
MjData looked up goes back into the batch before the next step, so writing to it works
as with one MjData per world. Look it up again after each step: a reference kept from
before is stale. Where ``mujoco.batch`` is missing (mujoco < 4.0) the MjData are the
worlds and are stepped one by one (the fallback).

Divergence: MuJoCo answers a non-finite or huge state with a warning and
``mj_resetData``, which sets the clock to 0. A world diverged when its clock did not
advance by exactly one control period or its bad-state warning count changed.
"""

from collections.abc import Sequence

import mujoco
import numpy as np

from predctl_ros.envs import physics

try:
    from mujoco import batch as _mj_batch
except ImportError:  # mujoco < 4.0: per-world stepping
    _mj_batch = None

HAS_BATCH = _mj_batch is not None

STATE_SPEC = mujoco.mjtState.mjSTATE_INTEGRATION

_BAD_STATE_WARNINGS = (
    int(mujoco.mjtWarning.mjWARN_BADQPOS),
    int(mujoco.mjtWarning.mjWARN_BADQVEL),
    int(mujoco.mjtWarning.mjWARN_BADQACC),
)


def bad_state_count(data: mujoco.MjData) -> int:
    """
    Return how many bad-state warnings (qpos, qvel, qacc) MuJoCo raised in a world.

    :param data: the world.
    :return: the count since the last mj_resetData.
    """
    counts = data.warning.number
    return sum(int(counts[w]) for w in _BAD_STATE_WARNINGS)


class WorldDatas(Sequence):
    """The worlds as MjData, each synced from the batch when looked up after a step."""

    def __init__(self, model: mujoco.MjModel, datas: list, states: np.ndarray):
        """
        Wrap the MjData of the worlds.

        :param model: the task's model.
        :param datas: one MjData per world.
        :param states: the batch's state rows [N, nstate] (mjSTATE_INTEGRATION).
        """
        self._model, self._datas, self._states = model, datas, states
        self.stale = np.zeros(len(datas), dtype=bool)
        self.lent = np.zeros(len(datas), dtype=bool)

    def __len__(self):
        """Return N."""
        return len(self._datas)

    def __getitem__(self, index):
        """
        Return world ``index``'s MjData (state and kinematics current), or a list for a slice.

        :param index: world index or slice.
        :return: MjData.
        """
        if isinstance(index, slice):
            return [self[i] for i in range(*index.indices(len(self)))]
        data = self._datas[index]
        if self.stale[index]:
            mujoco.mj_setState(self._model, data, self._states[index], STATE_SPEC)
            mujoco.mj_kinematics(self._model, data)
            self.stale[index] = False
        self.lent[index] = True
        return data

    def write_back(self):
        """Put the state of every MjData looked up since the last call into the batch."""
        for i in np.flatnonzero(self.lent):
            mujoco.mj_getState(self._model, self._datas[i], self._states[i], STATE_SPEC)
        self.lent[:] = False

    def raw(self, index: int) -> mujoco.MjData:
        """
        Return world ``index``'s MjData without syncing it (to write a new state into it).

        :param index: world index.
        :return: MjData.
        """
        return self._datas[index]


class Worlds:
    """
    N worlds of a task with their state as batch arrays.

    Attributes: ``datas`` (N MjData, see the module doc), ``qpos`` [N, nq], ``qvel``
    [N, nv], ``site`` [N, 3] (end-effector site, metres), ``starts`` [N, nq],
    ``goals`` [N, goal_size], ``velocity_limited`` [N] (some joint reached its velocity
    limit in the last control period and was clamped, :mod:`predctl_ros.envs.physics`).
    """

    def __init__(self, task, num_worlds: int, num_threads: int = 1):
        """
        Allocate the worlds.

        :param task: a :class:`ReachTask`.
        :param num_worlds: N.
        :param num_threads: threads stepping the worlds (1 = the calling thread).
        """
        self.task = task
        self.model = task.model
        n, m = int(num_worlds), task.model
        self.num_worlds = n
        self.num_threads = max(1, int(num_threads))
        datas = [mujoco.MjData(m) for _ in range(n)]
        self.site = np.zeros((n, 3))
        self.ctrl = np.zeros((n, len(task.actuated)))
        self.starts = np.zeros((n, m.nq))
        self.goals = np.zeros((n, task.spec.goal_size))
        self._step_ok = np.ones(n, dtype=bool)
        self.velocity_limited = np.zeros(n, dtype=bool)
        self._velocity_limits = task.velocity_limits
        self._closed = False
        self._n_sub = task.n_substeps
        self._control_dt = task.n_substeps * m.opt.timestep
        self._half_dt = 0.5 * m.opt.timestep
        self._n_act = len(task.actuated)
        self._ee_site = task.ee_site
        self._batch = None
        if HAS_BATCH:
            self._batch = _mj_batch.Batch(m, n, nthread=self.num_threads)
            self.qpos = self._batch.bind('qpos')   # live views of the state rows
            self.qvel = self._batch.bind('qvel')
            self._time = self._batch.bind('time')
            self._ctrl = self._batch.bind('ctrl')
            self._site_xpos = self._batch.bind('site_xpos')
            self.datas = WorldDatas(m, datas, self._batch.state)
            self._bad = np.zeros(n, dtype=np.int64)
        else:
            self.qpos = np.zeros((n, m.nq))
            self.qvel = np.zeros((n, m.nv))
            self.datas = datas

    def close(self):
        """Refuse further steps."""
        self._closed = True

    def reset_world(self, i: int, start: np.ndarray, goal: np.ndarray):
        """
        Put world i at rest at a validated start, with its goal.

        :param i: world index.
        :param start: start qpos [nq].
        :param goal: goal [goal_size].
        """
        self.starts[i] = start
        self.goals[i] = goal
        self.velocity_limited[i] = False
        if self._batch is None:
            data = self.datas[i]
            self.task.set_state(data, start, goal)
            self._gather(i)
            return
        data = self.datas.raw(i)
        self.task.set_state(data, start, goal)
        mujoco.mj_getState(self.model, data, self._batch.state[i], STATE_SPEC)
        self.datas.stale[i] = self.datas.lent[i] = False
        self.site[i] = data.site_xpos[self._ee_site]

    def _gather(self, i):
        data = self.datas[i]
        self.qpos[i] = data.qpos
        self.qvel[i] = data.qvel
        self.site[i] = data.site_xpos[self._ee_site]

    def set_actions(self, actions: np.ndarray):
        """
        Turn checked, clipped actions into the controls of the next step.

        :param actions: [N, action_size] in [-1, 1].
        """
        np.multiply(actions, self.task.effort, out=self.ctrl)

    def _bad_counts(self) -> np.ndarray:
        # rows of mjWarningStat: (lastinfo, number)
        return self._batch.warning[:, _BAD_STATE_WARNINGS, 1].sum(axis=1)

    def step(self):
        """Advance all worlds by one control period with the controls set before."""
        if self._closed:
            raise RuntimeError('the worlds were closed')
        if self._batch is None:
            self.advance(range(self.num_worlds))
            return
        self.datas.write_back()
        self._ctrl[:, :self._n_act] = self.ctrl
        start_time = self._time.copy()
        self._bad[:] = self._bad_counts()
        # One physics step per call, so that joint speeds are clamped after each.
        self.velocity_limited[:] = False
        for _ in range(self._n_sub):
            self._batch.step(nstep=1, stage=mujoco.mjtStage.mjSTAGE_POS)
            self.velocity_limited |= physics.clamp_velocities(self.qvel, self._velocity_limits)
        # MuJoCo answers a bad state with a warning and mj_resetData, which sets the
        # time back to 0: a clock that did not advance by one control period reveals it;
        # a reset before the first substep from time 0 shows only in the warning count.
        np.less(np.abs(self._time - start_time - self._control_dt), self._half_dt,
                out=self._step_ok)
        self._step_ok &= self._bad_counts() == self._bad
        self.site[:] = self._site_xpos[:, self._ee_site]
        self.datas.stale[:] = True

    def advance(self, indices):
        """
        Advance the given worlds one by one (the fallback of :meth:`step`).

        Thread-safe for disjoint index sets.

        :param indices: iterable of world indices.
        """
        model, datas, ctrl, n_act, n_sub = self.model, self.datas, self.ctrl, self._n_act, \
            self._n_sub
        for i in indices:
            data = datas[i]
            data.ctrl[:n_act] = ctrl[i]
            start_time, bad = data.time, bad_state_count(data)
            self.velocity_limited[i] = physics.step_limited(model, data, n_sub,
                                                            self._velocity_limits)
            mujoco.mj_kinematics(model, data)
            self._step_ok[i] = (abs(data.time - start_time - self._control_dt) < self._half_dt
                                and bad_state_count(data) == bad)
            self._gather(i)

    def retarget_world(self, i: int, goal: np.ndarray):
        """
        Give world i a new goal where it is, moving or not.

        Its current configuration becomes its start (where a divergence puts it back).

        :param i: world index.
        :param goal: validated goal [goal_size].
        """
        self.goals[i] = goal
        self.starts[i] = np.clip(self.qpos[i], self.task.ranges[:, 0], self.task.ranges[:, 1])
        # Looking the world up syncs its MjData; the marker is written back before the next step.
        self.datas[i].mocap_pos[self.task.goal_mocap] = self.task.goal_to_site(goal)

    def check(self) -> np.ndarray:
        """
        Find worlds whose last step diverged and put them back at their starts.

        A world diverged when its state is not finite, its clock jumped (MuJoCo reset it
        after a bad state) or its bad-state warning count changed.

        :return: boolean mask [N] of the worlds that were reset.
        """
        finite = np.isfinite(self.qpos).all(axis=1) & np.isfinite(self.qvel).all(axis=1)
        diverged = ~(finite & self._step_ok)
        for i in np.flatnonzero(diverged):
            self.reset_world(i, self.starts[i].copy(), self.goals[i].copy())
        return diverged

    def observe(self, out: np.ndarray, rngs=None) -> np.ndarray:
        """
        Write the observations of all worlds.

        :param out: destination [N, obs_size].
        :param rngs: one generator per world (observation noise).
        :return: out.
        """
        return self.task.observe_batch(self.qpos, self.qvel, self.site, out, rngs)

    def ee(self) -> np.ndarray:
        """
        Return the end-effector positions in goal units.

        :return: new array [N, goal_size].
        """
        return self.task.ee_from_site(self.site)

    def distances(self, ee: np.ndarray) -> np.ndarray:
        """
        Return the Euclidean distances of the end effectors to their goals.

        :param ee: positions [N, goal_size] in goal units.
        :return: new array [N].
        """
        return np.sqrt(np.square(ee - self.goals).sum(axis=1))
