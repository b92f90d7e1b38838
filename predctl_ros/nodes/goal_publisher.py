# Copyright 2026 predctl_ros contributors
# SPDX-License-Identifier: Apache-2.0
"""
goal_publisher: send goals as RViz does and report how close the arm got to each.

The headless stand-in for a person clicking in RViz. Goals are random reachable points
(``source: random``, seeded) or the ``goals`` list, sent on /clicked_point (PointStamped,
as RViz's Publish Point) or /goal_pose (PoseStamped with z = 0 and a yaw-only orientation,
as RViz's 2D Goal Pose; the policy puts it at its ``goal_height``), one every ``period``
seconds of the node clock (sim time with use_sim_time). The first goal goes out once the
policy subscribes.

For each goal it follows /active_target (what the policy adopted, with the height) and
/ee_pose, and logs one line of key=value pairs::

    goal_result index=1 of=2 sent=0.5000,0.0000,0.4000 target=0.5000,0.0000,0.4000
    adopted=true final_distance=0.0312 min_distance=0.0150 time_to_tolerance=1.840
    reached=true samples=200

(``reached``: final distance within ``tolerance``). After ``count`` goals (0 = forever) it
logs ``goal_summary reached=N of=M adopted=K median_final_distance=D`` and exits with code
0. With ``report`` set, the same results go to that JSON file after every goal.
"""

import math
import time

from geometry_msgs.msg import PointStamped, PoseStamped
from predctl_ros.control import GoalReport, GoalSource
from predctl_ros.nodes import params
from predctl_ros.nodes.params import Param
from predctl_ros.nodes.run import run_node
from rclpy.clock import Clock, ClockType
from rclpy.node import Node
from rclpy.qos import DurabilityPolicy, QoSProfile, ReliabilityPolicy
from rclpy.task import Future


def _non_negative_int(value):
    if not isinstance(value, int) or value < 0:
        return f'must be an integer >= 0, got {value!r}'
    return None


OWN = (
    Param('source', 'random', 'random: reachable random goals (seeded); list: the goals '
          'parameter, cycled.', params.one_of('random', 'list')),
    Param('goals', [0.5, 0.0, 0.4, 0.4, 0.3, 0.5, 0.4, -0.3, 0.3], 'x, y, z triples (m, base '
          'frame) for source list.', params.numbers(multiple_of=3)),
    Param('topic', 'clicked_point', 'clicked_point (3-D, RViz Publish Point) or goal_pose '
          '(RViz 2D Goal Pose: z = 0, height from policy_node goal_height).',
          params.one_of('clicked_point', 'goal_pose'), read_only=True),
    Param('seed', 0, 'Seed of the random goals.', _non_negative_int, read_only=True),
    Param('period', 4.0, 'Seconds (node clock) per goal.', params.in_range(0.01, 3600.0),
          read_only=True, low=0.01, high=3600.0),
    Param('count', 0, 'Goals to send; 0 = forever.', _non_negative_int, read_only=True),
    Param('tolerance', 0.05, 'A goal counts as reached within this distance (m).',
          params.in_range(1e-4, 1.0), low=1e-4, high=1.0),
    Param('report', '', 'JSON file for the per-goal results; empty = none.', read_only=True),
)

LATCHED = QoSProfile(depth=1, reliability=ReliabilityPolicy.RELIABLE,
                     durability=DurabilityPolicy.TRANSIENT_LOCAL)


# Wall-clock seconds after which a goal the policy has not adopted is sent again.
RESEND_S = 1.0


