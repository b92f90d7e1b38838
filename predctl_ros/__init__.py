# Copyright 2026 predctl_ros contributors
# SPDX-License-Identifier: Apache-2.0
"""
Spiking neural network torque control of robot arms (Pred-Control SNN).

The subpackages snn, envs, learning and data form a ROS-free core; nodes adapt
ROS 2 messages and timing to calls into that core.
"""

__version__ = '0.1.0'
