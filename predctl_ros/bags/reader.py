# Copyright 2026 predctl_ros contributors
# SPDX-License-Identifier: Apache-2.0
"""
Read the topics the trainer needs out of rosbag2 bags (MCAP or sqlite3) with ``rosbags``.

:func:`read_bag` opens one bag (a bag folder with ``metadata.yaml``, or a bare ``.mcap``
/ ``.db3`` file), checks that the required topics are there with the right types, and
returns a :class:`Recording`: plain arrays of receive times, stamps, joint positions,
torque commands and goals. Joint states and commands are read vectorised from their CDR
bytes (:mod:`predctl_ros.bags.cdr`); the few goal messages go through the ``rosbags``
deserialiser. Every problem raises :class:`BagError` naming the file and the problem.
"""

import functools
from pathlib import Path
from typing import NamedTuple, Sequence, Tuple

import numpy as np
from predctl_ros.bags import cdr
from predctl_ros.bags.errors import BagError
from rosbags.rosbag2 import Reader
from rosbags.typesys import get_typestore, Stores

JOINT_STATE = 'sensor_msgs/msg/JointState'
FLOAT64_MULTI_ARRAY = 'std_msgs/msg/Float64MultiArray'
POINT_STAMPED = 'geometry_msgs/msg/PointStamped'
POSE_STAMPED = 'geometry_msgs/msg/PoseStamped'
STORAGE_SUFFIXES = ('.mcap', '.db3')


class Topics(NamedTuple):
    """Topic names read from a bag (defaults: the stack's contract, docs/ros.md)."""

    joint_states: str = '/joint_states'
    """sensor_msgs/msg/JointState, stamped with sim time."""
    commands: str = '/effort_controller/commands'
    """std_msgs/msg/Float64MultiArray, one torque (Nm) per joint in joint order."""
    active_target: str = '/active_target'
    """geometry_msgs/msg/PointStamped: the goal the policy drives to."""
    goal_pose: str = '/goal_pose'
    """geometry_msgs/msg/PoseStamped from RViz (z = 0; the height comes from goal_height)."""
    clicked_point: str = '/clicked_point'
    """geometry_msgs/msg/PointStamped from RViz (full 3-D)."""


TOPIC_TYPES = Topics(JOINT_STATE, FLOAT64_MULTI_ARRAY, POINT_STAMPED, POSE_STAMPED,
                     POINT_STAMPED)
"""The message type expected on each topic of :class:`Topics`."""


class Goals(NamedTuple):
    """Goal messages of a bag in receive order."""

    recv_ns: np.ndarray
    """Receive (bag log) times [K] in ns."""
    xyz: np.ndarray
    """Points [K, 3] in metres; z of /goal_pose messages is NaN (set by the converter)."""
    frame_id: Tuple[str, ...]
    """Header frame of each message."""
    source: Tuple[str, ...]
    """Topic field of each message: 'active_target', 'goal_pose' or 'clicked_point'."""


class Recording(NamedTuple):
    """The trainer's topics of one bag as arrays, each in receive order."""

    path: Path
    """The bag (folder or storage file)."""
    storage: str
    """'mcap' or 'sqlite3'."""
    joint_names: Tuple[str, ...]
    """Joint names of the position/velocity columns and command values."""
    joint_recv_ns: np.ndarray
    """Receive (bag log) times of the joint states [N] in ns."""
    joint_stamp_ns: np.ndarray
    """Header stamps of the joint states [N] in ns (sim time)."""
    position: np.ndarray
    """Joint positions [N, J] in rad, columns in joint_names order."""
    velocity: np.ndarray
    """Joint velocities [N, J] in rad/s; NaN rows where a message had none."""
    command_recv_ns: np.ndarray
    """Receive times of the torque commands [M] in ns."""
    command: np.ndarray
    """Torque commands [M, J] in Nm, in joint order."""
    goals: Goals
    """Goal messages: /active_target when the bag has it, else /goal_pose and /clicked_point."""
    counts: dict
    """Messages per topic in the bag (all topics)."""


@functools.lru_cache(maxsize=1)
def typestore():
    """
    Return the ROS 2 Kilted type store of ``rosbags`` (built once).

    :return: the rosbags Typestore.
    """
    return get_typestore(Stores.ROS2_KILTED)


def find_bags(paths: Sequence) -> list:
    """
    Expand paths to bags: a bag folder, a storage file, or a folder of bag folders.

    In a folder of bags (a split recording), sub-folders holding a storage file but no
    metadata.yaml (the part being written when a recorder crashed) are listed too, so that
    :func:`read_bag` reports them. Paths that are none of these are kept as they are, so
    that :func:`read_bag` reports them with the reason.

    :param paths: files or folders.
    :return: list of Paths, in the given order (sub-bags of a folder sorted by name).
    """
    bags = []
    for path in map(Path, paths):
        if path.is_dir() and not (path / 'metadata.yaml').exists():
            inner = sorted(p for p in path.iterdir() if p.is_dir() and (
                (p / 'metadata.yaml').exists()
                or any(f.suffix in STORAGE_SUFFIXES for f in p.iterdir())))
            if inner:
                bags += inner
                continue
        bags.append(path)
    return bags


