# Copyright 2026 predctl_ros contributors
# SPDX-License-Identifier: Apache-2.0
"""
The launch file, checked without a ROS install.

`launch` and `launch_ros` are not installable here, so the launch file runs against
recording stand-ins of the few classes it uses; every executable it starts must be a
console_script of setup.py (or a ROS package's), and every file it names must exist and
be installed by setup.py's data_files.
"""

import ast
import importlib.util
from pathlib import Path
import sys
import types

from policy_checkpoints import make_checkpoint
from predctl_ros import stack
import pytest

ROOT = Path(__file__).resolve().parents[1]
LAUNCH_FILE = ROOT / 'launch' / 'panda_reach.launch.py'
ROS_EXECUTABLES = {('robot_state_publisher', 'robot_state_publisher'), ('rviz2', 'rviz2')}


def _setup_call():
    tree = ast.parse((ROOT / 'setup.py').read_text())
    return next(n for n in ast.walk(tree)
                if isinstance(n, ast.Call) and getattr(n.func, 'id', '') == 'setup')


def console_scripts():
    """Return the console_script names declared in setup.py."""
    call = _setup_call()
    entry = next(k.value for k in call.keywords if k.arg == 'entry_points')
    scripts = ast.literal_eval(entry)['console_scripts']
    return {s.split('=')[0].strip() for s in scripts}


def installed_dirs():
    """Return the share/<pkg>/<dir> folders setup.py installs files into."""
    text = (ROOT / 'setup.py').read_text()
    return {d for d in ('launch', 'config', 'urdf', 'rviz', 'models')
            if f"share('{d}'" in text}


class _Recorder:

    def __init__(self, *args, **kwargs):
        self.args, self.kwargs = args, kwargs


class _LaunchConfiguration:

    values = {}

    def __init__(self, name):
        self.name = name

    def perform(self, context):
        return self.values[self.name]


@pytest.fixture
def fake_launch(monkeypatch):
    """Put minimal stand-ins for launch and launch_ros into sys.modules."""
    modules = {name: types.ModuleType(name) for name in (
        'launch', 'launch.actions', 'launch.substitutions', 'launch_ros',
        'launch_ros.actions')}
    modules['launch'].LaunchDescription = lambda actions: list(actions)
    for name in ('DeclareLaunchArgument', 'ExecuteProcess', 'OpaqueFunction'):
        setattr(modules['launch.actions'], name, type(name, (_Recorder,), {}))
    modules['launch.substitutions'].LaunchConfiguration = _LaunchConfiguration
    modules['launch_ros.actions'].Node = type('Node', (_Recorder,), {})
    for name, module in modules.items():
        monkeypatch.setitem(sys.modules, name, module)
    spec = importlib.util.spec_from_file_location('panda_reach_launch', LAUNCH_FILE)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _launch(module, **values):
    description = module.generate_launch_description()
    declared = {a.args[0]: a.kwargs for a in description
                if type(a).__name__ == 'DeclareLaunchArgument'}
    _LaunchConfiguration.values = {n: values.get(n, kw['default_value'])
                                   for n, kw in declared.items()}
    opaque = [a for a in description if type(a).__name__ == 'OpaqueFunction']
    assert len(opaque) == 1
    return declared, opaque[0].kwargs['function'](context=None)


def test_arguments_match_the_stack(fake_launch):
    declared, _ = _launch(fake_launch)
    assert set(declared) == {a.name for a in stack.ARGUMENTS}
    assert declared['rviz']['choices'] == ['true', 'false']


@pytest.mark.parametrize('values', [
    {}, {'rviz': 'false', 'goals': 'random', 'record': 'true', 'bag': 'b'},
    {'mode': 'lockstep', 'checkpoint': '/x.safetensors'}])
def test_every_executable_and_file_is_installed(fake_launch, values):
    _, actions = _launch(fake_launch, **values)
    scripts = console_scripts()
    nodes = [a for a in actions if type(a).__name__ == 'Node']
    assert nodes, 'the launch file starts no nodes'
    for node in nodes:
        package, executable = node.kwargs['package'], node.kwargs['executable']
        assert (package == 'predctl_ros' and executable in scripts) or \
            (package, executable) in ROS_EXECUTABLES, (package, executable)
        files = [p for p in node.kwargs['parameters'] if not isinstance(p, dict)]
        files += [a for a in node.kwargs['arguments'] if '/' in a]
        for path in map(Path, files):
            assert path.is_file(), path
            relative = path.relative_to(ROOT)
            assert relative.parts[0] in installed_dirs(), f'{relative} is not installed'
    names = [n.kwargs['executable'] for n in nodes]
    assert names[:2] == ['sim_node', 'policy_node']
    assert ('goal_publisher' in names) == (values.get('goals') == 'random')
    assert ('rviz2' in names) == (values.get('rviz', 'true') == 'true')
    records = [a for a in actions if type(a).__name__ == 'ExecuteProcess']
    if values.get('record') == 'true':
        cmd = records[0].kwargs['cmd']
        assert cmd[:3] == ['ros2', 'bag', 'record']
        # rosbag2 of Jazzy and later deprecates positional topics for --topics (nargs='+').
        assert cmd[cmd.index('--topics') + 1:] == list(stack.RECORD_TOPICS), cmd
    else:
        assert not records


