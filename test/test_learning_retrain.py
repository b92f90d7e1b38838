# Copyright 2026 predctl_ros contributors
# SPDX-License-Identifier: Apache-2.0
"""Retraining from recorded bags lowers the held-out error; a failed run writes nothing."""

import os
from pathlib import Path
import shutil

import bag_factory as bf
import numpy as np
from predctl_ros import cli
from predctl_ros.learning.config import TrainConfig
from predctl_ros.learning.retrain import retrain_from_bags, RetrainError
from predctl_ros.snn.checkpoint import load_checkpoint, save_checkpoint
import pytest
import torch

RUNS, STEPS, SEGMENT = 8, 300, 50     # 8 recorded runs, a new goal every second
# Tiny networks and few minibatches; joint velocities in the observation give the
# prediction network something to learn within a few iterations.
SMALL = {'horizon': 10, 'batch': 32, 'model_batches': 4, 'policy_batches': 1, 'threads': 1,
         'model': {'hidden': [64, 64]}, 'policy': {'hidden': [32, 32]},
         'task_options': {'velocities': True}, 'normalise_inputs': True}
SETTINGS = ['threads=1', 'horizon=10', 'batch=32', 'model_batches=4', 'policy_batches=1',
            'model.hidden=[64, 64]', 'policy.hidden=[32, 32]', 'task_options.velocities=true',
            'normalise_inputs=true']


@pytest.fixture(scope='module')
def bag_dir(tmp_path_factory):
    """Write a folder of bags of reference-controller runs to random goals."""
    root = tmp_path_factory.mktemp('bags')
    rng = np.random.default_rng(0)
    for i in range(RUNS):
        goals = {k: [rng.uniform(0.3, 0.6), rng.uniform(-0.3, 0.3), rng.uniform(0.2, 0.6)]
                 for k in range(0, STEPS, SEGMENT)}
        bf.write_bag(root / f'run{i}', bf.messages(bf.rollout(STEPS, goals, seed=i)))
    return root


def _quiet(line):
    pass


def _corrupt_bag(good: Path, where: Path) -> Path:
    bag = Path(shutil.copytree(good, where))
    (storage,) = [p for p in bag.iterdir() if p.suffix == '.mcap']
    storage.write_bytes(os.urandom(4096))
    return bag


@pytest.mark.xfail(strict=True, reason='since the physics of issue 14 (friction, speed limits) '
                   'retraining from these bags no longer lowers the held-out error; retraining '
                   'is reworked in issue 16')
def test_retraining_lowers_the_held_out_prediction_error(tmp_path, bag_dir):
    scratch = retrain_from_bags([bag_dir], tmp_path / 'a.safetensors', iterations=10,
                                config=TrainConfig(**SMALL), log=_quiet)
    assert scratch.errors == [] and len(scratch.summaries) == RUNS
    assert scratch.train_steps + scratch.held_out_steps == RUNS * STEPS
    assert scratch.held_out_episodes == RUNS * STEPS // SEGMENT // 5
    assert scratch.held_out_after < scratch.held_out_before, scratch.report()
    # Fine-tuning starts exactly where the first run ended (networks and normalisation).
    lines = []
    tuned = retrain_from_bags([bag_dir], tmp_path / 'b.safetensors',
                              init=tmp_path / 'a.safetensors', iterations=20,
                              config=TrainConfig(**SMALL), log=lines.append)
    assert tuned.held_out_before == pytest.approx(scratch.held_out_after, rel=1e-5)
    assert tuned.held_out_after < tuned.held_out_before, tuned.report()
    assert any(line.startswith('iteration 20/20') for line in lines)
    assert 'held-out prediction error' in tuned.report()
    ckpt = load_checkpoint(tuned.output)
    assert ckpt.task == 'panda_reach' and ckpt.task_options == {'velocities': True}
    assert ckpt.header['extra']['retrain']['held_out_after'] == tuned.held_out_after
    assert not torch.equal(ckpt['policy'].input_std, torch.ones(15 + 3))
    first = load_checkpoint(tmp_path / 'a.safetensors')
    assert torch.equal(ckpt['prediction'].input_mean, first['prediction'].input_mean)
    assert not torch.equal(ckpt['prediction'].state_dict()['readout.weight'],
                           first['prediction'].state_dict()['readout.weight'])


