# Copyright 2026 predctl_ros contributors
# SPDX-License-Identifier: Apache-2.0
"""
policy_node: the SNN policy driving the Panda to goals from RViz, by joint torques.

Subscribes /joint_states (sensor-data QoS), /goal_pose (RViz 2D Goal Pose; its z is 0, the
height is the ``goal_height`` parameter) and /clicked_point (RViz Publish Point, 3-D).
Publishes 7 torques on /<controller_name>/commands (ros2_control's forward command
controller convention; default /effort_controller/commands) in the order of
``controller_joints``, one per control period of joint states as they arrive (each stamp
answered once, a faster stream paced to ``control_rate_hz``); in ``realtime`` mode a timer
at ``control_rate_hz`` is the watchdog that turns missing joint states into zero-torque
commands.
Also publishes the adopted goal on /active_target (latched), a target marker (ns
``target``) and /diagnostics. Service ~/reset clears the target and the SNN state.

Behaviour a user sees:

* no goal yet (or after ~/reset): no command is published, so the simulator's damped hold
  keeps the arm (a zero-torque command would let it fall under gravity); with
  ``hold_when_idle`` (a robot whose effort controller keeps its last command) a damped
  hold is commanded instead;
* a goal is adopted when it is finite, in an accepted frame and inside the workspace bound
  (predctl_ros.control.GoalChecker); otherwise it is refused with the reason and the old
  goal stays; each new goal restarts the SNN from rest;
* joint states older than ``stale_timeout`` (by the node clock) or none at all while a goal
  is set: zero-torque commands, and one log line per stale period;
* joint states are read by name: joints beyond ``joint_names`` (a gripper's fingers) are
  ignored, and the joints may come in several messages (the latest value of each is used;
  the state is as old as its oldest joint). Messages with none of the joints are ignored
  and counted; malformed ones (lengths that do not match the names, a name twice, NaN/inf
  in a needed joint) are rejected, counted in /diagnostics and logged (throttled); the
  node keeps running;
* the command is adapted to the robot (predctl_ros.control.RobotAdapter): the model's
  gravity torque is subtracted when ``robot_compensates_gravity`` and the policy was
  trained without compensation; joint 7 is held by a PD when ``hold_unactuated_joints``;
  a damped stop replaces the policy while a joint is near its velocity limit, and every
  command changes at most ``torque_rate_limit`` Nm/s; stops and limited commands are
  counted in /diagnostics;
* setting ``checkpoint`` at run time hot-swaps the network (the goal is kept, the SNN
  starts from rest); a file that does not load or does not fit is refused and the old
  network keeps running.
"""

import time

from diagnostic_msgs.msg import DiagnosticArray, DiagnosticStatus, KeyValue
from geometry_msgs.msg import PointStamped, PoseStamped
import numpy as np
from predctl_ros.control import (command_order, ControlPacer, GoalChecker, GoalRejected,
                                 JointHold, JointStateError, JointStateMerger, PolicyRunner,
                                 resolve_checkpoint, RobotAdapter, RobotDynamics, StepStats)
from predctl_ros.envs import models, torque_interfaces
from predctl_ros.nodes import params
from predctl_ros.nodes.params import Param
from predctl_ros.nodes.run import run_node
from predctl_ros.nodes.scheduling import SCHEDULING
from predctl_ros.resources import share_path
from predctl_ros.snn.checkpoint import CheckpointError
from rclpy.clock import Clock, ClockType
from rclpy.node import Node
from rclpy.qos import DurabilityPolicy, qos_profile_sensor_data, QoSProfile, ReliabilityPolicy
from sensor_msgs.msg import JointState
from std_msgs.msg import Float64MultiArray
from std_srvs.srv import Trigger
from visualization_msgs.msg import Marker

LATE_SHARE = 0.1   # of the control period: a command later than this after its state is late


def _frames(value):
    values = list(value)
    if not values or any(not v for v in values):
        return f'needs at least one non-empty frame name, got {values}'
    return None


CHECKPOINT = Param(
    'checkpoint', '', 'Policy checkpoint (.safetensors); empty = the shipped '
    'share/predctl_ros/models/panda_reach_snn.safetensors. Setting it hot-swaps the network; '
    'a file that does not load or fit the robot is refused and the old one keeps running.')
