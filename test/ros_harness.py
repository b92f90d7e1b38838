# Copyright 2026 predctl_ros contributors
# SPDX-License-Identifier: Apache-2.0
"""
Real node processes over DDS for tests, each test on its own ROS_DOMAIN_ID.

``ros_domain`` (a fixture in conftest.py) gives a test its own domain; :class:`Processes`
starts console_scripts the way rclpy parses them (``--ros-args -r __node:=... --params-file
... -p k:=v``) and stops them with SIGINT; :class:`Probe` is an in-test rclpy node that
publishes, subscribes and spins until a condition holds.
"""

import os
from pathlib import Path
import signal
import subprocess
import sys
import time

from predctl_ros.bringup import override_file
import rclpy
from rclpy.executors import SingleThreadedExecutor

BIN = Path(sys.executable).parent
CONFIG = Path(__file__).resolve().parents[1] / 'config' / 'panda_reach.yaml'

# Domain ids handed out in this test run, offset by the process id so that concurrent runs
# on one machine do not cross (valid ids: 0-101 with the default Fast DDS port mapping).
_next_domain = [os.getpid() % 50]


def next_domain_id() -> int:
    """Return a domain id not used before in this test run."""
    _next_domain[0] = _next_domain[0] % 100 + 1
    return _next_domain[0]


class Processes:
    """Node processes started for one test; all are stopped (SIGINT, then kill) at the end."""

    def __init__(self, log_dir: Path):
        """
        Keep the processes' output under log_dir.

        :param log_dir: a folder (the test's tmp_path).
        """
        self.log_dir = Path(log_dir)
        self.running = []

    def start(self, executable: str, *args: str, name: str = None, params_file=CONFIG,
              params: dict = None) -> subprocess.Popen:
        """
        Start a console_script with ROS arguments.

        :param executable: console_script name (sim_node, policy_node, ...).
        :param args: extra plain arguments before --ros-args.
        :param name: node name remap (default: the executable's own).
        :param params_file: YAML parameter file, or None.
        :param params: parameter overrides {name: value} for this node (a params file given
            after params_file, keyed by the node's name, as launch_ros writes it).
        :return: the process; its output goes to log_dir/<name>.log.
        """
        node_name = name or executable
        cmd = [str(BIN / executable), *args, '--ros-args', '-r', f'__node:={node_name}']
        if params_file:
            cmd += ['--params-file', str(params_file)]
        if params:
            cmd += ['--params-file', override_file(node_name, params, self.log_dir,
                                                   len(self.running))]
        log = open(self.log_dir / f'{node_name}.log', 'w')
        proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, env=os.environ.copy())
        proc.log_path = log.name
        self.running.append(proc)
        return proc

    def stop(self, proc: subprocess.Popen, timeout: float = 10.0) -> int:
        """SIGINT a process and wait for it; kill it if it does not stop. Return its code."""
        if proc.poll() is None:
            proc.send_signal(signal.SIGINT)
            try:
                proc.wait(timeout)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        return proc.returncode

    def stop_all(self):
        """Stop every process this object started."""
        for proc in reversed(self.running):
            self.stop(proc)

    @staticmethod
    def output(proc) -> str:
        """Return what a process has written so far."""
        return Path(proc.log_path).read_text()


class Probe:
    """An rclpy node inside the test process, on the test's domain."""

    def __init__(self, name: str = 'probe'):
        """Create a context and a node named ``name``."""
        self.context = rclpy.Context()
        rclpy.init(context=self.context)
        self.node = rclpy.create_node(name, context=self.context)
        self.executor = SingleThreadedExecutor(context=self.context)
        self.executor.add_node(self.node)

    def spin_until(self, condition, timeout: float, what: str = 'condition'):
        """
        Spin until condition() is truthy; return its value.

        :raises AssertionError: after timeout seconds, naming ``what``.
        """
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            value = condition()
            if value:
                return value
            self.executor.spin_once(timeout_sec=0.05)
        value = condition()
        assert value, f'timed out after {timeout} s waiting for {what}'
        return value

    def spin_for(self, seconds: float):
        """Spin for a while."""
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            self.executor.spin_once(timeout_sec=0.05)

    def close(self):
        """Destroy the node and shut the context down."""
        self.executor.shutdown()
        self.node.destroy_node()
        rclpy.shutdown(context=self.context)
