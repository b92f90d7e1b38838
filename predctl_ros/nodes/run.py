# Copyright 2026 predctl_ros contributors
# SPDX-License-Identifier: Apache-2.0
"""
The one main() of the long-running nodes: init, spin, refuse bad parameters, shut down.

Ctrl-C and SIGTERM stop a node in order: the callback running when the signal arrives
finishes, the spin ends, ``on_exit`` runs (it may still publish and log to /rosout), the
node is destroyed, and only then is ROS shut down. rclpy's own signal handlers are not
installed: they shut the context down from another thread at once, so that a callback in
the middle of a publish failed ("publisher's context is invalid", logged as FATAL by the
EventsExecutor) and whatever the node said on its way out could no longer reach /rosout.
"""

import gc
import signal
from typing import Callable, Optional

from predctl_ros.nodes.params import ParameterError
from predctl_ros.nodes.scheduling import executor_for
import rclpy
from rclpy.exceptions import InvalidParameterTypeException, InvalidParameterValueException
from rclpy.executors import ExternalShutdownException
from rclpy.logging import get_logger
from rclpy.signals import SignalHandlerOptions
import rclpy.task

STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)

# Longest time the spin stays in the executor without looking at a stop request: Python
# runs a signal handler only between bytecodes, and the EventsExecutor waits in C++.
WAKE_S = 0.1


class StopRequest:
    """A SIGINT/SIGTERM handler that only records the request; the spin loop honours it."""

    def __init__(self):
        """Start with no request."""
        self.signum = None

    def __call__(self, signum, frame):
        """Record the first signal (a terminal and a launcher may each send one)."""
        # No rclpy call here: the handler can run inside any callback, even one holding a
        # lock that rclpy would take again.
        if self.signum is None:
            self.signum = signum

    @property
    def requested(self) -> bool:
        """Whether a stop signal has arrived."""
        return self.signum is not None


def spin_until_stopped(executor, stop: StopRequest, until: Optional[rclpy.task.Future] = None,
                       wake_s: float = WAKE_S) -> None:
    """
    Spin an executor until a stop request, ``until`` completes, or the context shuts down.

    Spinning in short slices also hands control back to Python in the EventsExecutor,
    whose own spin() stays in C++ and would never let a signal handler run.

    :param executor: the executor holding the node.
    :param stop: the request the signal handlers fill in.
    :param until: a future that ends the spin when done (a node that finishes by itself).
    :param wake_s: longest slice (s).
    """
    future = until if until is not None else rclpy.task.Future()
    while not stop.requested and not future.done() and executor.context.ok():
        executor.spin_until_future_complete(future, timeout_sec=wake_s)


def run_node(make_node: Callable, name: str, args=None,
             spin: Optional[Callable] = None, on_exit: Optional[Callable] = None,
             until: Optional[Callable] = None) -> int:
    """
    Create a node and spin it until Ctrl-C, SIGTERM, shutdown or (optionally) it is done.

    :param make_node: builds the node (after rclpy.init).
    :param name: logger name for a refusal at start.
    :param args: ROS command-line arguments (default: sys.argv).
    :param spin: spin(node) that returns by itself, in place of the default spin (which
        uses the executor the node's scheduling parameters ask for,
        predctl_ros.nodes.scheduling, and stops on SIGINT/SIGTERM).
    :param on_exit: on_exit(node, interrupted) before the node is destroyed, with ROS
        still up (close files, log a summary).
    :param until: until(node) -> a future; the default spin ends when it completes.
    :return: 0, or 1 when a parameter value was refused at start (the log says which).
    """
    stop = StopRequest()
    # Installed before rclpy.init: a signal during a slow start-up (torch, the network)
    # still ends in an orderly stop once the node exists.
    previous = {signum: signal.signal(signum, stop) for signum in STOP_SIGNALS}
    node, executor, code, interrupted = None, None, 0, False
    try:
        rclpy.init(args=args, signal_handler_options=SignalHandlerOptions.NO)
        node = make_node()
        # What start-up made (torch, the network, rclpy) lives as long as the node: moved out
        # of the collector's view, a full collection no longer walks it and pauses the
        # control loop for tens of milliseconds.
        gc.freeze()
        if spin is not None:
            spin(node)
        else:
            executor = executor_for(node)
            spin_until_stopped(executor, stop, until(node) if until is not None else None)
        interrupted = stop.requested or not rclpy.ok()
    except (KeyboardInterrupt, ExternalShutdownException):
        interrupted = True
    except (ParameterError, InvalidParameterTypeException,
            InvalidParameterValueException) as exc:
        get_logger(name).fatal(f'not starting: {exc}')
        code = 1
    except Exception:  # noqa: B902 - whatever a callback or the executor raised
        if rclpy.ok():
            raise
        # Something outside this function shut the context down (rclpy.shutdown from
        # another thread, a custom spin) while a callback was publishing: a stop, not a
        # failure of the node.
        interrupted = True
    finally:
        try:
            if executor is not None:
                executor.shutdown()
            if node is not None:
                if on_exit is not None:
                    on_exit(node, interrupted)
                node.destroy_node()
            rclpy.try_shutdown()
        finally:
            for signum, handler in previous.items():
                signal.signal(signum, handler)
    return code