GOAL_HEIGHT = Param('goal_height', 0.4, 'z in m of goals from /goal_pose (RViz 2D Goal Pose '
                    'sends z = 0).', params.in_range(0.0, 1.5), low=0.0, high=1.5)
ACCEPTED_FRAMES = Param('accepted_frames', ['panda_link0', 'world'],
                        'Frames goals may be given in (all coincide with the robot base).',
                        _frames)
STALE_TIMEOUT = Param('stale_timeout', 0.1, 'Joint states older than this (s, node clock) '
                      '-> zero-torque commands.', params.in_range(0.001, 10.0),
                      low=0.001, high=10.0)
DIAGNOSTICS_PERIOD = Param('diagnostics_period', 1.0, 'Seconds (wall clock) between '
                           '/diagnostics messages.', params.in_range(0.05, 60.0),
                           read_only=True, low=0.05, high=60.0)
CONTROLLER_NAME = Param(
    'controller_name', 'effort_controller', 'The ros2_control effort controller '
    '(JointGroupEffortController) the torques go to, on /<controller_name>/commands.',
    lambda v: None if v and '/' not in v.strip('/') else f'must be one name, got {v!r}',
    read_only=True)
CONTROLLER_JOINTS = Param(
    'controller_joints', list(params.JOINT_NAMES.default), "The controller's `joints` "
    'parameter: the order of the torques in a command (the joint_names, in any order).',
    params.names(7), read_only=True)
HOLD_UNACTUATED = Param(
    'hold_unactuated_joints', False, 'Hold the joints the policy does not drive (joint 7) '
    'with a PD to their angle at the goal adoption: for robots without a servo for them '
    '(not sim_node, which has one).', params.is_bool, read_only=True)
HOLD_KP = Param('hold_kp', 20.0, 'Stiffness of the joint-7 hold in Nm/rad (its friction of '
                'about 0.3 Nm leaves 0.3 / hold_kp rad of error).',
                params.in_range(0.0, 100.0), read_only=True, low=0.0, high=100.0)
HOLD_KD = Param('hold_kd', 1.0, 'Damping of the joint-7 hold in Nm s/rad (computed once per '
                'control period: keep it well below inertia / period, about 5 for the wrist '
                'with its rotor at 50 Hz).', params.in_range(0.0, 10.0), read_only=True,
                low=0.0, high=10.0)
HOLD_MAX_TORQUE = Param('hold_max_torque', 12.0, 'Torque limit of the joint-7 hold in Nm.',
                        params.in_range(0.0, 12.0), read_only=True, low=0.0, high=12.0)
TORQUE_RATE_LIMIT = Param(
    'torque_rate_limit', 1000.0, 'Largest rate of change of the command in Nm/s (the '
    "Panda's 1000 Nm/s, as libfranka's limitRate); 0 = no limit.",
    params.in_range(0.0, 100000.0), read_only=True, low=0.0, high=100000.0)
VELOCITY_STOP_FRACTION = Param(
    'velocity_stop_fraction', 0.9, 'A damped stop replaces the policy while a joint is '
    'faster than this share of its velocity limit (until all are below half of it); 0 = '
    'off.', params.in_range(0.0, 1.0), read_only=True, low=0.0, high=1.0)
HOLD_WHEN_IDLE = Param(
    'hold_when_idle', False, 'With no goal (before the first, after ~/reset) command a '
    'damped hold every control period (plus g(q) where the robot does not compensate '
    'gravity) instead of nothing: for effort controllers that keep their last command '
    "(ros2_control's JointGroupEffortController). Off with sim_node, whose own hold "
    'takes over when commands stop.', params.is_bool, read_only=True)
OWN = (CHECKPOINT, GOAL_HEIGHT, ACCEPTED_FRAMES, STALE_TIMEOUT, DIAGNOSTICS_PERIOD,
       CONTROLLER_NAME, CONTROLLER_JOINTS, HOLD_UNACTUATED, HOLD_KP, HOLD_KD, HOLD_MAX_TORQUE,
       TORQUE_RATE_LIMIT, VELOCITY_STOP_FRACTION, HOLD_WHEN_IDLE)


