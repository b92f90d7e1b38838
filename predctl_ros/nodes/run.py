# Copyright 2026 predctl_ros contributors
# SPDX-License-Identifier: Apache-2.0
"""The one main() of the long-running nodes: init, spin, refuse bad parameters, shut down."""

import gc
from typing import Callable, Optional

from predctl_ros.nodes.params import ParameterError
from predctl_ros.nodes.scheduling import executor_for, spin as spin_executor
import rclpy
from rclpy.exceptions import InvalidParameterTypeException, InvalidParameterValueException
from rclpy.executors import ExternalShutdownException
from rclpy.logging import get_logger


def run_node(make_node: Callable, name: str, args=None,
             spin: Optional[Callable] = None, on_exit: Optional[Callable] = None) -> int:
    """
    Create a node and spin it until Ctrl-C, SIGTERM or shutdown.

    :param make_node: builds the node (after rclpy.init).
    :param name: logger name for a refusal at start.
    :param args: ROS command-line arguments (default: sys.argv).
    :param spin: spin(node) for nodes that end by themselves (default: spin the executor
        the node's scheduling parameters ask for, predctl_ros.nodes.scheduling).
    :param on_exit: on_exit(node, interrupted) before the node is destroyed (close files).
    :return: 0, or 1 when a parameter value was refused at start (the log says which).
    """
    rclpy.init(args=args)
    node, executor, code, interrupted = None, None, 0, False
    try:
        node = make_node()
        # What start-up made (torch, the network, rclpy) lives as long as the node: moved out
        # of the collector's view, a full collection no longer walks it and pauses the
        # control loop for tens of milliseconds.
        gc.freeze()
        if spin is not None:
            spin(node)
        else:
            executor = executor_for(node)
            spin_executor(executor)
    except (KeyboardInterrupt, ExternalShutdownException):
        interrupted = True
    except (ParameterError, InvalidParameterTypeException,
            InvalidParameterValueException) as exc:
        get_logger(name).fatal(f'not starting: {exc}')
        code = 1
    except Exception:  # noqa: B902 - whatever a callback or the executor raised
        if rclpy.ok():
            raise
        # Ctrl-C or SIGTERM shut the context down while a callback was publishing or
        # the C++ executor was waiting: a stop, not a failure of the node.
        interrupted = True
    finally:
        if executor is not None:
            executor.shutdown()
        if node is not None:
            if on_exit is not None:
                on_exit(node, interrupted)
            node.destroy_node()
        rclpy.try_shutdown()
    return code
