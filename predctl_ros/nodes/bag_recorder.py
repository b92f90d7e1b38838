# Copyright 2026 predctl_ros contributors
# SPDX-License-Identifier: Apache-2.0
"""
bag_recorder: record topics into a rosbag2 bag without ``ros2 bag`` (rclpy + rosbags).

Subscribes with ``raw=True`` (the CDR bytes as they came over the wire) to each topic of
the ``topics`` parameter as soon as a publisher offers it, with the publishers' QoS
(reliable or best effort; transient local to receive a latched /active_target), and
writes the bytes with :class:`predctl_ros.bags.BagWriter`: a bag folder with
metadata.yaml and MCAP (or sqlite3) that ``ros2 bag info`` opens. Receive times are the
system clock (as ``ros2 bag record`` without --use-sim-time); the messages' own stamps
carry the simulation time. SIGINT or SIGTERM closes the bag so that it is valid.

Parameters: ``output`` (bag folder to create; empty: rosbag2_<date>-<time> in the working
directory), ``storage`` (mcap | sqlite3), ``topics`` (list), ``split_duration`` (s; > 0
writes a folder of consecutive bags so a crash loses only the last one).
"""

import datetime
import functools
import importlib
import sys
import time

from predctl_ros.bags import BagWriter, STORAGES
from predctl_ros.nodes import params
from predctl_ros.nodes.params import Param, ParameterError
from predctl_ros.nodes.run import run_node
import rclpy
import rclpy.logging
from rclpy.node import Node
from rclpy.qos import DurabilityPolicy, HistoryPolicy, QoSProfile, ReliabilityPolicy
from rosbags.interfaces import (
    Qos, QosDurability, QosHistory, QosLiveliness, QosReliability, QosTime)

DEFAULT_TOPICS = ['/joint_states', '/effort_controller/commands', '/active_target',
                  '/goal_pose', '/clicked_point']


def _check_output(value):
    return None if isinstance(value, str) else f'must be a string, got {value!r}'


def _check_topics(value):
    if not list(value):
        return 'must name at least one topic'
    return params.names()(value)


PARAMS = (
    Param('output', '', 'Bag folder to create (must not exist); empty: '
          'rosbag2_<YYYY_MM_DD-HH_MM_SS> in the working directory.', _check_output,
          read_only=True),
    Param('storage', 'mcap', 'Storage format of the bag: mcap or sqlite3.',
          params.one_of(*sorted(STORAGES)), read_only=True),
    Param('topics', DEFAULT_TOPICS, 'Topics to record (absolute names); each is subscribed '
          'when a publisher appears, with its type and QoS.', _check_topics, read_only=True),
    Param('split_duration', 0.0, 'Seconds per bag; > 0 makes output a folder of '
          'consecutive bags (a crash loses only the one being written); 0: one bag.',
          params.in_range(0.0, 86400.0), read_only=True, low=0.0, high=86400.0),
)
DISCOVERY_PERIOD_S = 0.2


def _bag_time(duration):
    sec, nsec = divmod(int(duration.nanoseconds), 1_000_000_000)
    return QosTime(sec, nsec)


def offered_qos(infos) -> list:
    """
    Convert the publishers' QoS profiles to the rosbags form stored in metadata.yaml.

    ``ros2 bag play`` offers the recorded QoS again (transient local for /active_target).

    :param infos: rclpy TopicEndpointInfo of the publishers.
    :return: list of rosbags Qos (empty when a profile cannot be converted).
    """
    def enum(kind, value):
        return getattr(kind, value.name, kind.UNKNOWN)

    try:
        return [Qos(enum(QosHistory, p.history), int(p.depth),
                    enum(QosReliability, p.reliability), enum(QosDurability, p.durability),
                    _bag_time(p.deadline), _bag_time(p.lifespan),
                    enum(QosLiveliness, p.liveliness),
                    _bag_time(p.liveliness_lease_duration),
                    bool(p.avoid_ros_namespace_conventions))
                for p in (info.qos_profile for info in infos)]
    except (AttributeError, TypeError, ValueError):
        return []


