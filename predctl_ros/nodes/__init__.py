# Copyright 2026 predctl_ros contributors
# SPDX-License-Identifier: Apache-2.0
"""ROS 2 nodes: thin adapters between messages/timing and the ROS-free core."""
