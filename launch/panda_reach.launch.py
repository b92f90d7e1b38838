# Copyright 2026 predctl_ros contributors
# SPDX-License-Identifier: Apache-2.0
"""
Launch the simulated Panda under SNN torque control, with RViz and optional recording.

    ros2 launch predctl_ros panda_reach.launch.py [rviz:=false] [goals:=random]
        [mode:=lockstep] [record:=true bag:=bags/run1] [checkpoint:=/path/to.safetensors]

The nodes and their parameters come from predctl_ros.stack, which `predctl bringup`
reads too, so both ways of starting the stack run the same thing.
"""

from launch import LaunchDescription
from launch.actions import DeclareLaunchArgument, ExecuteProcess, OpaqueFunction
from launch.substitutions import LaunchConfiguration
from launch_ros.actions import Node
from predctl_ros import stack


def _stack_actions(context):
    values = {a.name: LaunchConfiguration(a.name).perform(context) for a in stack.ARGUMENTS}
    actions = [
        Node(package=node.package, executable=node.executable, name=node.name,
             parameters=list(node.parameters), arguments=list(node.arguments),
             output='screen')
        for node in stack.panda_reach_nodes(values)
    ]
    record = stack.record_command(values, ros_install=True)
    if record:
        actions.append(ExecuteProcess(cmd=record, output='screen'))
    return actions


def generate_launch_description():
    """Declare the stack's arguments and start its nodes."""
    arguments = [
        DeclareLaunchArgument(a.name, default_value=a.default, description=a.description,
                              **({'choices': list(a.choices)} if a.choices else {}))
        for a in stack.ARGUMENTS
    ]
    return LaunchDescription(arguments + [OpaqueFunction(function=_stack_actions)])
