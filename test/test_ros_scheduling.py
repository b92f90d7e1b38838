# Copyright 2026 predctl_ros contributors
# SPDX-License-Identifier: Apache-2.0
"""Node scheduling: SCHED_FIFO for every thread in realtime mode, executors that stop."""

import os
from pathlib import Path
import signal
import subprocess
import sys
import textwrap
import time

from predctl_ros import stack
from predctl_ros.realtime import parse_cpus, set_cpu_affinity
import pytest

SCHED_OTHER, SCHED_FIFO = 0, 1


def can_use_fifo() -> bool:
    try:
        os.sched_setscheduler(0, os.SCHED_FIFO, os.sched_param(1))
    except (PermissionError, AttributeError):
        return False
    os.sched_setscheduler(0, os.SCHED_OTHER, os.sched_param(0))
    return True


needs_fifo = pytest.mark.skipif(not can_use_fifo(), reason='SCHED_FIFO not permitted here')


def thread_cpus(pid: int) -> set:
    """Return the distinct CPU lists the threads of a process may run on."""
    out = set()
    for task in Path(f'/proc/{pid}/task').iterdir():
        try:
            status = (task / 'status').read_text()
        except OSError:
            continue
        out.add(next(line.split()[1] for line in status.splitlines()
                     if line.startswith('Cpus_allowed_list')))
    return out


def thread_policies(pid: int) -> dict:
    """Return {tid: scheduling policy} of a process's threads (field 41 of stat)."""
    out = {}
    for task in Path(f'/proc/{pid}/task').iterdir():
        try:
            fields = (task / 'stat').read_text().rsplit(')', 1)[1].split()
        except OSError:
            continue   # the thread ended meanwhile
        out[int(task.name)] = int(fields[38])
    return out


