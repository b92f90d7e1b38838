# Copyright 2026 predctl_ros contributors
# SPDX-License-Identifier: Apache-2.0
"""Training under torchrun on 2 CPU processes equals training in one process."""

import csv
import os
from pathlib import Path
import subprocess
import sys

import numpy as np
from predctl_ros.learning import distributed
from predctl_ros.learning.config import load_config
from predctl_ros.learning.replay import ReplayBuffer
from predctl_ros.learning.train import train
from predctl_ros.snn.checkpoint import load_checkpoint
import pytest
import torch

# Iteration 1 imitates the teacher (with action noise), iteration 2 trains the policy
# through the frozen model: both policy paths and the model path are compared.
TINY = ['task=reach2d', 'iterations=2', 'imitation_iterations=1', 'envs=4',
        'episode_steps=50', 'warmup=2', 'horizon=5', 'batch=8', 'model_batches=2',
        'policy_batches=2', 'imitation_batches=2', 'action_noise=0.1', 'threads=1',
        'model.hidden=[32, 32]', 'policy.hidden=[32, 32]']


def _env():
    env = dict(os.environ, OMP_NUM_THREADS='1', PYTHONUNBUFFERED='1')
    env.pop('PREDCTL_DIST_BACKEND', None)
    for name in ('WORLD_SIZE', 'RANK', 'LOCAL_RANK', 'MASTER_ADDR', 'MASTER_PORT'):
        env.pop(name, None)
    return env


def _torchrun(out: Path, overrides) -> subprocess.CompletedProcess:
    args = [sys.executable, '-m', 'torch.distributed.run', '--standalone',
            '--nproc_per_node', '2', '-m', 'predctl_ros.cli', 'train', '--out', str(out)]
    for item in overrides:
        args += ['--set', item]
    return subprocess.run(args, env=_env(), capture_output=True, text=True, timeout=240,
                          cwd=Path(__file__).resolve().parents[1])


def test_two_processes_train_like_one(tmp_path):
    single, double = tmp_path / 'single', tmp_path / 'double'
    threads = torch.get_num_threads()
    try:
        train(load_config(None, TINY), single, log=lambda s: None)
    finally:
        torch.set_num_threads(threads)
    result = _torchrun(double, TINY)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert result.stdout.count('iteration 2/2') == 1, result.stdout   # rank 0 alone logs

    # The first collection is bit for bit the single process's; later ones run a policy
    # trained on gradients summed in another order (float32 rounding).
    for name, episodes in (('replay.npz', 2 * 4), ('expert.npz', 4)):
        a, b = ReplayBuffer.load(single / name), ReplayBuffer.load(double / name)
        assert len(a) == len(b) == episodes
        for i, (x, y) in enumerate(zip(a.episodes, b.episodes)):
            for field in ('obs', 'action', 'goal'):
                if i < 4:
                    np.testing.assert_array_equal(getattr(y, field), getattr(x, field),
                                                  err_msg=f'{name} {i} {field}')
                np.testing.assert_allclose(getattr(y, field), getattr(x, field), atol=1e-5,
                                           err_msg=f'{name} {i} {field}')

    one = load_checkpoint(single / 'model.safetensors')
    two = load_checkpoint(double / 'model.safetensors')
    assert two.header['extra']['iteration'] == 2
    for net in ('prediction', 'policy'):
        for key, x in one[net].state_dict().items():
            torch.testing.assert_close(two[net].state_dict()[key], x, atol=1e-5, rtol=1e-4,
                                       msg=f'{net}.{key} differs between 1 and 2 processes')
    # The logged losses are the means over both ranks' windows, and the gradient norms
    # those of the gradients averaged over the ranks: one process's numbers.
    rows = [list(csv.DictReader(open(run / 'metrics.csv'))) for run in (single, double)]
    assert len(rows[1]) == 2
    for key in ('model_loss', 'imitation_loss', 'policy_distance', 'model_grad_norm',
                'policy_grad_norm'):
        for x, y in zip(*rows):
            assert (x[key] == '') == (y[key] == '')
            if x[key]:
                assert float(y[key]) == pytest.approx(float(x[key]), rel=1e-4), key


def test_uneven_split_is_refused():
    assert distributed.share(8, 2, 1, 'envs') == slice(4, 8)
    with pytest.raises(ValueError, match='envs = 5 does not split evenly over 2 processes'):
        distributed.share(5, 2, 0, 'envs')


def test_uneven_batch_under_torchrun_is_refused(monkeypatch, tmp_path):
    # As torchrun would start rank 0 of 2; refused before joining any process group.
    for name, value in (('WORLD_SIZE', '2'), ('RANK', '0'), ('LOCAL_RANK', '0')):
        monkeypatch.setenv(name, value)
    with pytest.raises(ValueError, match='batch = 7 does not split evenly over 2 processes'):
        train(load_config(None, TINY + ['batch=7']), tmp_path, log=lambda s: None)
    assert not torch.distributed.is_initialized()


def test_missing_cuda_is_refused(monkeypatch, tmp_path):
    monkeypatch.setattr(torch.cuda, 'is_available', lambda: False)
    with pytest.raises(ValueError, match="device 'cuda' asks for CUDA, but torch sees no"):
        distributed.resolve_device('cuda')
    with pytest.raises(ValueError, match='asks for CUDA'):
        train(load_config(None, TINY + ['device=cuda:0']), tmp_path, log=lambda s: None)
    assert distributed.resolve_device('cpu') == torch.device('cpu')
