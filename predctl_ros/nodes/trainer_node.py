# Copyright 2026 predctl_ros contributors
# SPDX-License-Identifier: Apache-2.0
"""
trainer_node: retrain the networks from recorded bags, then hot-swap the running policy.

Runs :func:`predctl_ros.learning.retrain.retrain_from_bags` in a worker thread (the node
keeps spinning and logs the progress), writes the new checkpoint atomically to
``output`` and, when ``policy_node`` names a node, sets that node's ``checkpoint``
parameter to the new file through its ``set_parameters`` service, so the running robot
picks up the new network. A refused or unanswered swap is logged with the reason.

Parameters (all read at start): ``bags`` (bag folders / .mcap / .db3 files / folders of
bags), ``output`` (checkpoint file to write; an existing file is replaced only by a
successful run), ``init`` ('' = train from scratch, ``shipped`` = fine-tune the package's
own checkpoint, or a checkpoint path to fine-tune), ``iterations``, ``goal_height``,
``settings`` (TrainConfig ``key=value`` overrides, as ``predctl train --set``),
``policy_node`` (name of the policy node to update; '' = none), ``swap_timeout`` and
``exit_when_done``.

Exit status: 0 when the checkpoint was written (and, with ``policy_node``, the swap was
accepted), 1 otherwise (refused parameters, failed training, refused or unanswered swap).
"""

import re
import sys
import threading
import time

from predctl_ros.nodes import params
from predctl_ros.nodes.params import Param
from rcl_interfaces.srv import SetParameters
import rclpy
from rclpy.executors import ExternalShutdownException
import rclpy.logging
from rclpy.node import Node
from rclpy.parameter import Parameter

_NODE_NAME = re.compile(r'^/?[A-Za-z_][A-Za-z0-9_]*(/[A-Za-z_][A-Za-z0-9_]*)*$')


def _check_bags(value):
    values = list(value or [])
    if not values or any(not v for v in values):
        return f'must list at least one bag path (non-empty strings), got {values}'
    return None


def _check_output(value):
    return None if value else 'must name the checkpoint file to write'


def _check_iterations(value):
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= 100_000:
        return f'must be an integer in [1, 100000], got {value!r}'
    return None


def _check_policy_node(value):
    if value == '' or _NODE_NAME.match(value):
        return None
    return f"must be '' or a node name such as policy_node or /ns/policy_node, got {value!r}"


def _check_settings(value):
    bad = [item for item in (value or []) if '=' not in item]
    return f'entries must be key=value, got {bad}' if bad else None


PARAMS = (
    Param('bags', Parameter.Type.STRING_ARRAY, 'Bags to train on: bag folders, .mcap/.db3 '
          'files or folders of bags. A bag that fails is logged and skipped.', _check_bags,
          read_only=True),
    Param('output', '', 'Checkpoint file to write (.safetensors), atomically; an existing '
          'file is replaced only when the run succeeds.', _check_output, read_only=True),
    Param('init', '', "Checkpoint to fine-tune; '' = train from scratch, 'shipped' = the "
          "package's share/predctl_ros/models/panda_reach_snn.safetensors.", read_only=True),
    Param('iterations', 20, 'Training iterations (each: prediction-network minibatches, '
          'then policy minibatches).', _check_iterations, read_only=True),
    Param('goal_height', 0.4, 'z in m of /goal_pose goals in the bags (RViz 2D Goal Pose '
          'sends z = 0).', params.in_range(0.0, 1.5), read_only=True, low=0.0, high=1.5),
    Param('settings', Parameter.Type.STRING_ARRAY, 'TrainConfig overrides key=value (e.g. '
          'batch=64, model_batches=10, as predctl train --set); unset = the defaults.',
          _check_settings, read_only=True),
    Param('policy_node', '', "Policy node whose 'checkpoint' parameter is set to the new "
          "file when training succeeds (hot swap); '' = none.", _check_policy_node,
          read_only=True),
    Param('swap_timeout', 10.0, "Seconds to wait for the policy node's set_parameters "
          'service and its answer.', params.in_range(0.1, 600.0), read_only=True,
          low=0.1, high=600.0),
    Param('exit_when_done', True, 'Exit when done (status 0 on success, 1 on failure); '
          'false: keep running until interrupted.', read_only=True),
)


