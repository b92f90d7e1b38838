# Copyright 2026 predctl_ros contributors
# SPDX-License-Identifier: Apache-2.0
"""
Start the stack of predctl_ros.stack as plain processes: `ros2 launch` for pip-only machines.

Each node starts as ``<executable> --ros-args -r __node:=NAME --params-file FILE ...``, the
arguments rclpy parses itself, with the params files that launch_ros would pass for the
launch file's Node action, so the processes get exactly the parameters ``ros2 launch``
gives them. Nodes that need a ROS install (robot_state_publisher, rviz2) are skipped
where their executables are missing.
"""

import os
from pathlib import Path
import shutil
import signal
import subprocess
import sys
import threading
import time
from typing import Dict, List, Optional

from predctl_ros import stack
import yaml


def override_file(node_name: str, values: dict, directory, index: int = 0,
                  key: Optional[str] = None) -> str:
    """
    Write parameter overrides as a params file of one section.

    Keyed by the node's own name (the default), a file given after the shared YAML
    overrides both its ``/**`` and its node section (a plain ``-p name:=value`` is a ``/**``
    rule and loses to the node section).

    :param node_name: the node's name.
    :param values: {parameter: value}.
    :param directory: where to write the file.
    :param index: number of the file among the node's override files.
    :param key: the section's key; default ``/<node_name>``.
    :return: the file's path.
    """
    path = Path(directory) / f'{node_name}_overrides_{index}.yaml'
    with open(path, 'w') as handle:
        yaml.safe_dump({key or f'/{node_name}': {'ros__parameters': dict(values)}}, handle)
    return str(path)


def find_executable(package: str, executable: str) -> Optional[str]:
    """
    Find a node executable: beside this Python (venv), on PATH, or in a ROS prefix.

    :param package: ROS package of the executable.
    :param executable: its name.
    :return: the path, or None.
    """
    beside = Path(sys.executable).parent / executable
    if beside.exists():
        return str(beside)
    for prefix in os.environ.get('AMENT_PREFIX_PATH', '').split(os.pathsep):
        candidate = Path(prefix) / 'lib' / package / executable
        if prefix and candidate.exists():
            return str(candidate)
    return shutil.which(executable)


def node_command(node: stack.NodeLaunch, executable: str, params_dir) -> List[str]:
    """
    Return the argv that starts a node with its parameters, as ``ros2 launch`` passes them.

    launch_ros passes each file of ``parameters`` as it is and writes each dict to a file
    of its own under ``/**`` (for a node without a namespace), in the list's order. This
    does the same, so that rclpy settles which entry wins as it does under ``ros2 launch``
    (where a node section of a file beats ``/**`` whatever the order).

    :param node: the stack entry.
    :param executable: path of its executable.
    :param params_dir: folder for the files of the node's parameter dicts.
    :return: argv.
    """
    cmd = [executable, *node.arguments, '--ros-args', '-r', f'__node:={node.name}']
    for index, params in enumerate(node.parameters):
        if isinstance(params, dict):
            params = override_file(node.name, params, params_dir, index, key='/**')
        cmd += ['--params-file', str(params)]
    return cmd


class Bringup:
    """The running processes of a stack, their output prefixed with the node name."""

    def __init__(self, out=sys.stdout):
        """
        Start with no processes.

        :param out: where the nodes' output lines go.
        """
        self.out = out
        self.procs: Dict[str, subprocess.Popen] = {}
        self._threads = []
        self._lock = threading.Lock()

    def start(self, name: str, cmd: List[str]) -> subprocess.Popen:
        """Start a process and forward its output, prefixed with [name]."""
        proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                text=True, bufsize=1, env=os.environ.copy())
        self.procs[name] = proc
        thread = threading.Thread(target=self._forward, args=(name, proc), daemon=True)
        thread.start()
        self._threads.append(thread)
        return proc

    def _forward(self, name, proc):
        for line in proc.stdout:
            with self._lock:
                self.out.write(f'[{name}] {line}')
                self.out.flush()

    def first_exit(self) -> Optional[str]:
        """Return the name of a process that has exited, or None."""
        for name, proc in self.procs.items():
            if proc.poll() is not None:
                return name
        return None

    def stop(self, timeout: float = 10.0) -> Dict[str, int]:
        """SIGINT every process (last started first), kill stragglers; return exit codes."""
        for proc in reversed(list(self.procs.values())):
            if proc.poll() is None:
                proc.send_signal(signal.SIGINT)
        deadline = time.monotonic() + timeout
        for proc in self.procs.values():
            try:
                proc.wait(max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        for thread in self._threads:
            thread.join(timeout=2.0)
        return {name: proc.returncode for name, proc in self.procs.items()}
