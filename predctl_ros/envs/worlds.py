# Copyright 2026 predctl_ros contributors
# SPDX-License-Identifier: Apache-2.0
"""
N simulated worlds of a task, stepped with as little Python per world as possible.

Both environments are built on :class:`Worlds` (the gymnasium one with N = 1), so a
world of the batch and a single environment run exactly the same code.

Each world keeps its state in its own ``MjData`` (the source of truth, readable and
writable by controllers, renderers and ROS nodes). A control step copies the N physics
states into one array, advances all worlds by the control period in a single
``mujoco.rollout`` call (a C++ thread pool, no Python and no GIL per physics step),
copies the final states back and runs ``mj_kinematics`` on each world; observations,
distances and divergence checks are vectorised over the batch. Python threads stepping
MjData one by one were measured 2-3x slower on two cores (GIL hand-offs between the
short ``mj_step`` calls); they remain the fallback where ``mujoco.rollout.Rollout`` is
missing (mujoco < 3.3).

Divergence: MuJoCo answers a non-finite or huge state with a warning and
``mj_resetData``, which sets the clock to 0. The states enter the rollout with their
clock advanced by ``CLOCK_OFFSET_S``, so any reset inside the rollout shows as a clock
that did not advance by exactly one control period.
"""

import mujoco
import numpy as np

try:
    from mujoco.rollout import Rollout as _Rollout
except ImportError:  # mujoco < 3.3: per-world stepping
    _Rollout = None

HAS_ROLLOUT = _Rollout is not None

STATE_SPEC = mujoco.mjtState.mjSTATE_FULLPHYSICS
CLOCK_OFFSET_S = 1000.0

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


class Worlds:
    """
    The MjData of N worlds with their state gathered into batch arrays.

    Attributes: ``datas`` (N MjData), ``qpos`` [N, nq], ``qvel`` [N, nv], ``site``
    [N, 3] (end-effector site, metres), ``starts`` [N, nq], ``goals`` [N, goal_size].
    """

    def __init__(self, task, num_worlds: int, num_threads: int = 1):
        """
        Allocate the worlds.

        :param task: a :class:`ReachTask`.
        :param num_worlds: N.
        :param num_threads: threads of the rollout pool (1 = the calling thread).
        """
        self.task = task
        self.model = task.model
        n, m = int(num_worlds), task.model
        self.num_worlds = n
        self.datas = [mujoco.MjData(m) for _ in range(n)]
        self.qpos = np.zeros((n, m.nq))
        self.qvel = np.zeros((n, m.nv))
        self.site = np.zeros((n, 3))
        self.ctrl = np.zeros((n, len(task.actuated)))
        self.starts = np.zeros((n, m.nq))
        self.goals = np.zeros((n, task.spec.goal_size))
        self._clock_ok = np.ones(n, dtype=bool)
        self._first = np.zeros(n, dtype=bool)
        self._warnings = np.zeros(n, dtype=int)
        self._n_sub = task.n_substeps
        self._control_dt = task.n_substeps * m.opt.timestep
        self._half_dt = 0.5 * m.opt.timestep
        self._n_act = len(task.actuated)
        self._ee_site = task.ee_site
        self.num_threads = max(1, int(num_threads))
        self._runner = None
        if _Rollout is not None:
            self._runner = _Rollout(nthread=self.num_threads if self.num_threads > 1 else 0)
            self._scratch = [mujoco.MjData(m) for _ in range(self.num_threads)]
            self._models = [m] * n
            size = mujoco.mj_stateSize(m, STATE_SPEC)
            self._state = np.zeros((n, size))
            self._out = np.zeros((n, self._n_sub, size))
            self._sensors = np.zeros((n, self._n_sub, m.nsensordata))
            self._controls = np.zeros((n, self._n_sub, m.nu))

    def close(self):
        """Stop the rollout thread pool."""
        if self._runner is not None:
            self._runner.close()
            self._runner = None

    def reset_world(self, i: int, start: np.ndarray, goal: np.ndarray):
        """
        Put world i at rest at a validated start, with its goal.

        :param i: world index.
        :param start: start qpos [nq].
        :param goal: goal [goal_size].
        """
        self.starts[i] = start
        self.goals[i] = goal
        self.task.set_state(self.datas[i], start, goal)
        self._gather(i)

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

    def step(self):
        """Advance all worlds by one control period with the controls set before."""
        if _Rollout is None:
            self.advance(range(self.num_worlds))
            return
        if self._runner is None:
            raise RuntimeError('the worlds were closed')
        model, datas, state, n_act = self.model, self.datas, self._state, self._n_act
        controls = self._controls
        for i, data in enumerate(datas):
            mujoco.mj_getState(model, data, state[i], STATE_SPEC)
            controls[i, :, n_act:] = data.ctrl[n_act:]
        controls[:, :, :n_act] = self.ctrl[:, None, :]
        start_time = state[:, 0].copy()
        state[:, 0] += CLOCK_OFFSET_S
        self._runner.rollout(self._models, self._scratch, state, controls, nstep=self._n_sub,
                             state=self._out, sensordata=self._sensors, skip_checks=True)
        final = self._out[:, -1]
        self._clock_ok[:] = np.abs(final[:, 0] - state[:, 0] - self._control_dt) < self._half_dt
        self._first[:] = False
        final[:, 0] = start_time + self._n_sub * model.opt.timestep
        for i, data in enumerate(datas):
            mujoco.mj_setState(model, data, final[i], STATE_SPEC)
            data.ctrl[:n_act] = self.ctrl[i]
            mujoco.mj_kinematics(model, data)
            self._gather(i)

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
            start_time = data.time
            first = start_time == 0.0
            if first:
                self._warnings[i] = bad_state_count(data)
            mujoco.mj_step(model, data, nstep=n_sub)
            mujoco.mj_kinematics(model, data)
            # MuJoCo answers a bad state with a warning and mj_resetData, which sets the
            # time back to 0: a clock that did not advance by one control period reveals it.
            self._clock_ok[i] = abs(data.time - start_time - self._control_dt) < self._half_dt
            self._first[i] = first
            self._gather(i)

    def check(self) -> np.ndarray:
        """
        Find worlds whose last step diverged and put them back at their starts.

        A world diverged when its state is not finite, its clock jumped (MuJoCo reset it
        after a bad state) or, on the first step of an episode, MuJoCo raised a bad-state
        warning.

        :return: boolean mask [N] of the worlds that were reset.
        """
        finite = np.isfinite(self.qpos).all(axis=1) & np.isfinite(self.qvel).all(axis=1)
        diverged = ~(finite & self._clock_ok)
        for i in np.flatnonzero(self._first & ~diverged):
            if bad_state_count(self.datas[i]) != self._warnings[i]:
                diverged[i] = True
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
