# Copyright 2026 predctl_ros contributors
# SPDX-License-Identifier: Apache-2.0
"""
Installs: a wheel and a colcon build put files where ROS looks, and each node starts.

The colcon build runs and its nodes start in environments that hold only what the README's
recipe installs (install_requires beside a ROS install), not this development venv.
"""

import configparser
from importlib import metadata
import os
from pathlib import Path
import signal
import subprocess
import sys
import sysconfig
import time
import venv
from xml.etree import ElementTree

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
import pytest

ROOT = Path(__file__).resolve().parents[1]
DATA_DIRS = {'launch': '*.launch.py', 'config': '*.yaml', 'urdf': '*', 'rviz': '*',
             'models': '*'}


def test_install_share_and_ament_index(tmp_path):
    # Build the wheel here, install it from a throwaway venv: pip would otherwise replace
    # this environment's own (editable) install of the package.
    subprocess.run([sys.executable, '-m', 'pip', 'wheel', '-q', '--no-deps',
                    '--no-build-isolation', '-w', str(tmp_path / 'wheel'), str(ROOT)],
                   check=True, cwd=tmp_path)
    venv = tmp_path / 'venv'
    subprocess.run([sys.executable, '-m', 'venv', str(venv)], check=True)
    prefix = tmp_path / 'install'
    wheel = next((tmp_path / 'wheel').glob('predctl_ros-*.whl'))
    subprocess.run([str(venv / 'bin' / 'python'), '-m', 'pip', 'install', '-q', '--no-deps',
                    '--no-index', '--prefix', str(prefix), str(wheel)], check=True, cwd=tmp_path)
    share = prefix / 'share' / 'predctl_ros'
    assert (prefix / 'share/ament_index/resource_index/packages/predctl_ros').is_file()
    assert (share / 'package.xml').is_file()
    for folder, pattern in DATA_DIRS.items():
        expected = {p.name for p in (ROOT / folder).glob(pattern) if p.is_file()}
        installed = {p.name for p in (share / folder).glob(pattern) if p.is_file()}
        assert expected <= installed, f'{folder}: {sorted(expected - installed)} missing'
    assert (share / 'launch' / 'panda_reach.launch.py').is_file()
    for script in ('sim_node', 'policy_node', 'goal_publisher', 'bag_recorder',
                   'trainer_node', 'predctl'):
        assert (prefix / 'bin' / script).is_file(), script
    # The installed copy, away from the source tree, finds its files through the index.
    site = next(prefix.glob('lib/python*/site-packages'))
    env = dict(os.environ, PYTHONPATH=str(site), AMENT_PREFIX_PATH=str(prefix))
    code = ('from predctl_ros.resources import share_path\n'
            'print(share_path("config", "panda_reach.yaml"))')
    out = subprocess.run([sys.executable, '-c', code], env=env, cwd=tmp_path,
                         capture_output=True, text=True, check=True)
    assert Path(out.stdout.strip()) == share / 'config' / 'panda_reach.yaml'


def test_setup_cfg_puts_executables_where_ros2_run_looks():
    cfg = configparser.ConfigParser()
    cfg.read(ROOT / 'setup.cfg')
    assert cfg['develop']['script_dir'] == '$base/lib/predctl_ros'
    assert cfg['install']['install_scripts'] == '$base/lib/predctl_ros'


# --- A colcon build next to a ROS install ----------------------------------------------
# What each node may import besides the standard library and what package.xml's
# exec_depends bring (ROS, numpy, PyYAML): a node that only simulates, runs a policy or
# records must start without the training stack (gymnasium, tqdm, tensorboard,
# matplotlib, imageio). None: all of install_requires (the trainer trains).
NODE_NEEDS = {
    'sim_node': {'mujoco'},
    'policy_node': {'torch', 'numba', 'mujoco', 'safetensors'},
    'goal_publisher': {'mujoco'},
    'bag_recorder': {'rosbags'},
    'trainer_node': None,
}
# package.xml keys whose pip counterpart is not named ros-<key>.
ROSDEP_TO_PIP = {'python3-numpy': 'numpy', 'python3-yaml': 'PyYAML'}
# Every ROS install has an RMW implementation; no package declares the one it gets.
RMW = 'ros-rmw-fastrtps-cpp'


