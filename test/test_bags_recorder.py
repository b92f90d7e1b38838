# Copyright 2026 predctl_ros contributors
# SPDX-License-Identifier: Apache-2.0
"""The bag_recorder node, as a real process on its own domain, writes valid bags."""

import signal

import bag_factory as bf
from geometry_msgs.msg import PointStamped
import numpy as np
from predctl_ros import bags, envs
import pytest
from rclpy.qos import DurabilityPolicy, QoSProfile
from rosbags.rosbag2 import Reader
from sensor_msgs.msg import JointState
from std_msgs.msg import Float64MultiArray

STEPS = 40


def _joint_state(k, run):
    msg = JointState()
    t = bf.SIM_T0_NS + k * bf.DT_NS
    msg.header.stamp.sec, msg.header.stamp.nanosec = t // 10**9, t % 10**9
    msg.name = list(bf.JOINTS)
    msg.position = run.qpos[k].tolist()
    msg.velocity = run.qvel[k].tolist()
    return msg


def _command(k, run):
    msg = Float64MultiArray()
    msg.data = np.r_[run.action[k] * run.effort, 0.0].tolist()
    return msg


@pytest.mark.parametrize('storage, stop', [('mcap', signal.SIGINT),
                                           ('sqlite3', signal.SIGTERM)])
def test_records_until_signalled(ros, tmp_path, storage, stop):
    processes, probe = ros
    node = probe.node
    run = bf.rollout(STEPS, {0: [0.5, 0.0, 0.4]})
    target = node.create_publisher(
        PointStamped, '/active_target',
        QoSProfile(depth=1, durability=DurabilityPolicy.TRANSIENT_LOCAL))
    goal = PointStamped()
    goal.header.frame_id = 'panda_link0'
    goal.point.x, goal.point.y, goal.point.z = 0.5, 0.0, 0.4
    target.publish(goal)  # before the recorder starts: it must get it as latched
    states = node.create_publisher(JointState, '/joint_states', 10)
    commands = node.create_publisher(Float64MultiArray, '/effort_controller/commands', 10)
    out = tmp_path / 'rec'
    proc = processes.start('bag_recorder', params_file=None,
                           params={'output': str(out), 'storage': storage})
    probe.spin_until(lambda: all(p.get_subscription_count() for p in (target, states,
                                                                      commands)),
                     60, 'the recorder to subscribe')
    probe.spin_for(0.3)
    for k in range(STEPS + 1):
        states.publish(_joint_state(k, run))
        probe.spin_for(0.003)
        if k < STEPS:
            commands.publish(_command(k, run))
            probe.spin_for(0.003)
    probe.spin_for(0.5)
    proc.send_signal(stop)
    assert proc.wait(20) == 0, processes.output(proc)
    assert 'closed' in processes.output(proc)
    with Reader(out) as reader:
        counts = {t: i.msgcount for t, i in reader.topics.items()}
        for connection, _, raw in reader.messages():
            bf.STORE.deserialize_cdr(raw, connection.msgtype)
    assert counts == {'/joint_states': STEPS + 1, '/effort_controller/commands': STEPS,
                      '/active_target': 1}
    load = bags.load_bags([out], envs.make_task('panda_reach'),
                          bags.ConvertOptions(min_steps=10))
    assert load.errors == []
    (episode,) = load.episodes
    np.testing.assert_allclose(episode.obs, run.obs, atol=1e-6)
    np.testing.assert_allclose(episode.action, run.action, atol=1e-6)


@pytest.mark.parametrize('params, words', [
    ({'storage': 'rosbag1'}, ['storage', 'mcap']),
    ({'topics': ['/a', '/a']}, ['topics', 'distinct']),
    ({'output': '__EXISTING__'}, ['output', 'exists']),
])
def test_refuses_bad_parameters(ros, tmp_path, params, words):
    processes, _ = ros
    if params.get('output') == '__EXISTING__':
        params = {'output': str(tmp_path)}
    else:
        params = dict(params, output=str(tmp_path / 'rec'))
    proc = processes.start('bag_recorder', params_file=None, params=params)
    assert proc.wait(30) == 1
    text = processes.output(proc)
    assert all(word in text for word in words), text
    assert not (tmp_path / 'rec').exists()
