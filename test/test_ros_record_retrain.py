# Copyright 2026 predctl_ros contributors
# SPDX-License-Identifier: Apache-2.0
"""
Record -> retrain -> hot swap, with real processes: the loop a user runs on the robot.

The stack runs in lockstep with the shipped SNN while bag_recorder records the trainer's
topics; trainer_node fine-tunes the prediction network on that bag, lowers the held-out
prediction error, and sets the running policy node's checkpoint; the arm still reaches a
goal. The policy is not stepped here (policy_batches=0): measured, even one minibatch per
iteration through the learned model moved this goal's final distance from 4 to 8.6 cm
(docs/results.md: policy training through the model degrades the imitation policy).
"""

import re

from geometry_msgs.msg import PoseStamped
import numpy as np
from predctl_ros.resources import share_path
from predctl_ros.stack import RECORD_TOPICS
from std_srvs.srv import Trigger

GOAL_HEIGHT = 0.4
# What sim_node and policy_node publish; /goal_pose and /clicked_point come from
# goal_publisher, and the episodes' goals from /active_target.
STACK_TOPICS = ('/joint_states', '/effort_controller/commands', '/active_target')
RECORDED_GOALS = [0.5, 0.0, 0.4, 0.4, 0.3, 0.5, 0.4, -0.3, 0.3, 0.3, 0.3, 0.6, 0.55, -0.1, 0.3]


def _recorded(probe, topics):
    return all(any(info.node_name == 'bag_recorder'
                   for info in probe.node.get_subscriptions_info_by_topic(topic))
               for topic in topics)


def _reach(probe, poses, xy):
    goal_pub = probe.node.create_publisher(PoseStamped, '/goal_pose', 10)
    probe.spin_until(lambda: goal_pub.get_subscription_count(), 30.0, 'policy_node')
    goal = PoseStamped()
    goal.header.frame_id = 'panda_link0'
    goal.pose.position.x, goal.pose.position.y = xy
    goal.pose.orientation.w = 1.0
    start = len(poses)
    goal_pub.publish(goal)
    probe.spin_until(lambda: len(poses) >= start + 200, 120.0, '200 control steps')
    p = poses[-1].pose.position
    return float(np.linalg.norm(np.array([p.x, p.y, p.z]) - np.array([*xy, GOAL_HEIGHT])))


def test_record_retrain_hot_swap(ros, tmp_path):
    processes, probe = ros
    bag = tmp_path / 'bag'
    shipped = share_path('models', 'panda_reach_snn.safetensors')
    recorder = processes.start('bag_recorder', params={
        'output': str(bag), 'topics': list(RECORD_TOPICS)}, params_file=None)
    processes.start('sim_node', params={'mode': 'lockstep'})
    policy = processes.start('policy_node', params={
        'mode': 'lockstep', 'use_sim_time': True, 'checkpoint': shipped,
        'goal_height': GOAL_HEIGHT})
    # The recorder subscribes to a topic only once it sees a publisher, and in lockstep all
    # the goals take about a second of wall time: on a busy machine it once joined the
    # commands after four goals had passed, leaving one episode and no held-out error.
    # No command goes out before the first goal, so the lockstep simulation stands still
    # and waiting here costs no step of the run.
    probe.spin_until(lambda: _recorded(probe, STACK_TOPICS), 120.0,
                     f'bag_recorder to subscribe to {STACK_TOPICS}')
    # Six goals: the fifth episode, held out, is then one whole goal of 100 steps; the
    # last one runs on until the recorder stops, for as long as the machine takes.
    goals = processes.start('goal_publisher', params={
        'mode': 'lockstep', 'use_sim_time': True, 'source': 'list',
        'goals': RECORDED_GOALS, 'count': 6, 'period': 2.0})
    probe.spin_until(lambda: goals.poll() is not None, 240.0, 'goal_publisher to finish')
    assert goals.returncode == 0, processes.output(goals)
    assert processes.stop(recorder) == 0, processes.output(recorder)

    new = tmp_path / 'retrained.safetensors'
    trainer = processes.start('trainer_node', params={
        'bags': [str(bag)], 'output': str(new), 'init': shipped, 'iterations': 5,
        'goal_height': GOAL_HEIGHT, 'policy_node': 'policy_node',
        # At lr 1e-3 Adam's first steps knocked the shipped model off so far that 25
        # minibatches left the held-out error at 0.49-1.21 of its start over ten
        # recordings (some made on a loaded machine); at 3e-4, 0.55-0.84.
        'settings': ['threads=1', 'batch=32', 'model_batches=5', 'policy_batches=0',
                     'lr=0.0003']})
    probe.spin_until(lambda: trainer.poll() is not None, 400.0, 'trainer_node to finish')
    log = processes.output(trainer)
    assert trainer.returncode == 0, log
    errors = re.search(r'held-out prediction error \(MSE\): before ([0-9.e+-]+), '
                       r'after ([0-9.e+-]+)', log)
    assert errors, log + processes.output(recorder)
    assert float(errors.group(2)) < float(errors.group(1)), log
    probe.spin_until(lambda: 'hot-swapped the network' in processes.output(policy), 30.0,
                     'the hot swap')
    assert str(new) in processes.output(policy)

    # From the ready pose, as test_ros_stack does with the shipped network.
    reset = probe.node.create_client(Trigger, '/sim_node/reset')
    assert reset.wait_for_service(timeout_sec=10.0)
    future = reset.call_async(Trigger.Request())
    probe.spin_until(future.done, 10.0, 'the sim reset')
    assert future.result().success
    poses = []
    probe.node.create_subscription(PoseStamped, '/ee_pose', poses.append, 10)
    probe.spin_until(lambda: poses, 30.0, 'a first /ee_pose')
    distance = _reach(probe, poses, (0.45, 0.15))
    # 8 cm, not 5: the shipped policy was trained before the arm had friction and speed
    # limits, and now ends 5.5 cm from this goal (docs/results.md; issue 14 retrains it).
    assert distance < 0.08, f'final distance {distance:.3f} m after the swap'
