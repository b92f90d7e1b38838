# Copyright 2026 predctl_ros contributors
# SPDX-License-Identifier: Apache-2.0
"""
How a control node is scheduled: its rclpy executor and its OS real-time priority.

The 50 Hz loop shares the CPU with whatever else runs (a training run, RViz). Two things
decide its timing tail: the executor's cost per message (rclpy's Python
SingleThreadedExecutor walks every entity of the node on each wake-up; the C++
EventsExecutor dispatches the one ready callback) and whether the kernel lets a busy
process preempt the node (SCHED_FIFO threads run before every normal-priority thread).
Franka's own controllers run the same way: a real-time priority thread per control loop.
"""

import os
from typing import Optional

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
SCHEDULING = (EXECUTOR, REALTIME_PRIORITY)


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


def set_realtime_priority(priority: int) -> Optional[str]:
    """
    Put every thread of this process (and threads it starts later) under SCHED_FIFO.

    rclpy and the DDS middleware have already started their threads when a node reads its
    parameters, and a thread's policy is its own, so each one is set; threads created later
    inherit the policy of their creator.

    :param priority: 1..98 (0: do nothing).
    :return: None on success, else the reason it was not applied.
    """
    if priority <= 0:
        return None
    if not hasattr(os, 'sched_setscheduler'):
        return 'this OS has no SCHED_FIFO'
    param = os.sched_param(priority)
    try:
        tids = [int(t) for t in os.listdir('/proc/self/task')]
    except OSError:
        tids = [0]
    try:
        for tid in tids:
            try:
                os.sched_setscheduler(tid, os.SCHED_FIFO, param)
            except ProcessLookupError:
                pass   # the thread ended meanwhile
    except PermissionError:
        return ('not permitted (needs CAP_SYS_NICE, e.g. an rtprio entry in '
                '/etc/security/limits.conf)')
    return None


def executor_for(node) -> rclpy.executors.Executor:
    """
    Apply a node's scheduling parameters and return the executor to spin it with.

    Nodes without the parameters get rclpy's default executor and normal priority.

    :param node: the rclpy node (its parameters are declared).
    :return: an executor holding the node.
    """
    def value(name, default):
        return node.get_parameter(name).value if node.has_parameter(name) else default

    priority = value(REALTIME_PRIORITY.name, 0)
    if priority and value('mode', 'realtime') == 'realtime':
        reason = set_realtime_priority(priority)
        if reason:
            node.get_logger().warning(f'realtime_priority {priority} not applied: {reason}; '
                                      'running at normal priority')
        else:
            node.get_logger().info(f'all threads run under SCHED_FIFO priority {priority}')
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
