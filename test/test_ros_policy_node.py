# Copyright 2026 predctl_ros contributors
# SPDX-License-Identifier: Apache-2.0
"""policy_node and goal_publisher as real processes over DDS, against a fake simulator."""

import json
from pathlib import Path

from diagnostic_msgs.msg import DiagnosticArray
from geometry_msgs.msg import PointStamped, PoseStamped
import numpy as np
from policy_checkpoints import GOAL, make_checkpoint, Q, QD
from predctl_ros.control import PolicyRunner
import pytest
from rcl_interfaces.msg import Parameter, ParameterType, ParameterValue
from rcl_interfaces.srv import SetParameters
from rclpy.qos import DurabilityPolicy, QoSProfile, ReliabilityPolicy
from rclpy.time import Duration
from sensor_msgs.msg import JointState
from std_msgs.msg import Float64MultiArray
from std_srvs.srv import Trigger

ROOT = Path(__file__).resolve().parents[1]
JOINTS = [f'panda_joint{i}' for i in range(1, 8)]
LATCHED = QoSProfile(depth=1, reliability=ReliabilityPolicy.RELIABLE,
                     durability=DurabilityPolicy.TRANSIENT_LOCAL)


@pytest.fixture
def nodes(ros):
    """Yield (start, probe, processes): start(executable, **params) runs a node."""
    processes, probe = ros

    def start(executable, **overrides):
        return processes.start(executable, params=overrides)

    yield start, probe, processes


def _joint_state(probe, q, qd=QD, names=JOINTS, age_s=0.0):
    msg = JointState()
    msg.header.stamp = (probe.node.get_clock().now() - Duration(seconds=age_s)).to_msg()
    msg.name = list(names)
    msg.position = [float(v) for v in q]
    msg.velocity = [float(v) for v in qd]
    return msg


def _point(xyz, frame='panda_link0'):
    msg = PointStamped()
    msg.header.frame_id = frame
    msg.point.x, msg.point.y, msg.point.z = (float(v) for v in xyz)
    return msg


def _set_parameter(probe, node, name, value):
    client = probe.node.create_client(SetParameters, f'/{node}/set_parameters')
    assert client.wait_for_service(timeout_sec=10.0)
    request = SetParameters.Request()
    request.parameters = [Parameter(name=name, value=ParameterValue(
        type=ParameterType.PARAMETER_STRING, string_value=value))]
    future = client.call_async(request)
    probe.spin_until(future.done, 20.0, f'set {name}')
    probe.node.destroy_client(client)
    return future.result().results[0]


def _wait_output(processes, proc, text, probe, timeout=10.0):
    probe.spin_until(lambda: text in processes.output(proc), timeout, repr(text))