def test_a_corrupt_bag_among_good_ones_is_reported_and_the_rest_used(tmp_path, bag_dir):
    bad = _corrupt_bag(bag_dir / 'run1', tmp_path / 'bad')
    result = retrain_from_bags([bag_dir / 'run0', bad, bag_dir / 'run2'],
                               tmp_path / 'out.safetensors', iterations=1,
                               config=TrainConfig(**SMALL), log=_quiet)
    assert [s.path for s in result.summaries] == [bag_dir / 'run0', bag_dir / 'run2']
    (error,) = result.errors
    assert error.path == bad and error.problem in ('corrupt', 'truncated'), str(error)
    assert str(bad) in result.report()
    load_checkpoint(result.output)


def _fail_all_corrupt(tmp_path, bag_dir, out):
    bad = [_corrupt_bag(bag_dir / f'run{i}', tmp_path / f'bad{i}') for i in range(2)]
    return retrain_from_bags(bad, out, config=TrainConfig(**SMALL), log=_quiet)


def _fail_too_little_data(tmp_path, bag_dir, out):
    short = bf.write_bag(tmp_path / 'short', bf.messages(bf.rollout(12, {0: [0.5, 0, 0.4]})))
    return retrain_from_bags([short], out, config=TrainConfig(**SMALL), log=_quiet)


def _fail_stopped(tmp_path, bag_dir, out):
    polls = []
    return retrain_from_bags([bag_dir / 'run0'], out, config=TrainConfig(**SMALL), log=_quiet,
                             should_stop=lambda: polls.append(1) or len(polls) > 3)


def _fail_bad_init(tmp_path, bag_dir, out):
    init = tmp_path / 'broken.safetensors'
    init.write_bytes(b'not a checkpoint')
    return retrain_from_bags([bag_dir / 'run0'], out, init=init, config=TrainConfig(**SMALL),
                             log=_quiet)


def _fail_task_mismatch(tmp_path, bag_dir, out):
    from predctl_ros.learning.train import build_networks
    from predctl_ros import envs
    cfg = TrainConfig(task='reach2d', model={'hidden': [8]}, policy={'hidden': [8]})
    model, policy = build_networks(cfg, envs.task_spec('reach2d'))
    init = save_checkpoint(tmp_path / 'r2d.safetensors',
                           {'prediction': model, 'policy': policy}, task='reach2d')
    return retrain_from_bags([bag_dir / 'run0'], out, init=init, task='panda_reach',
                             config=TrainConfig(**SMALL), log=_quiet)


@pytest.mark.parametrize('fail, message', [
    (_fail_all_corrupt, 'no usable episode'),
    (_fail_too_little_data, 'too little data'),
    (_fail_stopped, 'stopped after'),
    (_fail_bad_init, 'init checkpoint'),
    (_fail_task_mismatch, "not 'panda_reach'"),
])
def test_a_failed_run_raises_and_leaves_the_output_untouched(tmp_path, bag_dir, fail, message):
    out = tmp_path / 'ckpts' / 'model.safetensors'
    out.parent.mkdir()
    out.write_bytes(b'the previous checkpoint')
    before = sorted(out.parent.iterdir())
    with pytest.raises(RetrainError, match=message) as info:
        fail(tmp_path, bag_dir, out)
    assert out.read_bytes() == b'the previous checkpoint'
    assert sorted(out.parent.iterdir()) == before        # no temporary file left behind
    if fail is _fail_all_corrupt:
        assert len(info.value.bag_errors) == 2
        assert all(str(e.path) in str(info.value) for e in info.value.bag_errors)


def test_output_must_be_a_file(tmp_path, bag_dir):
    with pytest.raises(RetrainError, match='not a folder'):
        retrain_from_bags([bag_dir / 'run0'], tmp_path, config=TrainConfig(**SMALL),
                          log=_quiet)


def test_command_line(tmp_path, bag_dir, capsys):
    out = tmp_path / 'cli.safetensors'
    args = ['train', '--bags', str(bag_dir / 'run0'), str(bag_dir / 'run1'), '--out',
            str(out), '--iterations', '1']
    for item in SETTINGS:
        args += ['--set', item]
    assert cli.main(args) == 0
    printed = capsys.readouterr().out
    assert f'checkpoint: {out}' in printed and 'held-out prediction error' in printed
    load_checkpoint(out)
    missing = str(tmp_path / 'no_such_bag')
    assert cli.main(['train', '--bags', missing, '--out', str(out), '--iterations', '1']) == 1
    assert 'no usable episode' in capsys.readouterr().err and out.is_file()
