# Copyright 2026 predctl_ros contributors
# SPDX-License-Identifier: Apache-2.0
"""
Turn recorded bags into replay episodes in a task's observation / action / goal layout.

Timing. Joint states carry the simulator's time in their stamps; commands and goals
carry none that can be trusted (a Float64MultiArray has no header, RViz stamps with its
own clock), so they are placed on the joint-state time line by the order in which the
recorder received them:

* a command takes effect at the stamp of the last joint state received before it (the
  state it answers: exact in lockstep mode, within the transport latency in realtime);
* a goal takes effect with the first command received after it (the policy adopts a goal
  on arrival, and the next command already drives to it).

Resampling. Joint states are linearly interpolated onto a grid of the task's control
period (20 ms) that starts at the first stamp of each run without time gaps; command
and goal of control interval ``[t_k, t_k + dt)`` are the ones in effect at its midpoint
(zero-order hold, as the simulator applies them).

Cuts. An episode ends at a time gap in the joint states (> ``max_gap_s``), where the
latest command is older than ``max_gap_s`` (the simulator's command timeout takes over),
and where the goal changes. Pieces shorter than ``min_steps`` transitions (training
windows need warm-up + horizon steps) are dropped and counted.

Layout. Observations come from the task's own ``observe_batch`` on the resampled joint
positions (velocities from the bag, or finite differences where it has none) and the
end-effector position of the task's model; actions are the commanded torques of the
actuated joints divided by the task's torque limits, clipped to [-1, 1]; the goal is
the target point in the task's goal units.
"""

import dataclasses
from pathlib import Path
from typing import List, NamedTuple, Optional, Sequence, Tuple

import numpy as np
from predctl_ros.bags.errors import BagError
from predctl_ros.bags.reader import find_bags, read_bag, Recording, Topics
from predctl_ros.learning.replay import Episode

_NS = 1_000_000_000


@dataclasses.dataclass(frozen=True)
class ConvertOptions:
    """How recorded messages become episodes."""

    joint_names: Optional[Tuple[str, ...]] = None
    """Names in the bag of the task's joints, in the task's joint order (default: the
    task's own names, panda_joint1..7)."""
    topics: Topics = Topics()
    """Topic names to read."""
    goal_height: float = 0.4
    """z in metres of goals from /goal_pose (RViz's 2D Goal Pose has z = 0)."""
    accepted_frames: Tuple[str, ...] = ('panda_link0', 'world')
    """Frames of goal messages taken as the base frame; goals in other frames are skipped."""
    max_gap_s: float = 0.1
    """Longest tolerated time without a joint state or a fresh command, in seconds."""
    min_steps: int = 45
    """Shortest episode kept, in transitions (default: warm-up 5 + horizon 40)."""

    def __post_init__(self):
        """Validate the options."""
        if not (np.isfinite(self.goal_height) and np.isfinite(self.max_gap_s)
                and self.max_gap_s > 0):
            raise ValueError('goal_height must be finite and max_gap_s a positive number, '
                             f'got {self.goal_height!r}, {self.max_gap_s!r}')
        if int(self.min_steps) != self.min_steps or self.min_steps < 1:
            raise ValueError(f'min_steps must be an integer >= 1, got {self.min_steps!r}')


class BagSummary(NamedTuple):
    """What one bag gave."""

    path: Path
    """The bag."""
    storage: str
    """'mcap' or 'sqlite3'."""
    duration_s: float
    """Time covered by the joint-state stamps."""
    joint_states: int
    """Joint-state messages used."""
    commands: int
    """Command messages read."""
    goal_source: str
    """'active_target', or 'goal_pose/clicked_point' in a bag without it."""
    goal_changes: int
    """Distinct consecutive goals that took effect."""
    gaps: int
    """Time gaps in the joint states longer than max_gap_s."""
    stale_steps: int
    """Control intervals without a fresh command or without a goal (not used)."""
    episodes: int
    """Episodes kept."""
    steps: int
    """Transitions kept."""
    short_pieces: int
    """Pieces dropped for being shorter than min_steps."""
    short_steps: int
    """Transitions in the dropped pieces."""


class BagLoad(NamedTuple):
    """Episodes of all bags that loaded, with what each gave and what failed."""

    episodes: List[Episode]
    """All episodes, bag after bag."""
    summaries: List[BagSummary]
    """One per bag that loaded."""
    errors: List[BagError]
    """One per bag that did not; the caller decides whether that is fatal."""


def site_positions(task, qpos: np.ndarray) -> np.ndarray:
    """
    Return the end-effector site position of the task's model at each configuration.

    The Panda uses the vectorised DH formula of :func:`predctl_ros.envs.models.
    panda_tcp_position` (equal to MuJoCo's ``ee_site`` to 1e-12, see test_envs_tasks);
    other tasks run MuJoCo's kinematics per row.

    :param task: a ReachTask.
    :param qpos: joint positions [N, nq].
    :return: positions [N, 3] in metres, base frame.
    """
    import mujoco  # here, not at import time: the bag recorder needs no MuJoCo
    from predctl_ros.envs import models

    qpos = np.asarray(qpos, float)
    if task.spec.task_id == 'panda_reach':
        return models.panda_tcp_position(qpos)
    data = mujoco.MjData(task.model)
    out = np.empty((len(qpos), 3))
    for i, q in enumerate(qpos):
        data.qpos[:] = q
        mujoco.mj_kinematics(task.model, data)
        out[i] = data.site_xpos[task.ee_site]
    return out


