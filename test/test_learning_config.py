# Copyright 2026 predctl_ros contributors
# SPDX-License-Identifier: Apache-2.0
"""Training config: YAML, typed overrides, refusals with reasons."""

from predctl_ros.learning.config import (
    load_config, preflight, section_settings, train_settings, TrainConfig)
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
    with pytest.raises(ValueError, match="iterations: expected an integer, got 'many'"):
        load_config(None, ['iterations=many'])
    with pytest.raises(ValueError, match=r'teacher_forcing must be in \[0, 1\]'):
        load_config(None, ['teacher_forcing=2'])
    with pytest.raises(ValueError, match="precision must be one of .* got 'float16'"):
        load_config(None, ['precision=float16'])
    with pytest.raises(ValueError, match='exceeds episode_steps'):
        TrainConfig(episode_steps=20, horizon=40)
    with pytest.raises(ValueError, match="distance_loss must be one of .* got 'l1'"):
        load_config(None, ['distance_loss=l1'])
    with pytest.raises(ValueError, match='distance_softening must be > 0'):
        load_config(None, ['distance_softening=0'])
    with pytest.raises(ValueError, match=r'speed_margin must be in \(0, 1\]'):
        load_config(None, ['speed_margin=1.5'])
    with pytest.raises(ValueError, match='speed_limit needs the joint speeds'):
        load_config(None, ['speed_limit=1'])
    assert load_config(None, ['speed_limit=1', 'task_options.velocities=true']).speed_limit == 1
    with pytest.raises(ValueError, match='position_limit must be >= 0'):
        load_config(None, ['position_limit=-1'])
    path = tmp_path / 'bad.yaml'
    path.write_text('colour: red\n')
    with pytest.raises(ValueError, match=r"bad.yaml: unknown setting 'colour' \(value 'red'\); "
                       r'allowed: task, seed, iterations'):
        load_config(path)


@pytest.mark.parametrize('text, message', [
    ('iterations: "5"', "run.yaml: iterations: expected an integer, got '5' (str)"),
    ('iterations: 5.0', 'run.yaml: iterations: expected an integer, got 5.0 (float)'),
    ('iterations: true', 'run.yaml: iterations: expected an integer, got True (bool)'),
    ('lr: fast', "run.yaml: lr: expected a number, got 'fast' (str)"),
    ('normalise_inputs: 1', 'normalise_inputs: expected true or false, got 1 (int)'),
    ('task: 2', 'task: expected a string, got 2 (int)'),
    ('model: [1]', 'model: expected a mapping, got [1] (list)'),
    ('model:\n  nosuch: 1', "run.yaml: unknown setting 'model.nosuch' (value 1); allowed: "
                            'arch, hidden, recurrent, neuron, rank,'),
    ('model:\n  role: policy', "unknown setting 'model.role'"),
    ('policy:\n  hidden: [64, "a"]',
     "policy.hidden: expected a list of integers, got [64, 'a'] (list)"),
    ('policy:\n  rank: "8"', "policy.rank: expected an integer or null, got '8' (str)"),
    ('task: panda_reach\ntask_options:\n  obs_noise: 0.1',
     "unknown setting 'task_options.obs_noise' (value 0.1); allowed: velocities, "),
    ('task_options:\n  episode_steps: 10', "unknown setting 'task_options.episode_steps'"),
    ('task_options:\n  velocities: "yes"',
     "task_options.velocities: expected true or false, got 'yes' (str)"),
    ('task: reach3d', "task must be one of ('panda_reach', 'reach2d'), got 'reach3d'"),
])
def test_yaml_values_are_typed_and_keys_known(tmp_path, text, message):
    path = tmp_path / 'run.yaml'
    path.write_text(text + '\n')
    with pytest.raises(ValueError) as exc:
        load_config(path)
    assert message in str(exc.value) and '\n' not in str(exc.value)