def _closure(names):
    """Return {name: Distribution} of the installed names and all they require at run time."""
    found, todo = {}, [canonicalize_name(n) for n in names]
    while todo:
        name = todo.pop()
        if name in found:
            continue
        try:
            found[name] = metadata.distribution(name)
        except metadata.PackageNotFoundError:
            pytest.fail(f'{name} is required but not installed here (requirements.txt)')
        for spec in found[name].requires or ():
            requirement = Requirement(spec)
            if requirement.marker is None or requirement.marker.evaluate({'extra': ''}):
                todo.append(canonicalize_name(requirement.name))
    return found


def _ros_install():
    """Return the pip names of package.xml's exec_depends that exist here as wheels."""
    names = {RMW}
    for element in ElementTree.parse(ROOT / 'package.xml').getroot().iter('exec_depend'):
        key = element.text.strip()
        name = ROSDEP_TO_PIP.get(key, 'ros-' + key.replace('_', '-'))
        try:
            metadata.distribution(name)
        except metadata.PackageNotFoundError:
            continue   # launch_ros, rviz2, ros2bag, ...: only a real ROS install has them
        names.add(name)
    return names


def _environment(path, dists):
    """
    Make a venv at path that can import only the given distributions (and the stdlib).

    Their files are symlinked from this environment: site-packages entries as they are,
    files the ROS wheels put beside it (lib/*.so, share/ament_index) one by one.
    """
    venv.EnvBuilder(symlinks=True).create(path)
    here = Path(sys.prefix)
    site = Path(sysconfig.get_path('purelib', vars={'base': str(path)}))
    for dist in dists.values():
        base = Path(dist.locate_file(''))
        for record in dist.files or ():
            if record.parts[0] == '..':
                source = Path(os.path.normpath(base / record))
                relative = source.relative_to(here)
                if relative.parts[0] in ('bin', 'include'):
                    continue   # deps' own scripts and C headers: not needed to run
                target = path / relative
            elif record.parts[0] != '__pycache__':
                source, target = base / record.parts[0], site / record.parts[0]
            else:
                continue
            if not target.exists() and not target.is_symlink():
                target.parent.mkdir(parents=True, exist_ok=True)
                target.symlink_to(source)
    return path / 'bin' / 'python'


@pytest.fixture(scope='module')
def colcon_install(tmp_path_factory):
    """
    Build the package as colcon does for ament_python, into a fresh prefix.

    The build runs in an environment with install_requires and the ROS install only (as in
    the README's recipe), so the scripts' shebang names that interpreter, as a colcon run
    from the recipe's venv writes it.

    :return: (prefix, {install_requires name: version specifier}, {name: Distribution} of
        the ROS install, the build's python).
    """
    root = tmp_path_factory.mktemp('colcon')
    build, prefix = root / 'build' / 'predctl_ros', root / 'install' / 'predctl_ros'
    # The declared requirements, read without building: egg_info alone.
    subprocess.run([sys.executable, 'setup.py', '-q', 'egg_info', '--egg-base', str(root)],
                   cwd=ROOT, check=True, capture_output=True)
    requires = metadata.Distribution.at(root / 'predctl_ros.egg-info').requires or []
    install_requires = {req.name: str(req.specifier) for req in map(Requirement, requires)
                        if req.marker is None}
    ros = _closure(_ros_install())
    python = _environment(root / 'venv', {**ros, **_closure(install_requires)})
    site = Path(sysconfig.get_path('purelib', vars={'base': str(prefix)}))
    site.mkdir(parents=True)
    build.mkdir(parents=True)
    env = _clean_env(PYTHONPATH=str(site))
    # colcon-core's PythonBuildTask, without --symlink-install.
    subprocess.run([str(python), 'setup.py', 'egg_info', '--egg-base',
                    os.path.relpath(build, ROOT), 'build', '--build-base',
                    str(build / 'build'), 'install', '--prefix', str(prefix), '--record',
                    str(build / 'install.log'), '--single-version-externally-managed'],
                   cwd=ROOT, env=env, check=True, capture_output=True)
    return prefix, install_requires, ros, python