def test_policy_node_lockstep_commands_rejects_and_hot_swaps(nodes, tmp_path):
    start, probe, processes = nodes
    ckpt_a = make_checkpoint(tmp_path / 'a.safetensors', seed=0)
    ckpt_b = make_checkpoint(tmp_path / 'b.safetensors', seed=1)
    ckpt_bad = make_checkpoint(tmp_path / 'bad.safetensors', n_obs=10, hidden=(8,))
    # Rate limit and velocity stop off: the commands are compared with the network's.
    proc = start('policy_node', mode='lockstep', checkpoint=str(ckpt_a), stale_timeout=1.0,
                 diagnostics_period=0.3, torque_rate_limit=0.0, velocity_stop_fraction=0.0)
    node = probe.node
    commands, diagnostics = [], []
    node.create_subscription(Float64MultiArray, '/effort_controller/commands',
                             lambda m: commands.append(list(m.data)), 10)
    node.create_subscription(DiagnosticArray, '/diagnostics',
                             lambda m: diagnostics.append(
                                 {kv.key: kv.value for kv in m.status[0].values}), 10)
    states = node.create_publisher(JointState, '/joint_states', 10)
    clicked = node.create_publisher(PointStamped, '/clicked_point', 10)
    poses = node.create_publisher(PoseStamped, '/goal_pose', 10)
    probe.spin_until(lambda: all(p.get_subscription_count() for p in (states, clicked, poses)),
                     30.0, 'policy_node subscriptions')
    runner = PolicyRunner(ckpt_a, control_dt_s=0.02)
    rng = np.random.default_rng(0)
    qs = [np.array(Q) + np.r_[0.05 * rng.standard_normal(6), 0.0] for _ in range(6)]

    def expect_command(expected, what):
        n = len(commands)
        probe.spin_until(lambda: len(commands) > n, 10.0, what)
        assert len(commands[-1]) == 7 and np.all(np.isfinite(commands[-1]))
        np.testing.assert_allclose(commands[-1], expected, rtol=0, atol=1e-9, err_msg=what)

    def expect_silence(what):
        n = len(commands)
        probe.spin_for(0.4)
        assert len(commands) == n, what

    probe.spin_until(lambda: node.count_publishers('/effort_controller/commands'), 10.0,
                     'command publisher')
    # No goal yet: a joint state gets no command (the simulator holds the arm). Resent until
    # the node reports it, since messages sent while discovery settles may be lost.
    probe.spin_until(lambda: states.publish(_joint_state(probe, qs[0])) or (
        diagnostics and diagnostics[-1]['joint_states_accepted'] != '0'), 10.0,
        'a joint state accepted')
    expect_silence('a command before any goal')
    # A goal: the pending state is answered at once; the SNN state carries across steps.
    clicked.publish(_point(GOAL))
    runner.set_target(GOAL)
    expect_command(runner.step(qs[0], QD), 'first command')
    states.publish(_joint_state(probe, qs[1]))
    expect_command(runner.step(qs[1], QD), 'second command')
    assert np.abs(commands[-1][:6]).max() > 0.1 and commands[-1][6] == 0.0

    # /active_target is latched: a late subscriber gets the adopted goal, stamped.
    targets = []
    node.create_subscription(PointStamped, '/active_target', targets.append, LATCHED)
    probe.spin_until(lambda: targets, 10.0, 'latched /active_target')
    assert (targets[-1].point.x, targets[-1].point.y, targets[-1].point.z) == GOAL
    assert targets[-1].header.stamp.sec > 0 and targets[-1].header.frame_id == 'panda_link0'

    # Malformed joint states and goals are refused; the node keeps answering.
    bad_states = [_joint_state(probe, (float('nan'),) + Q[1:]),
                  _joint_state(probe, Q[:6], QD[:6], JOINTS[:6]),
                  _joint_state(probe, Q, names=JOINTS[:6] + [JOINTS[0]]),
                  _joint_state(probe, Q, qd=QD[:5])]
    bad_states[1].name = JOINTS   # 7 names, 6 positions
    for msg in bad_states:
        states.publish(msg)
    for msg in (_point((0.5, 0.0, float('nan'))), _point(GOAL, frame='map'),
                _point((2.0, 0.0, 0.4)), _point((0.5, 0.0, -0.1))):
        clicked.publish(msg)
    expect_silence('a command for a malformed joint state')
    pose = PoseStamped()
    pose.header.frame_id = 'world'
    pose.pose.position.x, pose.pose.position.y = 0.45, -0.2
    pose.pose.orientation.w = 1.0
    poses.publish(pose)
    probe.spin_until(lambda: targets[-1].point.y == -0.2, 10.0, 'goal_pose adopted')
    assert targets[-1].point.z == pytest.approx(0.4)   # goal_height, not RViz's z = 0
    runner.set_target((0.45, -0.2, 0.4))
    states.publish(_joint_state(probe, qs[2]))
    expect_command(runner.step(qs[2], QD), 'command after bad inputs')
    log = processes.output(proc)
    assert 'rejected joint_state' in log
    for reason in ('non-finite', "frame 'map' is not one of", 'the arm reaches at most',
                   'below the floor margin'):
        assert reason in log, reason
    probe.spin_until(lambda: diagnostics and diagnostics[-1]['rejected_goal'] == '4', 5.0,
                     'diagnostics with the rejected goals')
    assert int(diagnostics[-1]['rejected_joint_state']) == 4
    windows = [d for d in diagnostics if int(d['steps'])]   # windows with control steps
    assert windows and float(windows[-1]['step_latency_p50_ms']) > 0
    assert 'rate_hz_layer1' in windows[-1] and float(windows[-1]['synops_per_step']) > 0

    # A stale joint state: zero torque, said once.
    states.publish(_joint_state(probe, qs[3], age_s=3.0))
    expect_command([0.0] * 7, 'zero torque for a stale state')
    _wait_output(processes, proc, 'commanding zero torque', probe)

    # Hot swap: an unfit checkpoint is refused and the old network keeps running ...
    result = _set_parameter(probe, 'policy_node', 'checkpoint', str(ckpt_bad))
    assert not result.successful and 'policy takes 13 inputs' in result.reason
    result = _set_parameter(probe, 'policy_node', 'checkpoint', str(tmp_path / 'none'))
    assert not result.successful and 'no such checkpoint' in result.reason
    states.publish(_joint_state(probe, qs[4]))
    expect_command(runner.step(qs[4], QD), 'old network after a refused swap')
    # ... and a valid one takes over, from rest, with the same target.
    assert _set_parameter(probe, 'policy_node', 'checkpoint', str(ckpt_b)).successful
    swapped = PolicyRunner(ckpt_b)
    swapped.set_target((0.45, -0.2, 0.4))
    states.publish(_joint_state(probe, qs[5]))
    expect_command(swapped.step(qs[5], QD), 'new network after the swap')

    # ~/reset clears the target: no more commands.
    client = node.create_client(Trigger, '/policy_node/reset')
    assert client.wait_for_service(timeout_sec=10.0)
    future = client.call_async(Trigger.Request())
    probe.spin_until(future.done, 10.0, 'reset')
    assert future.result().success
    states.publish(_joint_state(probe, qs[0]))
    expect_silence('a command after reset')
    assert proc.poll() is None


