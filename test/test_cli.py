# Copyright 2026 predctl_ros contributors
# SPDX-License-Identifier: Apache-2.0
"""The `predctl` command line: subcommands, outputs and refusals."""

import argparse
import collections
import dataclasses
import json
import os
from pathlib import Path
import subprocess
import sys

from predctl_ros.cli import build_parser, main
from predctl_ros.learning.config import TrainConfig
from predctl_ros.snn import PolicyNet, PredictionNet
from predctl_ros.snn.checkpoint import save_checkpoint
from predctl_ros.snn.spec import NetworkSpec
import pytest

ROOT = Path(__file__).resolve().parents[1]
_ENV = dict(os.environ, PYTHONPATH=str(ROOT))


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
    assert 'bad.safetensors: not a readable safetensors file' in capsys.readouterr().err


def test_eval_runs_the_test_set_and_refuses_mismatched_networks(tmp_path, capsys):
    good = save_checkpoint(tmp_path / 'good.safetensors',
                           {'prediction': PredictionNet(6, 2, hidden=(16, 16)),
                            'policy': PolicyNet(6, 2, 2, hidden=(16, 16))}, task='reach2d')
    assert main(['eval', '--checkpoint', str(good), '--json']) == 0
    metrics = json.loads(capsys.readouterr().out)
    assert metrics['episodes'] == 8 and 0.0 <= metrics['success_rate'] <= 1.0
    assert main(['eval', '--checkpoint', str(good), '--split', 'validation', '--json']) == 0
    metrics = json.loads(capsys.readouterr().out)
    assert metrics['episodes'] == 64 and metrics['split'] == 'validation'
    wrong = save_checkpoint(tmp_path / 'wrong.safetensors',
                            {'policy': PolicyNet(9, 3, 6, hidden=(16, 16))}, task='reach2d')
    assert main(['eval', '--checkpoint', str(wrong)]) == 2
    assert 'policy maps 12 -> 6, reach2d needs 8 -> 2' in capsys.readouterr().err


def test_train_refuses_bad_settings(tmp_path, capsys):
    assert main(['train', '--out', str(tmp_path), '--set', 'iterations=-1']) == 2
    assert 'iterations must be >= 1' in capsys.readouterr().err


def _one_error_line(out, err, *words):
    assert out == ''
    lines = err.splitlines()
    assert len(lines) == 1, err
    for word in words:
        assert word in lines[0], (word, lines[0])
    return lines[0]


