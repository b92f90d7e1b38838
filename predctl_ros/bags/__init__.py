# Copyright 2026 predctl_ros contributors
# SPDX-License-Identifier: Apache-2.0
"""
Recorded rosbag2 bags in and out, free of ROS (``rosbags`` only, never rclpy).

* :class:`BagWriter`: raw CDR messages -> a bag folder (metadata.yaml + MCAP or .db3),
  used by the ``bag_recorder`` node;
* :func:`read_bag`: one bag -> a :class:`Recording` of arrays, after checking topics,
  types and joint names;
* :func:`load_bags`: bags -> episodes in a task's observation / action / goal layout
  (:func:`recording_to_episodes`), with a :class:`BagError` for each bag that fails;
* :func:`fill_replay`: episodes -> a :class:`predctl_ros.learning.replay.ReplayBuffer`.
"""

from predctl_ros.bags.convert import (
    BagLoad, BagSummary, ConvertOptions, fill_replay, load_bags, recording_to_episodes,
    site_positions, split_held_out)
from predctl_ros.bags.errors import BagError, PROBLEMS
from predctl_ros.bags.reader import (
    find_bags, Goals, read_bag, Recording, TOPIC_TYPES, Topics, typestore)
from predctl_ros.bags.writer import BagWriter, STORAGES

__all__ = [
    'BagError', 'BagLoad', 'BagSummary', 'BagWriter', 'ConvertOptions', 'fill_replay',
    'find_bags', 'Goals', 'load_bags', 'PROBLEMS', 'read_bag', 'Recording',
    'recording_to_episodes', 'site_positions', 'split_held_out', 'STORAGES',
    'TOPIC_TYPES', 'Topics', 'typestore',
]
