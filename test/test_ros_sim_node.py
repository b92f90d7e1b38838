# Copyright 2026 predctl_ros contributors
# SPDX-License-Identifier: Apache-2.0
"""The sim_node as a real process over DDS: lockstep determinism, bad input, realtime hold."""

import math
import time

from diagnostic_msgs.msg import DiagnosticArray, DiagnosticStatus
from geometry_msgs.msg import PoseStamped
import numpy as np
from predctl_ros.envs import panda_sim
import pytest
from rcl_interfaces.srv import SetParameters
from rclpy.parameter import Parameter
from rosgraph_msgs.msg import Clock
from sensor_msgs.msg import JointState
from std_msgs.msg import Float64MultiArray
from std_srvs.srv import Trigger
from visualization_msgs.msg import Marker

JOINTS = [f'panda_joint{i}' for i in range(1, 8)]
READY = [0.0, -0.785, 0.0, -2.356, 0.0, 1.571, 0.0]  # initial_positions in the config
PERIOD_NS = 20_000_000


def start_sim(processes, **params):
    return processes.start('sim_node', params=params)


def stamp_ns(msg) -> int:
    return msg.header.stamp.sec * 1_000_000_000 + msg.header.stamp.nanosec


class SimClient:
    """Subscriptions, a command publisher and service clients of one sim_node, in a probe."""

    def __init__(self, probe):
        self.probe = probe
        node = probe.node
        self.states, self.clocks, self.poses, self.markers, self.diagnostics = \
            [], [], [], [], []
        node.create_subscription(JointState, 'joint_states', self.states.append, 100)
        node.create_subscription(Clock, 'clock', self.clocks.append, 100)
        node.create_subscription(PoseStamped, 'ee_pose', self.poses.append, 100)
        node.create_subscription(Marker, 'visualization_marker', self.markers.append, 100)
        node.create_subscription(DiagnosticArray, 'diagnostics', self.diagnostics.append, 10)
        self.commands = node.create_publisher(Float64MultiArray, 'effort_controller/commands',
                                              10)
        self.reset_client = node.create_client(Trigger, '/sim_node/reset')
        self.params_client = node.create_client(SetParameters, '/sim_node/set_parameters')

    def wait_connected(self, timeout=20.0):
        self.probe.spin_until(lambda: self.states and self.commands.get_subscription_count()
                              and self.reset_client.service_is_ready()
                              and self.params_client.service_is_ready(),
                              timeout, 'sim_node to come up')

    def send(self, torques):
        self.commands.publish(Float64MultiArray(data=[float(t) for t in torques]))

    def newest(self) -> int:
        return max((stamp_ns(m) for m in self.states), default=-1)

    def wait_new_state(self, after: int, what: str) -> JointState:
        """Wait for a state stamped after ``after`` (a repeated state keeps its stamp)."""
        self.probe.spin_until(lambda: self.newest() > after, 5.0, what)
        return max(self.states, key=stamp_ns)

    def step(self, torques) -> JointState:
        """Send one command and wait for the state it produces (lockstep)."""
        newest = self.newest()
        self.send(torques)
        return self.wait_new_state(newest, 'the next joint state')

    def call(self, client, request):
        future = client.call_async(request)
        self.probe.spin_until(future.done, 5.0, 'a service answer')
        return future.result()

    def set_param(self, name, value):
        request = SetParameters.Request(parameters=[Parameter(name, value=value)
                                                    .to_parameter_msg()])
        return self.call(self.params_client, request).results[0]

    def reset(self) -> JointState:
        newest = self.newest()
        assert self.call(self.reset_client, Trigger.Request()).success
        return self.wait_new_state(newest, 'the reset state')


