# Copyright 2026 predctl_ros contributors
# SPDX-License-Identifier: Apache-2.0
"""
Bags of simulated episodes, written by an independent writer (``rosbags`` Writer).

:func:`rollout` runs the reference controller in the gymnasium environment, switching
goals at given steps, and keeps the environment's own observations and actions;
:func:`write_bag` writes what the ROS stack would have published during it (joint states
stamped with sim time, torque commands, the active target or RViz goals) with
receive times as a recorder in lockstep mode would see them.
"""

from typing import NamedTuple

import numpy as np
from predctl_ros import envs
from rosbags.rosbag2 import StoragePlugin, Writer
from rosbags.typesys import get_typestore, Stores

STORE = get_typestore(Stores.ROS2_KILTED)
T = STORE.types
JOINTS = tuple(f'panda_joint{i}' for i in range(1, 8))
SIM_T0_NS = 100_000_000_000          # sim time of the first joint state
WALL_T0_NS = 1_760_000_000_000_000_000
WALL_STEP_NS = 5_000_000             # lockstep: a control period takes 5 ms of wall time
DT_NS = 20_000_000


class Rollout(NamedTuple):
    """One simulated run: the environment's observations and actions, and the state."""

    obs: np.ndarray       # [S + 1, 9], env observations
    action: np.ndarray    # [S, 6], clipped actions the env applied
    qpos: np.ndarray      # [S + 1, 7]
    qvel: np.ndarray      # [S + 1, 7]
    goal: np.ndarray      # [S, 3], goal the controller drove to at each step
    effort: np.ndarray    # [6] torque limits


def rollout(steps: int, goals: dict, seed: int = 0) -> Rollout:
    """
    Run the reference controller, switching goals at the given steps.

    :param steps: control steps.
    :param goals: {first step: goal xyz}; must contain 0.
    :param seed: reset seed (start configuration).
    :return: Rollout.
    """
    env = envs.make_env('panda_reach', episode_steps=steps)
    task = env.task
    controller = envs.reference_controller('panda_reach', task=task)
    obs0, _ = env.reset(seed=seed, options={'goal': goals[0]})
    obs, actions, qpos, qvel, goal_of_step = [obs0], [], [env.data.qpos.copy()], \
        [env.data.qvel.copy()], []
    goal = np.asarray(goals[0], float)
    for k in range(steps):
        goal = np.asarray(goals.get(k, goal), float)
        action = task.check_actions(controller(env.data, goal))
        o, *_ = env.step(action)
        obs.append(o)
        actions.append(action)
        qpos.append(env.data.qpos.copy())
        qvel.append(env.data.qvel.copy())
        goal_of_step.append(goal)
    env.close()
    return Rollout(np.array(obs), np.array(actions), np.array(qpos), np.array(qvel),
                   np.array(goal_of_step), task.effort.copy())


def _stamp(t_ns):
    return T['builtin_interfaces/msg/Time'](sec=int(t_ns // 10**9), nanosec=int(t_ns % 10**9))


def _header(t_ns, frame=''):
    return T['std_msgs/msg/Header'](stamp=_stamp(t_ns), frame_id=frame)


def joint_state(t_ns, q, qd, names=JOINTS):
    """Return a JointState message."""
    return T['sensor_msgs/msg/JointState'](
        header=_header(t_ns), name=list(names), position=np.asarray(q, float),
        velocity=np.asarray(qd, float), effort=np.zeros(0))


def command(torques):
    """Return a Float64MultiArray message."""
    layout = T['std_msgs/msg/MultiArrayLayout'](dim=[], data_offset=0)
    return T['std_msgs/msg/Float64MultiArray'](layout=layout,
                                               data=np.asarray(torques, float))


def point(t_ns, xyz, frame='panda_link0'):
    """Return a PointStamped message."""
    return T['geometry_msgs/msg/PointStamped'](
        header=_header(t_ns, frame), point=T['geometry_msgs/msg/Point'](
            x=float(xyz[0]), y=float(xyz[1]), z=float(xyz[2])))


def pose(t_ns, xyz, frame='panda_link0'):
    """Return a PoseStamped message (RViz 2D Goal Pose: z = 0)."""
    return T['geometry_msgs/msg/PoseStamped'](
        header=_header(t_ns, frame), pose=T['geometry_msgs/msg/Pose'](
            position=T['geometry_msgs/msg/Point'](x=float(xyz[0]), y=float(xyz[1]), z=0.0),
            orientation=T['geometry_msgs/msg/Quaternion'](x=0.0, y=0.0, z=0.0, w=1.0)))


def messages(run: Rollout, drop=(), goal_topics=None, names=JOINTS):
    """
    Yield (topic, msgtype, message, receive time ns) as a lockstep recording sees them.

    Step k: joint state k (stamp = sim time), then a goal adopted at step k, then the
    command answering state k. The last state gets no command.

    :param run: the rollout.
    :param drop: steps whose joint state and command are missing (a gap).
    :param goal_topics: {step: topic} for each goal change: '/active_target' (default),
        '/goal_pose' or '/clicked_point'.
    :param names: joint names of the JointState messages.
    """
    drop = set(drop)
    changes = [0] + [k for k in range(1, len(run.goal))
                     if not np.array_equal(run.goal[k], run.goal[k - 1])]
    goal_topics = goal_topics or dict.fromkeys(changes, '/active_target')
    for k in range(len(run.qpos)):
        t, wall = SIM_T0_NS + k * DT_NS, WALL_T0_NS + k * WALL_STEP_NS
        if k not in drop:
            yield ('/joint_states', 'sensor_msgs/msg/JointState',
                   joint_state(t, run.qpos[k], run.qvel[k], names), wall)
        if k in goal_topics:
            topic = goal_topics[k]
            msg = pose(t, run.goal[k]) if topic == '/goal_pose' else point(t, run.goal[k])
            msgtype = ('geometry_msgs/msg/PoseStamped' if topic == '/goal_pose'
                       else 'geometry_msgs/msg/PointStamped')
            yield topic, msgtype, msg, wall + 500_000
        if k < len(run.action) and k not in drop:
            torques = np.r_[run.action[k] * run.effort, 0.0]
            yield ('/effort_controller/commands', 'std_msgs/msg/Float64MultiArray',
                   command(torques), wall + 1_000_000)


def write_bag(path, items, storage='mcap'):
    """
    Write (topic, msgtype, message, time) items with the rosbags Writer.

    :param path: bag folder to create.
    :param items: iterable of (topic, msgtype, message, receive time ns).
    :param storage: 'mcap' or 'sqlite3'.
    :return: path.
    """
    plugin = StoragePlugin.MCAP if storage == 'mcap' else StoragePlugin.SQLITE3
    writer = Writer(path, version=9, storage_plugin=plugin)
    writer.open()
    connections = {}
    for topic, msgtype, msg, t_ns in items:
        if topic not in connections:
            connections[topic] = writer.add_connection(topic, msgtype, typestore=STORE)
        writer.write(connections[topic], t_ns, STORE.serialize_cdr(msg, msgtype))
    writer.close()
    return path
