# Copyright 2026 predctl_ros contributors
# SPDX-License-Identifier: Apache-2.0
"""
Write raw CDR messages into rosbag2 bags with ``rosbags``, as ``ros2 bag record`` does.

A bag is a folder with ``metadata.yaml`` and one storage file (MCAP by default, or
sqlite3 ``.db3``). ``metadata.yaml`` is written last, atomically, when the bag is closed;
a folder without it is an unfinished recording. With ``split_duration_s`` the recording
is a folder of consecutive bags (``<name>_0000``, ``<name>_0001``, ...), each closed
before the next opens, so a crash loses only the bag being written and never touches
the finished ones; :func:`predctl_ros.bags.find_bags` expands such a folder. The last
message of a topic declared with ``repeat_on_split`` (a latched topic such as
/active_target) is written again at the start of each new bag, so every bag holds the
goal in effect (as ``ros2 bag record --repeat-transient-local`` does).
"""

from pathlib import Path
import time
from typing import Dict, Optional, Tuple

from predctl_ros.bags.reader import typestore
from rosbags.rosbag2 import StoragePlugin, Writer

STORAGES = {'mcap': StoragePlugin.MCAP, 'sqlite3': StoragePlugin.SQLITE3}


class BagWriter:
    """
    Record raw CDR messages of declared topics into a rosbag2 bag (or a folder of bags).

    Use ``add_topic`` for every topic, then ``write`` the bytes as they arrive, then
    ``close`` (or use it as a context manager). Not thread-safe: call from one thread.
    """

    def __init__(self, path, storage: str = 'mcap', split_duration_s: float = 0.0):
        """
        Create the bag folder (it must not exist yet).

        :param path: the bag folder to create (with split_duration_s: the folder of bags).
        :param storage: 'mcap' (default) or 'sqlite3'.
        :param split_duration_s: > 0 starts a new bag after this many seconds of receive
            time; 0 writes one bag.
        :raises ValueError: on an unknown storage or a negative split duration.
        :raises FileExistsError: when path exists.
        """
        if storage not in STORAGES:
            raise ValueError(f'storage must be one of {sorted(STORAGES)}, got {storage!r}')
        if not split_duration_s >= 0:
            raise ValueError(f'split_duration_s must be >= 0, got {split_duration_s!r}')
        self.path = Path(path)
        if self.path.exists():
            raise FileExistsError(f'{self.path} exists; bags are never overwritten')
        self.storage = storage
        self.split_ns = int(split_duration_s * 1e9)
        self.topics: Dict[str, Tuple[str, tuple, bool]] = {}
        self._last = {}
        self.counts: Dict[str, int] = {}
        self.finished = []
        self._writer: Optional[Writer] = None
        self._connections = {}
        self._part_start = None
        self._last_ns = 0
        if self.split_ns:
            self.path.mkdir(parents=True)
        else:
            self.path.parent.mkdir(parents=True, exist_ok=True)

    @property
    def current(self) -> Optional[Path]:
        """Return the bag being written, or None."""
        return self._writer.path if self._writer else None

    def add_topic(self, topic: str, msgtype: str, qos=(), repeat_on_split: bool = False):
        """
        Declare a topic and its type (e.g. 'sensor_msgs/msg/JointState').

        :param topic: topic name.
        :param msgtype: ROS 2 type name; must be known to the Kilted type store.
        :param qos: offered QoS profiles (rosbags ``Qos``) stored in the metadata.
        :param repeat_on_split: write the topic's last message again into each new bag.
        :raises ValueError: for an unknown type or a topic declared with another type.
        """
        if msgtype not in typestore().types:
            raise ValueError(f'{topic}: message type {msgtype!r} is not in the ROS 2 Kilted '
                             'type store of rosbags')
        known = self.topics.get(topic)
        if known is not None:
            if known[0] != msgtype:
                raise ValueError(f'{topic} was declared as {known[0]}, not {msgtype}')
            return
        self.topics[topic] = (msgtype, tuple(qos), bool(repeat_on_split))
        self.counts[topic] = 0
        if self._writer is not None:
            self._connect(topic)

    def _connect(self, topic):
        msgtype, qos, _ = self.topics[topic]
        self._connections[topic] = self._writer.add_connection(
            topic, msgtype, typestore=typestore(), offered_qos_profiles=list(qos))

    def _open(self, time_ns):
        if self.split_ns:
            path = self.path / f'{self.path.name}_{len(self.finished):04d}'
        else:
            path = self.path
        writer = Writer(path, version=9, storage_plugin=STORAGES[self.storage])
        writer.open()
        self._writer, self._part_start, self._connections = writer, time_ns, {}
        for topic in self.topics:
            self._connect(topic)
        for topic, data in self._last.items():
            writer.write(self._connections[topic], time_ns, data)

    def write(self, topic: str, data: bytes, time_ns: Optional[int] = None) -> None:
        """
        Append one message.

        :param topic: a declared topic.
        :param data: the serialised message, as received (CDR).
        :param time_ns: receive time in ns (default: now, system clock); kept increasing.
        :raises KeyError: for an undeclared topic.
        """
        if topic not in self.topics:
            raise KeyError(f'{topic} was not declared with add_topic')
        time_ns = time.time_ns() if time_ns is None else int(time_ns)
        time_ns = max(time_ns, self._last_ns)
        self._last_ns = time_ns
        if self._writer is not None and self.split_ns and (
                time_ns - self._part_start >= self.split_ns):
            self._close_part()
        if self._writer is None:
            self._open(time_ns)
        self._writer.write(self._connections[topic], time_ns, data)
        self.counts[topic] += 1
        if self.topics[topic][2]:
            self._last[topic] = data

    def _close_part(self):
        writer, self._writer = self._writer, None
        try:
            writer.close()
        except BaseException:
            writer.abort()
            raise
        self.finished.append(writer.path)

    def close(self) -> list:
        """
        Finish the bag being written (storage index, then metadata.yaml).

        A recording without any message still gets an empty, valid bag.

        :return: the finished bag folders.
        """
        if self._writer is None and not self.finished:
            self._open(self._last_ns or time.time_ns())
        if self._writer is not None:
            self._close_part()
        return list(self.finished)

    def __enter__(self):
        """Return self."""
        return self

    def __exit__(self, *exc):
        """Close the bag, also after an exception (what was written stays readable)."""
        self.close()