def _clean_env(**extra):
    """Return this environment minus what ties a child to this venv, plus extra."""
    env = {k: v for k, v in os.environ.items()
           if k not in ('PYTHONPATH', 'LD_LIBRARY_PATH', '_ROS_WHEELS_BOOTSTRAP_COMPLETE',
                        'VIRTUAL_ENV', 'AMENT_PREFIX_PATH')}
    env.update(extra)
    return env


def test_install_requires_pins_torch_and_matches_the_recipe(colcon_install):
    _, install_requires, _, _ = colcon_install
    # An open range would pull a multi-GB CUDA build of torch.
    assert install_requires.get('torch') == '==2.13.0'
    setup_requires = {canonicalize_name(n) for n in install_requires}
    recipe = {}
    for line in (ROOT / 'requirements-runtime.txt').read_text().splitlines():
        line = line.split('#')[0].strip()
        if line:
            requirement = Requirement(line)
            recipe[canonicalize_name(requirement.name)] = str(requirement.specifier)
    assert recipe.get('torch') == '==2.13.0'
    assert setup_requires - {'setuptools'} == set(recipe), \
        'install_requires and requirements-runtime.txt (the README recipe) differ'
    for node, needs in NODE_NEEDS.items():
        assert needs is None or needs <= set(install_requires), node


@pytest.mark.parametrize('node', sorted(NODE_NEEDS))
def test_colcon_install_starts_each_node(colcon_install, node, tmp_path, ros_domain):
    prefix, _, ros, build_python = colcon_install
    script = prefix / 'lib' / 'predctl_ros' / node
    assert os.access(script, os.X_OK), f'{script} missing: ros2 run looks there'
    assert script.read_text().startswith(f'#!{build_python}\n')
    python = build_python
    if NODE_NEEDS[node] is not None:
        # Run the installed script with an interpreter that has only this node's needs.
        python = _environment(tmp_path / 'venv', {**ros, **_closure(NODE_NEEDS[node])})
    site = next(prefix.glob('lib/python*/site-packages'))
    env = _clean_env(PYTHONPATH=str(site), AMENT_PREFIX_PATH=str(prefix))
    args = ['--ros-args', '-r', f'__node:={node}']
    if node == 'bag_recorder':
        args += ['-p', f'output:={tmp_path / "bag"}']
    if node == 'trainer_node':
        args += ['-p', f"bags:=['{tmp_path / 'no_bag'}']",
                 '-p', f'output:={tmp_path / "out.safetensors"}']
    log = tmp_path / f'{node}.log'
    with open(log, 'w') as out:
        proc = subprocess.Popen([str(python), str(script), *args], cwd=tmp_path, env=env,
                                stdout=out, stderr=subprocess.STDOUT)
    try:
        if node == 'trainer_node':
            # It gets as far as reading the bags only after importing the training stack.
            assert proc.wait(60) == 1, log.read_text()
            text = log.read_text()
            assert 'No module named' not in text, text
            assert f'skipped bag {tmp_path / "no_bag"}: no such file' in text, text
        else:
            _assert_spinning(proc, node, log)
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGINT)
            try:
                proc.wait(15)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


def _assert_spinning(proc, node, log, timeout=60.0):
    """Wait until node answers its list_parameters service: it started and spins."""
    from rcl_interfaces.srv import ListParameters
    from ros_harness import Probe
    probe = Probe(f'probe_{node}')
    try:
        client = probe.node.create_client(ListParameters, f'/{node}/list_parameters')
        deadline = time.monotonic() + timeout
        future = None
        while time.monotonic() < deadline:
            assert proc.poll() is None, f'{node} exited:\n{log.read_text()}'
            if future is None and client.service_is_ready():
                future = client.call_async(ListParameters.Request())
            if future is not None and future.done():
                assert future.result() is not None
                return
            probe.executor.spin_once(timeout_sec=0.1)
        pytest.fail(f'{node} did not answer within {timeout} s:\n{log.read_text()}')
    finally:
        probe.close()