def robot_compensates_gravity(interface: str) -> Param:
    """Return the parameter, defaulting to what the policy's torque interface assumes."""
    return Param(
        'robot_compensates_gravity', torque_interfaces.torque_interface(
            interface).gravity_compensation,
        'The robot adds gravity compensation below the command (Franka, franka_ros2 '
        'Gazebo); default: as the torque_interface the policy was trained with. When it '
        'differs, the model gravity torque g(q) is subtracted from (or added to) the command.',
        params.is_bool, read_only=True)


LATCHED = QoSProfile(depth=1, reliability=ReliabilityPolicy.RELIABLE,
                     durability=DurabilityPolicy.TRANSIENT_LOCAL)


class PolicyNode(Node):
    """Joint states and goals in, SNN joint torques out."""

    def __init__(self, **kwargs):
        """
        Declare the parameters, load the checkpoint and wire topics, timers and services.

        :param kwargs: options of rclpy's Node (e.g. parameter_overrides).
        :raises predctl_ros.nodes.params.ParameterError: a parameter value is refused.
        """
        super().__init__('policy_node', **kwargs)
        values = params.declare(self, [*params.COMMON, params.TORQUE_INTERFACE, *SCHEDULING, *OWN],
                                on_change=self._on_change)
        self.joint_names = list(values['joint_names'])
        self.base_frame = values['base_frame']
        self.mode = values['mode']
        self.control_dt_s = 1.0 / values['control_rate_hz']
        self.torque_interface = values['torque_interface']
        self.goal_height = values['goal_height']
        self.stale_timeout = values['stale_timeout']
        self.hold_when_idle = values['hold_when_idle']
        self.checker = GoalChecker(values['accepted_frames'])
        try:
            self._order = command_order(self.joint_names, values['controller_joints'])
        except ValueError as exc:
            raise params.ParameterError(f"{self.get_name()}: parameter 'controller_joints': "
                                        f'{exc}') from None
        try:
            self.runner = self._load(values['checkpoint'])
        except CheckpointError as exc:
            raise params.ParameterError(f"{self.get_name()}: parameter 'checkpoint': "
                                        f'{exc}') from exc
        compensates = params.declare(
            self, [robot_compensates_gravity(self.torque_interface)])
        self.adapter = self._adapter(values, compensates['robot_compensates_gravity'])
        self.rejects = params.RejectCounter(self)
        self.stats = self._new_stats()
        n = len(self.joint_names)
        self.merger = JointStateMerger(self.joint_names)
        self.pacer = ControlPacer(round(self.control_dt_s * 1e9))
        self._q, self._qd = np.zeros(n), np.zeros(n)
        self._has_qd = False
        self._stamp_ns = None          # stamp of the latest state due for an answer
        self._arrival = 0.0            # perf_counter at its arrival
        self._pending = False          # lockstep: latest state not answered yet
        self._stale = False
        self._commands = self._zero_commands = self._states = self._ignored = 0
        self._stops_said = 0
        self._command = Float64MultiArray()

        self.command_topic = f"/{values['controller_name'].strip('/')}/commands"
        self.command_pub = self.create_publisher(Float64MultiArray, self.command_topic, 10)
        self.target_pub = self.create_publisher(PointStamped, '/active_target', LATCHED)
        self.marker_pub = self.create_publisher(Marker, '/visualization_marker', LATCHED)
        self.diagnostics_pub = self.create_publisher(DiagnosticArray, '/diagnostics', 10)
        self.create_subscription(JointState, '/joint_states', self._on_joint_state,
                                 qos_profile_sensor_data)
        self.create_subscription(PoseStamped, '/goal_pose', self._on_goal_pose, 10)
        self.create_subscription(PointStamped, '/clicked_point', self._on_clicked_point, 10)
        self.create_service(Trigger, '~/reset', self._on_reset)
        if self.mode == 'realtime':
            # The watchdog: joint states that stop coming make the commands zero torque.
            self.create_timer(self.control_dt_s, self._on_control_timer)
        # Diagnostics on the wall clock, so they flow even while sim time stands still.
        self.create_timer(values['diagnostics_period'], self._publish_diagnostics,
                          clock=Clock(clock_type=ClockType.STEADY_TIME))
        self.get_logger().info(
            f'{self._describe()}; {self.mode} mode at {1.0 / self.control_dt_s:g} Hz; waiting '
            'for a goal on /goal_pose or /clicked_point ' + (
                '(a damped hold until then)' if self.hold_when_idle else
                '(no command until then: the simulator holds the arm)'))

    # -- checkpoint ----------------------------------------------------------------------

    def _load(self, value: str) -> PolicyRunner:
        return PolicyRunner(resolve_checkpoint(value), control_dt_s=self.control_dt_s,
                            n_joints=len(self.joint_names),
                            torque_interface=self.torque_interface)

    def _adapter(self, values, robot_compensates: bool) -> RobotAdapter:
        # The model of the task: the robot of urdf/panda.urdf, as the policy knows it.
        urdf = share_path(*models.PANDA_URDF)
        dynamics = RobotDynamics(self.runner.task.model, urdf, self.joint_names)
        hold = None
        if values['hold_unactuated_joints']:
            held = [i for i in range(len(self.joint_names)) if i not in self.runner.task.actuated]
            hold = JointHold(held, values['hold_kp'], values['hold_kd'],
                             values['hold_max_torque'])
        trained = torque_interfaces.torque_interface(self.torque_interface)
        if trained.gravity_compensation and not robot_compensates:
            self.get_logger().warning(
                f'the policy was trained with torque_interface {trained.name} (the robot '
                'compensating gravity and damping the joints); adding g(q) to the command '
                'makes up for the gravity, not for the damping')
        return RobotAdapter(dynamics, self.control_dt_s,
                            trained_with_compensation=trained.gravity_compensation,
                            robot_compensates=robot_compensates, hold=hold,
                            rate_nm_s=values['torque_rate_limit'],
                            velocity_stop_share=values['velocity_stop_fraction'])

    def _gravity_mode(self) -> str:
        return {-1: 'subtracted (robot compensates)', 0: 'as trained',
                1: 'added (robot does not compensate)'}[self.adapter.gravity_sign]

    def _new_stats(self) -> StepStats:
        # Late = over a tenth of the control period (2 ms at 50 Hz) from state to command.
        return StepStats(late_s=LATE_SHARE * self.control_dt_s)

    def _describe(self) -> str:
        spec = self.runner.net_spec
        return (f'checkpoint {self.runner.path} (task {self.runner.spec.task_id}, '
                f'{spec.arch} {list(spec.hidden)} {spec.neuron}, '
                f'{self.runner.spec.obs_size} observations); commands on '
                f'{self.command_topic}; gravity {self._gravity_mode()}; joint-7 hold '
                f'{"on" if self.adapter.hold is not None else "off (the robot holds it)"}')

    def _on_change(self, name, value):
        if name == 'checkpoint':
            try:
                runner = self._load(value)
            except CheckpointError as exc:
                return str(exc)
            if self.runner.target is not None:
                runner.set_target(self.runner.target)
            self.runner = runner
            self.stats = self._new_stats()
            self.get_logger().info(f'hot-swapped the network: {self._describe()}')
        elif name == 'goal_height':
            self.goal_height = value
        elif name == 'stale_timeout':
            self.stale_timeout = value
        elif name == 'accepted_frames':
            self.checker = GoalChecker(value)
        return None

    # -- inputs --------------------------------------------------------------------------

    def _on_joint_state(self, msg: JointState):
        arrival = time.perf_counter()
        stamp = msg.header.stamp
        stamp_ns = stamp.sec * 1_000_000_000 + stamp.nanosec
        merger = self.merger
        try:
            ours = merger.update(msg.name, msg.position, msg.velocity, stamp_ns)
        except JointStateError as exc:
            self.rejects.reject('joint_state', str(exc))
            return
        if not ours:
            self._ignored += 1     # another publisher's joints (a gripper, another arm)
            return
        self._states += 1
        if not merger.complete:
            return
        if self.runner.needs_velocities and not merger.has_velocities:
            self.rejects.reject('joint_state', 'no velocities, but the policy observes them')
            return
        stamp_ns = merger.stamp_ns
        if not self.pacer.due(stamp_ns):
            return    # a re-sent state, or one within the period of the last answer
        self._q[:] = merger.position
        self._has_qd = merger.has_velocities
        if self._has_qd:
            self._qd[:] = merger.velocity
        self._stamp_ns = stamp_ns
        self._arrival = arrival
        # Answer on arrival in both modes: the command then reaches the simulator well
        # inside the period it was computed for, as in training (a timer of its own would
        # add up to a period of delay).
        self._pending = True
        self._control()

    def _on_goal_pose(self, msg: PoseStamped):
        p = msg.pose.position
        self._adopt((p.x, p.y, self.goal_height), msg.header.frame_id, '/goal_pose')

    def _on_clicked_point(self, msg: PointStamped):
        p = msg.point
        self._adopt((p.x, p.y, p.z), msg.header.frame_id, '/clicked_point')

    def _adopt(self, point, frame: str, source: str):
        try:
            goal = self.checker.check(point, frame)
        except GoalRejected as exc:
            # Goals come at human rate: say why every time (not throttled).
            self.rejects.counts['goal'] = self.rejects.counts.get('goal', 0) + 1
            self.get_logger().warning(f'refused goal from {source}: {exc}')
            return
        self.runner.set_target(goal)
        if self.merger.complete:
            self.adapter.adopt_goal(self.merger.position)
        elif self.adapter.hold is not None:
            self.adapter.hold.reference = None    # taken from the first state instead
        now = self.get_clock().now().to_msg()
        target = PointStamped()
        target.header.stamp = now
        target.header.frame_id = self.base_frame
        target.point.x, target.point.y, target.point.z = (float(v) for v in goal)
        self.target_pub.publish(target)
        self.marker_pub.publish(self._marker(goal, now))
        self.get_logger().info(f'new target ({goal[0]:.3f}, {goal[1]:.3f}, {goal[2]:.3f}) m '
                               f'in {self.base_frame} from {source}')
        if self._pending:
            self._control()   # answer the state the simulator is waiting on

    def _marker(self, goal, stamp, delete: bool = False) -> Marker:
        marker = Marker()
        marker.header.stamp = stamp
        marker.header.frame_id = self.base_frame
        marker.ns, marker.id = 'target', 0
        marker.type = Marker.SPHERE
        marker.action = Marker.DELETE if delete else Marker.ADD
        marker.pose.position.x, marker.pose.position.y, marker.pose.position.z = (
            float(v) for v in goal)
        marker.pose.orientation.w = 1.0
        marker.scale.x = marker.scale.y = marker.scale.z = 0.05
        marker.color.r, marker.color.g, marker.color.b, marker.color.a = 0.1, 0.8, 0.2, 0.8
        return marker

    def _on_reset(self, request, response):
        target = self.runner.target
        self.runner.clear_target()
        self._pending = False
        if target is not None:
            self.marker_pub.publish(self._marker(target, self.get_clock().now().to_msg(),
                                                 delete=True))
        self.get_logger().info('reset: target and SNN state cleared; no command until a '
                               'new goal')
        response.success = True
        response.message = 'target and SNN state cleared'
        return response

    # -- control -------------------------------------------------------------------------

    def _on_control_timer(self):
        if self.runner.target is not None and self._stale_reason() is not None:
            self._control()

    def _stale_reason(self):
        merger = self.merger
        if not merger.complete:
            missing = merger.missing()
            if len(missing) == len(self.joint_names):
                return 'no joint state received yet'
            return f'no value yet for joints {missing}'
        age = (self.get_clock().now().nanoseconds - merger.stamp_ns) * 1e-9
        if age > self.stale_timeout:
            # A state is as old as its oldest joint (joints may come from several sources).
            return (f'the latest value of {merger.oldest_joint()} is {age:.3f} s old '
                    f'(stale_timeout {self.stale_timeout} s)')
        return None

    def _control(self):
        if self.runner.target is None:
            if self.hold_when_idle and self._stale_reason() is None:
                self._pending = False
                self.pacer.answered(self._stamp_ns)
                self._publish(self.adapter.hold_still(
                    self._q, self._qd if self._has_qd else None))
            return
        reason = self._stale_reason()
        if reason is not None:
            if not self._stale:
                self._stale = True
                self.get_logger().warning(f'{reason}: commanding zero torque')
            self._publish(self.adapter.idle(), zero=True)
            return
        if self._stale:
            self._stale = False
            self.get_logger().info('joint states are fresh again: resuming the policy')
        self._pending = False
        self.pacer.answered(self._stamp_ns)
        qd = self._qd if self._has_qd else None
        try:
            torque = self.runner.step(self._q, qd)
        except ValueError as exc:
            self.rejects.reject('step', f'{exc}; commanding zero torque')
            self._publish(self.adapter.idle(), zero=True)
            return
        adapter = self.adapter
        if adapter.hold is not None and adapter.hold.reference is None:
            adapter.adopt_goal(self._q)
        self._publish(adapter.command(torque, self._q, qd))
        if adapter.stop.trips > self._stops_said:
            self._stops_said = adapter.stop.trips
            self.get_logger().warning(
                f'damped stop ({adapter.stop.trips} so far): {adapter.stop.last_trip}',
                throttle_duration_sec=1.0)
        self.stats.add(self.runner.last_step_s, self.runner.rates_hz, self.runner.synops,
                       time.perf_counter() - self._arrival)

    def _publish(self, torque, zero: bool = False):
        self._command.data = torque[self._order].tolist()
        self.command_pub.publish(self._command)
        self._commands += 1
        self._zero_commands += zero

    # -- diagnostics ---------------------------------------------------------------------

    def _publish_diagnostics(self):
        summary = self.stats.summary()
        target = self.runner.target
        stale = self._stale_reason() if target is not None else None
        status = DiagnosticStatus()
        status.name = f'{self.get_name()}: SNN policy'
        status.hardware_id = 'predctl_ros'
        if target is None:
            status.level, status.message = DiagnosticStatus.OK, 'waiting for a goal'
        elif stale:
            status.level, status.message = DiagnosticStatus.WARN, f'stale: {stale}'
        elif self.adapter.stop.stopping:
            status.level = DiagnosticStatus.WARN
            status.message = f'damped stop: {self.adapter.stop.last_trip}'
        else:
            status.level, status.message = DiagnosticStatus.OK, 'driving to the target'
        values = {
            'checkpoint': str(self.runner.path),
            'mode': self.mode,
            'control_rate_hz': f'{1.0 / self.control_dt_s:g}',
            'target': 'none' if target is None else ' '.join(f'{v:.4f}' for v in target),
            'stale': 'true' if stale else 'false',
            'steps': str(summary['steps']),
            'joint_states_accepted': str(self._states),
            'joint_states_ignored': str(self._ignored),
            'command_topic': self.command_topic,
            'gravity': self._gravity_mode(),
            'joint7_hold': 'true' if self.adapter.hold is not None else 'false',
            'rate_limited_commands': str(self.adapter.limiter.limited),
            'velocity_stops': str(self.adapter.stop.trips),
            'velocity_stop_commands': str(self.adapter.stop.stop_commands),
            'stopping': 'true' if self.adapter.stop.stopping else 'false',
            'commands_published': str(self._commands),
            'zero_torque_commands': str(self._zero_commands),
            'late_threshold_ms': f'{LATE_SHARE * self.control_dt_s * 1e3:g}',
            'late_commands_total': str(summary['late_commands_total']),
            'timed_commands_total': str(summary['commands_total']),
        }
        for key in ('step_latency_p50_ms', 'step_latency_p99_ms', 'step_latency_max_ms',
                    'state_to_command_p50_ms', 'state_to_command_p99_ms', 'synops_per_step'):
            if key in summary:
                values[key] = f'{summary[key]:.4f}'
        for i, rate in enumerate(summary.get('rate_hz', ())):
            values[f'rate_hz_layer{i}'] = f'{rate:.2f}'
        for kind in ('joint_state', 'goal', 'step'):
            values[f'rejected_{kind}'] = str(self.rejects.counts.get(kind, 0))
        status.values = [KeyValue(key=k, value=v) for k, v in values.items()]
        array = DiagnosticArray()
        array.header.stamp = self.get_clock().now().to_msg()
        array.status = [status]
        self.diagnostics_pub.publish(array)


def main(args=None):
    """
    Run the policy node until interrupted.

    :param args: ROS command-line arguments (default: sys.argv).
    :return: 0, or 1 when a parameter (e.g. the checkpoint) is refused at start.
    """
    return run_node(PolicyNode, 'policy_node', args)


if __name__ == '__main__':
    raise SystemExit(main())
