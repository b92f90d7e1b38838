# Copyright 2026 predctl_ros contributors
# SPDX-License-Identifier: Apache-2.0
"""
Real-time scheduling of a whole process: SCHED_FIFO priority and CPU affinity (no ROS).

A control loop beside busy processes meets its deadlines when the kernel runs it first
(SCHED_FIFO) and when the busy processes stay off its CPU: on a kernel without full
preemption, a FIFO thread still waits for a normal thread that is inside a system call on
its CPU (measured on the development VM: a bare FIFO sleeper woke up to 27 ms late beside
a training run on shared cores, at most 0.5 ms late with the training on the other core).
"""

import os
from typing import Optional, Set


def parse_cpus(text: str) -> Set[int]:
    """
    Parse a CPU list as taskset and cpusets write it: '0', '0,2', '0-3', '0-1,4'.

    :param text: the list; empty = no CPU (the caller decides what that means).
    :return: the CPU ids.
    :raises ValueError: the text is not a CPU list (the message says why).
    """
    cpus = set()
    for part in filter(None, (p.strip() for p in str(text).split(','))):
        first, sep, last = part.partition('-')
        try:
            low, high = int(first), int(last if sep else first)
        except ValueError:
            raise ValueError(f'{text!r} is not a CPU list like 0 or 0,2 or 0-3') from None
        if low < 0 or high < low:
            raise ValueError(f'{text!r}: bad CPU range {part!r}')
        cpus.update(range(low, high + 1))
    return cpus


def _each_thread(apply) -> None:
    # A thread's scheduling policy and CPUs are its own: set them on every thread there is.
    try:
        tids = [int(t) for t in os.listdir('/proc/self/task')]
    except OSError:
        tids = [0]
    for tid in tids:
        try:
            apply(tid)
        except ProcessLookupError:
            pass   # the thread ended meanwhile


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
        _each_thread(lambda tid: os.sched_setscheduler(tid, os.SCHED_FIFO, param))
    except PermissionError:
        return ('not permitted (needs CAP_SYS_NICE, e.g. an rtprio entry in '
                '/etc/security/limits.conf)')
    return None


def set_cpu_affinity(cpus: Set[int]) -> Optional[str]:
    """
    Bind every thread of this process (and threads it starts later) to some CPUs.

    :param cpus: CPU ids (empty: do nothing).
    :return: None on success, else the reason it was not applied.
    """
    if not cpus:
        return None
    if not hasattr(os, 'sched_setaffinity'):
        return 'this OS has no CPU affinity'
    available = os.sched_getaffinity(0)
    if not cpus <= available:
        return f'CPUs {sorted(cpus - available)} are not available (this process may use ' \
               f'{sorted(available)})'
    _each_thread(lambda tid: os.sched_setaffinity(tid, cpus))
    return None
