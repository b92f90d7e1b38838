# Copyright 2026 predctl_ros contributors
# SPDX-License-Identifier: Apache-2.0
"""Training config: YAML, typed overrides, refusals with reasons."""

from predctl_ros.learning.config import load_config, TrainConfig
import pytest


def test_yaml_and_overrides(tmp_path):
    path = tmp_path / 'run.yaml'
    path.write_text('task: panda_reach\niterations: 7\nmodel:\n  rank: 64\n')
    cfg = load_config(path, ['lr=3e-4', 'teacher_forcing=0.5', 'policy.neuron=lif',
                             'model.hidden=[256, 256]'])
    assert cfg.task == 'panda_reach' and cfg.iterations == 7 and cfg.lr == 3e-4
    assert cfg.model == {'rank': 64, 'hidden': [256, 256]}
    assert cfg.policy == {'neuron': 'lif'}
    assert cfg.teacher_forcing == 0.5 and isinstance(cfg.iterations, int)


def test_bad_settings_are_refused(tmp_path):
    with pytest.raises(ValueError, match="unknown setting 'lrate'"):
        load_config(None, ['lrate=1'])
    with pytest.raises(ValueError, match='iterations: expected int'):
        load_config(None, ['iterations=many'])
    with pytest.raises(ValueError, match=r'teacher_forcing must be in \[0, 1\]'):
        load_config(None, ['teacher_forcing=2'])
    with pytest.raises(ValueError, match="precision must be one of .* got 'float16'"):
        load_config(None, ['precision=float16'])
    with pytest.raises(ValueError, match='exceeds episode_steps'):
        TrainConfig(episode_steps=20, horizon=40)
    path = tmp_path / 'bad.yaml'
    path.write_text('colour: red\n')
    with pytest.raises(ValueError, match=r"unknown settings \['colour'\]"):
        load_config(path)


@pytest.mark.parametrize('name', ['train_reach2d.yaml', 'train_panda.yaml'])
def test_shipped_configs_load_and_build(name):
    from pathlib import Path

    from predctl_ros import envs
    from predctl_ros.learning.train import build_networks

    cfg = load_config(Path(__file__).resolve().parents[1] / 'config' / name)
    model, policy = build_networks(cfg, envs.task_spec(cfg.task))
    assert model.spec.neuron == 'alif' and policy.spec.rank == 64
