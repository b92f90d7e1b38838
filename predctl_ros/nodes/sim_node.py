# Copyright 2026 predctl_ros contributors
# SPDX-License-Identifier: Apache-2.0
"""
The simulated Panda as a ROS 2 node: joint torques in, joint states and poses out.

A thin adapter over :class:`predctl_ros.envs.panda_sim.PandaSim` (the robot the policy
was trained on). Interface (docs/ros.md, config/panda_reach.yaml):

* publishes ``/joint_states`` (stamp = sim time), ``/clock``, ``/ee_pose`` (TCP in
  ``base_frame``), the ``end_effector`` marker on ``/visualization_marker`` and, about
  once per second, ``/diagnostics``;
* subscribes ``/effort_controller/commands`` (Float64MultiArray, 7 torques in
  ``joint_names`` order); wrong-length or non-finite commands are rejected, counted and
  logged (throttled); torques beyond the URDF effort limits are clipped to them, as a
  ros2_control joint limiter does, and counted in /diagnostics and logged (throttled);
* service ``~/reset`` (std_srvs/Trigger): the arm at rest in ``initial_positions``.

Modes: ``realtime`` steps one control period per tick of a wall-clock timer, applying
the latest command, or a damped hold after ``command_timeout`` without one; ``lockstep``
publishes a state and advances one control period per command. In lockstep, a state
nobody answered is published again (same stamp) when a subscriber appears before the
first command, and after ``LOCKSTEP_REPEAT_S`` of silence, so that a state lost to
discovery does not stall the loop; a policy should answer each stamp once.
"""

import math
import os
import time

from diagnostic_msgs.msg import DiagnosticArray, DiagnosticStatus, KeyValue
from geometry_msgs.msg import PoseStamped
import numpy as np
from predctl_ros.envs import panda_sim, tasks
from predctl_ros.nodes import params
from predctl_ros.nodes.run import run_node
from predctl_ros.nodes.scheduling import SCHEDULING
from rclpy.clock import Clock, ClockType
from rclpy.node import Node
from rclpy.time import Time
from rosgraph_msgs.msg import Clock as ClockMsg
from sensor_msgs.msg import JointState
from std_msgs.msg import Float64MultiArray
from std_srvs.srv import Trigger
from visualization_msgs.msg import Marker

LOCKSTEP_REPEAT_S = 1.0
DIAGNOSTICS_PERIOD_S = 1.0
# At most one warning about clipped commands per this many seconds: a controller that
# saturates does so at the control rate.
CLIP_WARN_PERIOD_S = 2.0


def _is_bool(value):
    return None if isinstance(value, bool) else f'must be true or false, got {value!r}'


URDF = params.Param(
    'urdf', '', 'URDF file of the simulated Panda; empty = the package urdf/panda.urdf.',
    lambda v: None if not v or os.path.isfile(v) else f'names no file: {v!r}',
    read_only=True)
PHYSICS_DT = params.Param(
    'physics_dt', tasks.PHYSICS_DT_S, 'MuJoCo timestep in s; the control period must be a '
    'whole number of them (the policy was trained with 0.002 s at 50 Hz).',
    params.in_range(1e-4, 0.01), read_only=True, low=1e-4, high=0.01)
COMMAND_TIMEOUT = params.Param(
    'command_timeout', 0.1, 'realtime: seconds without a command before the damped hold.',
    params.in_range(0.001, 60.0), low=0.001, high=60.0)
HOLD_DAMPING = params.Param(
    'hold_damping', 20.0, 'Joint damping of the damped hold in Nm s/rad (with gravity '
    'compensation).', params.in_range(0.0, 1000.0), low=0.0, high=1000.0)
PUBLISH_EE_MARKER = params.Param(
    'publish_ee_marker', True, 'Publish the end-effector marker (ns end_effector).',
    _is_bool)
INITIAL_POSITIONS_DEFAULT = [0.0, -0.785, 0.0, -2.356, 0.0, 1.571, 0.0]
INITIAL_POSITION_DESCRIPTION = (
    'Joint angles in rad (joint_names order) that ~/reset puts the arm in, at rest; '
    'checked against the joint limits.')


