# Copyright 2026 predctl_ros contributors
# SPDX-License-Identifier: Apache-2.0
"""The core (snn, envs, learning, control, bags) must be usable without ROS."""

import subprocess
import sys


def test_core_imports_nothing_from_ros():
    code = ('import sys\n'
            'import predctl_ros.snn, predctl_ros.envs, predctl_ros.learning.train\n'
            'import predctl_ros.bags, predctl_ros.realtime\n'
            'import predctl_ros.learning.ablation, predctl_ros.learning.distributed\n'
            'import predctl_ros.learning.chained\n'
            'import predctl_ros.cli, predctl_ros.control, predctl_ros.stack, predctl_ros.bringup\n'
            # envs and control load their modules on first use: import each one here.
            'import predctl_ros.control.runner, predctl_ros.control.goals\n'
            'import predctl_ros.envs.reach_env, predctl_ros.envs.batched\n'
            'import predctl_ros.envs.reference, predctl_ros.envs.panda_sim\n'
            'ros = sorted(m for m in sys.modules if m.split(".")[0] in '
            '("rclpy", "rosidl_runtime_py", "sensor_msgs", "std_msgs", "geometry_msgs"))\n'
            'print(ros)\n')
    out = subprocess.run([sys.executable, '-c', code], capture_output=True, text=True,
                         check=True)
    assert out.stdout.strip() == '[]'
