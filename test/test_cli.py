# Copyright 2026 predctl_ros contributors
# SPDX-License-Identifier: Apache-2.0
"""The `predctl` command line: subcommands, outputs and refusals."""

import json

from predctl_ros.cli import main
from predctl_ros.snn import PolicyNet, PredictionNet
from predctl_ros.snn.checkpoint import save_checkpoint
import pytest


def test_help_lists_the_subcommands(capsys):
    with pytest.raises(SystemExit) as exc:
        main(['--help'])
    assert exc.value.code == 0
    out = capsys.readouterr().out
    for name in ('demo', 'train', 'eval', 'info', 'bench'):
        assert name in out


def test_info_describes_and_refuses(tmp_path, capsys):
    path = save_checkpoint(tmp_path / 'm.safetensors',
                           {'policy': PolicyNet(6, 2, 2, hidden=(16, 16), rank=4)},
                           task='reach2d')
    assert main(['info', str(path)]) == 0
    out = capsys.readouterr().out
    assert 'task reach2d' in out and 'policy: snn/lif 8 -> 16 -> 16 -> 2, rank 4' in out
    assert main(['info', str(path), '--json']) == 0
    assert json.loads(capsys.readouterr().out)['task'] == 'reach2d'
    bad = tmp_path / 'bad.safetensors'
    bad.write_bytes(b'junk')
    assert main(['info', str(bad)]) == 2
    assert 'bad.safetensors: not a readable safetensors file' in capsys.readouterr().out


def test_eval_runs_the_test_set_and_refuses_mismatched_networks(tmp_path, capsys):
    good = save_checkpoint(tmp_path / 'good.safetensors',
                           {'prediction': PredictionNet(6, 2, hidden=(16, 16)),
                            'policy': PolicyNet(6, 2, 2, hidden=(16, 16))}, task='reach2d')
    assert main(['eval', '--checkpoint', str(good), '--json']) == 0
    metrics = json.loads(capsys.readouterr().out)
    assert metrics['episodes'] == 8 and 0.0 <= metrics['success_rate'] <= 1.0
    wrong = save_checkpoint(tmp_path / 'wrong.safetensors',
                            {'policy': PolicyNet(9, 3, 6, hidden=(16, 16))}, task='reach2d')
    assert main(['eval', '--checkpoint', str(wrong)]) == 2
    assert 'policy maps 12 -> 6, reach2d needs 8 -> 2' in capsys.readouterr().out


def test_train_refuses_bad_settings(tmp_path, capsys):
    assert main(['train', '--out', str(tmp_path), '--set', 'iterations=-1']) == 2
    assert 'iterations must be >= 1' in capsys.readouterr().out
