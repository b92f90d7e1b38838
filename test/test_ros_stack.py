# Copyright 2026 predctl_ros contributors
# SPDX-License-Identifier: Apache-2.0
"""The whole stack over DDS: the shipped SNN drives the simulated Panda to a goal."""

import json
import os
import signal
import subprocess
import sys

from geometry_msgs.msg import PoseStamped
import numpy as np
from predctl_ros.resources import share_path
import pytest

SHIPPED = ('models', 'panda_reach_snn.safetensors')
GOAL_HEIGHT = 0.4


@pytest.fixture
def shipped_checkpoint():
    return share_path(*SHIPPED)


def test_goal_from_rviz_goal_pose_is_reached(ros, shipped_checkpoint):
    """A 2D Goal Pose from RViz (z = 0, height from the parameter) is reached within 5 cm."""
    processes, probe = ros
    sim = processes.start('sim_node', params={'mode': 'lockstep'})
    policy = processes.start('policy_node', params={
        'mode': 'lockstep', 'use_sim_time': True, 'checkpoint': shipped_checkpoint,
        'goal_height': GOAL_HEIGHT})
    poses = []
    probe.node.create_subscription(PoseStamped, '/ee_pose', poses.append, 10)
    goal_pub = probe.node.create_publisher(PoseStamped, '/goal_pose', 10)
    probe.spin_until(lambda: goal_pub.get_subscription_count(), 60.0, 'policy_node')
    probe.spin_until(lambda: poses, 30.0, 'a first /ee_pose')
    goal = PoseStamped()
    goal.header.frame_id = 'panda_link0'
    goal.pose.position.x, goal.pose.position.y = 0.45, 0.15    # z = 0, as RViz sends it
    goal.pose.orientation.w = 1.0
    goal_pub.publish(goal)
    # 200 control steps (4 s of sim time), the task's episode length.
    start = len(poses)
    probe.spin_until(lambda: len(poses) >= start + 200, 120.0, '200 control steps')
    target = np.array([0.45, 0.15, GOAL_HEIGHT])
    p = poses[-1].pose.position
    distance = np.linalg.norm(np.array([p.x, p.y, p.z]) - target)
    assert sim.poll() is None and policy.poll() is None
    assert distance < 0.05, f'final distance {distance:.3f} m ({processes.output(policy)})'


def test_bringup_runs_the_stack_and_reports(ros_domain, tmp_path):
    """`predctl bringup` starts the launch file's nodes, sends goals, reports, and stops."""
    report = tmp_path / 'goals.json'
    # Own process group: on a timeout the nodes bring-up started go down with it.
    proc = subprocess.Popen(
        [sys.executable, '-m', 'predctl_ros.cli', 'bringup', 'panda_reach', '--goals',
         'random', '--count', '2', '--mode', 'lockstep', '--report', str(report)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True)
    try:
        stdout, stderr = proc.communicate(timeout=240)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        raise
    out = subprocess.CompletedProcess(proc.args, proc.returncode, stdout, stderr)
    assert out.returncode == 0, out.stdout + out.stderr
    results = json.loads(report.read_text())
    assert [g['index'] for g in results['goals']] == [1, 2]
    assert all(g['adopted'] and g['samples'] > 100 for g in results['goals'])
    for name in ('[sim_node]', '[policy_node]', '[goal_publisher]'):
        assert name in out.stdout
    assert 'reached' in out.stdout.splitlines()[-1]