def message_class(type_name: str):
    """
    Import the Python class of a ROS 2 message type.

    :param type_name: e.g. 'sensor_msgs/msg/JointState'.
    :return: the class.
    :raises ValueError: for a malformed name or a type that cannot be imported.
    """
    parts = type_name.split('/')
    if len(parts) != 3 or parts[1] != 'msg':
        raise ValueError(f'not a message type name: {type_name!r}')
    try:
        return getattr(importlib.import_module(f'{parts[0]}.msg'), parts[2])
    except (ImportError, AttributeError) as exc:
        raise ValueError(f'cannot import {type_name}: {exc}') from None


class BagRecorder(Node):
    """Record the configured topics, raw, into a rosbag2 bag."""

    def __init__(self):
        """Declare the parameters, create the bag and start discovering topics."""
        super().__init__('bag_recorder')
        values = params.declare(self, PARAMS)
        output = values['output'] or datetime.datetime.now().strftime(
            'rosbag2_%Y_%m_%d-%H_%M_%S')
        self.wanted = [self.resolve_topic_name(t) for t in values['topics']]
        try:
            self.writer = BagWriter(output, values['storage'], values['split_duration'])
        except (FileExistsError, OSError, ValueError) as exc:
            raise ParameterError(f"{self.get_name()}: parameter 'output': {exc}") from None
        self.subscriptions_by_topic = {}
        self._refused = set()
        self.get_logger().info(f'recording {", ".join(self.wanted)} to {self.writer.path} '
                               f'({values["storage"]})')
        self._discover()
        self._timer = self.create_timer(DISCOVERY_PERIOD_S, self._discover)

    def _qos(self, topic):
        infos = self.get_publishers_info_by_topic(topic)
        reliable = all(i.qos_profile.reliability == ReliabilityPolicy.RELIABLE for i in infos)
        latched = all(i.qos_profile.durability == DurabilityPolicy.TRANSIENT_LOCAL
                      for i in infos)
        return QoSProfile(
            history=HistoryPolicy.KEEP_LAST, depth=1000,
            reliability=ReliabilityPolicy.RELIABLE if reliable
            else ReliabilityPolicy.BEST_EFFORT,
            durability=DurabilityPolicy.TRANSIENT_LOCAL if latched
            else DurabilityPolicy.VOLATILE)

    def _discover(self):
        """Subscribe to wanted topics that have appeared."""
        if len(self.subscriptions_by_topic) == len(self.wanted):
            return
        offered = dict(self.get_topic_names_and_types())
        for topic in self.wanted:
            if topic in self.subscriptions_by_topic or topic not in offered:
                continue
            types = offered[topic]
            if len(types) != 1 or not self.count_publishers(topic):
                if len(types) > 1 and topic not in self._refused:
                    self._refused.add(topic)
                    self.get_logger().error(f'not recording {topic}: offered with several '
                                            f'types {types}')
                continue
            qos = self._qos(topic)
            try:
                cls = message_class(types[0])
                self.writer.add_topic(
                    topic, types[0], offered_qos(self.get_publishers_info_by_topic(topic)),
                    repeat_on_split=qos.durability == DurabilityPolicy.TRANSIENT_LOCAL)
            except ValueError as exc:
                if topic not in self._refused:
                    self._refused.add(topic)
                    self.get_logger().error(f'not recording {topic}: {exc}')
                continue
            self.subscriptions_by_topic[topic] = self.create_subscription(
                cls, topic, functools.partial(self._on_message, topic), qos, raw=True)
            self.get_logger().info(f'recording {topic} ({types[0]}, '
                                   f'{qos.reliability.name.lower()}, '
                                   f'{qos.durability.name.lower()})')

    def _on_message(self, topic, data, info):
        stamp = info.get('received_timestamp') or time.time_ns()
        self.writer.write(topic, data, stamp)

    def close(self):
        """Finish the bag (valid after this) and log what it holds."""
        bags = self.writer.close()
        counts = ', '.join(f'{t}: {n}' for t, n in self.writer.counts.items()) or 'nothing'
        # The node's logger may no longer reach /rosout after a signal shut the context.
        rclpy.logging.get_logger(f'{self.get_name()}.bag').info(
            f'closed {", ".join(map(str, bags))} ({counts})')


def main(args=None):
    """
    Run the recorder until SIGINT/SIGTERM, then close the bag.

    :param args: command-line arguments (default sys.argv).
    :return: exit status: 0, or 1 when a parameter is refused.
    """
    return run_node(BagRecorder, 'bag_recorder', args,
                    on_exit=lambda node, interrupted: node.close())


if __name__ == '__main__':
    sys.exit(main())
