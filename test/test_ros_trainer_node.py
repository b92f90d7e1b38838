# Copyright 2026 predctl_ros contributors
# SPDX-License-Identifier: Apache-2.0
"""trainer_node, a real process: retrains from a bag and hot-swaps a policy node's network."""

import bag_factory as bf
from predctl_ros import envs
from predctl_ros.learning.config import TrainConfig
from predctl_ros.learning.train import build_networks
from predctl_ros.snn.checkpoint import load_checkpoint, save_checkpoint
import pytest
from rcl_interfaces.msg import SetParametersResult

SETTINGS = ['threads=1', 'horizon=10', 'batch=16', 'model_batches=2', 'policy_batches=1']


@pytest.fixture(scope='module')
def data(tmp_path_factory):
    """Write one small bag and a tiny init checkpoint."""
    root = tmp_path_factory.mktemp('trainer')
    run = bf.rollout(120, {0: [0.5, 0.0, 0.4], 40: [0.4, 0.3, 0.4], 80: [0.3, -0.3, 0.6]})
    bag = bf.write_bag(root / 'run', bf.messages(run))
    cfg = TrainConfig(task='panda_reach', model={'hidden': [32]}, policy={'hidden': [32]})
    model, policy = build_networks(cfg, envs.task_spec('panda_reach'))
    init = save_checkpoint(root / 'init.safetensors', {'prediction': model, 'policy': policy},
                           task='panda_reach')
    return bag, init


class FakePolicyNode:
    """The probe node, named policy_node, with a ``checkpoint`` parameter."""

    def __init__(self, probe, accept: bool):
        """Declare ``checkpoint``; record each change and accept or refuse it."""
        self.requests = []
        probe.node.declare_parameter('checkpoint', '')

        def on_set(changes):
            self.requests += [(c.name, c.value) for c in changes]
            return SetParametersResult(successful=accept,
                                       reason='' if accept else 'network does not fit')
        probe.node.add_on_set_parameters_callback(on_set)


@pytest.fixture
def ros_policy(ros_domain, tmp_path):
    """Yield (Processes, Probe) with the probe node named policy_node."""
    from ros_harness import Probe, Processes
    processes, probe = Processes(tmp_path), Probe('policy_node')
    try:
        yield processes, probe
    finally:
        probe.close()
        processes.stop_all()


@pytest.mark.parametrize('accept', [True, False])
def test_retrains_and_hot_swaps_the_policy_node(ros_policy, data, tmp_path, accept):
    processes, probe = ros_policy
    bag, init = data
    fake = FakePolicyNode(probe, accept)
    out = tmp_path / 'new' / 'model.safetensors'
    proc = processes.start('trainer_node', params={
        'bags': [str(bag)], 'output': str(out), 'init': str(init), 'iterations': 2,
        'settings': SETTINGS, 'policy_node': 'policy_node', 'swap_timeout': 30.0})
    probe.spin_until(lambda: fake.requests or proc.poll() is not None, 90,
                     'the set_parameters request')
    probe.spin_until(lambda: proc.poll() is not None, 30, 'trainer_node to exit')
    log = processes.output(proc)
    assert fake.requests == [('checkpoint', str(out.resolve()))], log
    ckpt = load_checkpoint(out)
    assert ckpt.task == 'panda_reach' and ckpt.header['extra']['retrain']['iterations'] == 2
    assert 'held-out prediction error' in log and 'iteration 2/2' in log
    if accept:
        assert proc.returncode == 0 and 'hot swap accepted' in log, log
    else:
        assert proc.returncode == 1 and 'network does not fit' in log, log


@pytest.mark.parametrize('overrides, message', [
    ({'iterations': 0}, "'iterations' must be an integer"),
    ({'bags': ['']}, "'bags' must list at least one bag"),
    ({'output': ''}, "'output' must name"),
    ({'policy_node': 'bad name'}, "'policy_node' must be"),
    ({'settings': ['horizon=0']}, "'settings'"),
])
def test_bad_parameters_are_refused(ros, data, tmp_path, overrides, message):
    processes, probe = ros
    bag, _ = data
    values = {'bags': [str(bag)], 'output': str(tmp_path / 'x.safetensors')}
    values.update(overrides)
    proc = processes.start('trainer_node', params=values)
    assert proc.wait(60) == 1
    assert message in processes.output(proc)
    assert not (tmp_path / 'x.safetensors').exists()


def test_failed_retraining_exits_1_and_writes_nothing(ros, tmp_path):
    processes, probe = ros
    out = tmp_path / 'model.safetensors'
    out.write_bytes(b'old')
    proc = processes.start('trainer_node', params={
        'bags': [str(tmp_path / 'missing')], 'output': str(out), 'iterations': 1})
    assert proc.wait(90) == 1
    log = processes.output(proc)
    assert 'retraining failed' in log and 'no such file' in log, log
    assert out.read_bytes() == b'old'