def test_overrides_are_checked_like_the_file(tmp_path):
    path = tmp_path / 'run.yaml'
    path.write_text('model:\n  rank: 8\n')
    with pytest.raises(ValueError, match=r"^override 'model.nosuch=1': unknown setting "
                       r"'model.nosuch' \(value 1\); allowed: arch, "):
        load_config(path, ['model.nosuch=1'])
    with pytest.raises(ValueError, match=r"^override 'policy.rank=x': policy.rank: expected "
                       r"an integer or null, got 'x' \(str\)"):
        load_config(path, ['policy.rank=x'])
    with pytest.raises(ValueError, match="^override 'iterations': expected KEY=VALUE"):
        load_config(path, ['iterations'])
    # Each refusal names its own source; all of them in one line.
    path.write_text('envs: "8"\n')
    with pytest.raises(ValueError) as exc:
        load_config(path, ['batch=many'])
    assert str(exc.value) == ("run.yaml: envs: expected an integer, got '8' (str); "
                              "override 'batch=many': batch: expected an integer, got 'many' "
                              '(str)').replace('run.yaml', str(path))


def test_constructed_configs_refuse_wrong_types_without_a_type_error():
    with pytest.raises(ValueError, match="iterations: expected an integer, got '5'"):
        TrainConfig(iterations='5')
    with pytest.raises(ValueError, match="unknown setting 'model.nosuch'"):
        TrainConfig(model={'nosuch': 1})


def test_values_are_read_as_yaml_1_2_numbers_and_empty_sections_as_none(tmp_path):
    path = tmp_path / 'run.yaml'
    path.write_text('lr: 1e-3\nlr_tau: 2\nmodel:\npolicy:\n  tau_mem_s: 2.5e-2\n')
    cfg = load_config(path, ['weight_decay=1e-5', 'model.tau_syn_s=4e-3'])
    assert cfg.lr == 1e-3 and cfg.lr_tau == 2.0 and isinstance(cfg.lr_tau, float)
    assert cfg.weight_decay == 1e-5 and cfg.model == {'tau_syn_s': 4e-3}
    assert cfg.policy == {'tau_mem_s': 2.5e-2}
    assert load_config(None, ['task=panda_reach', 'task_options.velocities=on']).task_options \
        == {'velocities': True}


def test_preflight_refuses_what_only_building_the_run_tells():
    # Valid as settings, refused once the task and the networks are built.
    preflight(load_config(None, ['model.hidden=[16, 16]', 'policy.hidden=[16, 16]']))
    with pytest.raises(ValueError, match=r'^model: invalid network spec: rank must be in '
                       r'\[1, 16\] or None, got 32'):
        preflight(load_config(None, ['model.hidden=[16, 16]', 'model.rank=32']))
    with pytest.raises(ValueError, match=r'^policy: invalid network spec: recurrent'):
        preflight(load_config(None, ['policy.recurrent=[true]']))
    with pytest.raises(ValueError, match=r'^task_options: obs_noise must be a finite number'):
        preflight(load_config(None, ['task_options.obs_noise=-1']))
    with pytest.raises(ValueError, match=r'^unknown setting teacher_gains.null_kd .*allowed: '
                       r'kp, kd, max_error_rad'):
        preflight(load_config(None, ['teacher=joint_pd', 'teacher_gains.null_kd=1']))
    with pytest.raises(ValueError, match=r'^init_checkpoint: .*nowhere.safetensors'):
        preflight(load_config(None, ['init_checkpoint=nowhere.safetensors']))


def test_every_setting_has_a_meaning():
    # The meanings --list-settings prints are the docstrings under the fields.
    for name, setting in train_settings().items():
        assert setting.meaning, name
    for section in ('model', 'policy', 'task_options'):
        for name, setting in section_settings(section).items():
            assert setting.meaning, f'{section}.{name}'
    assert train_settings()['envs'].meaning == 'Episodes collected side by side per iteration.'
    assert section_settings('task_options', 'panda_reach')['velocities'].meaning.startswith(
        'append scaled joint velocities')


@pytest.mark.parametrize('name', ['train_reach2d.yaml', 'train_panda.yaml'])
def test_shipped_configs_load_and_build(name):
    from pathlib import Path

    from predctl_ros import envs
    from predctl_ros.learning.train import build_networks

    cfg = load_config(Path(__file__).resolve().parents[1] / 'config' / name)
    model, policy = build_networks(cfg, envs.task_spec(cfg.task))
    assert model.spec.neuron == 'alif' and policy.spec.rank == 64
