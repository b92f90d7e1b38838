# Copyright 2026 predctl_ros contributors
# SPDX-License-Identifier: Apache-2.0
"""policy_node on a Panda it did not start: a ros2_control-like robot with a hand."""

from pathlib import Path

from diagnostic_msgs.msg import DiagnosticArray
from geometry_msgs.msg import PoseStamped
import numpy as np
from predctl_ros.envs.models import panda_tcp_position
from predctl_ros.resources import share_path
from sensor_msgs.msg import JointState
from std_srvs.srv import Trigger

STAND_IN = Path(__file__).resolve().parent / 'ros2_control_panda.py'
ARM = [f'panda_joint{i}' for i in range(1, 8)]
CONTROLLER = 'panda_arm_controller'
# The controller's `joints` in an order of its own: commands must follow it.
CONTROLLER_JOINTS = ARM[::-1]
GOAL_HEIGHT = 0.4


def _stamp_ns(msg):
    return msg.header.stamp.sec * 1_000_000_000 + msg.header.stamp.nanosec


def test_policy_drives_a_ros2_control_panda_with_a_hand(ros):
    processes, probe = ros
    robot = processes.start('python', str(STAND_IN), '--controller', CONTROLLER, '--joints',
                            ','.join(CONTROLLER_JOINTS), name='ros2_control_panda',
                            params_file=None)
    policy = processes.start('policy_node', params={
        'mode': 'lockstep', 'use_sim_time': True,
        'checkpoint': share_path('models', 'panda_reach_snn.safetensors'),
        'goal_height': GOAL_HEIGHT, 'controller_name': CONTROLLER,
        'controller_joints': CONTROLLER_JOINTS, 'hold_unactuated_joints': True,
        'robot_compensates_gravity': True, 'hold_when_idle': True, 'diagnostics_period': 0.5})
    states, diagnostics = [], []
    probe.node.create_subscription(JointState, '/joint_states', states.append, 10)
    probe.node.create_subscription(DiagnosticArray, '/diagnostics', lambda m: diagnostics.append(
        {kv.key: kv.value for kv in m.status[0].values}), 10)
    goal_pub = probe.node.create_publisher(PoseStamped, '/goal_pose', 10)
    probe.spin_until(lambda: goal_pub.get_subscription_count(), 60.0, 'policy_node')
    probe.spin_until(lambda: states, 30.0, 'a first joint state')
    assert {'panda_finger_joint1', 'panda_finger_joint2'} <= set(states[-1].name)

    def arm(msg):
        return np.array([msg.position[list(msg.name).index(n)] for n in ARM])

    def holds_still(what):
        # Lockstep: the robot moves on only when commanded, so time passing means the node
        # commands while it has no goal, as an effort controller that keeps its last
        # command needs; and the arm stays where it is.
        start, tcp = max(_stamp_ns(m) for m in states), panda_tcp_position(arm(states[-1])[None])
        probe.spin_until(lambda: max(_stamp_ns(m) for m in states) >= start + 50 * 20_000_000,
                         60.0, f'50 control periods of holding {what}')
        moved = np.linalg.norm(panda_tcp_position(arm(states[-1])[None]) - tcp)
        assert moved < 0.01, f'the arm moved {moved:.3f} m while held {what}'

    holds_still('before the first goal')
    q7_start = arm(states[-1])[6]
    for x, y in [(0.45, 0.15), (0.4, -0.25)]:
        goal = PoseStamped()             # as RViz's 2D Goal Pose sends it: z = 0
        goal.header.frame_id = 'panda_link0'
        goal.pose.position.x, goal.pose.position.y = x, y
        goal.pose.orientation.w = 1.0
        goal_pub.publish(goal)
        # 200 control periods (4 s of robot time), the task's episode length.
        start = max(_stamp_ns(m) for m in states)
        probe.spin_until(lambda: max(_stamp_ns(m) for m in states) >= start + 200 * 20_000_000,
                         150.0, f'200 control periods towards ({x}, {y})')
        tcp = panda_tcp_position(arm(states[-1])[None])[0]
        distance = np.linalg.norm(tcp - np.array([x, y, GOAL_HEIGHT]))
        assert distance < 0.05, f'{distance:.3f} m from ({x}, {y}): {processes.output(policy)}'
    reset = probe.node.create_client(Trigger, '/policy_node/reset')
    assert reset.wait_for_service(timeout_sec=10.0)
    future = reset.call_async(Trigger.Request())
    probe.spin_until(future.done, 10.0, 'reset')
    assert future.result().success
    holds_still('after ~/reset')
    q7 = np.array([arm(m)[6] for m in states])
    assert np.abs(q7 - q7_start).max() < 0.05, 'joint 7 was not held'
    n = len(diagnostics)
    probe.spin_until(lambda: len(diagnostics) > n, 5.0, 'diagnostics')
    last = diagnostics[-1]
    assert last['rejected_joint_state'] == '0' and int(last['joint_states_accepted']) > 400
    assert last['gravity'].startswith('subtracted') and last['joint7_hold'] == 'true'
    assert last['command_topic'] == f'/{CONTROLLER}/commands'
    assert robot.poll() is None and policy.poll() is None
