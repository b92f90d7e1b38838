# Copyright 2026 predctl_ros contributors
# SPDX-License-Identifier: Apache-2.0
"""
A stand-in for a Panda under ros2_control, for tests: what policy_node meets on a user's robot.

Not sim_node: it behaves as franka_ros2 (or mujoco_ros2_control with gravity compensation)
does towards a controller. The arm compensates gravity itself and has no servo on joint 7
(:class:`PandaSim` with ``gravity_compensation=True, joint7_servo=False``); /joint_states
lists the gripper's two finger joints among the arm's (as joint_state_broadcaster does for
a hand); torques come on /<controller>/commands (std_msgs/Float64MultiArray) in the
order of the controller's ``joints``. Lockstep: one control period per command, as sim_node's
lockstep, so that a loaded test machine does not decide the outcome.

    python ros2_control_panda.py --controller NAME --joints J1,J2,... [--ros-args ...]
"""

import argparse
import sys
import time

import numpy as np
from predctl_ros.envs.panda_sim import PandaSim
import rclpy
from rclpy.node import Node
from rclpy.time import Time
from rosgraph_msgs.msg import Clock as ClockMsg
from sensor_msgs.msg import JointState
from std_msgs.msg import Float64MultiArray

FINGERS = ('panda_finger_joint1', 'panda_finger_joint2')
REPEAT_S = 0.5


class Ros2ControlPanda(Node):
    """Gravity-compensating, servo-less simulated Panda with a hand, ros2_control topics."""

    def __init__(self, controller: str, joints):
        """Load the arm and create the topics."""
        super().__init__('ros2_control_panda')
        self.sim = PandaSim(gravity_compensation=True, joint7_servo=False)
        self.joints = list(joints)
        self._order = np.array([self.sim.joint_names.index(n) for n in self.joints])
        # Fingers between the arm's joints, as a merged joint_states may list them.
        self.names = self.joints[:3] + [FINGERS[0]] + self.joints[3:] + [FINGERS[1]]
        self._arm = np.array([self.sim.joint_names.index(n) for n in self.names
                              if n not in FINGERS])
        self.commands = 0
        self._state_pub = self.create_publisher(JointState, 'joint_states', 10)
        self._clock_pub = self.create_publisher(ClockMsg, 'clock', 10)
        self.create_subscription(Float64MultiArray, f'{controller}/commands', self._on_command,
                                 10)
        self._last = time.monotonic()
        self.create_timer(0.1, self._watchdog)
        self._publish()

    def _on_command(self, msg):
        values = np.asarray(msg.data, dtype=float)
        if values.shape != (7,) or not np.all(np.isfinite(values)):
            self.get_logger().error(f'bad command {list(msg.data)}')
            return
        torque = np.empty(7)
        torque[self._order] = values
        self.commands += 1
        self.sim.step(torque)
        self._publish()

    def _watchdog(self):
        if time.monotonic() - self._last >= REPEAT_S:
            self._publish()   # a state lost while discovery settles

    def _publish(self):
        state = self.sim.state()
        stamp = Time(nanoseconds=state.time_ns).to_msg()
        self._clock_pub.publish(ClockMsg(clock=stamp))
        msg = JointState()
        msg.header.stamp = stamp
        msg.name = self.names
        position, velocity = list(state.position[self._arm]), list(state.velocity[self._arm])
        for i in (3, len(self.names) - 1):
            position.insert(i, 0.04)
            velocity.insert(i, 0.0)
        msg.position = [float(v) for v in position]
        msg.velocity = [float(v) for v in velocity]
        self._state_pub.publish(msg)
        self._last = time.monotonic()


def main():
    """Run until SIGINT."""
    parser = argparse.ArgumentParser()
    parser.add_argument('--controller', required=True)
    parser.add_argument('--joints', required=True)
    args, ros_args = parser.parse_known_args()
    rclpy.init(args=[sys.argv[0], *ros_args])
    node = Ros2ControlPanda(args.controller, args.joints.split(','))
    try:
        rclpy.spin(node)
    except KeyboardInterrupt:
        pass
    finally:
        node.destroy_node()
        rclpy.try_shutdown()


if __name__ == '__main__':
    main()
