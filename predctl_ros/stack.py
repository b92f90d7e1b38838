# Copyright 2026 predctl_ros contributors
# SPDX-License-Identifier: Apache-2.0
"""
The panda_reach stack: which nodes run, with which parameters, for given arguments.

One definition, read by ``launch/panda_reach.launch.py`` (ROS installs) and by
``predctl bringup`` (machines with pip-wheel rclpy only). Plain data: no ROS import.
"""

from typing import Dict, List, NamedTuple, Optional, Tuple

from predctl_ros.realtime import parse_cpus
from predctl_ros.resources import share_path

PACKAGE = 'predctl_ros'
PARAMS_FILE = ('config', 'panda_reach.yaml')
URDF_FILE = ('urdf', 'panda.urdf')
RVIZ_FILE = ('rviz', 'panda_reach.rviz')
# What the trainer needs from a recording (docs/ros.md): states, commands, targets, and the
# RViz goal topics for bags recorded without a policy node's /active_target.
RECORD_TOPICS = ('/joint_states', '/effort_controller/commands', '/active_target',
                 '/goal_pose', '/clicked_point')


class Argument(NamedTuple):
    """A launch argument (also a `predctl bringup` option)."""

    name: str
    default: str
    description: str
    choices: Optional[Tuple[str, ...]] = None


ARGUMENTS = (
    Argument('checkpoint', '', 'SNN checkpoint for the policy node (empty: the shipped one).'),
    Argument('control_rate_hz', '50.0', 'Control rate in Hz of the simulator and the policy.'),
    Argument('mode', 'realtime', 'realtime (wall-clock paced) or lockstep (deterministic).',
             ('realtime', 'lockstep')),
    Argument('goals', 'rviz', 'Goal source: rviz (a person clicks) or random (goal_publisher).',
             ('rviz', 'random')),
    Argument('goal_count', '0', 'Random goals to send before goal_publisher exits (0: forever).'),
    Argument('goal_report', '', 'JSON file for the per-goal report of goal_publisher '
             '(empty: none).'),
    Argument('rviz', 'true', 'Start RViz.', ('true', 'false')),
    Argument('record', 'false', 'Record the topics the trainer needs to a rosbag2 folder.',
             ('true', 'false')),
    Argument('bag', 'bags/panda_reach', 'Bag folder written when record is true.'),
    Argument('control_cpus', '', 'CPUs reserved for sim_node and policy_node in realtime '
             "mode, e.g. '0' (empty: any CPU); keep other work off them (taskset)."),
    Argument('sim', 'true', 'Start sim_node; false: drive a robot started elsewhere '
             '(franka_ros2, mujoco_ros2_control, Gazebo) through /joint_states and its '
             'ros2_control effort controller.', ('true', 'false')),
    Argument('controller', 'effort_controller', 'sim:=false: the JointGroupEffortController '
             'the torques go to (/<controller>/commands).'),
    Argument('controller_joints', '', "sim:=false: the controller's joints parameter, "
             'comma-separated, in its order (empty: joint_names).'),
    Argument('robot_compensates_gravity', 'true', 'sim:=false: the robot adds gravity '
             'compensation below the command (Franka: true; mujoco_ros2_control: false).',
             ('true', 'false')),
    Argument('use_sim_time', 'false', 'sim:=false: the robot publishes /clock (simulators).',
             ('true', 'false')),
)


class NodeLaunch(NamedTuple):
    """One process of the stack."""

    package: str
    executable: str
    name: str
    parameters: Tuple              # parameter files (paths) and {name: value} dicts, in order
    arguments: Tuple[str, ...] = ()
    needs_ros_install: bool = False   # robot_state_publisher, rviz2, ros2 bag: not on pip


def defaults() -> Dict[str, str]:
    """Return {argument: default value}."""
    return {a.name: a.default for a in ARGUMENTS}


def check_arguments(values: Dict[str, str]) -> Dict[str, str]:
    """
    Fill in defaults and validate argument values.

    :param values: {argument: value as text}; unknown names are refused.
    :return: every argument with its value.
    :raises ValueError: naming the argument and the reason.
    """
    known = {a.name: a for a in ARGUMENTS}
    unknown = sorted(set(values) - set(known))
    if unknown:
        raise ValueError(f'unknown stack arguments {unknown}; known: {sorted(known)}')
    merged = defaults()
    merged.update({k: str(v) for k, v in values.items()})
    for name, value in merged.items():
        choices = known[name].choices
        if choices and value not in choices:
            raise ValueError(f'argument {name}={value!r} must be one of {list(choices)}')
    for name in ('control_rate_hz', 'goal_count'):
        try:
            number = float(merged[name])
        except ValueError:
            raise ValueError(f'argument {name}={merged[name]!r} is not a number') from None
        if number < 0 or (name == 'control_rate_hz' and number == 0):
            raise ValueError(f'argument {name}={merged[name]!r} must be positive')
    try:
        parse_cpus(merged['control_cpus'])
    except ValueError as exc:
        raise ValueError(f'argument control_cpus: {exc}') from None
    if merged['record'] == 'true' and not merged['bag']:
        raise ValueError('argument record=true needs a bag folder')
    if merged['sim'] == 'false' and merged['mode'] == 'lockstep':
        raise ValueError('argument mode=lockstep needs sim_node (sim=true): a robot started '
                         'elsewhere runs on its own time')
    return merged