def run_python(code: str) -> str:
    done = subprocess.run([sys.executable, '-c', textwrap.dedent(code)], capture_output=True,
                          text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    return done.stdout


@needs_fifo
def test_every_thread_and_later_ones_run_fifo():
    out = run_python("""
        import os, threading
        from predctl_ros.realtime import set_realtime_priority
        stop = threading.Event()
        before = threading.Thread(target=stop.wait)
        before.start()
        assert set_realtime_priority(7) is None
        after = threading.Thread(target=stop.wait)
        after.start()
        tids = [int(t) for t in os.listdir('/proc/self/task')]
        print(len(tids), sorted({(os.sched_getscheduler(t), os.sched_getparam(t).sched_priority)
                                 for t in tids}))
        stop.set()
        """)
    count, policies = out.split(' ', 1)
    assert int(count) >= 3
    assert policies.strip() == f'[({SCHED_FIFO}, 7)]'


@pytest.mark.skipif(os.geteuid() != 0, reason='needs root to drop to an unprivileged user')
def test_without_permission_the_reason_is_returned():
    out = run_python("""
        import os, resource
        from predctl_ros.realtime import set_realtime_priority
        resource.setrlimit(resource.RLIMIT_RTPRIO, (0, 0))
        os.setgid(65534)
        os.setuid(65534)
        print(set_realtime_priority(10))
        print(os.sched_getscheduler(0))
        """)
    reason, policy = out.strip().splitlines()
    assert 'not permitted' in reason and 'CAP_SYS_NICE' in reason
    assert int(policy) == SCHED_OTHER


def test_priority_zero_changes_nothing():
    out = run_python("""
        import os
        from predctl_ros.realtime import set_realtime_priority
        print(set_realtime_priority(0), os.sched_getscheduler(0))
        """)
    assert out.split() == ['None', str(SCHED_OTHER)]


def wait_for_log(processes, proc, text: str, timeout: float = 60.0) -> str:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        log = processes.output(proc)
        if text in log:
            return log
        assert proc.poll() is None, log
        time.sleep(0.2)
    raise AssertionError(f'{text!r} not logged within {timeout} s:\n{processes.output(proc)}')


@needs_fifo
def test_realtime_node_runs_fifo_lockstep_node_does_not(ros):
    processes, _ = ros
    sim = processes.start('sim_node', params={'mode': 'realtime', 'realtime_priority': 11})
    policy = processes.start('policy_node', params={'mode': 'lockstep',
                                                    'realtime_priority': 11})
    wait_for_log(processes, sim, 'SCHED_FIFO priority 11')
    wait_for_log(processes, policy, 'waiting for a goal')
    time.sleep(1.0)   # let the DDS threads of both come up
    sim_policies = thread_policies(sim.pid)
    assert len(sim_policies) > 3 and set(sim_policies.values()) == {SCHED_FIFO}, sim_policies
    assert set(thread_policies(policy.pid).values()) == {SCHED_OTHER}
    assert 'SCHED_FIFO' not in processes.output(policy)


@pytest.mark.parametrize('executor', ['events', 'single_threaded'])
def test_node_stops_on_sigint(ros, executor):
    """The EventsExecutor's spin() ignores Ctrl-C; the nodes' spin loop must not."""
    processes, _ = ros
    proc = processes.start('sim_node', params={'mode': 'realtime', 'executor': executor,
                                               'realtime_priority': 0})
    wait_for_log(processes, proc, 'holding the arm')
    start = time.monotonic()
    proc.send_signal(signal.SIGINT)
    assert proc.wait(timeout=10) == 0
    assert time.monotonic() - start < 3.0


@pytest.mark.parametrize('text, cpus', [
    ('', set()), ('0', {0}), ('0,2', {0, 2}), ('1-3', {1, 2, 3}), (' 0-1, 4 ', {0, 1, 4})])
def test_cpu_lists_parse_as_taskset_writes_them(text, cpus):
    assert parse_cpus(text) == cpus


@pytest.mark.parametrize('text', ['a', '2-1', '-1', '0-', '1;2'])
def test_bad_cpu_lists_are_refused(text):
    with pytest.raises(ValueError, match='CPU'):
        parse_cpus(text)


def test_unavailable_cpus_are_named():
    reason = set_cpu_affinity({4095})
    assert 'CPUs [4095] are not available' in reason


def test_stack_passes_control_cpus_to_the_control_nodes_only():
    nodes = {n.name: n for n in stack.panda_reach_nodes({'control_cpus': '0',
                                                         'goals': 'random'})}

    def values(name):
        merged = {}
        for part in nodes[name].parameters:
            if isinstance(part, dict):
                merged.update(part)
        return merged
    assert values('sim_node')['cpu_affinity'] == '0'
    assert values('policy_node')['cpu_affinity'] == '0'
    assert 'cpu_affinity' not in values('goal_publisher')
    with pytest.raises(ValueError, match='control_cpus'):
        stack.check_arguments({'control_cpus': 'x'})


@pytest.mark.skipif(len(os.sched_getaffinity(0)) < 2, reason='needs two CPUs')
def test_realtime_node_runs_on_its_cpus(ros):
    processes, _ = ros
    cpu = min(os.sched_getaffinity(0))
    sim = processes.start('sim_node', params={'mode': 'realtime', 'realtime_priority': 0,
                                              'cpu_affinity': str(cpu)})
    wait_for_log(processes, sim, f'all threads run on CPUs [{cpu}]')
    time.sleep(1.0)
    assert thread_cpus(sim.pid) == {str(cpu)}


def test_an_error_raised_by_the_shutdown_is_a_clean_stop():
    """A callback that fails because a signal already shut ROS down does not fail the node."""
    import rclpy

    from predctl_ros.nodes.run import run_node

    stops = []

    def publish_after_shutdown(node):
        rclpy.shutdown()   # what rclpy's SIGINT/SIGTERM handler does mid-callback
        raise RuntimeError("publisher's context is invalid")

    def make_node():
        return rclpy.create_node('shutdown_race')

    assert run_node(make_node, 'shutdown_race', args=[], spin=publish_after_shutdown,
                    on_exit=lambda node, interrupted: stops.append(interrupted)) == 0
    assert stops == [True]

    def fail_while_running(node):
        raise RuntimeError('a real bug')

    with pytest.raises(RuntimeError, match='a real bug'):
        run_node(make_node, 'shutdown_race', args=[], spin=fail_while_running)