def test_lockstep(ros):
    """One sim_node in lockstep: stamps, determinism, torque interface, bad input, params."""
    processes, probe = ros
    proc = start_sim(processes, mode='lockstep', torque_interface='franka_damped')
    sim = SimClient(probe)
    sim.wait_connected()

    first = sim.states[-1]
    assert list(first.name) == JOINTS
    assert len(first.position) == len(first.velocity) == len(first.effort) == 7
    np.testing.assert_allclose(first.position, READY, atol=1e-12)
    t0 = stamp_ns(first)

    # One command, one control period: the state and /clock advance by exactly 20 ms.
    state = sim.step([0.0] * 7)
    probe.spin_for(0.2)
    assert {stamp_ns(m) for m in sim.states} == {t0, t0 + PERIOD_NS}, \
        'one command must give exactly one state'
    probe.spin_until(lambda: sim.clocks and sim.clocks[-1].clock == state.header.stamp, 2.0,
                     '/clock at the new time')

    # The trajectory under a fixed command sequence is panda_sim's with the same torque
    # interface, bit for bit: ROS adds nothing. Zero torque first: the robot's gravity
    # compensation holds the arm where it is.
    reference = panda_sim.PandaSim(initial_positions=READY, torque_interface='franka_damped')
    reference.step(np.zeros(7))
    torques = np.concatenate([np.zeros((9, 7)), np.random.default_rng(0).uniform(
        -20.0, 20.0, (10, 7)) * [1, 1, 1, 1, 0.2, 0.2, 0]])
    for k, tau in enumerate(torques):
        state = sim.step(tau)
        reference.step(tau)
        expected = reference.state()
        np.testing.assert_array_equal(state.position, expected.position)
        np.testing.assert_array_equal(state.velocity, expected.velocity)
        np.testing.assert_array_equal(state.effort, expected.effort)
        assert stamp_ns(state) == t0 + (k + 2) * PERIOD_NS
        if k == 8:
            assert np.abs(np.subtract(state.position, READY)).max() < 1e-9, 'must hold'
            np.testing.assert_allclose(state.effort[:6], reference.gravity_torques()[:6],
                                       atol=1e-9)
    probe.spin_until(lambda: sim.poses and stamp_ns(sim.poses[-1]) == stamp_ns(state), 2.0,
                     'the last /ee_pose')
    pose = sim.poses[-1]
    assert pose.header.frame_id == 'panda_link0'
    np.testing.assert_allclose([pose.pose.position.x, pose.pose.position.y,
                                pose.pose.position.z], expected.ee_position, atol=1e-12)
    assert sim.markers and sim.markers[-1].ns == 'end_effector'

    # Malformed commands are rejected: no step; the node answers the next good command.
    newest = sim.newest()
    sim.send([1.0, 2.0, 3.0])
    sim.send([0.0, math.nan, 0.0, 0.0, 0.0, 0.0, 0.0])
    sim.send([math.inf] + [0.0] * 6)
    probe.spin_for(0.3)
    assert sim.newest() == newest and proc.poll() is None
    last = stamp_ns(sim.step([0.0] * 7))
    assert last == stamp_ns(state) + PERIOD_NS
    log = processes.output(proc)
    assert 'rejected wrong-length command' in log and 'rejected non-finite command' in log

    # The torque interface is the robot's: fixed while it runs. A reset takes one period.
    result = sim.set_param('torque_interface', 'direct')
    assert not result.successful and 'read-only' in result.reason.lower(), result.reason
    state = sim.reset()
    np.testing.assert_allclose(state.position, READY, atol=1e-12)
    assert stamp_ns(state) == last + PERIOD_NS, 'a reset takes one period of its own'

    # Bad run-time values are refused with the reason; a good configuration is used by reset.
    result = sim.set_param('initial_positions', [0.0, 3.0, 0.0, -2.356, 0.0, 1.571, 0.0])
    assert not result.successful and 'panda_joint2' in result.reason
    result = sim.set_param('initial_positions', [0.0] * 6)
    assert not result.successful and 'needs 7' in result.reason
    result = sim.set_param('hold_damping', -1.0)
    assert not result.successful and 'hold_damping' in result.reason
    other = [0.3, -0.5, 0.2, -2.0, 0.1, 1.8, 0.4]
    assert sim.set_param('initial_positions', other).successful
    np.testing.assert_allclose(sim.reset().position, other, atol=1e-12)

    probe.spin_until(lambda: any(v.key == 'commands_rejected' and v.value == '3'
                                 for d in sim.diagnostics for s in d.status
                                 for v in s.values), 3.0, 'diagnostics counting 3 rejects')
    assert proc.poll() is None
    assert processes.stop(proc) == 0


@pytest.mark.parametrize('name, value, says', [
    ('control_rate_hz', 60.0, 'not a whole number of physics_dt'),
    ('initial_positions', [0.0, 3.0, 0.0, -2.356, 0.0, 1.571, 0.0], 'panda_joint2'),
    ('mode', 'fast', 'must be one of'),
    ('executor', 'multi', 'must be one of'),
    ('realtime_priority', 99, 'must be an integer in [0, 98]'),
    ('cpu_affinity', '0-x', 'is not a CPU list'),
    ('torque_interface', 'soft', 'must be one of'),
])
def test_bad_start_parameter_stops_the_node(ros, name, value, says):
    """A refused start value: the node exits non-zero with a message naming the parameter."""
    processes, _ = ros
    proc = start_sim(processes, **{name: value})
    assert proc.wait(timeout=30) != 0
    log = processes.output(proc)
    assert f'parameter {name!r}' in log and says in log, log