def test_policy_node_realtime_stale_and_bad_start(nodes, tmp_path):
    start, probe, processes = nodes
    bad = start('policy_node', checkpoint=str(tmp_path / 'missing.safetensors'))
    assert bad.wait(60) == 1
    assert 'missing.safetensors: no such checkpoint file' in processes.output(bad)

    proc = start('policy_node', checkpoint=str(make_checkpoint(tmp_path / 'a.safetensors')))
    commands = []
    probe.node.create_subscription(Float64MultiArray, '/effort_controller/commands',
                                   lambda m: commands.append(list(m.data)), 10)
    clicked = probe.node.create_publisher(PointStamped, '/clicked_point', 10)
    states = probe.node.create_publisher(JointState, '/joint_states', 10)
    probe.spin_until(lambda: clicked.get_subscription_count(), 30.0, 'subscription')
    probe.spin_for(0.3)
    assert not commands                      # no goal: nothing commanded
    clicked.publish(_point(GOAL))
    # A goal but no joint state yet: zero torque from the 50 Hz timer.
    probe.spin_until(lambda: len(commands) >= 10, 10.0, 'zero-torque commands')
    assert all(c == [0.0] * 7 for c in commands)
    _wait_output(processes, proc, 'no joint state received yet: commanding zero torque', probe)
    # Fresh states at the control rate: the policy drives.
    timer = probe.node.create_timer(0.02, lambda: states.publish(_joint_state(probe, Q)))
    probe.spin_until(lambda: any(c[0] != 0.0 for c in commands[-5:]), 10.0, 'torques')
    probe.node.destroy_timer(timer)
    n = len(commands)
    probe.spin_for(0.5)                     # states stop: stale after 0.1 s -> zero torque
    assert len(commands) > n + 10 and commands[-1] == [0.0] * 7
    _wait_output(processes, proc, 'old (stale_timeout 0.1 s): commanding zero torque', probe)


@pytest.mark.parametrize('topic', ['clicked_point', 'goal_pose'])
def test_goal_publisher_sends_count_goals_and_reports(nodes, tmp_path, topic):
    start, probe, processes = nodes
    report = tmp_path / 'report.json'
    goals = [0.5, 0.0, 0.4, 0.4, 0.3, 0.5]
    proc = start('goal_publisher', source='list', goals=goals, count=2, period=1.0,
                 topic=topic, report=str(report))
    node = probe.node
    # Fake policy + simulator: adopt each goal (2D Goal Pose ones at a height of 0.3 m) and
    # put the end effector 1 cm from it.
    echo = node.create_publisher(PointStamped, '/active_target', LATCHED)
    ee_pub = node.create_publisher(PoseStamped, '/ee_pose', 10)
    received, targets = [], []

    def on_goal(msg):
        received.append(msg)
        target = msg if topic == 'clicked_point' else _point(
            (msg.pose.position.x, msg.pose.position.y, 0.3))
        targets.append(target.point)
        echo.publish(target)

    def publish_ee():
        if targets:
            pose = PoseStamped()
            p = targets[-1]
            pose.pose.position.x, pose.pose.position.y, pose.pose.position.z = p.x, p.y, p.z + 0.01
            ee_pub.publish(pose)

    node.create_subscription(PointStamped if topic == 'clicked_point' else PoseStamped,
                             f'/{topic}', on_goal, 10)
    node.create_timer(0.05, publish_ee)
    probe.spin_until(lambda: proc.poll() is not None, 40.0, 'goal_publisher to finish')
    out = processes.output(proc)
    assert proc.returncode == 0, out
    if topic == 'clicked_point':
        sent = [(m.point.x, m.point.y, m.point.z) for m in received]
        assert sent == [(0.5, 0.0, 0.4), (0.4, 0.3, 0.5)]
    else:   # as RViz's 2D Goal Pose: z = 0, yaw only
        sent = [(m.pose.position.x, m.pose.position.y, m.pose.position.z) for m in received]
        assert sent == [(0.5, 0.0, 0.0), (0.4, 0.3, 0.0)]
        q = received[1].pose.orientation
        assert q.x == q.y == 0.0 and q.z ** 2 + q.w ** 2 == pytest.approx(1.0)
    lines = [line[line.index('goal_result'):] for line in out.splitlines()
             if 'goal_result' in line]
    assert len(lines) == 2
    fields = dict(kv.split('=') for kv in lines[1].split()[1:])
    assert fields['index'] == '2' and fields['adopted'] == 'true'
    assert fields['reached'] == 'true'
    assert float(fields['final_distance']) == pytest.approx(0.01, abs=1e-6)
    assert 0.0 <= float(fields['time_to_tolerance']) < 1.0
    assert 'goal_summary reached=2 of=2 adopted=2 median_final_distance=0.0100' in out
    data = json.loads(report.read_text())
    assert data['summary']['reached'] == 2 and len(data['goals']) == 2
    assert data['goals'][0]['target'] == [0.5, 0.0, 0.4 if topic == 'clicked_point' else 0.3]