class TrainerNode(Node):
    """Retrain from bags in a worker thread; hot-swap the policy node's checkpoint."""

    def __init__(self):
        """
        Declare the parameters and start the retraining thread.

        :raises predctl_ros.nodes.params.ParameterError: a parameter value is refused.
        """
        super().__init__('trainer_node')
        values = params.declare(self, (params.JOINT_NAMES,) + PARAMS)
        self.values = values
        self.settings = list(values['settings'] or [])
        try:
            from predctl_ros.learning.config import load_config
            self.config = load_config(None, self.settings)
        except ValueError as exc:
            raise params.ParameterError(
                f"{self.get_name()}: parameter 'settings': {exc}") from None
        self.status = None           # 0 / 1 when finished
        self.result = None
        self._error = None
        self._stop = threading.Event()
        self._swap_started = None
        self._swap_future = None
        self._swap_client = None
        self.get_logger().info(
            f"retraining from {list(values['bags'])} -> {values['output']} "
            f"(init: {values['init'] or 'scratch'}, {values['iterations']} iterations)")
        self._worker = threading.Thread(target=self._work, name='retrain', daemon=True)
        self._worker.start()
        self._timer = self.create_timer(0.1, self._poll)

    # -- worker thread ------------------------------------------------------------------
    def _work(self):
        from predctl_ros import bags
        from predctl_ros.learning.retrain import retrain_from_bags, RetrainError

        logger = self.get_logger()
        try:
            convert = bags.ConvertOptions(joint_names=tuple(self.values['joint_names']),
                                          goal_height=float(self.values['goal_height']))
            self.result = retrain_from_bags(
                list(self.values['bags']), self.values['output'], init=self.values['init'],
                iterations=int(self.values['iterations']), config=self.config,
                convert=convert, log=logger.info, should_stop=self._stop.is_set)
        except RetrainError as exc:
            self._error = str(exc)
        except Exception as exc:  # noqa: B902 - report any failure, never hang the node
            self._error = f'{type(exc).__name__}: {exc}'

    def stop(self):
        """Ask the retraining thread to end without writing anything, and wait for it."""
        self._stop.set()
        self._worker.join()

    # -- executor thread ----------------------------------------------------------------
    def _poll(self):
        if self.status is not None:
            return
        if self._swap_started is not None:
            self._poll_swap()
            return
        if self._worker.is_alive():
            return
        if self._error is not None:
            self.get_logger().error(f'retraining failed, no checkpoint written: {self._error}')
            self._finish(1)
            return
        for line in self.result.report().splitlines():
            self.get_logger().info(line)
        if not self.values['policy_node']:
            self._finish(0)
            return
        name = self.values['policy_node']
        service = (name if name.startswith('/') else '/' + name) + '/set_parameters'
        self._swap_client = self.create_client(SetParameters, service)
        self._swap_started = time.monotonic()
        self.get_logger().info(f'hot swap: waiting for {service}')

    def _poll_swap(self):
        service = self._swap_client.srv_name
        if time.monotonic() - self._swap_started > self.values['swap_timeout']:
            what = 'answer' if self._swap_future is not None else 'service'
            self.get_logger().error(f'hot swap failed: no {what} from {service} within '
                                    f"{self.values['swap_timeout']} s; the new checkpoint "
                                    f'is {self.result.output}')
            self._finish(1)
            return
        if self._swap_future is None:
            if not self._swap_client.service_is_ready():
                return
            path = str(self.result.output.resolve())
            request = SetParameters.Request()
            request.parameters = [
                Parameter('checkpoint', Parameter.Type.STRING, path).to_parameter_msg()]
            self._swap_future = self._swap_client.call_async(request)
            self.get_logger().info(f'hot swap: setting checkpoint={path} via {service}')
            return
        if not self._swap_future.done():
            return
        response = self._swap_future.result()
        results = list(response.results) if response is not None else []
        if results and results[0].successful:
            self.get_logger().info(f'hot swap accepted by {service}')
            self._finish(0)
        else:
            reason = results[0].reason if results else 'no result'
            self.get_logger().error(f'hot swap refused by {service}: {reason}; the new '
                                    f'checkpoint is {self.result.output}')
            self._finish(1)

    def _finish(self, status: int):
        self.status = status
        self.get_logger().info(f'done (status {status})')


def main(args=None):
    """
    Run the trainer node until the retraining (and hot swap) is done, or interrupted.

    :param args: ROS command-line arguments (default: sys.argv).
    :return: 0 on success; 1 on a refused parameter, a failed run or a failed hot swap.
    """
    rclpy.init(args=args)
    node, code = None, 1
    try:
        node = TrainerNode()
        while rclpy.ok() and (node.status is None or not node.values['exit_when_done']):
            rclpy.spin_once(node, timeout_sec=0.1)
        code = node.status
    except (KeyboardInterrupt, ExternalShutdownException):
        if node is not None and node.status is not None:
            code = node.status
    except params.ParameterError as exc:
        rclpy.logging.get_logger('trainer_node').fatal(str(exc))
    finally:
        if node is not None:
            if node.status is None:
                node.stop()
                done = (f'checkpoint {node.result.output} written' if node.result is not None
                        else 'no checkpoint written')
                rclpy.logging.get_logger('trainer_node').warning(f'interrupted: {done}')
            node.destroy_node()
        rclpy.try_shutdown()
    return 1 if code is None else code


if __name__ == '__main__':
    sys.exit(main())
