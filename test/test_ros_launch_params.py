# Copyright 2026 predctl_ros contributors
# SPDX-License-Identifier: Apache-2.0
"""
Launch arguments reach their nodes as ``ros2 launch`` passes them, judged by rclpy itself.

launch_ros (``launch_ros/actions/node.py``: ``Node._perform_substitutions`` and
``_create_params_file_from_dict``) hands a node each entry of ``parameters`` in order: a file
path as ``--params-file PATH``, unchanged, and each dict as a file of its own keyed by the
node's full name when the node has a namespace (its own or a parent's PushRosNamespace),
else by the ``/**`` wildcard. Here the launch file's Node actions (taken with the stand-ins
of test_launch_static) are turned into exactly those files, a real node process starts
with them, and the node's own parameter service says which values won.
"""

from pathlib import Path
import shutil

from predctl_ros import bringup, stack
from predctl_ros.resources import share_path
import pytest
from rcl_interfaces.srv import GetParameters
from rclpy.parameter import parameter_value_to_python
from test_launch_static import _launch, fake_launch  # noqa: F401
import yaml


def launch_ros_arguments(node, directory: Path, namespace: str = None):
    """
    Return the parameter arguments launch_ros gives a Node action, writing its dict files.

    :param node: a recorded launch_ros Node action.
    :param directory: where the dicts' files go (launch_ros uses a temporary file each).
    :param namespace: the namespace a parent PushRosNamespace gives the node, or None.
    :return: ``--params-file`` arguments, in the action's order.
    """
    name = node.kwargs['name']
    key = f'{namespace}/{name}' if namespace else '/**'
    arguments = []
    for index, params in enumerate(node.kwargs['parameters']):
        if isinstance(params, dict):
            # The stack's dicts hold only str, int, float and bool values, which launch_ros's
            # normalisation (a yaml round trip for strings) gives back unchanged.
            path = directory / f'launch_params_{name}_{index}.yaml'
            path.write_text(yaml.dump({key: {'ros__parameters': params}},
                                      default_flow_style=False))
            params = path
        arguments += ['--params-file', str(params)]
    return arguments


@pytest.fixture
def launched(fake_launch, tmp_path):  # noqa: F811
    """Return the Node actions of `ros2 launch` with the stack's arguments off their defaults."""
    checkpoint = tmp_path / 'copy.safetensors'
    shutil.copy(share_path('models', 'panda_reach_snn.safetensors'), checkpoint)
    # control_rate_hz stays at the 50 Hz the shipped checkpoint was trained for.
    values = {'goals': 'random', 'goal_count': '3', 'checkpoint': str(checkpoint),
              'mode': 'lockstep', 'control_cpus': '0',
              'goal_report': str(tmp_path / 'goals.json'), 'rviz': 'false'}
    _, actions = _launch(fake_launch, **values)
    nodes = {a.kwargs['name']: a for a in actions if type(a).__name__ == 'Node'}
    return nodes, values


def _node_parameters(probe, proc, processes, fqn, names):
    client = probe.node.create_client(GetParameters, f'{fqn}/get_parameters')
    probe.spin_until(lambda: client.service_is_ready() or proc.poll() is not None, 120.0,
                     f'{fqn}/get_parameters')
    assert proc.poll() is None, processes.output(proc)
    future = client.call_async(GetParameters.Request(names=list(names)))
    probe.spin_until(lambda: future.done() or proc.poll() is not None, 120.0,
                     f'the parameters of {fqn}')
    assert future.done(), processes.output(proc)
    return {n: parameter_value_to_python(v) for n, v in zip(names, future.result().values)}


@pytest.mark.parametrize('name, namespace', [
    ('sim_node', None), ('policy_node', None), ('goal_publisher', None),
    ('goal_publisher', '/robot')])
def test_launch_arguments_reach_the_node(ros, launched, tmp_path, name, namespace):
    """Every value the launch file derives from its arguments is the one the node runs with."""
    processes, probe = ros
    nodes, values = launched
    node = nodes[name]
    expected = {}
    for params in node.kwargs['parameters']:
        if isinstance(params, dict):
            expected.update(params)
    ros_args = launch_ros_arguments(node, tmp_path, namespace)
    if namespace:
        ros_args = ['-r', f'__ns:={namespace}', *ros_args]
    proc = processes.start(node.kwargs['executable'], '--ros-args', *ros_args, name=name,
                           params_file=None)
    fqn = f'{namespace or ""}/{name}'
    got = _node_parameters(probe, proc, processes, fqn, sorted(expected))
    assert got == expected, processes.output(proc)
    # The arguments an operator sees ignored when a node section of the shared YAML wins.
    if name == 'goal_publisher':
        assert got['count'] == 3 and got['source'] == 'random'
    if name == 'policy_node':
        assert got['checkpoint'] == values['checkpoint']


def test_bringup_passes_parameters_as_launch_ros_does(launched, tmp_path):
    """`predctl bringup` gives each node the files, order and keys that `ros2 launch` does."""
    nodes, values = launched

    def sections(argv):
        files = [argv[i + 1] for i, a in enumerate(argv) if a == '--params-file']
        return [yaml.safe_load(Path(f).read_text()) for f in files]

    for entry in stack.panda_reach_nodes(values):
        if entry.needs_ros_install:
            continue
        launch_dir, bringup_dir = tmp_path / 'launch' / entry.name, tmp_path / 'bringup'
        launch_dir.mkdir(parents=True)
        bringup_dir.mkdir(exist_ok=True)
        argv = bringup.node_command(entry, entry.executable, bringup_dir)
        assert argv[:4] == [entry.executable, '--ros-args', '-r', f'__node:={entry.name}']
        assert sections(argv) == sections(launch_ros_arguments(nodes[entry.name], launch_dir))