class GoalPublisher(Node):
    """Send goals on a schedule and follow how the arm does."""

    def __init__(self, **kwargs):
        """
        Declare the parameters and wire topics and the schedule.

        :param kwargs: options of rclpy's Node.
        :raises predctl_ros.nodes.params.ParameterError: a parameter value is refused.
        """
        super().__init__('goal_publisher', **kwargs)
        values = params.declare(self, [*params.COMMON, *OWN], on_change=self._on_change)
        self.base_frame = values['base_frame']
        self.topic = values['topic']
        self.period = values['period']
        self.count = values['count']
        self.report_path = values['report']
        try:
            self.source = GoalSource(values['source'], values['goals'], values['seed'])
        except ValueError as exc:
            raise params.ParameterError(f'{self.get_name()}: {exc}') from exc
        self.report = GoalReport(values['tolerance'], values['count'])
        self.finished = Future()
        self._sent = None
        self._waiting_logged = False
        if self.topic == 'goal_pose':
            self.goal_pub = self.create_publisher(PoseStamped, '/goal_pose', 10)
        else:
            self.goal_pub = self.create_publisher(PointStamped, '/clicked_point', 10)
        self.create_subscription(PointStamped, '/active_target', self._on_active_target,
                                 LATCHED)
        self.create_subscription(PoseStamped, '/ee_pose', self._on_ee_pose, 10)
        # Ticks on the wall clock: in lockstep, sim time stands still until the first goal
        # makes the policy command, so a sim-time timer would never send it. Periods are
        # still measured in node (sim) time.
        self.create_timer(min(0.05, self.period / 10.0), self._tick,
                          clock=Clock(clock_type=ClockType.STEADY_TIME))
        self.get_logger().info(
            f"sending {self.count or 'endless'} {values['source']} goals on /{self.topic}, "
            f'one every {self.period:g} s')

    def _on_change(self, name, value):
        if name == 'tolerance':
            self.report.tolerance = value
        elif name in ('source', 'goals'):
            source = value if name == 'source' else self.get_parameter('source').value
            goals = value if name == 'goals' else self.get_parameter('goals').value
            try:
                self.source = GoalSource(source, goals, self.get_parameter('seed').value)
            except ValueError as exc:
                return str(exc)
        return None

    def _now_s(self) -> float:
        return self.get_clock().now().nanoseconds * 1e-9

    def _tick(self):
        if self.finished.done():
            return
        now = self._now_s()
        current = self.report.current
        if current is not None and current.target is None and \
                time.monotonic() - self._sent_wall > RESEND_S:
            # Not adopted yet: the subscriber seen may not be the policy (a recorder, say)
            # or DDS dropped it while matching. Send again, as a person would click again.
            self._sent_wall = time.monotonic()
            self.goal_pub.publish(self._last_msg)
        if current is not None:
            if now - current.sent_at_s < self.period:
                return
            self._finish_goal()
            if self.count and len(self.report.results) >= self.count:
                self._finish()
                return
        # Wait for the policy itself (the publisher of /active_target), not just any
        # subscriber of the goal topic (a recorder), and for the simulator's /ee_pose:
        # adoption and distances must be seen from the goal's first step.
        if self.count_subscribers(self.goal_pub.topic_name) == 0 or \
                self.count_publishers('/active_target') == 0 or \
                self.count_publishers('/ee_pose') == 0:
            if not self._waiting_logged:
                self._waiting_logged = True
                self.get_logger().info(f'waiting for the policy on {self.goal_pub.topic_name} '
                                       'and /active_target, and for /ee_pose')
            return
        self._send(now)

    def _send(self, now: float):
        goal = self.source.draw()
        stamp = self.get_clock().now().to_msg()
        if self.topic == 'goal_pose':
            msg = PoseStamped()
            msg.pose.position.x, msg.pose.position.y = float(goal[0]), float(goal[1])
            msg.pose.position.z = 0.0
            yaw = math.atan2(goal[1], goal[0])   # facing away from the base, as a user would
            msg.pose.orientation.z, msg.pose.orientation.w = math.sin(yaw / 2), math.cos(yaw / 2)
            goal[2] = 0.0
        else:
            msg = PointStamped()
            msg.point.x, msg.point.y, msg.point.z = (float(v) for v in goal)
        msg.header.stamp = stamp
        msg.header.frame_id = self.base_frame
        result = self.report.start(goal, now)
        self._sent = goal
        self._last_msg, self._sent_wall = msg, time.monotonic()
        self.goal_pub.publish(msg)
        self.get_logger().info(f'goal {result.index}: sent ({goal[0]:.3f}, {goal[1]:.3f}, '
                               f'{goal[2]:.3f}) on {self.goal_pub.topic_name}')

    def _on_active_target(self, msg: PointStamped):
        current = self.report.current
        if current is None or current.target is not None:
            return
        p = (msg.point.x, msg.point.y, msg.point.z)
        # The policy keeps x, y; /goal_pose goals get its goal_height as z.
        same = (abs(p[0] - self._sent[0]) < 1e-6 and abs(p[1] - self._sent[1]) < 1e-6 and
                (self.topic == 'goal_pose' or abs(p[2] - self._sent[2]) < 1e-6))
        if same:
            self.report.adopt(p)

    def _on_ee_pose(self, msg: PoseStamped):
        p = msg.pose.position
        self.report.observe((p.x, p.y, p.z), self._now_s())

    def _finish_goal(self):
        result = self.report.finish()
        if result is None:
            return
        line = result.line(self.count)
        if result.adopted:
            self.get_logger().info(line)
        else:
            self.get_logger().warning(line + ' (the policy never adopted this goal)')
        self._write_report()

    def _write_report(self):
        if self.report_path:
            self.report.write(self.report_path, topic=self.topic,
                              source=self.get_parameter('source').value, period=self.period)

    def _finish(self):
        self.get_logger().info(self.report.summary_line())
        self._write_report()
        self.finished.set_result(0)

    def stop(self):
        """Close the goal in progress and log the summary (on an interrupt)."""
        if not self.finished.done():
            self._finish_goal()
            self._finish()


def main(args=None):
    """
    Send goals until ``count`` are done (or until interrupted).

    :param args: ROS command-line arguments (default: sys.argv).
    :return: 0, or 1 when a parameter is refused at start.
    """
    def stop_if_interrupted(node, interrupted):
        # Runs before ROS shuts down, so the summary still reaches /rosout.
        if interrupted:
            node.stop()

    return run_node(GoalPublisher, 'goal_publisher', args,
                    until=lambda node: node.finished, on_exit=stop_if_interrupted)


if __name__ == '__main__':
    raise SystemExit(main())