def record_topics(args: Dict[str, str]) -> Tuple[str, ...]:
    """Return the topics to record: RECORD_TOPICS, with the robot's command topic."""
    command = command_topic(args)
    return tuple(command if t == '/effort_controller/commands' else t for t in RECORD_TOPICS)


def command_topic(args: Dict[str, str]) -> str:
    """Return the topic of the torque commands (ros2_control: /<controller>/commands)."""
    if args.get('sim', 'true') == 'true':
        return '/effort_controller/commands'
    return f"/{args['controller'].strip('/')}/commands"


def panda_reach_nodes(values: Dict[str, str]) -> List[NodeLaunch]:
    """
    Return the processes of the panda_reach stack for the given arguments.

    :param values: launch arguments (see ARGUMENTS); missing ones take their defaults.
    :return: the processes in start order (the simulator, when there is one, first: it owns
        /clock).
    """
    args = check_arguments(values)
    # The dicts below carry the launch arguments. launch_ros writes the dicts of a node
    # without a namespace under /**, which a node section of the params file would beat,
    # so config/panda_reach.yaml sets none of these parameters.
    params_file = share_path(*PARAMS_FILE)
    shared = {'control_rate_hz': float(args['control_rate_hz']), 'mode': args['mode']}
    control = {'cpu_affinity': args['control_cpus']}
    simulated = args['sim'] == 'true'
    # The simulator is the clock; everyone else runs on its time. An external robot's
    # clock is the wall clock, or a simulator's /clock.
    sim_time = {'use_sim_time': simulated or args['use_sim_time'] == 'true'}
    # The simulated robot adds to the torques what the policy was trained with.
    robot = _robot_side(args['checkpoint'])
    policy = {'checkpoint': args['checkpoint']}
    nodes = []
    if simulated:
        nodes.append(NodeLaunch(PACKAGE, 'sim_node', 'sim_node',
                                (params_file, shared, control, robot)))
    else:
        # Nothing holds joint 7 on such a robot, and it may compensate gravity itself.
        # Its effort controller keeps the last command: the node holds the arm between goals.
        policy.update(controller_name=args['controller'], hold_unactuated_joints=True,
                      hold_when_idle=True,
                      robot_compensates_gravity=args['robot_compensates_gravity'] == 'true')
        joints = [j.strip() for j in args['controller_joints'].split(',') if j.strip()]
        if joints:
            policy['controller_joints'] = joints
    nodes.append(NodeLaunch(PACKAGE, 'policy_node', 'policy_node',
                            (params_file, shared, control, robot, sim_time, policy)))
    if args['goals'] == 'random':
        nodes.append(NodeLaunch(
            PACKAGE, 'goal_publisher', 'goal_publisher',
            (params_file, shared, sim_time,
             {'source': 'random', 'count': int(float(args['goal_count'])),
              'report': args['goal_report']})))
    if simulated:
        # An external robot's bring-up runs its own robot_state_publisher (and its TF).
        with open(share_path(*URDF_FILE)) as urdf:
            description = urdf.read()
        nodes.append(NodeLaunch('robot_state_publisher', 'robot_state_publisher',
                                'robot_state_publisher',
                                ({'robot_description': description}, sim_time),
                                needs_ros_install=True))
    if args['rviz'] == 'true':
        nodes.append(NodeLaunch('rviz2', 'rviz2', 'rviz2', (sim_time,),
                                ('-d', share_path(*RVIZ_FILE)), needs_ros_install=True))
    return nodes


def _robot_side(checkpoint: str) -> Dict[str, str]:
    # Imported here: reading a checkpoint header pulls in torch, which the rest of this
    # module (and the goal publisher's launch) does without.
    from predctl_ros.control import checkpoint_torque_interface, resolve_checkpoint
    from predctl_ros.snn.checkpoint import CheckpointError
    try:
        return {'torque_interface': checkpoint_torque_interface(resolve_checkpoint(checkpoint))}
    except CheckpointError:
        # The policy node refuses that file and says why; nothing to match here.
        return {}


def record_command(values: Dict[str, str], ros_install: bool) -> Optional[List[str]]:
    """
    Return the command that records a bag, or None when recording is off.

    :param values: launch arguments.
    :param ros_install: True for `ros2 bag record`, False for the pip-only bag_recorder node.
    :return: argv list.
    """
    args = check_arguments(values)
    if args['record'] != 'true':
        return None
    if ros_install:
        # rosbag2 of Jazzy and later deprecates positional topics (Humble has no --topics).
        return ['ros2', 'bag', 'record', '-s', 'mcap', '-o', args['bag'],
                *(['--use-sim-time'] if args['sim'] == 'true' or args['use_sim_time'] == 'true'
                  else []), '--topics', *record_topics(args)]
    return ['bag_recorder', '--ros-args', '-r', '__node:=bag_recorder',
            '-p', f"output:={args['bag']}",
            '-p', 'topics:=[' + ','.join(record_topics(args)) + ']']