def test_a_yaml_value_of_the_wrong_type_is_one_line_and_creates_nothing(tmp_path):
    # The real command line, as a user runs it: no traceback, no empty run directory.
    config = tmp_path / 'run.yaml'
    config.write_text('iterations: "5"\n')
    out = tmp_path / 'run'
    result = subprocess.run([sys.executable, '-m', 'predctl_ros.cli', 'train', '--config',
                             str(config), '--out', str(out)], cwd=tmp_path, env=_ENV,
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 2
    line = _one_error_line(result.stdout, result.stderr, 'run.yaml', 'iterations', "'5'",
                           'an integer')
    assert line.startswith('predctl train: error: ')
    assert not out.exists()


# (arguments after `train --out RUN`, YAML config or None, words the line must hold)
REFUSED = [
    ([], 'model:\n  nosuch: 1\n', ['run.yaml', "'model.nosuch'", 'value 1', 'rank, ']),
    (['--set', 'iterations=many'], None, ["override 'iterations=many'", 'an integer']),
    (['--set', 'model.nosuch=1'], None, ["'model.nosuch'", 'value 1', 'neuron, ']),
    (['--set', 'normalise_inputs=2'], None, ['normalise_inputs', "'2'", 'true or false']),
    (['--set', 'task_options.nosuch=1'], None,
     ["'task_options.nosuch'", 'velocities', 'task reach2d']),
    (['--set', 'task=reach3d'], None, ["'reach3d'", "'panda_reach', 'reach2d'"]),
    (['--set', 'model.rank=600'], None, ['model', 'rank', '600', '[1, 512]']),
    (['--set', 'imitation_iterations=1', '--set', 'teacher_gains.stiffness=1'], None,
     ['teacher_gains.stiffness', 'value 1', 'kp, kd', 'teacher osc']),
    (['--set', 'init_checkpoint=missing.safetensors'], None,
     ['init_checkpoint', 'missing.safetensors']),
    (['--iterations', '0'], 'iterations: 3\n', ['iterations must be >= 1, got 0']),
    (['--set', 'iterations'], None, ["'iterations'", 'KEY=VALUE']),
    (['--iterations', 'x'], None, ['--iterations', "'x'", 'int']),
]


@pytest.mark.parametrize('extra, yaml_text, words', REFUSED)
def test_train_refusals_are_one_line_and_create_nothing(tmp_path, capsys, extra, yaml_text,
                                                        words):
    out = tmp_path / 'run'
    args = ['train', '--out', str(out)] + extra
    if yaml_text is not None:
        (tmp_path / 'run.yaml').write_text(yaml_text)
        args += ['--config', str(tmp_path / 'run.yaml')]
    try:
        status = main(args)
    except SystemExit as exc:   # argparse's own refusals
        status = exc.code
    assert status == 2
    _one_error_line(*capsys.readouterr(), 'predctl train: error: ', *words)
    assert not out.exists()


def test_ablate_refuses_a_bad_override_before_creating_the_study(tmp_path, capsys):
    spec = tmp_path / 'study.yaml'
    spec.write_text('settings:\n  - name: plain\n')
    out = tmp_path / 'study'
    assert main(['ablate', '--spec', str(spec), '--out', str(out), '--set', 'lrate=1']) == 2
    _one_error_line(*capsys.readouterr(), 'predctl ablate: error: ', "unknown setting 'lrate'")
    assert not out.exists()


def test_list_settings_gives_every_setting_its_default_and_meaning(capsys):
    with pytest.raises(SystemExit) as exc:
        main(['train', '--list-settings'])   # no --out needed
    assert exc.value.code == 0
    lines = capsys.readouterr().out.splitlines()
    entries = {}
    for key_line, meaning in zip(lines, lines[1:]):
        if key_line and not key_line.startswith(' ') and meaning.startswith('    '):
            key, _, default = key_line.partition(': ')
            entries[key] = (default, meaning.strip())
    for f in dataclasses.fields(TrainConfig):
        default = f.default_factory() if f.default is dataclasses.MISSING else f.default
        # As a YAML file would spell the default.
        assert entries[f.name][0] == (default if isinstance(default, str) and default
                                      else json.dumps(default) if default != '' else "''")
        assert entries[f.name][1], f'{f.name} has no meaning'
    for f in dataclasses.fields(NetworkSpec):
        if f.name not in ('role', 'n_in', 'n_out'):
            assert f'model.{f.name}' in entries and f'policy.{f.name}' in entries
    assert entries['iterations'] == ('100', 'Collect / train-P / train-pi / evaluate cycles.')
    assert entries['lr'] == ('0.001', 'Adam learning rate of weights.')
    assert entries['model.recurrent'][0] == '[true, false]'
    assert entries['policy.tanh'][0] == 'true' and entries['model.tanh'][0] == 'false'
    assert entries['task_options.obs_noise'][0] == '0.0 (reach2d only)'
    assert entries['teacher_gains.null_kp (teacher osc)'][0] == '25.0 (panda_reach), 0.0 (reach2d)'


def test_help_shows_the_defaults_of_every_subcommand(capsys):
    parser = build_parser()
    sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    for name, command in sub.choices.items():
        with pytest.raises(SystemExit):
            main([name, '--help'])
        text = ' '.join(capsys.readouterr().out.split())
        shown = collections.Counter()
        for action in command._actions:
            if (action.option_strings and action.nargs != 0
                    and action.default not in (None, '', [], argparse.SUPPRESS)):
                shown[f'default: {action.default}'] += 1
        for words, count in shown.items():
            assert text.count(words) >= count, (name, words, text)