def test_launch_values_reach_the_nodes(fake_launch):
    _, actions = _launch(fake_launch, mode='lockstep', checkpoint='/x.safetensors',
                         control_rate_hz='100')
    policy = next(a for a in actions if a.kwargs.get('executable') == 'policy_node')
    merged = {}
    for params in policy.kwargs['parameters']:
        if isinstance(params, dict):
            merged.update(params)
    assert merged['mode'] == 'lockstep' and merged['checkpoint'] == '/x.safetensors'
    assert merged['control_rate_hz'] == 100.0 and merged['use_sim_time'] is True


def test_the_simulated_robot_gets_the_torque_interface_of_the_checkpoint(fake_launch, tmp_path):
    damped = make_checkpoint(tmp_path / 'damped.safetensors', hidden=(8,),
                             task_options={'torque_interface': 'franka_damped'})
    for checkpoint, interface in (('', 'direct'), (str(damped), 'franka_damped')):
        _, actions = _launch(fake_launch, checkpoint=checkpoint)
        for executable in ('sim_node', 'policy_node'):
            node = next(a for a in actions if a.kwargs.get('executable') == executable)
            merged = {}
            for params in node.kwargs['parameters']:
                if isinstance(params, dict):
                    merged.update(params)
            assert merged['torque_interface'] == interface, (executable, checkpoint)
    # An unreadable checkpoint sets nothing: the policy node refuses it and says why.
    _, actions = _launch(fake_launch, checkpoint=str(tmp_path / 'missing.safetensors'))
    sim = next(a for a in actions if a.kwargs.get('executable') == 'sim_node')
    assert not any('torque_interface' in p for p in sim.kwargs['parameters']
                   if isinstance(p, dict))


def test_without_sim_the_policy_drives_an_external_robot(fake_launch):
    _, actions = _launch(fake_launch, sim='false', controller='panda_arm_controller',
                         controller_joints='panda_joint7, panda_joint6,panda_joint5,'
                         'panda_joint4,panda_joint3,panda_joint2,panda_joint1',
                         robot_compensates_gravity='false', record='true', bag='b')
    names = [a.kwargs.get('executable') for a in actions if type(a).__name__ == 'Node']
    assert 'sim_node' not in names and 'robot_state_publisher' not in names
    assert names[0] == 'policy_node'
    policy = next(a for a in actions if a.kwargs.get('executable') == 'policy_node')
    merged = {}
    for params in policy.kwargs['parameters']:
        if isinstance(params, dict):
            merged.update(params)
    assert merged['controller_name'] == 'panda_arm_controller'
    assert merged['controller_joints'] == [f'panda_joint{i}' for i in range(7, 0, -1)]
    assert merged['hold_unactuated_joints'] is True
    assert merged['robot_compensates_gravity'] is False and merged['use_sim_time'] is False
    record = next(a for a in actions if type(a).__name__ == 'ExecuteProcess').kwargs['cmd']
    assert '/panda_arm_controller/commands' in record and '--use-sim-time' not in record
    with pytest.raises(ValueError, match='mode=lockstep needs sim_node'):
        stack.panda_reach_nodes({'sim': 'false', 'mode': 'lockstep'})


def test_bad_arguments_refused():
    with pytest.raises(ValueError, match="mode='fast' must be one of"):
        stack.panda_reach_nodes({'mode': 'fast'})
    with pytest.raises(ValueError, match='unknown stack arguments'):
        stack.panda_reach_nodes({'speed': '1'})
    with pytest.raises(ValueError, match='control_rate_hz'):
        stack.panda_reach_nodes({'control_rate_hz': 'fast'})


def test_real_launch_where_launch_ros_exists():
    pytest.importorskip('launch_ros', reason='launch_ros needs a ROS install')
    from launch import LaunchDescription
    spec = importlib.util.spec_from_file_location('panda_reach_launch', LAUNCH_FILE)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    assert isinstance(module.generate_launch_description(), LaunchDescription)