def _sqlite_truncated(path: Path) -> bool:
    """Tell whether a .db3 file is shorter than the page count in its header says."""
    files = [path] if path.is_file() else sorted(path.glob('*.db3'))
    for file in files:
        with open(file, 'rb') as handle:
            head = handle.read(100)
        if len(head) < 100 or not head.startswith(b'SQLite format 3'):
            continue
        page_size = int.from_bytes(head[16:18], 'big')
        page_size = 65536 if page_size == 1 else page_size
        if file.stat().st_size < page_size * int.from_bytes(head[28:32], 'big'):
            return True
    return False


def _open_error(path: Path, exc: Exception) -> BagError:
    text = str(exc).replace(str(path), '<bag>')
    lower = text.lower()
    if not path.exists():
        return BagError(path, 'missing')
    if path.is_dir() and not (path / 'metadata.yaml').exists():
        storage = sorted(p.name for p in path.iterdir() if p.suffix in STORAGE_SUFFIXES)
        if storage:
            return BagError(path, 'unfinished',
                            f'holds {", ".join(storage)} but no metadata.yaml; the recorder '
                            'was killed before closing the bag (read the storage file '
                            'directly if it is complete)')
        return BagError(path, 'not_a_bag', 'folder without metadata.yaml or storage files')
    if path.is_file() and path.suffix not in STORAGE_SUFFIXES:
        return BagError(path, 'not_a_bag', f'unknown storage file type {path.suffix!r}; '
                        'expected a bag folder, .mcap or .db3')
    if any(key in lower for key in ('end magic', 'truncat', 'unexpected end', 'short read',
                                    'not enough data', 'ends at byte')):
        return BagError(path, 'truncated', text)
    if 'malformed' in lower and _sqlite_truncated(path):
        return BagError(path, 'truncated', f'the .db3 file is shorter than its header says '
                        f'({text})')
    return BagError(path, 'corrupt', f'{type(exc).__name__}: {text}')


def _check_topics(path, reader_topics, topics: Topics):
    problems = []
    present = {}
    for field, topic in topics._asdict().items():
        info = reader_topics.get(topic)
        if info is None or not info.msgcount:
            continue
        expected = getattr(TOPIC_TYPES, field)
        if info.msgtype != expected:
            problems.append(f'{topic} has type {info.msgtype}, expected {expected}')
            continue
        formats = {getattr(c.ext, 'serialization_format', 'cdr') for c in info.connections}
        if formats != {'cdr'}:
            problems.append(f'{topic} is serialised as {sorted(formats)}, expected cdr')
            continue
        present[field] = info
    if problems:
        raise BagError(path, 'wrong_type', '; '.join(problems))
    missing = [getattr(topics, f) for f in ('joint_states', 'commands') if f not in present]
    goal_fields = ('active_target', 'goal_pose', 'clicked_point')
    if not any(f in present for f in goal_fields):
        missing.append(' or '.join(getattr(topics, f) for f in goal_fields))
    if missing:
        have = ', '.join(f'{t} ({i.msgtype}, {i.msgcount})'
                         for t, i in sorted(reader_topics.items())) or 'nothing'
        raise BagError(path, 'missing_topics',
                       f'no messages on {"; ".join(missing)} (the bag has: {have})')
    return present


def read_bag(path, joint_names: Sequence[str], topics: Topics = Topics()) -> Recording:
    """
    Read the trainer's topics of one bag.

    Goals come from /active_target when the bag has it (the goal the policy actually
    drove to), else from /goal_pose and /clicked_point (what RViz sent).

    :param path: bag folder, or a .mcap / .db3 file.
    :param joint_names: the joints to read, in the order wanted (names in the bag).
    :param topics: topic names.
    :return: the Recording.
    :raises BagError: missing, unfinished, truncated or corrupt bag; missing topics; wrong
        types; joint-name mismatch; malformed messages.
    """
    path = Path(path)
    joint_names = tuple(joint_names)
    try:
        reader = Reader(path)
        reader.open()
    except Exception as exc:  # rosbags raises many kinds on damaged files
        raise _open_error(path, exc) from exc
    try:
        present = _check_topics(path, reader.topics, topics)
        goal_fields = (('active_target',) if 'active_target' in present
                       else tuple(f for f in ('goal_pose', 'clicked_point') if f in present))
        wanted = ('joint_states', 'commands') + goal_fields
        field_of = {}
        for field in wanted:
            for connection in present[field].connections:
                field_of[connection.id] = field
        recv = {field: [] for field in wanted}
        raws = {field: [] for field in wanted}
        connections = [c for c in reader.connections if c.id in field_of]
        try:
            for connection, stamp, raw in reader.messages(connections=connections):
                field = field_of[connection.id]
                recv[field].append(stamp)
                raws[field].append(raw)
        except Exception as exc:  # damaged chunks, CRC errors, short reads
            raise _open_error(path, exc) from exc
        storage = 'mcap' if _storage_suffix(path, reader) == '.mcap' else 'sqlite3'
        counts = {t: int(i.msgcount) for t, i in reader.topics.items()}
    finally:
        reader.close()
    joints = _joint_states(path, topics.joint_states, raws['joint_states'],
                           recv['joint_states'], joint_names)
    command_recv, command = _commands(path, topics.commands, raws['commands'],
                                      recv['commands'], len(joint_names))
    goals = _goals(path, topics, goal_fields, raws, recv)
    return Recording(path, storage, joint_names, *joints, command_recv, command, goals, counts)


