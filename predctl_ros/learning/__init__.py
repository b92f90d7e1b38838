# Copyright 2026 predctl_ros contributors
# SPDX-License-Identifier: Apache-2.0
"""
Learning pipeline of Pred-Control: replay, prediction and policy objectives.

ROS-free; fed by simulated collection or by episodes extracted from rosbag2
recordings.
"""
