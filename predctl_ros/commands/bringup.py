# Copyright 2026 predctl_ros contributors
# SPDX-License-Identifier: Apache-2.0
"""
`predctl bringup panda_reach`: run the ROS stack without `ros2 launch`.

Starts the processes that launch/panda_reach.launch.py starts (both read
predctl_ros.stack), forwards their output, and stops them all on Ctrl-C, after
--duration seconds, or when goal_publisher has sent --count goals; then prints how
close the arm got to each goal.
"""

import json
import os
from pathlib import Path
import tempfile
import time

from predctl_ros.commands import error

HELP = 'run the panda_reach ROS stack as processes (the `ros2 launch` of pip-only machines)'


def add_arguments(parser):
    """
    Declare the arguments of `predctl bringup`.

    :param parser: the subcommand's parser.
    """
    parser.add_argument('stack', choices=['panda_reach'], help='which stack')
    parser.add_argument('--goals', choices=['rviz', 'random'], default='random',
                        help='goal source: random (goal_publisher) or rviz (someone clicks)')
    parser.add_argument('--count', type=int, default=0,
                        help='random goals to send, then stop (0: until --duration/Ctrl-C)')
    parser.add_argument('--duration', type=float, default=0.0,
                        help='stop after this many seconds (0: no limit)')
    parser.add_argument('--record', metavar='DIR', help='record a rosbag2 folder here')
    parser.add_argument('--mode', choices=['realtime', 'lockstep'], default='realtime')
    parser.add_argument('--checkpoint', default='', help='SNN checkpoint (default: shipped)')
    parser.add_argument('--control-rate', type=float, default=50.0, help='Hz')
    parser.add_argument('--domain-id', type=int,
                        help='ROS_DOMAIN_ID for the stack (default: from the environment)')
    parser.add_argument('--report', metavar='FILE', help='write the per-goal report (JSON)')
    parser.add_argument('--control-cpus', default='', metavar='CPUS',
                        help='CPUs reserved for sim_node and policy_node in realtime mode, '
                             "e.g. '0'; keep other work off them (taskset -c 1 predctl train)")
    parser.add_argument('--no-sim', action='store_true',
                        help='no sim_node: drive a robot started elsewhere through '
                             '/joint_states and /<controller>/commands (ros2_control)')
    parser.add_argument('--controller', default='effort_controller',
                        help='--no-sim: the JointGroupEffortController of the robot')
    parser.add_argument('--controller-joints', default='', metavar='J1,J2,...',
                        help="--no-sim: the controller's joints, in its order (default: "
                             'joint_names)')
    parser.add_argument('--robot-compensates-gravity', choices=['true', 'false'],
                        default='true', help='--no-sim: the robot adds gravity compensation '
                        '(Franka: true; mujoco_ros2_control: false)')
    parser.add_argument('--use-sim-time', action='store_true',
                        help='--no-sim: the robot publishes /clock (a simulator)')


def stack_values(args) -> dict:
    """Return the stack arguments (predctl_ros.stack.ARGUMENTS) for the command line."""
    values = {'checkpoint': args.checkpoint, 'control_rate_hz': str(args.control_rate),
              'mode': args.mode, 'goals': args.goals, 'goal_count': str(args.count),
              'rviz': 'false', 'record': 'true' if args.record else 'false',
              'control_cpus': args.control_cpus, 'sim': 'false' if args.no_sim else 'true',
              'controller': args.controller, 'controller_joints': args.controller_joints,
              'robot_compensates_gravity': args.robot_compensates_gravity,
              'use_sim_time': 'true' if args.use_sim_time else 'false'}
    if args.record:
        values['bag'] = args.record
    return values


def print_report(path: Path) -> None:
    """Print goal_publisher's per-goal report, if it wrote one."""
    if not path.exists():
        print('no goal report was written')
        return
    report = json.loads(path.read_text())

    def cm(value):
        return '-' if value is None else f'{100 * value:.1f}'

    print(f'\n{"goal":>4}  {"target x, y, z (m)":>24}  {"final (cm)":>10}  '
          f'{"min (cm)":>8}  {"within " + cm(report["tolerance"]) + " cm after (s)":>22}')
    for goal in report.get('goals', []):
        target = goal['target'] or goal['sent']
        where = ', '.join(f'{v:+.3f}' for v in target)
        if not goal['adopted']:
            where += ' (refused)'
        when = goal['time_to_tolerance']
        when = 'never' if when is None else f'{when:.2f}'
        print(f'{goal["index"]:>4}  {where:>24}  {cm(goal["final_distance"]):>10}  '
              f'{cm(goal["min_distance"]):>8}  {when:>22}')
    summary = report['summary']
    print(f'reached {summary["reached"]} of {summary["goals"]} goals; median final distance '
          f'{cm(summary["median_final_distance"])} cm')


def run(args) -> int:
    """
    Start the stack, wait for the end condition, stop it and report.

    :param args: parsed arguments.
    :return: 0 on a clean run; 1 when a node failed.
    """
    from predctl_ros import stack
    from predctl_ros.bringup import Bringup, find_executable, node_command

    if args.domain_id is not None:
        os.environ['ROS_DOMAIN_ID'] = str(args.domain_id)
    values = stack_values(args)
    report = Path(args.report) if args.report else Path(tempfile.mkdtemp()) / 'goals.json'
    values['goal_report'] = str(report)
    try:
        nodes = stack.panda_reach_nodes(values)
    except ValueError as exc:
        return error(args, exc)
    bringup = Bringup()
    for node in nodes:
        executable = find_executable(node.package, node.executable)
        if executable is None:
            if node.needs_ros_install:
                print(f'skipping {node.name}: {node.executable} needs a ROS install')
                continue
            error(args, f'executable {node.executable} not found; is predctl_ros installed?')
            bringup.stop()
            return 1
        cmd = node_command(node, executable, report.parent)
        bringup.start(node.name, cmd)
    record = stack.record_command(values, ros_install=False)
    if record:
        record[0] = find_executable(stack.PACKAGE, record[0]) or record[0]
        bringup.start('bag_recorder', record)
    print(f'started {", ".join(bringup.procs)} (ROS_DOMAIN_ID='
          f'{os.environ.get("ROS_DOMAIN_ID", "0")}); Ctrl-C stops')
    status, exited = 0, None
    start = time.monotonic()
    try:
        while True:
            time.sleep(0.2)
            exited = bringup.first_exit()
            if exited == 'goal_publisher' and bringup.procs[exited].returncode == 0:
                break
            if exited is not None:
                error(args, f'{exited} exited with code {bringup.procs[exited].returncode}')
                status = 1
                break
            if args.duration and time.monotonic() - start >= args.duration:
                break
    except KeyboardInterrupt:
        pass
    codes = bringup.stop()
    failed = {n: c for n, c in codes.items() if c not in (0, -2, 130) and n != exited}
    if failed:
        error(args, f'nodes stopped with errors: {failed}')
        status = 1
    if args.goals == 'random':
        print_report(report)
    return status
