# Copyright 2026 predctl_ros contributors
# SPDX-License-Identifier: Apache-2.0
"""`predctl ablate`: a tiny study runs, summarises, survives a bad setting and resumes."""

import csv
import statistics

from predctl_ros.cli import main
from predctl_ros.learning.ablation import load_spec, plan, run_study
from predctl_ros.learning.ablation_report import agreement, compare
import pytest

TINY = ['iterations=1', 'envs=4', 'episode_steps=20', 'warmup=2', 'horizon=5', 'batch=4',
        'model_batches=1', 'policy_batches=1', 'threads=1', 'model.hidden=[8, 8]',
        'policy.hidden=[8, 8]']
SPEC = """
base: [{base}]
settings:
  - name: baseline
    description: tiny ALIF
    overrides: [model.neuron=alif, policy.neuron=alif]
  - name: lif
    description: tiny LIF
    switch: 'off'
    article: helps
    overrides: [model.neuron=lif, policy.neuron=lif]
  - name: broken
    description: a setting the config refuses
    switch: 'on'
    article: hurts or neutral
    overrides: [no_such_setting=1]
"""


def _rows(path):
    with open(path, newline='') as f:
        return list(csv.DictReader(f))


def _table_row(summary, name):
    line = next(line for line in summary.splitlines() if line.startswith(f'| {name} |'))
    return [cell.strip() for cell in line.strip('|').split('|')]


def test_tiny_study_summarises_reports_failures_and_resumes(tmp_path, capsys):
    spec = tmp_path / 'spec.yaml'
    spec.write_text(SPEC.format(base=', '.join(f"'{item}'" for item in TINY)))
    out = tmp_path / 'study'
    args = ['ablate', '--spec', str(spec), '--out', str(out), '--seeds', '2', '--jobs', '2']
    assert main(args) == 1   # the broken setting failed, the others did not stop
    rows = _rows(out / 'results.csv')
    assert [(r['setting'], r['seed']) for r in rows] == [
        ('baseline', '0'), ('lif', '0'), ('broken', '0'),
        ('baseline', '1'), ('lif', '1'), ('broken', '1')]
    for r in rows:
        if r['setting'] == 'broken':
            assert r['status'] == 'failed' and 'no_such_setting' in r['error']
        else:
            assert r['status'] == 'ok' and r['iterations'] == '1', r
            assert 0.0 <= float(r['test_success_rate']) <= 1.0
    summary = (out / 'summary.md').read_text()
    for name in ('baseline', 'lif'):
        mine = [r for r in rows if r['setting'] == name]
        cells = _table_row(summary, name)
        assert cells[3] == '2'
        for column, cell, fmt in (('test_success_rate', 4, '.0%'),
                                  ('test_median_final_distance', 5, '.3f'),
                                  ('model_loss_last3', 6, '.2e')):
            values = [float(r[column]) for r in mine]
            expected = (f'{format(statistics.mean(values), fmt)} ± '
                        f'{format(statistics.stdev(values), fmt)}')
            assert cells[cell] == expected, (name, column)
    assert _table_row(summary, 'broken')[3] == '0 (2 failed)'
    assert 'no_such_setting' in summary.split('## Failed runs')[1]
    assert (out / 'ablation.png').stat().st_size > 0

    # Report only: the same numbers, nothing trained.
    assert main(args + ['--report']) == 1
    assert (out / 'summary.md').read_text() == summary

    # Started again: the finished runs are reused, the failed ones tried again.
    capsys.readouterr()
    logs = {r['run_dir']: (tmp_path / r['run_dir'] / 'train.log').stat().st_mtime_ns
            for r in rows if r['status'] == 'ok'}
    assert main(args) == 1
    assert '6 runs: 4 already finished, 2 to train' in capsys.readouterr().out
    again = _rows(out / 'results.csv')
    assert [r['skipped'] for r in again] == ['True', 'True', 'False'] * 2
    for path, mtime in logs.items():
        assert (tmp_path / path / 'train.log').stat().st_mtime_ns == mtime


def test_spec_and_verdicts(tmp_path):
    spec = tmp_path / 'spec.yaml'
    spec.write_text(SPEC.format(base="'iterations=1'"))
    study = load_spec(spec)
    assert study.baseline.name == 'baseline' and study.config is None
    rows = run_study(study, tmp_path / 'empty', seeds=2, train=False, log=None)
    assert [r['status'] for r in rows] == ['not run'] * 6
    runs = plan(study, tmp_path, seeds=2, extra=['envs=2'])
    assert runs[1].overrides == ('iterations=1', 'envs=2', 'model.neuron=lif',
                                 'policy.neuron=lif', 'seed=0')
    assert runs[1].out == tmp_path / 'lif' / 'seed0'
    spec.write_text('settings:\n  - name: a\n    article: helps\n')
    with pytest.raises(ValueError, match='both article and switch'):
        load_spec(spec)
    stat = {'m': {'mean': 0.5, 'std': 0.1, 'n': 3}}
    base = {'m': {'mean': 0.2, 'std': 0.1, 'n': 3}}
    assert compare(stat, base, 'm', higher_better=False)['effect'] == 'worse'
    assert compare(stat, base, 'm', higher_better=True)['effect'] == 'better'
    close = {'m': {'mean': 0.25, 'std': 0.1, 'n': 3}}
    assert compare(close, base, 'm', higher_better=False)['effect'] == 'within spread'
    assert agreement('worse', 'worse') == 'agrees'
    assert agreement('worse', 'within spread') == 'not shown'
    assert agreement('not better', 'within spread') == 'consistent (no clear effect)'
    assert agreement('not better', 'better') == 'disagrees'
