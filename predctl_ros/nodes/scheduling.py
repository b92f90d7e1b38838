# Copyright 2026 predctl_ros contributors
# SPDX-License-Identifier: Apache-2.0
"""
How a control node is scheduled: its rclpy executor, real-time priority and CPUs.

The 50 Hz loop shares the CPU with whatever else runs (a training run, RViz). Two things
decide its timing tail: the executor's cost per message (rclpy's Python
SingleThreadedExecutor walks every entity of the node on each wake-up; the C++
EventsExecutor dispatches the one ready callback) and whether the kernel lets a busy
process preempt the node (SCHED_FIFO threads run before every normal-priority thread, and
a core of their own keeps busy processes' system calls from delaying them).
Franka's own controllers run the same way: a real-time priority thread per control loop.
"""

from predctl_ros import realtime
from predctl_ros.nodes import params
from predctl_ros.nodes.params import Param
import rclpy.executors
import rclpy.task

EXECUTOR = Param('executor', 'events', "rclpy executor: 'events' (the C++ EventsExecutor, "
                 "least overhead per message) or 'single_threaded' (rclpy's default).",
                 params.one_of('events', 'single_threaded'), read_only=True)
REALTIME_PRIORITY = Param(
    'realtime_priority', 0, 'SCHED_FIFO priority (1-98) of all the node threads in realtime '
    'mode, so that busy processes beside it cannot delay the control loop; 0 = normal '
    'scheduling. Needs CAP_SYS_NICE (root or an rtprio limit); without it the node warns and '
    'runs at normal priority. Not applied in lockstep mode, which runs as fast as it can.',
    lambda v: None if isinstance(v, int) and 0 <= v <= 98 else
    f'must be an integer in [0, 98], got {v!r}', read_only=True)


def _cpu_list(value):
    try:
        realtime.parse_cpus(value)
    except ValueError as exc:
        return str(exc)
    return None


CPU_AFFINITY = Param(
    'cpu_affinity', '', "CPUs for all the node's threads in realtime mode, as taskset writes "
    "them ('0', '0,2', '2-3'); empty = any CPU. Reserve a core for the control nodes and keep "
    'other work (training) off it: on a kernel without full preemption, priority alone does '
    'not stop a busy process on the same core from delaying the loop.', _cpu_list,
    read_only=True)
SCHEDULING = (EXECUTOR, REALTIME_PRIORITY, CPU_AFFINITY)


def make_executor(kind: str) -> rclpy.executors.Executor:
    """
    Return a new executor of the given kind.

    :param kind: 'events' or 'single_threaded'.
    :return: the executor (add nodes, then spin).
    """
    if kind == 'events':
        from rclpy.experimental import EventsExecutor
        return EventsExecutor()
    return rclpy.executors.SingleThreadedExecutor()


def executor_for(node) -> rclpy.executors.Executor:
    """
    Apply a node's scheduling parameters and return the executor to spin it with.

    Nodes without the parameters get rclpy's default executor and normal priority.

    :param node: the rclpy node (its parameters are declared).
    :return: an executor holding the node.
    """
    def value(name, default):
        return node.get_parameter(name).value if node.has_parameter(name) else default

    def report(reason, setting, fallback, applied):
        if reason:
            node.get_logger().warning(f'{setting} not applied: {reason}; {fallback}')
        else:
            node.get_logger().info(applied)

    if value('mode', 'realtime') == 'realtime':
        priority = value(REALTIME_PRIORITY.name, 0)
        cpus = realtime.parse_cpus(value(CPU_AFFINITY.name, ''))
        if priority:
            report(realtime.set_realtime_priority(priority), f'realtime_priority {priority}',
                   'running at normal priority',
                   f'all threads run under SCHED_FIFO priority {priority}')
        if cpus:
            report(realtime.set_cpu_affinity(cpus), 'cpu_affinity', 'running on any CPU',
                   f'all threads run on CPUs {sorted(cpus)}')
    executor = make_executor(value(EXECUTOR.name, 'single_threaded'))
    executor.add_node(node)
    return executor


def spin(executor: rclpy.executors.Executor, wake_s: float = 0.2) -> None:
    """
    Spin an executor until shutdown, Ctrl-C or SIGTERM.

    The EventsExecutor's own spin() stays in C++ and never lets Python's signal handlers
    run, so a node would ignore Ctrl-C; spinning in short slices hands control back to
    Python between them (callbacks still run as soon as they are ready).

    :param executor: the executor holding the node.
    :param wake_s: longest slice (s).
    """
    never = rclpy.task.Future()
    while executor.context.ok():
        executor.spin_until_future_complete(never, timeout_sec=wake_s)
