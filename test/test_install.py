# Copyright 2026 predctl_ros contributors
# SPDX-License-Identifier: Apache-2.0
"""`pip install` puts share/predctl_ros and the ament index marker where ROS looks."""

import configparser
import os
from pathlib import Path
import subprocess
import sys

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