def _storage_suffix(path, reader):
    if path.is_file():
        return path.suffix
    paths = getattr(reader.storage, 'paths', None) or list(path.iterdir())
    suffixes = {Path(p).suffix for p in paths} & set(STORAGE_SUFFIXES)
    return '.mcap' if '.mcap' in suffixes else '.db3'


def _slow_groups(path, topic, raws, rejected, msgtype):
    """Deserialise messages the fast path refused (big-endian CDR); refuse broken ones."""
    store = typestore()
    messages = []
    for index, reason in rejected:
        try:
            messages.append((index, store.deserialize_cdr(bytes(raws[index]), msgtype)))
        except Exception as exc:  # rosbags raises assorted errors on malformed CDR
            raise BagError(path, 'bad_message', f'{topic} message #{index}: {reason}; '
                           f'rosbags: {exc}') from exc
    return messages


def _joint_states(path, topic, raws, recv, joint_names):
    groups, rejected = cdr.extract(raws, cdr.joint_state_layout, ('position', 'velocity'))
    n, n_joints = len(raws), len(joint_names)
    stamp = np.zeros(n, np.int64)
    position = np.full((n, n_joints), np.nan)
    velocity = np.full((n, n_joints), np.nan)
    keep = np.zeros(n, bool)
    seen = set()

    def place(index, names, stamp_ns, pos, vel):
        seen.add(names)
        if not set(joint_names) & set(names):
            return  # another publisher's joints (a gripper, say): not ours
        missing = [j for j in joint_names if j not in names]
        if missing:
            raise BagError(path, 'joint_names', f'{topic} messages name {list(names)}; '
                           f'missing {missing} (expected {list(joint_names)})')
        if pos.shape[1] != len(names):
            raise BagError(path, 'bad_message', f'{topic}: {pos.shape[1]} positions for '
                           f'{len(names)} names')
        perm = [names.index(j) for j in joint_names]
        stamp[index] = stamp_ns
        position[index] = pos[:, perm]
        if vel.shape[1] == len(names):
            velocity[index] = vel[:, perm]
        keep[index] = True

    for group in groups:
        place(group.index, group.layout.strings['name'], group.stamp_ns,
              group.arrays['position'], group.arrays['velocity'])
    for index, msg in _slow_groups(path, topic, raws, rejected, JOINT_STATE):
        stamp_ns = msg.header.stamp.sec * 1_000_000_000 + msg.header.stamp.nanosec
        place(np.array([index]), tuple(msg.name), np.array([stamp_ns]),
              np.asarray(msg.position, float)[None], np.asarray(msg.velocity, float)[None])
    if not keep.any():
        raise BagError(path, 'joint_names', f'no {topic} message names the joints '
                       f'{list(joint_names)}; names found: {[list(s) for s in seen]}')
    recv = np.asarray(recv, np.int64)
    return recv[keep], stamp[keep], position[keep], velocity[keep]


def _commands(path, topic, raws, recv, n_joints):
    groups, rejected = cdr.extract(raws, cdr.float64_multi_array_layout, ('data',))
    values = np.full((len(raws), n_joints), np.nan)
    sizes = set()
    for group in groups:
        data = group.arrays['data']
        sizes.add(data.shape[1])
        if data.shape[1] == n_joints:
            values[group.index] = data
    for index, msg in _slow_groups(path, topic, raws, rejected, FLOAT64_MULTI_ARRAY):
        data = np.asarray(msg.data, float)
        sizes.add(data.size)
        if data.size == n_joints:
            values[index] = data
    if sizes - {n_joints}:
        raise BagError(path, 'joint_names', f'{topic} holds commands of {sorted(sizes)} '
                       f'values; expected {n_joints} (one per joint)')
    return np.asarray(recv, np.int64), values


def _goals(path, topics, fields, raws, recv):
    store = typestore()
    rows = []
    for field in fields:
        msgtype = getattr(TOPIC_TYPES, field)
        topic = getattr(topics, field)
        for stamp, raw in zip(recv[field], raws[field]):
            try:
                msg = store.deserialize_cdr(bytes(raw), msgtype)
            except Exception as exc:  # rosbags raises assorted errors on malformed CDR
                raise BagError(path, 'bad_message', f'{topic}: {exc}') from exc
            point = msg.pose.position if field == 'goal_pose' else msg.point
            z = np.nan if field == 'goal_pose' else point.z
            rows.append((stamp, (point.x, point.y, z), msg.header.frame_id, field))
    rows.sort(key=lambda row: row[0])
    return Goals(np.array([r[0] for r in rows], np.int64),
                 np.array([r[1] for r in rows], float).reshape(-1, 3),
                 tuple(r[2] for r in rows), tuple(r[3] for r in rows))