def _runs(mask: np.ndarray, labels: np.ndarray):
    """Yield (start, stop) of maximal runs where mask holds and labels stay constant."""
    if not len(mask):
        return
    change = np.ones(len(mask) + 1, bool)
    change[1:-1] = (mask[1:] != mask[:-1]) | (labels[1:] != labels[:-1])
    edges = np.flatnonzero(change)
    for start, stop in zip(edges[:-1], edges[1:]):
        if mask[start]:
            yield int(start), int(stop)


def _goal_points(recording: Recording, options: ConvertOptions, task):
    goals = recording.goals
    xyz = goals.xyz.copy()
    xyz[np.isnan(xyz[:, 2]), 2] = options.goal_height
    ok = np.array([f in options.accepted_frames for f in goals.frame_id], bool)
    ok &= np.isfinite(xyz).all(axis=1)
    xyz = (task.ee_from_site(xyz[ok]) if ok.any()
           else np.zeros((0, task.spec.goal_size)))
    return goals.recv_ns[ok], xyz


def recording_to_episodes(recording: Recording, task,
                          options: ConvertOptions = ConvertOptions()):
    """
    Convert one bag's arrays to episodes of a task (see the module docstring).

    :param recording: from :func:`read_bag`, read with the task's joint names.
    :param task: a ReachTask (e.g. ``make_task('panda_reach')``).
    :param options: conversion options.
    :return: (list of Episode, BagSummary).
    :raises BagError: too_little_data when no episode of min_steps remains.
    """
    path = recording.path
    spec = task.spec
    dt_ns = int(round(spec.control_dt_s * _NS))
    gap_ns = int(round(options.max_gap_s * _NS))
    stamp = recording.joint_stamp_ns
    # Keep joint states whose stamps increase (drop repeats and out-of-order deliveries).
    keep = np.ones(len(stamp), bool)
    keep[1:] = stamp[1:] > np.maximum.accumulate(stamp)[:-1]
    keep &= np.isfinite(recording.position).all(axis=1)
    stamp, recv = stamp[keep], recording.joint_recv_ns[keep]
    position, velocity = recording.position[keep], recording.velocity[keep]
    # Commands take effect at the stamp of the state they answer.
    answered = np.searchsorted(recv, recording.command_recv_ns, side='right') - 1
    usable = (answered >= 0) & np.isfinite(recording.command).all(axis=1)
    command_t = stamp[answered[usable]]
    command = recording.command[usable]
    command_recv = recording.command_recv_ns[usable]
    # Goals take effect with the first command after them; repeats of a goal do not cut.
    goal_recv, goal_xyz = _goal_points(recording, options, task)
    first = np.searchsorted(command_recv, goal_recv, side='left')
    adopted = first < len(command_t)
    goal_t, goal_xyz = command_t[first[adopted]], goal_xyz[adopted]
    goal_id = np.zeros(len(goal_t), np.int64)
    if len(goal_t) > 1:
        goal_id[1:] = np.cumsum(np.any(np.abs(np.diff(goal_xyz, axis=0)) > 1e-9, axis=1))
    episodes = []
    counts = {'gaps': 0, 'stale': 0, 'short': 0, 'short_steps': 0}
    segment_edges = np.flatnonzero(np.diff(stamp) > gap_ns) + 1
    counts['gaps'] = len(segment_edges)
    actuated = np.asarray(task.actuated)
    for lo, hi in zip(np.r_[0, segment_edges], np.r_[segment_edges, len(stamp)]):
        if hi - lo < 2:
            continue
        ts = stamp[lo:hi]
        n_grid = int((ts[-1] - ts[0]) // dt_ns) + 1
        grid = ts[0] + dt_ns * np.arange(n_grid, dtype=np.int64)
        mid = grid[:-1] + dt_ns // 2
        c = np.searchsorted(command_t, mid, side='right') - 1
        g = np.searchsorted(goal_t, mid, side='right') - 1
        valid = (c >= 0) & (g >= 0)
        valid[valid] &= (mid[valid] - command_t[c[valid]]) <= gap_ns
        counts['stale'] += int((~valid).sum())
        labels = goal_id[np.maximum(g, 0)] if len(goal_id) else np.zeros(len(g), np.int64)
        for a, b in _runs(valid, np.where(valid, labels, -1)):
            if b - a < options.min_steps:
                counts['short'] += 1
                counts['short_steps'] += b - a
                continue
            episodes.append(_episode(task, ts, position[lo:hi], velocity[lo:hi],
                                     grid[a:b + 1], command[c[a:b]][:, actuated],
                                     goal_xyz[g[a]]))
    steps = sum(e.length for e in episodes)
    summary = BagSummary(
        path=path, storage=recording.storage,
        duration_s=float(stamp[-1] - stamp[0]) / _NS if len(stamp) else 0.0,
        joint_states=int(len(stamp)), commands=int(len(recording.command)),
        goal_source=('active_target' if 'active_target' in recording.goals.source
                     else 'goal_pose/clicked_point'),
        goal_changes=int(goal_id[-1] + 1) if len(goal_id) else 0, gaps=counts['gaps'],
        stale_steps=counts['stale'], episodes=len(episodes), steps=steps,
        short_pieces=counts['short'], short_steps=counts['short_steps'])
    if not episodes:
        raise BagError(path, 'too_little_data', _too_little(summary, options, len(goal_t)))
    return episodes, summary


def _too_little(summary, options, goals):
    if summary.joint_states < 2:
        return f'{summary.joint_states} usable joint states'
    if not goals:
        return ('no goal took effect (goals need an accepted frame '
                f'{list(options.accepted_frames)} and a command after them)')
    return (f'no piece of >= {options.min_steps} control steps ({summary.duration_s:.2f} s '
            f'of joint states, {summary.short_pieces} shorter pieces with '
            f'{summary.short_steps} steps, {summary.gaps} time gaps, {summary.stale_steps} '
            'intervals without a fresh command or goal)')


def _episode(task, ts, position, velocity, grid, torque, goal) -> Episode:
    """Resample joint states at grid and build one episode."""
    idx = np.clip(np.searchsorted(ts, grid, side='right') - 1, 0, len(ts) - 2)
    w = ((grid - ts[idx]) / (ts[idx + 1] - ts[idx]))[:, None]
    qpos = position[idx] + w * (position[idx + 1] - position[idx])
    if np.isfinite(velocity[idx]).all() and np.isfinite(velocity[idx + 1]).all():
        qvel = velocity[idx] + w * (velocity[idx + 1] - velocity[idx])
    else:
        qvel = np.gradient(qpos, task.spec.control_dt_s, axis=0)
    obs = np.empty((len(grid), task.spec.obs_size))
    task.observe_batch(qpos, qvel, site_positions(task, qpos), obs)
    action = np.clip(torque / task.effort, -1.0, 1.0)
    goal = np.broadcast_to(np.asarray(goal, np.float32), (len(action), len(goal)))
    return Episode(obs.astype(np.float32), action.astype(np.float32), goal.copy())


def load_bags(paths: Sequence, task, options: ConvertOptions = ConvertOptions()) -> BagLoad:
    """
    Read and convert bags; a bag that fails is reported and the others still load.

    :param paths: bag folders, .mcap/.db3 files, or folders of bag folders.
    :param task: the task whose layout the episodes take (the checkpoint's task).
    :param options: conversion options.
    :return: BagLoad(episodes, summaries, errors).
    """
    joint_names = options.joint_names or task.joint_names
    if len(joint_names) != len(task.joint_names):
        raise ValueError(f'joint_names has {len(joint_names)} names; the task has joints '
                         f'{list(task.joint_names)}')
    episodes, summaries, errors = [], [], []
    for path in find_bags(paths):
        try:
            recording = read_bag(path, joint_names, options.topics)
            found, summary = recording_to_episodes(recording, task, options)
        except BagError as exc:
            errors.append(exc)
            continue
        episodes += found
        summaries.append(summary)
    return BagLoad(episodes, summaries, errors)


def fill_replay(buffer, episodes: Sequence[Episode]) -> int:
    """
    Add episodes to a replay buffer whose sizes match.

    :param buffer: a :class:`predctl_ros.learning.replay.ReplayBuffer`.
    :param episodes: from :func:`load_bags`.
    :return: transitions added.
    :raises ValueError: when the sizes differ from the buffer's (another task's layout).
    """
    added = 0
    for episode in episodes:
        sizes = (episode.obs.shape[1], episode.action.shape[1], episode.goal.shape[1])
        if sizes != tuple(buffer.sizes):
            raise ValueError(f'episode sizes (obs, action, goal) = {sizes} do not match the '
                             f'replay buffer {tuple(buffer.sizes)}: converted for another task')
        buffer.add(episode.obs, episode.action, episode.goal)
        added += episode.length
    return added


def split_held_out(episodes: Sequence[Episode], every: int = 5):
    """
    Split episodes into training and held-out sets, deterministically.

    :param episodes: episodes in recording order.
    :param every: every ``every``-th episode (the 5th, 10th, ...) is held out; with
        fewer than ``every`` episodes, the last one is.
    :return: (train, held_out) lists; held_out is empty for a single episode.
    """
    if every < 2:
        raise ValueError(f'every must be >= 2, got {every}')
    episodes = list(episodes)
    if len(episodes) < 2:
        return episodes, []
    held = set(range(every - 1, len(episodes), every)) or {len(episodes) - 1}
    return ([e for i, e in enumerate(episodes) if i not in held],
            [e for i, e in enumerate(episodes) if i in held])