class SimNode(Node):
    """Simulate the Panda, publish its state, apply torque commands."""

    def __init__(self):
        """
        Declare and check the parameters, load the robot, create the interfaces.

        :raises params.ParameterError: a parameter value is refused (names it and why).
        """
        super().__init__('sim_node')
        try:
            self._setup()
        except Exception:
            self.destroy_node()
            raise

    # -- setup ---------------------------------------------------------------------------

    def _setup(self):
        first = params.declare(self, [*params.COMMON, *SCHEDULING, URDF, PHYSICS_DT,
                                      params.TORQUE_INTERFACE])
        name = self.get_name()
        rate = first['control_rate_hz']
        try:
            tasks.substeps_per_control(1.0 / rate, first['physics_dt'])
        except ValueError:
            raise params.ParameterError(
                f"{name}: parameter 'control_rate_hz' {rate} Hz gives a control period of "
                f'{1.0 / rate:.6g} s, not a whole number of physics_dt={first["physics_dt"]} '
                's steps') from None
        try:
            self.sim = panda_sim.PandaSim(first['urdf'] or None,
                                          physics_dt_s=first['physics_dt'],
                                          control_dt_s=1.0 / rate,
                                          base_body=first['base_frame'],
                                          torque_interface=first['torque_interface'])
        except Exception as exc:  # a file that is no Panda URDF can fail in many ways
            which = 'base_frame' if 'no link named' in str(exc) else 'urdf'
            raise params.ParameterError(f'{name}: parameter {which!r}: '
                                        f'{type(exc).__name__}: {exc}') from None
        sim = self.sim
        if (abs(sim.control_dt_s - tasks.CONTROL_DT_S) > 1e-12
                or sim.model.opt.timestep != tasks.PHYSICS_DT_S):
            self.get_logger().warning(
                f'control period {sim.control_dt_s} s / physics_dt {sim.model.opt.timestep} '
                f's differ from the task the policy was trained on ({tasks.CONTROL_DT_S} s / '
                f'{tasks.PHYSICS_DT_S} s)')
        self.joint_names = list(first['joint_names'])
        if sorted(self.joint_names) != sorted(sim.joint_names):
            raise params.ParameterError(
                f"{name}: parameter 'joint_names' must name the joints of {sim.urdf} "
                f'({", ".join(sim.joint_names)}), got {self.joint_names}')
        # Message entry i is model joint self._order[i].
        self._order = np.array([sim.joint_names.index(n) for n in self.joint_names])
        self.base_frame = first['base_frame']
        self.mode = first['mode']

        def initial_positions_problem(value):
            return params.numbers(7)(value) or self._configuration_problem(value)

        initial_positions = params.Param('initial_positions', INITIAL_POSITIONS_DEFAULT,
                                         INITIAL_POSITION_DESCRIPTION,
                                         initial_positions_problem)
        second = params.declare(self, [initial_positions, COMMAND_TIMEOUT, HOLD_DAMPING,
                                       PUBLISH_EE_MARKER],
                                on_change=self._on_change)
        for key, value in second.items():
            self._on_change(key, value)
        sim.reset()

        self._state_pub = self.create_publisher(JointState, 'joint_states', 10)
        self._clock_pub = self.create_publisher(ClockMsg, 'clock', 10)
        self._pose_pub = self.create_publisher(PoseStamped, 'ee_pose', 10)
        self._marker_pub = self.create_publisher(Marker, 'visualization_marker', 10)
        self._diag_pub = self.create_publisher(DiagnosticArray, 'diagnostics', 10)
        self.create_subscription(Float64MultiArray, 'effort_controller/commands',
                                 self._on_command, 10)
        self.create_service(Trigger, '~/reset', self._on_reset)
        self.rejects = params.RejectCounter(self)

        self._command = None            # latest accepted command, model joint order
        self._command_wall = None       # monotonic time it arrived
        self._commands = 0
        self._clipped = 0               # accepted commands with a torque beyond its limit
        self._clipped_joints = {}       # joint name: commands that clipped it
        self._silent = False
        self._last_publish_wall = time.monotonic()
        self._subscribers = 0
        self._diag_wall = time.monotonic()
        self._diag_sim_ns = sim.time_ns
        self._diag_divergences = 0
        self._diag_rejects = 0
        self._diag_clipped = 0
        steady = Clock(clock_type=ClockType.STEADY_TIME)
        if self.mode == 'realtime':
            self.create_timer(sim.control_dt_s, self._on_tick, clock=steady)
        else:
            self.create_timer(0.1, self._on_lockstep_watchdog, clock=steady)
        self.create_timer(DIAGNOSTICS_PERIOD_S, self._publish_diagnostics, clock=steady)
        self._publish_state()
        self.get_logger().info(
            f'{self.mode}: {1.0 / sim.control_dt_s:g} Hz control, {sim.n_substeps} physics '
            f'steps of {sim.model.opt.timestep} s, torque interface {sim.torque_interface}, '
            f'model {sim.urdf}')

    def _to_model(self, values) -> np.ndarray:
        out = np.empty(len(self._order))
        out[self._order] = values
        return out

    def _configuration_problem(self, value):
        return self.sim.configuration_problem(self._to_model(value))

    def _on_change(self, name, value):
        if name == 'initial_positions':
            self.sim.initial_positions = self._to_model(value)
        elif name == 'hold_damping':
            self.sim.set_hold_damping(value)
        elif name == 'command_timeout':
            self.command_timeout = value
        elif name == 'publish_ee_marker':
            self.publish_ee_marker = value
        return None

    # -- inputs --------------------------------------------------------------------------

    def _on_command(self, msg: Float64MultiArray):
        values = msg.data
        if len(values) != len(self._order):
            self.rejects.reject('wrong-length command',
                                f'got {len(values)} torques, need {len(self._order)} '
                                f'({", ".join(self.joint_names)})')
            return
        if not all(math.isfinite(v) for v in values):
            self.rejects.reject('non-finite command', f'torques hold NaN/inf: {list(values)}')
            return
        self._commands += 1
        self._command = self._to_model(values)
        beyond = np.abs(self._command) > self.sim.effort_limits
        if beyond.any():
            self._count_clipped(beyond)
        self._command_wall = time.monotonic()
        if self.mode == 'lockstep':
            self._advance(self.sim.step, self._command)
            self._publish_state()

    def _count_clipped(self, beyond: np.ndarray):
        # PandaSim.step clips; counted and said here, or a saturating controller would go
        # unnoticed (the arm just moves less than commanded).
        self._clipped += 1
        said = []
        for i in np.flatnonzero(beyond):
            joint, value = self.sim.joint_names[i], self._command[i]
            self._clipped_joints[joint] = self._clipped_joints.get(joint, 0) + 1
            said.append(f'{joint} {value:g} -> '
                        f'{math.copysign(self.sim.effort_limits[i], value):g} Nm')
        self.get_logger().warning(
            f'clipped a torque command to the effort limits ({self._clipped} so far): '
            + ', '.join(said), throttle_duration_sec=CLIP_WARN_PERIOD_S)

    def _on_reset(self, request, response):
        # In lockstep the reset takes one control period, so the reset state gets a stamp
        # of its own (a policy that answers each stamp once answers it too).
        self.sim.reset(advance_clock=self.mode == 'lockstep')
        if self.mode == 'lockstep':
            self._publish_state()
        response.success = True
        response.message = 'reset to initial_positions ' + str(
            [round(float(v), 6) for v in self.sim.initial_positions[self._order]])
        self.get_logger().info(response.message)
        return response

    # -- stepping ------------------------------------------------------------------------

    def _advance(self, step, *args):
        if step(*args):
            self.get_logger().error(
                f'the physics diverged at t={self.sim.time_ns * 1e-9:.3f} s; the arm was reset '
                'to initial_positions')

    def _on_tick(self):
        now = time.monotonic()
        fresh = (self._command_wall is not None
                 and now - self._command_wall <= self.command_timeout)
        if fresh:
            if self._silent:
                self._silent = False
                self.get_logger().info('commands resumed: damped hold ended')
            self._advance(self.sim.step, self._command)
        else:
            if not self._silent:
                self._silent = True
                self.get_logger().warning(
                    f'no command for {self.command_timeout} s: holding the arm (damped hold, '
                    f'{self.sim.hold_damping} Nm s/rad, gravity compensated)'
                    if self._command_wall is not None else
                    'no command yet: holding the arm (damped hold, gravity compensated)')
            self._advance(self.sim.hold)
        self._publish_state()

    def _on_lockstep_watchdog(self):
        # Republish a state nobody answered: to a first subscriber that appeared after it
        # was sent, or after LOCKSTEP_REPEAT_S of silence (a state lost in discovery).
        count = self._state_pub.get_subscription_count()
        joined = count > self._subscribers and self._commands == 0
        self._subscribers = count
        last_answer = self._command_wall or 0.0
        silent = time.monotonic() - max(self._last_publish_wall, last_answer) \
            >= LOCKSTEP_REPEAT_S
        if count and (joined or silent):
            self._publish_state()

    # -- outputs -------------------------------------------------------------------------

    def _publish_state(self):
        sim = self.sim
        state = sim.state()
        stamp = Time(nanoseconds=state.time_ns).to_msg()
        self._clock_pub.publish(ClockMsg(clock=stamp))
        msg = JointState()
        msg.header.stamp = stamp
        msg.name = self.joint_names
        msg.position = state.position[self._order].tolist()
        msg.velocity = state.velocity[self._order].tolist()
        msg.effort = state.effort[self._order].tolist()
        self._state_pub.publish(msg)
        pose = PoseStamped()
        pose.header.stamp = stamp
        pose.header.frame_id = self.base_frame
        (pose.pose.position.x, pose.pose.position.y,
         pose.pose.position.z) = state.ee_position.tolist()
        (pose.pose.orientation.x, pose.pose.orientation.y, pose.pose.orientation.z,
         pose.pose.orientation.w) = state.ee_orientation.tolist()
        self._pose_pub.publish(pose)
        if self.publish_ee_marker:
            marker = Marker()
            marker.header = pose.header
            marker.ns = 'end_effector'
            marker.id = 0
            marker.type = Marker.SPHERE
            marker.action = Marker.ADD
            marker.pose = pose.pose
            marker.scale.x = marker.scale.y = marker.scale.z = 0.04
            marker.color.r, marker.color.g, marker.color.b, marker.color.a = 0.1, 0.4, 1.0, 0.9
            self._marker_pub.publish(marker)
        self._last_publish_wall = time.monotonic()

    def _publish_diagnostics(self):
        sim = self.sim
        now = time.monotonic()
        factor = (sim.time_ns - self._diag_sim_ns) * 1e-9 / max(now - self._diag_wall, 1e-9)
        self._diag_wall, self._diag_sim_ns = now, sim.time_ns
        rejected = sum(self.rejects.counts.values())
        new_rejects = rejected - self._diag_rejects
        new_divergences = sim.divergences - self._diag_divergences
        new_clipped = self._clipped - self._diag_clipped
        self._diag_rejects, self._diag_divergences = rejected, sim.divergences
        self._diag_clipped = self._clipped
        holding = self.mode == 'realtime' and self._silent
        status = DiagnosticStatus(name=f'{self.get_name()}: simulation',
                                  hardware_id='mujoco_panda')
        problems = []
        if holding:
            problems.append('damped hold (no commands)')
        if new_rejects:
            problems.append(f'{new_rejects} commands rejected')
        if new_clipped:
            problems.append(f'{new_clipped} commands clipped to the effort limits')
        if new_divergences:
            problems.append(f'physics diverged {new_divergences} times')
        status.level = DiagnosticStatus.WARN if problems else DiagnosticStatus.OK
        status.message = '; '.join(problems) or 'running'
        values = {
            'mode': self.mode,
            'sim_time_s': f'{sim.time_ns * 1e-9:.3f}',
            'real_time_factor': f'{factor:.3f}',
            'control_periods': str(sim.steps),
            'commands_accepted': str(self._commands),
            'commands_rejected': str(rejected),
            'commands_clipped': str(self._clipped),
            'holding': str(holding).lower(),
            'torque_interface': sim.torque_interface,
            'divergences': str(sim.divergences),
            # Control periods with a joint speed clamped at its limit: each one a motion the
            # real robot would have stopped with a reflex (predctl_ros.envs.physics).
            'velocity_limit_periods': str(sim.velocity_limit_steps),
        }
        for kind, count in sorted(self.rejects.counts.items()):
            values[f'rejected: {kind}'] = str(count)
        for joint in self.joint_names:
            if joint in self._clipped_joints:
                values[f'clipped: {joint}'] = str(self._clipped_joints[joint])
        status.values = [KeyValue(key=k, value=v) for k, v in values.items()]
        array = DiagnosticArray()
        array.header.stamp = self.get_clock().now().to_msg()
        array.status = [status]
        self._diag_pub.publish(array)


def main(args=None):
    """
    Run the simulation node until Ctrl-C or shutdown.

    :param args: ROS command-line arguments (default: sys.argv).
    :return: 0, or 1 when a parameter value was refused at start.
    """
    return run_node(SimNode, 'sim_node', args)


if __name__ == '__main__':
    raise SystemExit(main())
