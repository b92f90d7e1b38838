# Copyright 2026 predctl_ros contributors
# SPDX-License-Identifier: Apache-2.0
"""
Spiking-network core: neurons, surrogate gradients, connections, networks, checkpoints.

Imports nothing from ROS.
"""

from predctl_ros.snn.networks import (
    build_network, GRUNet, MLPNet, NetState, PolicyNet, PredictionNet, SpikingNet)
from predctl_ros.snn.spec import NetworkSpec, policy_spec, prediction_spec
from predctl_ros.snn.surrogate import Surrogate

__all__ = [
    'build_network', 'GRUNet', 'MLPNet', 'NetState', 'NetworkSpec', 'PolicyNet',
    'PredictionNet', 'SpikingNet', 'Surrogate', 'policy_spec', 'prediction_spec',
]
