# Copyright 2026 predctl_ros contributors
# SPDX-License-Identifier: Apache-2.0
"""The training loop runs, writes its artefacts and resumes where it stopped."""

import csv
import json

from predctl_ros.learning.config import load_config
from predctl_ros.learning.train import train
from predctl_ros.snn.checkpoint import load_checkpoint
import pytest
import torch

SMALL = ['envs=8', 'heldout_share=0.25', 'episode_steps=40', 'horizon=10', 'batch=16',
         'model_batches=2',
         'policy_batches=2', 'model.hidden=[32, 32]', 'policy.hidden=[32, 32]']


def test_resume_continues_where_a_run_stopped(tmp_path):
    first = train(load_config(None, SMALL + ['iterations=2']), tmp_path, log=lambda s: None)
    assert first['iteration'] == 2
    for name in ('model.safetensors', 'state.pt', 'replay.npz', 'metrics.csv',
                 'learning_curves.png', 'config.json'):
        assert (tmp_path / name).is_file()
    assert list((tmp_path / 'tensorboard').glob('events.out.tfevents.*'))
    resumed = train(load_config(None, SMALL + ['iterations=3']), tmp_path, resume=True,
                    log=lambda s: None)
    assert resumed['iteration'] == 3 and resumed['env_steps'] == 3 * 8 * 40
    rows = list(csv.DictReader(open(tmp_path / 'metrics.csv')))
    assert [r['iteration'] for r in rows] == ['1', '2', '3']
    # Validation pairs score every iteration; the test pairs only the last of each run.
    assert all(float(r['val_episodes']) == 64 for r in rows)
    assert [r['test_episodes'] for r in rows] == ['', '8', '8']
    ckpt = load_checkpoint(tmp_path / 'model.safetensors')
    assert ckpt.task == 'reach2d' and ckpt.header['extra']['iteration'] == 3
    assert set(ckpt.networks) == {'prediction', 'policy'}
    # Inputs enter raw (times the learnable scale), as the authors feed them.
    assert torch.equal(ckpt['policy'].input_std, torch.ones(8))
    assert torch.equal(ckpt['prediction'].input_mean, torch.zeros(8))


def test_interrupted_and_resumed_run_equals_uninterrupted_run(tmp_path):
    straight = tmp_path / 'straight'
    split = tmp_path / 'split'
    train(load_config(None, SMALL + ['iterations=3']), straight, log=lambda s: None)
    train(load_config(None, SMALL + ['iterations=2']), split, log=lambda s: None)
    train(load_config(None, SMALL + ['iterations=3']), split, resume=True, log=lambda s: None)
    a = load_checkpoint(straight / 'model.safetensors')
    b = load_checkpoint(split / 'model.safetensors')
    for name in ('prediction', 'policy'):
        for (key, x), y in zip(a[name].state_dict().items(), b[name].state_dict().values()):
            assert torch.equal(x, y), f'{name}.{key} differs after resume'


def test_bfloat16_precision_trains_and_is_recorded(tmp_path):
    cfg = load_config(None, SMALL + ['iterations=2', 'precision=bfloat16', 'gate_policy=false'])
    metrics = train(cfg, tmp_path, log=lambda s: None)
    assert all(torch.isfinite(torch.tensor(metrics[key])) for key in
               ('model_loss', 'policy_distance'))
    ckpt = load_checkpoint(tmp_path / 'model.safetensors')
    assert ckpt.header['extra']['config']['precision'] == 'bfloat16'
    # The networks keep float32 weights: the precision is the training products' alone.
    assert all(p.dtype == torch.float32 for net in ckpt.networks.values()
               for p in net.state_dict().values())


def test_best_checkpoint_follows_the_validation_score(tmp_path, monkeypatch):
    """
    Keep the validation-best policy in best.safetensors.

    Best: the highest validation success, then the lowest median, across a resume; a fresh
    run in the same directory starts a new best.
    """
    from predctl_ros.learning import train as train_module
    measure = train_module.evaluate
    scripted = iter([(0.2, 0.3), (0.5, 0.2), (0.5, 0.1), (0.4, 0.05), (0.5, 0.1)])

    def evaluate(policy, env, pairs, *args, **kwargs):
        metrics = measure(policy, env, pairs, *args, **kwargs)
        if len(pairs) == 64:   # the validation pairs; the test set is measured for real
            metrics['success_rate'], metrics['median_final_distance'] = next(scripted)
        return metrics

    monkeypatch.setattr(train_module, 'evaluate', evaluate)
    train(load_config(None, SMALL + ['iterations=2']), tmp_path, log=lambda s: None)
    train(load_config(None, SMALL + ['iterations=4']), tmp_path, resume=True,
          log=lambda s: None)
    best = json.loads((tmp_path / 'best.json').read_text())
    assert best == {'iteration': 3, 'val_success_rate': 0.5,
                    'val_median_final_distance': 0.1}
    assert load_checkpoint(tmp_path / 'best.safetensors').header['extra']['iteration'] == 3
    train(load_config(None, SMALL + ['iterations=1']), tmp_path, log=lambda s: None)
    assert json.loads((tmp_path / 'best.json').read_text())['iteration'] == 1


def test_joint_angle_penalty_needs_a_task_that_observes_its_angles(tmp_path):
    cfg = load_config(None, SMALL + ['iterations=1', 'position_limit=1.0'])
    with pytest.raises(ValueError, match="position_limit: task 'reach2d' does not observe"):
        train(cfg, tmp_path, log=lambda s: None)
    assert not (tmp_path / 'model.safetensors').exists()


def test_a_resumed_run_that_logs_new_columns_widens_its_csv(tmp_path):
    """A run resumed by a newer version: old rows keep their values, new cells are empty."""
    from predctl_ros.learning.run_log import RunLog
    RunLog(tmp_path, {}, resume=False).write({'iteration': 1, 'env_steps': 10, 'loss': 0.5})
    log = RunLog(tmp_path, {}, resume=True)
    log.write({'iteration': 2, 'env_steps': 20, 'loss': 0.4, 'speed': 0.1})
    log.write({'iteration': 3, 'env_steps': 30, 'speed': 0.2})
    with open(tmp_path / 'metrics.csv', newline='') as f:
        rows = list(csv.DictReader(f))
    assert list(rows[0]) == ['iteration', 'env_steps', 'loss', 'speed']
    assert [(r['loss'], r['speed']) for r in rows] == [('0.5', ''), ('0.4', '0.1'),
                                                       ('', '0.2')]


def test_limit_terms_are_logged_when_on(tmp_path):
    # Ungated: the first iteration trains the policy whatever P's quality.
    cfg = load_config(None, SMALL + ['iterations=1', 'speed_limit=1.0', 'gate_policy=false',
                                     'task_options.velocities=true'])
    train(cfg, tmp_path, log=lambda s: None)
    with open(tmp_path / 'metrics.csv', newline='') as f:
        row = next(csv.DictReader(f))
    assert float(row['policy_speed_excess']) >= 0.0 and row['policy_position_excess'] == ''