def test_realtime_holds_without_commands(ros):
    """Realtime: ~50 Hz states; silence -> damped hold, said once per silence; commands resume."""
    processes, probe = ros
    proc = start_sim(processes, mode='realtime', command_timeout=0.3)
    sim = SimClient(probe)
    sim.wait_connected()
    start = len(sim.states)
    probe.spin_for(2.0)
    window = sim.states[start:]
    assert 60 <= len(window) <= 110, f'{len(window)} states in 2 s of wall time'
    assert np.all(np.diff([stamp_ns(m) for m in window]) == PERIOD_NS), \
        'one control period per tick'
    assert np.abs(np.subtract(window[-1].position, READY)).max() < 1e-3, 'the hold holds'
    assert np.abs(window[-1].velocity).max() < 1e-3

    for _ in range(15):  # 0.3 s of commands at ~50 Hz, then silence again
        sim.send([0.0] * 7)
        probe.spin_for(0.02)
    probe.spin_for(0.8)
    assert proc.poll() is None
    log = processes.output(proc)
    assert 'no command yet: holding the arm' in log
    assert log.count('commands resumed') == 1
    assert log.count('no command for 0.3 s: holding the arm') == 1, log
    probe.spin_until(lambda: any(v.key == 'holding' and v.value == 'true'
                                 for d in sim.diagnostics for s in d.status
                                 for v in s.values), 3.0, 'diagnostics saying holding')
    assert processes.stop(proc) == 0


def diagnostic_values(sim) -> list:
    """Return the key-value dicts of the diagnostics received so far, oldest first."""
    return [dict(((v.key, v.value) for v in s.values), level=s.level, message=s.message)
            for d in sim.diagnostics for s in d.status]


def test_out_of_range_torques_are_clipped_counted_and_warned(ros):
    """1e9 Nm is clipped to the limits, counted on /diagnostics and warned, throttled."""
    from predctl_ros.nodes.sim_node import CLIP_WARN_PERIOD_S

    processes, probe = ros
    proc = start_sim(processes, mode='lockstep')
    sim = SimClient(probe)
    sim.wait_connected()
    limits = panda_sim.PandaSim().effort_limits   # model order = JOINTS here
    warned = 'clipped a torque command to the effort limits'

    def warnings() -> int:
        return processes.output(proc).count(warned)

    reference = panda_sim.PandaSim(initial_positions=READY)

    def step_both(sent, applied):
        reference.step(applied)
        state = sim.step(sent)
        np.testing.assert_array_equal(state.position, reference.state().position)

    # Up to the limits, both signs: not clipped.
    for sign in (1.0, -1.0, 1.0):
        step_both(sign * limits, sign * limits)
        step_both(0.5 * sign * limits, 0.5 * sign * limits)

    # Far beyond them: joint 1 up, joint 5 down, the rest in range.
    beyond = np.zeros(7)
    beyond[0], beyond[4] = 1e9, -1e9
    started = time.monotonic()
    for _ in range(20):
        # The arm moves exactly as under the limit torques.
        step_both(beyond, np.clip(beyond, -limits, limits))
    elapsed = time.monotonic() - started
    probe.spin_until(lambda: any(d.get('commands_accepted') == '26'
                                 for d in diagnostic_values(sim)), 10.0,
                     'diagnostics after the 26 commands')
    last = [d for d in diagnostic_values(sim) if d.get('commands_accepted') == '26'][-1]
    assert last['commands_clipped'] == '20', last
    # 87 Nm on joint 1 for 0.4 s runs it into its 2.175 rad/s limit, which is counted.
    assert int(last['velocity_limit_periods']) > 0, last
    assert last['clipped: panda_joint1'] == '20' and last['clipped: panda_joint5'] == '20'
    assert {k for k in last if k.startswith('clipped: ')} == {
        'clipped: panda_joint1', 'clipped: panda_joint5'}, last
    assert any(d['level'] == DiagnosticStatus.WARN and 'clipped' in d['message']
               for d in diagnostic_values(sim)), diagnostic_values(sim)

    # Said, with the joints and values, at most once per throttle period.
    log = processes.output(proc)
    assert 'panda_joint1 1e+09 -> 87 Nm, panda_joint5 -1e+09 -> -12 Nm' in log, log
    assert 1 <= warnings() <= 1 + elapsed / CLIP_WARN_PERIOD_S, log

    # In-range commands leave the count alone (and the status goes back to OK).
    for _ in range(5):
        step_both(0.9 * limits, 0.9 * limits)
    probe.spin_until(lambda: any(d.get('commands_accepted') == '31'
                                 and d['level'] == DiagnosticStatus.OK
                                 for d in diagnostic_values(sim)), 10.0,
                     'diagnostics after 5 more in-range commands, status OK')
    assert all(d['commands_clipped'] == '20' for d in diagnostic_values(sim)
               if d.get('commands_accepted') == '31')

    # After a throttle period, the next clipped command is said again.
    said = warnings()
    probe.spin_for(CLIP_WARN_PERIOD_S + 0.5)
    sim.step(beyond)
    probe.spin_until(lambda: warnings() > said, 10.0, 'a new warning after the period')
    assert '(21 so far)' in processes.output(proc)
    assert processes.stop(proc) == 0
